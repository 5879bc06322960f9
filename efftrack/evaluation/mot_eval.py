"""MOTChallenge evaluation (HOTA/OWTA family + CLEAR/IDF1) with TrackEval's MotChallenge2DBox semantics.

Ground-truth columns: frame, id, x, y, w, h, conf (0 = ignore), class, visibility. With class
preprocessing ('mot17'/'mot20') only class 1 (pedestrian) is scored and predictions matched
(IoU >= 0.5) to distractor classes are removed; 'none' (MOT15 style) keeps every row with
non-zero conf. 'auto' picks 'mot17' when every class value is a MOTChallenge class, else 'none'.
"""
from __future__ import annotations

import configparser
import os
import warnings
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from scipy.optimize import linear_sum_assignment

from efftrack.data.mot import MotFormatError, read_mot_txt

from .errors import EvalInputError
from .iou import EPS, box_iou_blocks, xywh_to_xyxy
from .results import score_sequences
from .sequence import build_sequence

MOT_CLASSES = tuple(range(1, 14))
PEDESTRIAN = 1
DISTRACTORS = {"mot17": (2, 7, 8, 12), "mot20": (2, 6, 7, 8, 12)}
PathLike = Union[str, os.PathLike]


def _is_gt_layout(path: str) -> bool:
    return os.path.basename(path) == "gt.txt" and os.path.basename(os.path.dirname(path)) == "gt"


def _gt_name(path: str) -> str:
    if _is_gt_layout(path):
        return os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))
    return os.path.splitext(os.path.basename(path))[0]


def _resolve(gt, pred) -> List[Tuple[str, str, str]]:
    """[(sequence name, gt file, prediction file)] from files, folders, lists or {name: path} dicts."""
    if isinstance(gt, Mapping):
        gt_files = {str(k): os.fspath(v) for k, v in gt.items()}
    elif isinstance(gt, (str, os.PathLike)) and os.path.isdir(gt):
        root = os.fspath(gt)
        gt_files = {d: os.path.join(root, d, "gt", "gt.txt") for d in sorted(os.listdir(root))
                    if os.path.isfile(os.path.join(root, d, "gt", "gt.txt"))}
        if not gt_files:
            raise EvalInputError(f"{root}: no <sequence>/gt/gt.txt files found")
    else:
        files = [gt] if isinstance(gt, (str, os.PathLike)) else list(gt)
        gt_files = {_gt_name(os.fspath(f)): os.fspath(f) for f in files}
    for name, f in gt_files.items():
        if not os.path.isfile(f):
            raise EvalInputError(f"ground-truth file not found: {f}")
    if isinstance(pred, Mapping):
        pred_files = {str(k): os.fspath(v) for k, v in pred.items()}
    elif isinstance(pred, (str, os.PathLike)) and os.path.isdir(pred):
        pred_files = {n: os.path.join(os.fspath(pred), n + ".txt") for n in gt_files}
    else:
        files = [pred] if isinstance(pred, (str, os.PathLike)) else list(pred)
        if len(files) == 1 and len(gt_files) == 1:
            pred_files = {next(iter(gt_files)): os.fspath(files[0])}
        else:
            pred_files = {os.path.splitext(os.path.basename(os.fspath(f)))[0]: os.fspath(f) for f in files}
    out = []
    for name, g in gt_files.items():
        p = pred_files.get(name)
        if p is None or not os.path.isfile(p):
            raise EvalInputError(f"no prediction file for sequence {name!r}" + (f" (expected {p})" if p else ""))
        out.append((name, g, p))
    return out


def _seq_length(gt_file: str, gt_rows: np.ndarray, pred_rows: np.ndarray, given: Optional[int]) -> int:
    if given is not None:
        return int(given)
    ini = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(gt_file))), "seqinfo.ini")
    if _is_gt_layout(gt_file) and os.path.isfile(ini):
        cp = configparser.ConfigParser()
        cp.read(ini)
        try:
            return int(cp["Sequence"]["seqLength"])
        except (KeyError, ValueError):
            raise EvalInputError(f"{ini}: no integer [Sequence] seqLength") from None
    frames = np.r_[gt_rows[:, 0], pred_rows[:, 0]]
    return int(np.trunc(frames).max()) if len(frames) else 0


