#!/usr/bin/env python
"""Train the side network and heads: ``tools/train.py CONFIG [--work-dir] [--resume [CKPT]] [--amp] ...``.

Distributed: ``torchrun --nproc_per_node N tools/train.py CONFIG --launcher pytorch``.
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from efftrack.cli import add_cfg_options, run_cli  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="an mmengine config file, e.g. configs/tao_owt.py")
    p.add_argument("--work-dir", help="where logs and checkpoints go (default: work_dirs/<config name>)")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="CKPT",
                   help="continue from CKPT, or from the newest checkpoint in the work dir")
    p.add_argument("--amp", action="store_true", help="mixed precision (fp16 on GPUs, bf16 on CPUs)")
    p.add_argument("--launcher", choices=["none", "pytorch", "slurm"], default="none")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    add_cfg_options(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from efftrack.config import load_config
    from efftrack.engine.trainer import train

    cfg = load_config(args.config, args.cfg_options)
    work_dir = Path(args.work_dir or Path("work_dirs") / Path(args.config).stem)
    work_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(work_dir, os.W_OK):
        raise PermissionError(f"work dir {work_dir} is not writable")
    cfg.dump(str(work_dir / Path(args.config).name))
    train(cfg, work_dir, resume=args.resume, amp=args.amp, launcher=args.launcher, seed=args.seed,
          device=args.device, config_text=cfg.pretty_text)
    print(f"done: checkpoints and logs in {work_dir}")


if __name__ == "__main__":
    run_cli(main)
