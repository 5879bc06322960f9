#!/usr/bin/env python
"""Track every object in a video: ``tools/track.py SOURCE [--output out.mp4] [--mot-output] [--tao-output] ...``.

SOURCE is a video file, a folder of frames or a webcam index. Without outputs named, an annotated video, a
MOTChallenge txt and a TAO-OW JSON go to a work dir that the command prints.
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from efftrack.cli import add_cfg_options, run_cli  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "configs/synthetic_owt.py"
DEFAULT_CHECKPOINT = REPO / "demo/effowt_synthetic.pth"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help="video file, folder of frames, or webcam index")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="model + tracker config (default: the demo's)")
    p.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="trained side network + heads")
    p.add_argument("--output", help="annotated video (.mp4 or .avi)")
    p.add_argument("--mot-output", help="MOTChallenge txt")
    p.add_argument("--tao-output", help="TAO-OW prediction JSON")
    p.add_argument("--work-dir", help="where default outputs go (default: work_dirs/track/<source name>)")
    p.add_argument("--score-thr", type=float, default=0.0, help="drop proposals below this score")
    p.add_argument("--draw-thr", type=float, default=0.3,
                   help="annotated video: draw tracks whose score is at least this (MOT/TAO outputs keep all)")
    p.add_argument("--max-dets", type=int, default=None, help="proposals per frame (default: the config's topk)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--show", action="store_true", help="show frames in a window while tracking")
    p.add_argument("--fps", type=float, default=None, help="frame rate when the source does not say")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_cfg_options(p)
    return p.parse_args(argv)


def _check_writable(path: Path) -> Path:
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise IsADirectoryError(f"output {path} is a folder, not a file")
    if not parent.is_dir():
        raise FileNotFoundError(f"output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"output folder {parent} is not writable")
    return path


def main(argv=None):
    args = parse_args(argv)
    import torch

    from efftrack.config import load_config
    from efftrack.data.video import open_source
    from efftrack.data.writers import AnnotatedVideoWriter, MotWriter, TaoJsonWriter
    from efftrack.engine.checkpoint import load_checkpoint
    from efftrack.models.builder import build_model
    from efftrack.models.detector import FrameDetector
    from efftrack.pipeline import track_stream
    from efftrack.tracking import build_tracker

    # Everything a user can get wrong is checked before the first frame is processed.
    source = open_source(args.source, fps=args.fps)
    cfg = load_config(args.config, args.cfg_options)
    outputs = {"video": args.output, "mot": args.mot_output, "tao": args.tao_output}
    work_dir = None
    if not any(outputs.values()):
        name = Path(str(args.source).rstrip("/")).stem or "webcam"
        work_dir = Path(args.work_dir or Path("work_dirs/track") / name)
        work_dir.mkdir(parents=True, exist_ok=True)
        outputs = {"video": work_dir / f"{name}.mp4", "mot": work_dir / f"{name}.txt",
                   "tao": work_dir / f"{name}.json"}
    outputs = {k: _check_writable(v) for k, v in outputs.items() if v}
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(cfg.model)
    if args.max_dets:
        model.topk = int(args.max_dets)
    load_checkpoint(args.checkpoint, model)

    fps = args.fps or source.fps or float(cfg.get("tracker", {}).get("fps", 30.0))
    tracker = build_tracker({**dict(cfg.get("tracker", {})), "fps": fps})
    detector = FrameDetector(model, cfg.model["input_size"], device)
    writers = []
    if "video" in outputs:
        writers.append(AnnotatedVideoWriter(outputs["video"], fps=fps, min_score=args.draw_thr))
    if "mot" in outputs:
        writers.append(MotWriter(outputs["mot"]))
    if "tao" in outputs:
        writers.append(TaoJsonWriter(outputs["tao"]))
    print(f"tracking {args.source} ({source.num_frames or '?'} frames, {fps:g} fps) with "
          f"{cfg.model['backbone']['model_name']} on {device}", file=sys.stderr)
    with torch.inference_mode():
        summary = track_stream(source, detector, tracker, writers, score_thr=args.score_thr,
                               max_dets=model.topk, progress=not args.quiet, show=args.show)
    print(summary.line())
    for kind, path in outputs.items():
        print(f"{kind}: {path}")
    if work_dir is not None:
        print(f"outputs are in {work_dir}")


if __name__ == "__main__":
    run_cli(main)
