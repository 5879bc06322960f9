#!/usr/bin/env python
"""Score a checkpoint on a config's validation set: ``tools/test.py CONFIG CHECKPOINT [--json metrics.json]``.

Tracks every validation video, prints OWTA / DetRe / AssA per subset and proposal recall@300 per split.
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from efftrack.cli import add_cfg_options, run_cli  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config")
    p.add_argument("checkpoint")
    p.add_argument("--subsets", nargs="+", default=["known", "unknown"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", help="write the metrics here")
    add_cfg_options(p)
    args = p.parse_args(argv)

    from efftrack.config import load_config
    from efftrack.engine.checkpoint import load_checkpoint
    from efftrack.engine.validate import metrics_table, validate
    from efftrack.models.builder import build_model
    from efftrack.utils.atomic import write_json_atomic

    cfg = load_config(args.config, args.cfg_options)
    val = cfg.data.get("val")
    if not val:
        raise ValueError(f"config {args.config} has no data.val")
    model = build_model(cfg.model)
    load_checkpoint(args.checkpoint, model)
    start = time.perf_counter()
    metrics = validate(model, ann_file=val["ann_file"], img_root=val["img_root"], input_size=cfg.model["input_size"],
                       tracker_cfg=dict(cfg.get("tracker", {})), device=args.device, subsets=tuple(args.subsets))
    print(metrics_table(metrics, args.subsets))
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.json:
        write_json_atomic(args.json, metrics)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run_cli(main)
