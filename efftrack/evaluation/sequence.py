"""One sequence ready for scoring: per-frame contiguous ids and IoU matrices."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence

import numpy as np

from .errors import EvalInputError
from .iou import box_iou


@dataclass
class ScoredSequence:
    """Per-frame data after preprocessing, in TrackEval's metric-input layout.

    gt_ids[t]: (G_t,) int64 in 0..num_gt_ids-1; pred_ids[t]: (P_t,) int64 in 0..num_pred_ids-1;
    similarity[t]: (G_t, P_t) float64 IoU. raw_gt_ids / raw_pred_ids keep the file ids (for
    motmetrics, which reports by id).
    """

    name: str
    gt_ids: List[np.ndarray]
    pred_ids: List[np.ndarray]
    similarity: List[np.ndarray]
    num_gt_ids: int
    num_pred_ids: int
    raw_gt_ids: List[np.ndarray] = field(default_factory=list)
    raw_pred_ids: List[np.ndarray] = field(default_factory=list)

    @property
    def num_timesteps(self) -> int:
        return len(self.gt_ids)

    @property
    def num_gt_dets(self) -> int:
        return int(sum(len(g) for g in self.gt_ids))

    @property
    def num_pred_dets(self) -> int:
        return int(sum(len(p) for p in self.pred_ids))


def _relabel(ids_per_frame: List[np.ndarray]):
    """Map raw ids to 0..K-1 in sorted order of raw id (TrackEval's relabelling)."""
    if not ids_per_frame:
        return [], 0
    flat = np.concatenate([np.asarray(i, dtype=np.int64).reshape(-1) for i in ids_per_frame])
    uniq, inv = np.unique(flat, return_inverse=True)
    out, start = [], 0
    for ids in ids_per_frame:
        n = len(ids)
        out.append(inv[start:start + n].astype(np.int64))
        start += n
    return out, len(uniq)


def build_sequence(name: str, gt_ids: Sequence, pred_ids: Sequence, similarity: Sequence,
                   check_unique: bool = True) -> ScoredSequence:
    """Relabel ids contiguously and check ids are unique per frame (TrackEval rejects repeats).

    Readers that already validated uniqueness pass ``check_unique=False``.
    """
    raw_g = [np.asarray(g, dtype=np.int64).reshape(-1) for g in gt_ids]
    raw_p = [np.asarray(p, dtype=np.int64).reshape(-1) for p in pred_ids]
    for t, (g, p) in enumerate(zip(raw_g, raw_p) if check_unique else ()):
        for kind, ids in (("ground-truth", g), ("predicted", p)):
            if len(ids) > 1 and len(np.unique(ids)) != len(ids):
                vals, counts = np.unique(ids, return_counts=True)
                raise EvalInputError(f"sequence {name!r} frame {t}: {kind} track id "
                                     f"{int(vals[counts > 1][0])} appears more than once")
    g_rel, n_g = _relabel(raw_g)
    p_rel, n_p = _relabel(raw_p)
    sims = [np.asarray(s, dtype=np.float64).reshape(len(g), len(p)) for s, g, p in zip(similarity, raw_g, raw_p)]
    return ScoredSequence(name=name, gt_ids=g_rel, pred_ids=p_rel, similarity=sims, num_gt_ids=n_g,
                          num_pred_ids=n_p, raw_gt_ids=raw_g, raw_pred_ids=raw_p)


def sequence_from_boxes(name: str, gt_ids, gt_boxes, pred_ids, pred_boxes) -> ScoredSequence:
    """Build from per-frame ids and xyxy pixel boxes ((N,4) arrays, one per frame)."""
    if not (len(gt_ids) == len(gt_boxes) == len(pred_ids) == len(pred_boxes)):
        raise EvalInputError(f"sequence {name!r}: gt_ids, gt_boxes, pred_ids and pred_boxes must have one entry "
                             f"per frame (got {len(gt_ids)}, {len(gt_boxes)}, {len(pred_ids)}, {len(pred_boxes)})")
    sims = []
    for t in range(len(gt_ids)):
        gb = np.asarray(gt_boxes[t], dtype=np.float64).reshape(-1, 4)
        pb = np.asarray(pred_boxes[t], dtype=np.float64).reshape(-1, 4)
        if len(gb) != len(np.asarray(gt_ids[t]).reshape(-1)) or len(pb) != len(np.asarray(pred_ids[t]).reshape(-1)):
            raise EvalInputError(f"sequence {name!r} frame {t}: number of ids and boxes differ")
        if not (np.isfinite(gb).all() and np.isfinite(pb).all()):
            raise EvalInputError(f"sequence {name!r} frame {t}: non-finite box coordinates")
        sims.append(box_iou(gb, pb))
    for t in range(len(gt_ids)):
        for kind, ids in (("ground-truth", gt_ids[t]), ("predicted", pred_ids[t])):
            if np.any(np.asarray(ids).reshape(-1) < 0):
                raise EvalInputError(f"sequence {name!r} frame {t}: negative {kind} track id")
    return build_sequence(name, gt_ids, pred_ids, sims)