def _fast_read(path: str) -> Optional[np.ndarray]:
    """np.loadtxt for plain comma-separated files; None when anything is unusual (then read_mot_txt runs)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file is fine here; read_mot_txt handles it
            rows = np.loadtxt(path, delimiter=",", ndmin=2, comments=None, dtype=np.float64)
    except (ValueError, OSError):
        return None
    if rows.size == 0 or not 6 <= rows.shape[1] <= 10 or not np.all(np.isfinite(rows)):
        return None
    return np.pad(rows, ((0, 0), (0, 10 - rows.shape[1])), constant_values=-1.0)


def _read(path: str, kind: str) -> np.ndarray:
    fast = _fast_read(path) if os.path.isfile(path) else None
    if fast is not None:
        return fast
    try:
        rows = read_mot_txt(path)
    except MotFormatError as err:
        raise EvalInputError(str(err)) from None
    except OSError as err:
        raise EvalInputError(f"cannot read {kind} file {path}: {err.strerror}") from None
    return rows


def _check_rows(path: str, rows: np.ndarray, length: int, kind: str) -> Tuple[np.ndarray, np.ndarray]:
    frames = np.trunc(rows[:, 0]).astype(np.int64)
    ids = rows[:, 1].astype(np.int64)  # TrackEval truncates ids the same way
    bad = np.nonzero((frames < 1) | (frames > length))[0]
    if len(bad):
        raise EvalInputError(f"{path}: {kind} row {bad[0] + 1}: frame {rows[bad[0], 0]:g} outside 1..{length}")
    neg = np.nonzero(rows[:, 1] < 0)[0]
    if len(neg):
        raise EvalInputError(f"{path}: {kind} row {neg[0] + 1}: negative track id {rows[neg[0], 1]:g}")
    wh = np.nonzero((rows[:, 4] < 0) | (rows[:, 5] < 0))[0]
    if len(wh):
        raise EvalInputError(f"{path}: {kind} row {wh[0] + 1}: negative box width/height")
    if len(rows) > 1:
        order = np.lexsort((np.arange(len(rows)), ids, frames))
        same = (frames[order][1:] == frames[order][:-1]) & (ids[order][1:] == ids[order][:-1])
        if same.any():
            j = int(order[1:][same].min())
            raise EvalInputError(f"{path}: {kind} row {j + 1}: track id {ids[j]} repeated in frame {frames[j]}")
    return frames, ids


def _frame_groups(frames: np.ndarray, length: int) -> List[np.ndarray]:
    order = np.argsort(frames, kind="stable")
    bounds = np.searchsorted(frames[order], np.arange(1, length + 2))
    return [order[bounds[t]:bounds[t + 1]] for t in range(length)]


def _mode(gt_rows: np.ndarray, preprocess: str, path: str) -> str:
    if preprocess not in ("auto", "mot17", "mot20", "none"):
        raise EvalInputError(f"preprocess must be auto, mot17, mot20 or none, got {preprocess!r}")
    classes = np.unique(gt_rows[:, 7].astype(np.int64))
    valid = np.isin(classes, MOT_CLASSES)
    if preprocess == "auto":
        return "mot17" if valid.all() else "none"
    if preprocess != "none" and not valid.all():
        raise EvalInputError(f"{path}: ground-truth class {classes[~valid][0]} is not a MOTChallenge class "
                             f"(use preprocess='none' for MOT15-style files)")
    return preprocess


def _sequence(name: str, gt_file: str, pred_file: str, preprocess: str, length: Optional[int]):
    g = _read(gt_file, "ground-truth")
    p = _read(pred_file, "prediction")
    n = _seq_length(gt_file, g, p, length)
    g_frames, g_ids = _check_rows(gt_file, g, n, "ground-truth")
    p_frames, p_ids = _check_rows(pred_file, p, n, "prediction")
    if len(p) and p[:, 7].max() > 1:
        raise EvalInputError(f"{pred_file}: prediction class {p[:, 7].max():g} found; only pedestrian (1 or -1) "
                             "predictions can be evaluated")
    mode = _mode(g, preprocess, gt_file)
    g_box, p_box = xywh_to_xyxy(g[:, 2:6]), xywh_to_xyxy(p[:, 2:6])
    g_keep_row = np.trunc(g[:, 6]) != 0
    g_cls = g[:, 7].astype(np.int64)
    if mode != "none":
        g_keep_row &= g_cls == PEDESTRIAN
    g_distractor = np.isin(g_cls, DISTRACTORS.get(mode, ()))
    gt_ids, pred_ids, sims = [], [], []
    g_groups, p_groups = _frame_groups(g_frames, n), _frame_groups(p_frames, n)
    for gr, pr, sim in zip(g_groups, p_groups, box_iou_blocks(g_box, g_groups, p_box, p_groups)):
        if mode != "none" and len(pr) and g_distractor[gr].any():
            scores = sim.copy()
            scores[scores < 0.5 - EPS] = 0
            rows, cols = linear_sum_assignment(-scores)
            ok = scores[rows, cols] > 0 + EPS
            rows, cols = rows[ok], cols[ok]
            drop = cols[g_distractor[gr][rows]]
            keep_p = np.ones(len(pr), bool)
            keep_p[drop] = False
            pr, sim = pr[keep_p], sim[:, keep_p]
        keep_g = g_keep_row[gr]
        gt_ids.append(g_ids[gr][keep_g])
        pred_ids.append(p_ids[pr])
        sims.append(sim[keep_g])
    return build_sequence(name, gt_ids, pred_ids, sims, check_unique=False)


def evaluate_mot(gt: Union[PathLike, Sequence[PathLike], Mapping[str, PathLike]],
                 pred: Union[PathLike, Sequence[PathLike], Mapping[str, PathLike]],
                 preprocess: str = "auto", seq_lengths: Optional[Mapping[str, int]] = None,
                 with_clear: bool = True) -> Dict:
    """HOTA/OWTA family, CLEAR and IDF1 for MOTChallenge txt files.

    ``gt``: a ``gt.txt``, a MOTChallenge folder (``<seq>/gt/gt.txt``, ``seqinfo.ini`` read when
    present), a list of files or ``{seq: file}``. ``pred``: a result file, a folder of
    ``<seq>.txt``, a list or a dict. Sequence length: ``seq_lengths[seq]``, else ``seqinfo.ini``,
    else the last frame in either file. Returns the dictionary of ``results.score_sequences``.
    """
    seqs = [_sequence(name, g, p, preprocess, (seq_lengths or {}).get(name)) for name, g, p in _resolve(gt, pred)]
    return score_sequences(seqs, with_clear=with_clear)
