#!/usr/bin/env python
"""Run the tracker on MOTChallenge detection files (tracker-only experiments, no model needed).

    track_mot.py DET_TXT_OR_DIR --output OUT [--high-thr ..] [--fps ..] [--gt GT] [--cfg-options k=v ..]

DET_TXT_OR_DIR is a ``det.txt`` file, a sequence folder (``SEQ/det/det.txt``), a split folder
(``SPLIT/*/det/det.txt``, as MOTChallenge ships it) or a folder of ``SEQ.txt`` files. Results are
written as MOTChallenge ``SEQ.txt`` files in the folder OUT (or to OUT itself if it ends in ``.txt``
and there is one sequence); the confidence column holds the track score. Frame rates come from
``seqinfo.ini`` next to ``det/`` when present, else ``--fps``. Embeddings are not used (motion + IoU).
With ``--gt`` (a ``gt.txt``, or a folder laid out like the input) MOTA/IDF1 are printed (motmetrics,
IoU >= 0.5; ground-truth rows with confidence 0 are ignored, no distractor-class handling).
By default only confirmed tracks are written (false positives count in MOTA); ``--report-tentative``
writes every track as the open-world default does.
"""
from __future__ import annotations

import argparse
import ast
import configparser
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from efftrack.data.mot import MotFormatError, read_mot_txt, write_mot_txt  # noqa: E402
from efftrack.tracking import Tracker, TrackerInputError  # noqa: E402


class TrackMotError(ValueError):
    """A user-facing problem with the inputs or outputs of track_mot (one line, names the path)."""


def find_sequences(path: str):
    """DET_TXT_OR_DIR -> sorted list of (sequence name, det file path, sequence folder or None)."""
    if os.path.isfile(path):
        det_dir = os.path.dirname(os.path.abspath(path))
        if os.path.basename(det_dir) == "det":
            seq_dir = os.path.dirname(det_dir)
            return [(os.path.basename(seq_dir), path, seq_dir)]
        return [(os.path.splitext(os.path.basename(path))[0], path, None)]
    if not os.path.isdir(path):
        raise TrackMotError(f"no such file or folder: {path}")
    own = os.path.join(path, "det", "det.txt")
    if os.path.isfile(own):
        return [(os.path.basename(os.path.abspath(path)), own, path)]
    found = sorted(glob.glob(os.path.join(path, "*", "det", "det.txt")))
    if found:
        return [(os.path.basename(os.path.dirname(os.path.dirname(f))), f, os.path.dirname(os.path.dirname(f)))
                for f in found]
    flat = sorted(glob.glob(os.path.join(path, "*.txt")))
    if flat:
        return [(os.path.splitext(os.path.basename(f))[0], f, None) for f in flat]
    raise TrackMotError(f"{path}: no det.txt, */det/det.txt or *.txt files found")


def sequence_fps(seq_dir, default: float) -> float:
    """frameRate from ``seq_dir/seqinfo.ini`` if it is there and readable, else ``default``."""
    if seq_dir is None:
        return default
    ini = os.path.join(seq_dir, "seqinfo.ini")
    if not os.path.isfile(ini):
        return default
    parser = configparser.ConfigParser()
    try:
        parser.read(ini, encoding="utf-8")
        rate = float(parser.get("Sequence", "frameRate"))
    except (configparser.Error, ValueError, UnicodeDecodeError):
        raise TrackMotError(f"{ini}: no readable [Sequence] frameRate") from None
    if rate <= 0:
        raise TrackMotError(f"{ini}: frameRate must be positive, got {rate}")
    return rate


