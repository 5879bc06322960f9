#!/usr/bin/env python
"""Strip a training checkpoint to what inference needs: ``tools/publish_checkpoint.py work_dirs/x/iter_N.pth out.pth``."""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from efftrack.cli import run_cli  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--half", action="store_true", help="store weights in fp16 (half the size)")
    args = p.parse_args(argv)
    from efftrack.engine.checkpoint import publish_checkpoint
    out = publish_checkpoint(args.src, args.dst, half=args.half)
    print(f"wrote {out} ({out.stat().st_size / 2 ** 20:.1f} MiB)")


if __name__ == "__main__":
    run_cli(main)
