#!/usr/bin/env python
"""Epoch time with and without the frozen-feature cache: ``tools/benchmark_cache.py [CONFIG] [options]``.

Trains the config's real model with the real ``Trainer`` on a small generated synthetic dataset
(``--videos`` x ``--frames`` items) for ``--epochs`` epochs in each mode:

  side        side-tuning, backbone run every step (no cache)
  side+cache  side-tuning with ``cache=dict(variants=1)`` in a fresh folder: epoch 1 fills it, epochs 2+ read it
  full        full fine-tuning reference: backbone trainable, ladders not detached, gradients through the tower

Modes run in turn in one process, ``--repeats`` times round-robin (shared CPUs: repeats show the noise).
Each epoch's wall time and this process's CPU time are recorded; "epoch 2+" is the median over epochs 2..E.
Prints a markdown table and the target check (cached epoch 2+ >= 5x faster than side, >= 10x than full), and
writes JSON with the environment.

    python tools/benchmark_cache.py configs/synthetic_owt.py --json work_dirs/bench_cache_synthetic.json
    python tools/benchmark_cache.py configs/synthetic_owt.py --vit-b16 --size 224 --json work_dirs/bench_cache_vitb.json
"""
import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from efftrack.cli import add_cfg_options, run_cli  # noqa: E402

MODES = ("side", "side+cache", "full")
TARGETS = {"vs_side_min": 5.0, "vs_full_min": 10.0}
VIT_B16 = {"model.backbone.model_name": "ViT-B-16", "model.backbone.pretrained": None,
           "model.backbone.model_cfg": None, "model.backbone.taps": None}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", nargs="?", default="configs/synthetic_owt.py")
    p.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, from {MODES}")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--videos", type=int, default=2, help="synthetic training videos (all frames annotated)")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--batch", type=int, default=4, help="pairs per step; videos*frames must be a multiple")
    p.add_argument("--size", type=int, default=None, help="square input size (default: the config's)")
    p.add_argument("--vit-b16", action="store_true", help="swap in a random-init open_clip ViT-B-16 tower")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=None, help="write results + environment here")
    add_cfg_options(p)
    return p.parse_args(argv)


def _config(args, data: Path, cache_dir: Path | None, mode: str):
    from efftrack.config import load_config
    opts = dict(VIT_B16) if args.vit_b16 else {}
    if args.size:
        opts["model.input_size"] = (args.size, args.size)
    opts.update(args.cfg_options or {})
    n = args.videos * args.frames
    opts.update({"train.batch_size": args.batch, "train.max_iters": args.epochs * n // args.batch,
                 "train.num_workers": 0, "train.ckpt_interval": 10 ** 9, "train.log_interval": 10 ** 9,
                 "train.val_interval": 0, "train.warmup_iters": 1})
    if mode == "full":
        opts["model.side.detach_ladders"] = False
    cfg = load_config(args.config, opts)
    cfg.data["train"] = [dict(type="tao", ann_file=str(data / "train.json"), img_root=str(data), subset="all",
                              max_gap=3)]
    if mode == "side+cache":
        cfg.cache = dict(dir=str(cache_dir), max_gb=50.0, variants=1)
    elif "cache" in cfg:
        cfg.pop("cache")
    return cfg


def _make_full_finetuning(trainer) -> None:
    """Unfreeze the tower and route images through it with autograd (the reference the cache is held to)."""
    import torch
    model = trainer.model
    for p in model.backbone.body.parameters():
        p.requires_grad_(True)
    model.backbone_features = lambda images: model.backbone.body((images - model.mean) / model.std)
    tc = trainer.train_cfg
    trainer.optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=tc["lr"],
                                          weight_decay=tc["weight_decay"])


def run_mode(args, data: Path, work: Path, mode: str) -> dict:
    from efftrack.engine.trainer import Trainer
    cache_dir = Path(tempfile.mkdtemp(dir=work, prefix="cache-"))
    cfg = _config(args, data, cache_dir, mode)
    trainer = Trainer(cfg, work / f"train-{mode}", seed=0, device="cpu")
    trainer.log.setLevel(logging.WARNING)  # after the parameter table, which __init__ logs
    if mode == "full":
        _make_full_finetuning(trainer)
    ipe = args.videos * args.frames // args.batch
    marks = []

    def mark(done):
        if done % ipe == 0:
            marks.append((time.perf_counter(), time.process_time()))

    trainer.after_iteration = mark
    marks.append((time.perf_counter(), time.process_time()))
    trainer.run()
    wall = [b[0] - a[0] for a, b in zip(marks, marks[1:])]
    cpu = [b[1] - a[1] for a, b in zip(marks, marks[1:])]
    out = {"mode": mode, "epoch_wall_s": wall, "epoch_cpu_s": cpu, "iters_per_epoch": ipe,
           "trainable_params": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)}
    if trainer.cache is not None:
        out["cache"] = trainer.cache.footprint()
    return out