def track_rows(det_rows: np.ndarray, tracker: Tracker, name: str = "det") -> np.ndarray:
    """Track one sequence.

    det_rows: (M,10) raw MOTChallenge rows (1-based frames, xywh, conf). Returns (K,7) result rows
    ``frame (1-based), id, x, y, w, h, track score`` sorted by frame then id.
    """
    if len(det_rows) == 0:
        return np.zeros((0, 7))
    frames = det_rows[:, 0]
    if np.any(frames < 1) or np.any(frames != np.round(frames)):
        bad = frames[(frames < 1) | (frames != np.round(frames))][0]
        raise TrackMotError(f"{name}: frame numbers must be integers >= 1 (MOTChallenge is 1-based), got {bad:g}")
    if np.any(det_rows[:, 4] <= 0) or np.any(det_rows[:, 5] <= 0):
        raise TrackMotError(f"{name}: box width and height must be positive")
    order = np.argsort(frames, kind="stable")
    rows = det_rows[order]
    frames = rows[:, 0].astype(np.int64)
    boxes = np.empty((len(rows), 4), np.float32)
    boxes[:, :2] = rows[:, 2:4]
    boxes[:, 2:] = rows[:, 2:4] + rows[:, 4:6]      # xywh -> xyxy at the edge
    scores = rows[:, 6].astype(np.float32)
    starts = np.flatnonzero(np.r_[True, frames[1:] != frames[:-1]])
    ends = np.r_[starts[1:], len(rows)]
    tracker.reset()
    out = []
    for s, e in zip(starts, ends):
        frame = int(frames[s])
        res = tracker.update(boxes[s:e], scores[s:e], None, frame - 1)   # tracker frames are 0-based
        if len(res):
            xywh = np.concatenate([res.boxes[:, :2], res.boxes[:, 2:] - res.boxes[:, :2]], 1)
            out.append(np.column_stack([np.full(len(res), frame), res.ids, xywh, res.scores]))
    if not out:
        return np.zeros((0, 7))
    result = np.concatenate(out)
    return result[np.lexsort((result[:, 1], result[:, 0]))]


def _iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from efftrack.tracking.box_ops import iou_matrix
    to_xyxy = lambda r: np.concatenate([r[:, :2], r[:, :2] + r[:, 2:4]], 1)  # noqa: E731
    return iou_matrix(to_xyxy(a), to_xyxy(b)).astype(np.float64)


def mot_accumulator(gt_rows: np.ndarray, res_rows: np.ndarray, iou_thr: float = 0.5):
    """motmetrics accumulator for one sequence from raw gt rows (M,>=7) and result rows (K,>=6).

    Our own IoU distances are passed (motmetrics' iou_matrix uses np.asfarray, gone in NumPy 2).
    """
    import motmetrics as mm
    gt_rows = gt_rows[gt_rows[:, 6] != 0] if gt_rows.shape[1] > 6 else gt_rows
    acc = mm.MOTAccumulator(auto_id=True)
    frames = np.union1d(gt_rows[:, 0], res_rows[:, 0]) if len(res_rows) else np.unique(gt_rows[:, 0])
    for f in frames:
        g = gt_rows[gt_rows[:, 0] == f]
        h = res_rows[res_rows[:, 0] == f]
        dist = 1.0 - _iou_xywh(g[:, 2:6], h[:, 2:6])
        dist[dist > 1.0 - iou_thr] = np.nan
        acc.update(g[:, 1].astype(np.int64).tolist(), h[:, 1].astype(np.int64).tolist(), dist)
    return acc


def evaluate(pairs) -> "object":
    """pairs: list of (name, gt_rows, result_rows) -> pandas DataFrame with MOTA, IDF1, ... and OVERALL."""
    import motmetrics as mm
    accs = [mot_accumulator(g, r) for _, g, r in pairs]
    mh = mm.metrics.create()
    return mh.compute_many(accs, names=[n for n, _, _ in pairs], generate_overall=True,
                           metrics=["mota", "idf1", "num_switches", "num_false_positives", "num_misses",
                                    "mostly_tracked"])


def _gt_for(gt: str, name: str, seq_dir, single: bool) -> str:
    if os.path.isfile(gt):
        if not single:
            raise TrackMotError(f"--gt {gt}: a single file, but there are several sequences; give a folder")
        return gt
    for cand in (os.path.join(gt, name, "gt", "gt.txt"), os.path.join(gt, "gt", "gt.txt"),
                 os.path.join(gt, name + ".txt")):
        if os.path.isfile(cand):
            return cand
    raise TrackMotError(f"--gt {gt}: no ground truth for sequence {name} (looked for {name}/gt/gt.txt, {name}.txt)")


