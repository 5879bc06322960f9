#!/usr/bin/env python
"""Evaluation speed: efftrack.evaluation against TrackEval on the same generated files.

Both sides run end to end from files (reading, preprocessing, scoring), one process, one thread:
* TAO-OW JSON, subset 'all', HOTA family (what TrackEval's run_tao_ow computes);
* MOTChallenge txt, HOTA family only, and HOTA + CLEAR + Identity (ours: CLEAR/IDF1 via motmetrics).
Every HOTA field must agree within 1e-9 (checked and reported). Prints a markdown table and writes
JSON with the environment. TrackEval is imported through tests/helpers_trackeval.py (NumPy aliases).

    .venv/bin/python tools/benchmark_eval.py --out work_dirs/benchmark_eval.json
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from efftrack.evaluation import evaluate_mot, evaluate_tao_ow  # noqa: E402
from efftrack.evaluation.synthetic import make_tao  # noqa: E402
from efftrack.utils.atomic import write_json_atomic  # noqa: E402


def _best(fn, repeat):
    """(best wall seconds, best CPU seconds, result); CPU time is robust to other jobs preempting us."""
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu), out


class _JsonClock:
    """Accumulates time spent in json.load while active (both tools parse the same files with it)."""

    def __init__(self):
        self.seconds = 0.0
        self._orig = json.load

    def __enter__(self):
        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return self._orig(*a, **k)
            finally:
                self.seconds += time.perf_counter() - t0
        json.load = timed
        return self

    def __exit__(self, *exc):
        json.load = self._orig


def _best_split(fn, repeat):
    """(best wall s, best CPU s, json.load wall s of the best-wall run, result)."""
    best, cpu_best = None, float("inf")
    for _ in range(repeat):
        with _JsonClock() as clock:
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn()
            total, cpu = time.perf_counter() - t0, time.process_time() - c0
        cpu_best = min(cpu_best, cpu)
        if best is None or total < best[0]:
            best = (total, clock.seconds, out)
    return best[0], cpu_best, best[1], best[2]


def _max_diff(ours: dict, ref: dict) -> float:
    return max(float(np.max(np.abs(np.asarray(ours[k], float) - np.asarray(v, float)))) for k, v in ref.items())


def write_mot(root: str, sequences: int, frames: int, objects: int, seed: int = 0) -> dict:
    """MOTChallenge folders: root/gt/<seq>/gt/gt.txt and root/tr/trk/data/<seq>.txt; returns lengths."""
    rng = np.random.default_rng(seed)
    lengths = {}
    for s in range(sequences):
        name = f"SYN-{s:02d}"
        start = rng.uniform(0, 1500, (objects, 2))
        vel = rng.normal(0, 2, (objects, 2))
        size = rng.uniform(30, 120, (objects, 2))
        alive = rng.random((frames, objects)) < 0.9
        gt_rows, pred_rows = [], []
        for t in range(frames):
            xy = start + vel * t
            for k in np.nonzero(alive[t])[0]:
                gt_rows.append(f"{t + 1},{k + 1},{xy[k, 0]:.2f},{xy[k, 1]:.2f},{size[k, 0]:.2f},{size[k, 1]:.2f},1,1,1")
                if rng.random() < 0.9:
                    pid = k + 1 + objects * ((t // 200) if k % 3 == 0 else 0)  # periodic id switches
                    j = rng.normal(0, 3, 4)
                    pred_rows.append(f"{t + 1},{pid},{xy[k, 0] + j[0]:.2f},{xy[k, 1] + j[1]:.2f},"
                                     f"{size[k, 0] + j[2]:.2f},{size[k, 1] + j[3]:.2f},0.9,-1,-1,-1")
            for j in range(3):
                x, y = rng.uniform(0, 1500, 2)
                pred_rows.append(f"{t + 1},{10000 + j + 3 * (t // 50)},{x:.2f},{y:.2f},50,50,0.2,-1,-1,-1")
        os.makedirs(os.path.join(root, "gt", name, "gt"))
        os.makedirs(os.path.join(root, "tr", "trk", "data"), exist_ok=True)
        with open(os.path.join(root, "gt", name, "gt", "gt.txt"), "w") as fh:
            fh.write("\n".join(gt_rows) + "\n")
        with open(os.path.join(root, "tr", "trk", "data", f"{name}.txt"), "w") as fh:
            fh.write("\n".join(pred_rows) + "\n")
        lengths[name] = frames
    return lengths


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tao-videos", type=int, default=40)
    p.add_argument("--tao-frames", type=int, default=75, help="annotated frames per video")
    p.add_argument("--tao-objects", type=int, default=10)
    p.add_argument("--tao-fp", type=int, default=30, help="false-positive proposals per frame")
    p.add_argument("--dense-videos", type=int, default=10, help="TAO-OW case with ~300 proposals per frame")
    p.add_argument("--dense-frames", type=int, default=30)
    p.add_argument("--mot-sequences", type=int, default=4)
    p.add_argument("--mot-frames", type=int, default=750)
    p.add_argument("--mot-objects", type=int, default=15)
    p.add_argument("--repeat", type=int, default=3, help="best of N runs")
    p.add_argument("--out", default=None, help="JSON output path")
    args = p.parse_args(argv)

    import helpers_trackeval as te  # noqa: E402  (sets NumPy aliases, imports trackeval)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tao_cases = (("TAO-OW json, subset all, HOTA family", args.tao_videos, args.tao_frames, args.tao_fp),
                     ("TAO-OW json, ~300 proposals/frame (MAX_DETECTIONS)", args.dense_videos, args.dense_frames,
                      300 - args.tao_objects))
        for k, (label, videos, frames, fp) in enumerate(tao_cases):
            gt, preds = make_tao(seed=k, num_videos=videos, frames=frames, objects=args.tao_objects,
                                 fp_per_frame=fp)
            gt_dir, tr_dir = os.path.join(tmp, f"tao_gt{k}"), os.path.join(tmp, f"tao_tr{k}")
            te.write_tao_ow_folders(gt_dir, tr_dir, gt, preds)
            gt_file, pred_file = os.path.join(gt_dir, "gt.json"), os.path.join(tr_dir, "trk", "data", "pred.json")
            t_ours, c_ours, j_ours, ours = _best_split(
                lambda: evaluate_tao_ow(gt_file, pred_file, subsets=("all",)), args.repeat)
            t_ref, c_ref, j_ref, ref = _best_split(
                lambda: te.run_tao_ow_folders(gt_dir, tr_dir, subset="all"), args.repeat)
            common = {"frames": videos * frames, "gt_dets": ours["all"]["num_gt_dets"], "pred_dets": len(preds),
                      "max_abs_diff": _max_diff(ours["all"]["hota"], ref), "OWTA": ours["all"]["summary"]["OWTA"],
                      "json_parse_s": [j_ours, j_ref]}
            rows.append({"case": label + ", end to end", "ours_s": t_ours, "trackeval_s": t_ref,
                         "ours_cpu_s": c_ours, "trackeval_cpu_s": c_ref, **common})
            rows.append({"case": label + ", without json.load time (both sides)", "ours_s": t_ours - j_ours,
                         "trackeval_s": t_ref - j_ref, "ours_cpu_s": None, "trackeval_cpu_s": None, **common})

        lengths = write_mot(os.path.join(tmp, "mot"), args.mot_sequences, args.mot_frames, args.mot_objects)
        g_root, t_root = os.path.join(tmp, "mot", "gt"), os.path.join(tmp, "mot", "tr")
        pred_dir = os.path.join(t_root, "trk", "data")
        for with_clear in (False, True):
            metrics = ("HOTA", "CLEAR", "Identity") if with_clear else ("HOTA",)
            t_ours, c_ours, ours = _best(lambda: evaluate_mot(g_root, pred_dir, with_clear=with_clear), args.repeat)
            t_ref, c_ref, ref = _best(lambda: te.trackeval_mot(g_root, t_root, copy.deepcopy(lengths),
                                                               metrics=metrics), args.repeat)
            row = {"case": "MOT txt, " + ("HOTA + CLEAR + IDF1" if with_clear else "HOTA family"),
                   "frames": sum(lengths.values()), "gt_dets": ours["num_gt_dets"], "pred_dets": ours["num_pred_dets"],
                   "ours_s": t_ours, "trackeval_s": t_ref, "ours_cpu_s": c_ours, "trackeval_cpu_s": c_ref,
                   "max_abs_diff": _max_diff(ours["hota"], ref["HOTA"]),
                   "OWTA": ours["summary"]["OWTA"]}
            if with_clear:
                row["MOTA_diff"] = abs(ours["clear"]["MOTA"] - ref["CLEAR"]["MOTA"])
                row["IDF1_diff"] = abs(ours["clear"]["IDF1"] - ref["Identity"]["IDF1"])
            rows.append(row)

    print("| case | frames | gt dets | pred dets | ours wall (s) | TrackEval wall (s) | speed-up wall | "
          "speed-up CPU | max HOTA-field diff |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        r["speedup"] = r["trackeval_s"] / r["ours_s"]
        r["speedup_cpu"] = r["trackeval_cpu_s"] / r["ours_cpu_s"] if r.get("ours_cpu_s") else None
        cpu = f"{r['speedup_cpu']:.1f}x" if r["speedup_cpu"] else "-"
        print(f"| {r['case']} | {r['frames']} | {r['gt_dets']} | {r['pred_dets']} | {r['ours_s']:.3f} | "
              f"{r['trackeval_s']:.3f} | {r['speedup']:.1f}x | {cpu} | {r['max_abs_diff']:.1e} |")
    import motmetrics
    import scipy
    import trackeval
    env = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
           "trackeval": getattr(trackeval, "__version__", "1.3"), "motmetrics": motmetrics.__version__,
           "cpu_count": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
           "platform": platform.platform(), "repeat": args.repeat,
           "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}
    try:
        import torch
        env.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    except ImportError:
        env["torch"] = None
    if args.out:
        write_json_atomic(args.out, {"rows": rows, "environment": env}, indent=1)
        print(f"wrote {args.out}")
    bad = [r["case"] for r in rows if r["max_abs_diff"] > 1e-9]
    if bad:
        print(f"benchmark_eval: numbers differ from TrackEval for: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
