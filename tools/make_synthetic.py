#!/usr/bin/env python
"""Generate the synthetic open-world TAO-format benchmark.

Example: python tools/make_synthetic.py data/synthetic --train-videos 20 --val-videos 10 --frames 60
Writes OUT/train.json, OUT/val.json and frames (or one mp4 per video) under OUT/.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from efftrack.data.synthetic import generate_dataset  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="output folder")
    p.add_argument("--train-videos", type=int, default=20)
    p.add_argument("--val-videos", type=int, default=10)
    p.add_argument("--frames", type=int, default=60, help="frames per video")
    p.add_argument("--size", type=int, default=384, help="square frame side in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--annotate-every", type=int, default=1, help="annotate every k-th frame (TAO: ~30)")
    p.add_argument("--camera-motion", action="store_true")
    p.add_argument("--format", choices=("jpg", "mp4"), default="jpg")
    a = p.parse_args(argv)
    start = time.perf_counter()
    try:
        paths = generate_dataset(a.out, train_videos=a.train_videos, val_videos=a.val_videos, frames=a.frames,
                                 size=a.size, seed=a.seed, annotate_every=a.annotate_every,
                                 camera_motion=a.camera_motion, fmt=a.format)
    except (ValueError, OSError) as exc:
        print(f"make_synthetic: error: {exc}", file=sys.stderr)
        return 2
    n = (a.train_videos + a.val_videos) * a.frames
    dt = time.perf_counter() - start
    print(f"wrote {paths['train']} and {paths['val']}: {n} frames in {dt:.1f} s ({n / max(dt, 1e-9):.0f} frames/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