def _median_later(values):
    return statistics.median(values[1:]) if len(values) > 1 else float("nan")


def summarise(runs: list[dict]) -> dict:
    """Per mode: median over repeats of epoch-1 time and of the median epoch-2+ time (wall and CPU)."""
    out = {}
    for mode in MODES:
        rs = [r for r in runs if r["mode"] == mode]
        if not rs:
            continue
        out[mode] = {
            "epoch1_wall_s": statistics.median(r["epoch_wall_s"][0] for r in rs),
            "epoch2p_wall_s": statistics.median(_median_later(r["epoch_wall_s"]) for r in rs),
            "epoch1_cpu_s": statistics.median(r["epoch_cpu_s"][0] for r in rs),
            "epoch2p_cpu_s": statistics.median(_median_later(r["epoch_cpu_s"]) for r in rs),
            "epoch2p_wall_spread_s": [min(min(r["epoch_wall_s"][1:]) for r in rs),
                                      max(max(r["epoch_wall_s"][1:]) for r in rs)],
            "repeats": len(rs),
        }
    return out


def table(summary: dict) -> str:
    cached = summary.get("side+cache")
    rows = ["| mode | epoch 1 wall (s) | epoch 2+ wall (s) | epoch 2+ range (s) | epoch 1 CPU (s) | epoch 2+ CPU (s) "
            "| cached epoch 2+ faster by (wall / CPU) |", "|---|---|---|---|---|---|---|"]
    for mode, s in summary.items():
        ratio = "-"
        if cached and mode != "side+cache":
            ratio = (f"{s['epoch2p_wall_s'] / cached['epoch2p_wall_s']:.2f}x / "
                     f"{s['epoch2p_cpu_s'] / cached['epoch2p_cpu_s']:.2f}x")
        lo, hi = s["epoch2p_wall_spread_s"]
        rows.append(f"| {mode} | {s['epoch1_wall_s']:.2f} | {s['epoch2p_wall_s']:.2f} | {lo:.2f}-{hi:.2f} | "
                    f"{s['epoch1_cpu_s']:.2f} | {s['epoch2p_cpu_s']:.2f} | {ratio} |")
    return "\n".join(rows)


def targets(summary: dict) -> dict:
    cached = summary.get("side+cache")
    out = {}
    for mode, key in (("side", "vs_side_min"), ("full", "vs_full_min")):
        if cached and mode in summary:
            v = summary[mode]["epoch2p_cpu_s"] / cached["epoch2p_cpu_s"]
            out[f"cached_epoch2p_vs_{mode}_cpu"] = {"value": v, "target": f">= {TARGETS[key]}",
                                                    "met": v >= TARGETS[key]}
    return out


def environment(args) -> dict:
    import torch
    return {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "threads": torch.get_num_threads(), "device": "cpu",
            "loadavg_before": list(os.getloadavg()), "args": {k: v for k, v in vars(args).items()}}


def main(argv=None) -> int:
    args = parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ValueError(f"unknown mode(s) {bad}; choose from {MODES}")
    if args.epochs < 2 or args.repeats < 1 or args.batch < 1 or (args.videos * args.frames) % args.batch:
        raise ValueError("need --epochs >= 2, --repeats >= 1 and videos*frames a multiple of --batch")
    import torch
    from efftrack.data.synthetic import generate_dataset
    torch.set_num_threads(args.threads)
    env = environment(args)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench_cache_") as tmp:
        tmp = Path(tmp)
        size = args.size or 256
        generate_dataset(str(tmp / "data"), train_videos=args.videos, val_videos=1, frames=args.frames,
                         size=size, seed=0)
        for rep in range(args.repeats):
            for mode in modes:
                r = run_mode(args, tmp / "data", tmp, mode)
                r["repeat"] = rep
                runs.append(r)
                print(f"{mode} (repeat {rep}): epochs " + ", ".join(f"{w:.2f}s wall/{c:.2f}s CPU" for w, c in
                                                                   zip(r["epoch_wall_s"], r["epoch_cpu_s"])),
                      flush=True)
    env["loadavg_after"] = list(os.getloadavg())
    summary = summarise(runs)
    checks = targets(summary)
    print()
    print(table(summary))
    for k, v in checks.items():
        print(f"{k}: {v['value']:.2f}x (target {v['target']}: {'met' if v['met'] else 'NOT met'})")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = path.with_name(f".{path.name}.tmp")
        tmp_path.write_text(json.dumps({"environment": env, "runs": runs, "summary": summary, "targets": checks},
                                       indent=1, default=str))
        os.replace(tmp_path, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