def parse_cfg_options(items) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise TrackMotError(f"--cfg-options: expected key=value, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip()
        if key.startswith("tracker."):
            key = key[len("tracker."):]
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Track MOTChallenge det.txt files with the efftrack tracker.")
    ap.add_argument("source", metavar="DET_TXT_OR_DIR")
    ap.add_argument("--output", required=True, help="results folder (SEQ.txt per sequence) or a .txt file")
    ap.add_argument("--fps", type=float, default=None, help="frame rate if no seqinfo.ini (default 30)")
    ap.add_argument("--high-thr", type=float, default=None)
    ap.add_argument("--low-thr", type=float, default=None)
    ap.add_argument("--new-track-thr", type=float, default=None)
    ap.add_argument("--match-iou-thr", type=float, default=None)
    ap.add_argument("--min-hits", type=int, default=None)
    ap.add_argument("--max-lost-seconds", type=float, default=None)
    ap.add_argument("--report-tentative", action="store_true", help="also write tracks not yet confirmed")
    ap.add_argument("--gt", default=None, help="ground truth (gt.txt or folder) to print MOTA/IDF1")
    ap.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE",
                    help="any other Tracker keyword, e.g. reid_gate_chi2=9.2")
    return ap


def run(args) -> int:
    kwargs = {"report_tentative": bool(args.report_tentative)}
    for key in ("high_thr", "low_thr", "new_track_thr", "match_iou_thr", "min_hits", "max_lost_seconds"):
        if getattr(args, key) is not None:
            kwargs[key] = getattr(args, key)
    kwargs.update(parse_cfg_options(args.cfg_options))
    default_fps = args.fps if args.fps is not None else float(kwargs.pop("fps", 30.0))
    if default_fps <= 0:
        raise TrackMotError(f"--fps must be positive, got {default_fps}")
    seqs = find_sequences(args.source)
    to_file = args.output.endswith(".txt")
    if to_file and len(seqs) > 1:
        raise TrackMotError(f"--output {args.output}: {len(seqs)} sequences need an output folder, not a .txt file")
    out_dir = os.path.dirname(os.path.abspath(args.output)) if to_file else os.path.abspath(args.output)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise TrackMotError(f"--output {args.output}: cannot create folder ({exc.strerror})") from None
    if not os.access(out_dir, os.W_OK):
        raise TrackMotError(f"--output {args.output}: folder is not writable")
    # Checking every input and the tracker settings before any work keeps a typo from costing a long run.
    try:
        Tracker.from_config({**kwargs, "fps": default_fps})
    except ValueError as exc:
        raise TrackMotError(str(exc)) from None
    plan = []
    for name, det, seq_dir in seqs:
        gt = _gt_for(args.gt, name, seq_dir, len(seqs) == 1) if args.gt else None
        plan.append((name, det, sequence_fps(seq_dir, default_fps), gt))
    pairs = []
    for name, det, fps, gt in plan:
        tracker = Tracker.from_config({**kwargs, "fps": fps})
        res = track_rows(read_mot_txt(det), tracker, det)
        out = args.output if to_file else os.path.join(out_dir, name + ".txt")
        try:
            write_mot_txt(out, res)
        except OSError as exc:
            raise TrackMotError(f"{out}: cannot write ({exc.strerror})") from None
        n_ids = len(np.unique(res[:, 1])) if len(res) else 0
        print(f"{name}: {len(res)} boxes, {n_ids} tracks, fps {fps:g} -> {out}")
        if gt:
            pairs.append((name, read_mot_txt(gt), res))
    if pairs:
        summary = evaluate(pairs)
        print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (TrackMotError, MotFormatError, TrackerInputError) as exc:
        print(f"track_mot: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"track_mot: {getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
