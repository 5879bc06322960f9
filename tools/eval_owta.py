#!/usr/bin/env python
"""Score tracking results with OWTA/HOTA (TrackEval semantics), plus MOTA/IDF1 for MOT files.

  tools/eval_owta.py --gt GT --pred PRED [--format tao|mot] [--subset all|known|unknown|distractor]
                     [--max-dets 300] [--out results.json] [--plot owta.png]

TAO: GT is a TAO JSON, PRED a TAO-OW prediction list; every subset is scored unless --subset
is given (a split name recorded in the ground-truth categories also works; comma-separate several).
MOT: GT is a gt.txt or a MOTChallenge folder, PRED a result file or a folder of <seq>.txt.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from efftrack.evaluation import EvalInputError, evaluate_mot, evaluate_tao_ow, to_jsonable  # noqa: E402
from efftrack.utils.atomic import write_json_atomic  # noqa: E402
from efftrack.evaluation.plot import plot_alpha_curves  # noqa: E402
from efftrack.evaluation.tao_ow import DEFAULT_SUBSETS  # noqa: E402

COLUMNS = ("OWTA", "DetRe", "AssA", "AssRe", "AssPr", "HOTA", "DetA", "LocA")
MOT_COLUMNS = ("MOTA", "IDF1", "IDSW")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gt", required=True, help="ground truth: TAO JSON, gt.txt or MOTChallenge folder")
    p.add_argument("--pred", required=True, help="predictions: TAO-OW JSON list, MOT txt or folder of <seq>.txt")
    p.add_argument("--format", choices=("tao", "mot"), default=None, help="default: tao for .json ground truth")
    p.add_argument("--subset", default=None, help="TAO subset(s): all, known, unknown, distractor or a gt split; "
                                                  "comma-separated; default: all four")
    p.add_argument("--max-dets", type=int, default=300, help="TAO: predictions kept per image by score (0: all)")
    p.add_argument("--preprocess", choices=("auto", "mot17", "mot20", "none"), default="auto",
                   help="MOT: TrackEval class preprocessing")
    p.add_argument("--out", default=None, help="write all results as JSON here")
    p.add_argument("--plot", default=None, help="write OWTA/DetRe/AssA vs alpha as PNG here")
    return p.parse_args(argv)


def table(results: dict, with_mot: bool) -> str:
    cols = COLUMNS + (MOT_COLUMNS if with_mot else ())
    head = f"| {'subset':<12} | " + " | ".join(f"{c:>6}" for c in cols) + " |"
    rule = "|" + "|".join("-" * len(part) for part in head.split("|")[1:-1]) + "|"
    lines = [head, rule]
    for name, res in results.items():
        s = res["summary"]
        cells = [f"{100 * s[c]:6.2f}" for c in COLUMNS]
        if with_mot:
            cells += [f"{100 * s['MOTA']:6.2f}", f"{100 * s['IDF1']:6.2f}", f"{int(s['IDSW']):6d}"]
        lines.append(f"| {name:<12} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(path: str, obj) -> None:
    write_json_atomic(path, obj, indent=1)


def run(args) -> dict:
    fmt = args.format or ("tao" if str(args.gt).lower().endswith(".json") else "mot")
    if fmt == "tao":
        subsets = tuple(s.strip() for s in args.subset.split(",")) if args.subset else DEFAULT_SUBSETS
        results = evaluate_tao_ow(args.gt, args.pred, subsets=subsets, max_dets=args.max_dets)
    else:
        if args.subset not in (None, "all"):
            raise EvalInputError("--subset applies to TAO ground truth only")
        results = {"all": evaluate_mot(args.gt, args.pred, preprocess=args.preprocess)}
    print(table(results, with_mot=fmt == "mot"))
    if args.out:
        write_json(args.out, {"format": fmt, "gt": os.path.abspath(args.gt), "pred": os.path.abspath(args.pred),
                              "results": to_jsonable(results)})
        print(f"wrote {args.out}")
    if args.plot:
        plot_alpha_curves(results, args.plot)
        print(f"wrote {args.plot}")
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except EvalInputError as err:
        print(f"eval_owta: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"eval_owta: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
