"""What every command-line tool shares: one-line errors for user mistakes, --cfg-options parsing."""
from __future__ import annotations

import os
import sys
from typing import Callable

# A hub tag with no network must fail at once rather than retry; users with a hub can unset it.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def add_cfg_options(parser) -> None:
    from mmengine.config import DictAction
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default=None, metavar="KEY=VALUE",
                        help="override config entries, e.g. model.topk=500 train.max_iters=10")


def run_cli(main: Callable[[], int | None]) -> None:
    """Run ``main``; a user mistake (ValueError, a missing file) becomes one line on stderr and exit 2."""
    try:
        code = main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except (ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)
