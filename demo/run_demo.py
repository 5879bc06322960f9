#!/usr/bin/env python
"""The embedded demo: track every object in fresh synthetic videos with the shipped checkpoint, then score it.

The videos hold objects of categories the model was trained on (known) and of categories it never saw
(unknown: other shapes, other textures). Outputs: an annotated video, MOT txt and TAO-OW JSON for the first
video, and OWTA / proposal recall for known and unknown objects over all of them.
"""
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIG = REPO / "configs/synthetic_owt.py"
CHECKPOINT = REPO / "demo/effowt_synthetic.pth"
OUT = REPO / "work_dirs/demo"


def main() -> int:
    import torch

    from efftrack.config import load_config
    from efftrack.data.synthetic import generate_dataset
    from efftrack.engine.checkpoint import load_checkpoint
    from efftrack.engine.validate import metrics_table, validate
    from efftrack.models.builder import build_model

    torch.set_num_threads(min(4, os.cpu_count() or 1))
    data = OUT / "data"
    # a seed the training split never used: these exact videos were not seen in training
    generate_dataset(str(data), train_videos=0, val_videos=3, frames=40, size=256, seed=2026)
    first_video = sorted(p for p in (data / "val").iterdir() if p.is_dir())[0]

    print(f"1/2 tracking {first_video.relative_to(REPO)} with tools/track.py ...", flush=True)
    sys.path.insert(0, str(REPO / "tools"))
    import track
    track.main([str(first_video), "--config", str(CONFIG), "--checkpoint", str(CHECKPOINT),
                "--work-dir", str(OUT / "track"), "--fps", "25", "--quiet"])

    print("2/2 scoring OWTA on the demo videos (known vs unknown categories) ...", flush=True)
    cfg = load_config(CONFIG)
    model = build_model(cfg.model)
    load_checkpoint(CHECKPOINT, model)
    start = time.perf_counter()
    metrics = validate(model, ann_file=str(data / "val.json"), img_root=str(data), input_size=cfg.model["input_size"],
                       tracker_cfg=dict(cfg.tracker))
    print("\n" + metrics_table(metrics))
    print(f"(scored in {time.perf_counter() - start:.1f} s)")
    print(f"\ndemo outputs are in {OUT.relative_to(REPO)}/track (annotated video, MOT txt, TAO-OW JSON); "
          f"demo videos in {data.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    from efftrack.cli import run_cli
    run_cli(main)
