#!/usr/bin/env python
"""Pre-fill the frozen-feature cache: ``tools/cache_features.py CONFIG [--seed S] [--cfg-options k=v ...]``.

Runs the frozen backbone once on every training item's ``cache.variants`` augmentation variants (key and
reference views), exactly the inputs ``tools/train.py CONFIG --seed S`` will ask for, and stores them in
``cache.dir``; then every training step reads its features from disk. Prints the cache's footprint.
Several processes may fill one folder at once (``--shard i/n`` splits the work).
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from efftrack.cli import add_cfg_options, run_cli  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="a training config with a cache=dict(dir=..., max_gb=..., variants=...) section")
    p.add_argument("--seed", type=int, default=0, help="the training seed (augmentation variants depend on it)")
    p.add_argument("--batch", type=int, default=8, help="items (pairs) per backbone call")
    p.add_argument("--workers", type=int, default=None, help="data loader workers (default: train.num_workers)")
    p.add_argument("--shard", default="0/1", metavar="I/N", help="fill only the I-th of N equal parts")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    add_cfg_options(p)
    return p.parse_args(argv)


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        i, n = -1, 0
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"--shard must be I/N with 0 <= I < N, got {text!r}")
    return i, n


def main(argv=None) -> int:
    args = parse_args(argv)
    shard, nshards = _shard(args.shard)
    if args.batch < 1:
        raise ValueError(f"--batch must be >= 1, got {args.batch}")
    import torch
    from torch.utils.data import DataLoader

    from efftrack.cache import CacheError, build_feature_cache, cache_settings
    from efftrack.config import load_config
    from efftrack.data.views import collate_pairs
    from efftrack.engine.data import SeededItems, build_train_dataset, variant_seed
    from efftrack.engine.trainer import TRAIN_DEFAULTS
    from efftrack.models.builder import build_model

    cfg = load_config(args.config, args.cfg_options)
    if not cfg.get("cache"):
        raise CacheError(f"config {args.config} has no cache section; add cache=dict(dir=..., max_gb=...) "
                         "or pass --cfg-options cache.dir=PATH")
    settings = cache_settings(cfg.cache)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    input_size = tuple(cfg.model["input_size"])
    torch.manual_seed(args.seed)  # as the Trainer does before building the model (identical backbone)
    model = build_model(cfg.model).to(device).eval()
    cache = build_feature_cache(settings, model, input_size, log=lambda m: print(m, file=sys.stderr))
    ds = build_train_dataset(cfg.data["train"], input_size, seed=args.seed)
    samples = [(i, variant_seed(args.seed, i, v)) for v in range(settings["variants"]) for i in range(len(ds))]
    samples = samples[shard::nshards]
    batches = [samples[s:s + args.batch] for s in range(0, len(samples), args.batch)]
    workers = int(args.workers if args.workers is not None else {**TRAIN_DEFAULTS, **dict(cfg.get("train", {}))}
                  ["num_workers"])
    loader = DataLoader(SeededItems(ds), batch_sampler=batches, collate_fn=collate_pairs, num_workers=workers)
    print(f"filling {cache.dir}: {len(samples)} items x 2 views ({len(ds)} items, {settings['variants']} "
          f"variant(s), shard {shard}/{nshards}) on {device}")
    start, last = time.perf_counter(), time.perf_counter()
    for b, batch in enumerate(loader, 1):
        images = torch.cat([batch["key"]["img"], batch["ref"]["img"]]).to(device)
        cache.features(images, model.backbone_features)
        if time.perf_counter() - last > 30 or b == len(batches):
            last = time.perf_counter()
            print(f"  {b}/{len(batches)} batches, {last - start:.0f} s, {cache.summary()}")
        if cache.full:
            print("cache full: stopping early", file=sys.stderr)
            break
    print(cache.report())
    return 0


if __name__ == "__main__":
    run_cli(main)
