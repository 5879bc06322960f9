"""TAO-OW evaluation: class-agnostic HOTA/OWTA per category subset, TrackEval's TAO_OW semantics.

What TrackEval does, reproduced here:
* ground truth of a subset = annotations whose category is in the subset ('all' keeps everything);
* a video's timesteps are its images that carry ground truth of the subset, ordered by frame_index;
  predictions on any other image are ignored;
* at most ``max_dets`` predictions per image, highest score first (stable; 0 = unlimited);
* a track id used in several videos is split into one id per video;
* in a video that lists category 1 among ``not_exhaustive_category_ids`` (TrackEval's class-agnostic
  class id), predictions not matched (IoU >= 0.5) to ground truth are dropped.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Sequence, Union

import numpy as np
from scipy.optimize import linear_sum_assignment

from .gc_pause import gc_paused
from .iou import EPS, box_iou_blocks, xywh_to_xyxy
from .results import score_sequences
from .sequence import build_sequence
from .tao_inputs import TaoGroundTruth, TaoPredictions, load_tao_gt, load_tao_predictions, subset_category_filter

DEFAULT_SUBSETS = ("all", "known", "unknown", "distractor")
AGNOSTIC_CLASS_ID = 1  # TrackEval's TAO_OW relabels every box to class 1 and checks video lists for it


def limit_detections(image: np.ndarray, score: np.ndarray, max_dets: int) -> np.ndarray:
    """Indices of the kept predictions, in the order TrackEval's ``_limit_dets_per_image`` leaves them.

    Images appear in order of their first record; an image over the limit keeps its ``max_dets``
    highest scores (ties: earlier record first), the others keep file order.
    """
    n = len(image)
    if n == 0:
        return np.zeros(0, np.int64)
    idx = np.arange(n)
    _, first, inv = np.unique(image, return_index=True, return_inverse=True)
    img_rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")[inv]
    count = np.bincount(inv)[inv]
    limited = (count > max_dets) if max_dets else np.zeros(n, bool)
    if not limited.any():  # common case: only regroup by image, file order within an image
        return np.argsort(img_rank, kind="stable")
    by_file = np.lexsort((idx, img_rank))
    by_score = np.lexsort((idx, -score, img_rank))
    group_start = np.r_[0, np.cumsum(np.bincount(img_rank))][img_rank]
    pos_file = np.empty(n, np.int64)
    pos_file[by_file] = idx
    pos_score = np.empty(n, np.int64)
    pos_score[by_score] = idx
    pos_file -= group_start
    pos_score -= group_start
    key = np.where(limited, pos_score, pos_file)
    keep = ~limited | (pos_score < max_dets)
    order = np.lexsort((key, img_rank))
    return order[keep[order]]


def unique_track_ids(track: np.ndarray, video: np.ndarray) -> np.ndarray:
    """TrackEval's ``_make_track_ids_unique``: an id seen in several videos gets a new id per video.

    New ids start above the largest id and follow the first appearance of each (id, video) pair.
    """
    if len(track) == 0:
        return track.copy()
    _, first, inv = np.unique(track, return_index=True, return_inverse=True)
    moved = np.bincount(inv, weights=(video != video[first][inv]).astype(float)) > 0
    flagged = np.nonzero(moved[inv])[0]
    out = track.copy()
    if len(flagged):
        _, v_idx = np.unique(video[flagged], return_inverse=True)
        pair_key = inv[flagged] * (int(v_idx.max()) + 1) + v_idx  # one int per (track, video) pair
        _, pfirst, pinv = np.unique(pair_key, return_index=True, return_inverse=True)
        rank = np.empty(len(pfirst), np.int64)
        rank[np.argsort(pfirst, kind="stable")] = np.arange(len(pfirst))
        out[flagged] = max(0, int(track.max())) + 1 + rank[pinv.reshape(-1)]
    return out


def _groups(keys: np.ndarray) -> Dict[int, np.ndarray]:
    """{key: positions with that key, ascending}."""
    if len(keys) == 0:
        return {}
    order = np.argsort(keys, kind="stable")
    uniq, starts = np.unique(keys[order], return_index=True)
    return dict(zip(uniq.tolist(), np.split(order, starts[1:])))


def _drop_unmatched(sim: np.ndarray) -> np.ndarray:
    """Mask of predictions matched to gt at IoU >= 0.5 (TrackEval's TAO preprocessing match)."""
    keep = np.zeros(sim.shape[1], bool)
    if sim.shape[0] and sim.shape[1]:
        scores = sim.copy()
        scores[scores < 0.5 - EPS] = 0
        rows, cols = linear_sum_assignment(-scores)
        keep[cols[scores[rows, cols] > 0 + EPS]] = True
    return keep


def _subset_sequences(gt: TaoGroundTruth, gt_xyxy, p_trk, p_xyxy, p_by_image, subset: str):
    mask = subset_category_filter(gt, subset)
    g_idx = np.arange(len(gt.ann_image)) if mask is None else np.nonzero(mask)[0]
    g_img = gt.ann_image[g_idx]
    g_by_image = _groups(g_img)
    # images of each video in order of first annotation, then stably by frame_index
    _, first = np.unique(g_img, return_index=True)
    first_seen = g_img[np.sort(first)].tolist()
    per_video: Dict[int, List[int]] = {}
    for iid in first_seen:
        per_video.setdefault(gt.image_video[iid], []).append(iid)
    empty = np.zeros(0, np.int64)
    seqs, taken = [], set()
    for v in gt.videos:
        vid = int(v["id"])
        neg = AGNOSTIC_CLASS_ID in (v.get("neg_category_ids") or [])
        not_exhaustive = AGNOSTIC_CLASS_ID in (v.get("not_exhaustive_category_ids") or [])
        images = sorted(per_video.get(vid, []), key=lambda i: gt.image_frame[i])
        g_rows = [g_idx[g_by_image[iid]] for iid in images]
        p_rows = [p_by_image.get(iid, empty) for iid in images]
        sims = box_iou_blocks(gt_xyxy, g_rows, p_xyxy, p_rows)
        gt_ids, pred_ids = [], []
        for t, (rows, prow) in enumerate(zip(g_rows, p_rows)):
            if not_exhaustive or (len(rows) == 0 and not neg):
                keep = _drop_unmatched(sims[t])
                prow, sims[t] = prow[keep], sims[t][:, keep]
            gt_ids.append(gt.ann_track[rows])
            pred_ids.append(p_trk[prow])
        name = str(v.get("name", vid)).replace("/", "-")
        if name in taken:  # two videos with one name must not merge
            name = f"{name}#{vid}"
        taken.add(name)
        seqs.append(build_sequence(name, gt_ids, pred_ids, sims, check_unique=False))
    return seqs


def evaluate_tao_ow(gt: Union[str, dict, TaoGroundTruth], predictions: Union[str, list],
                    subsets: Union[str, Sequence[str]] = DEFAULT_SUBSETS, max_dets: int = 300,
                    with_clear: bool = False) -> Dict[str, Dict]:
    """OWTA/HOTA family per subset for TAO-OW style JSON (paths or loaded objects).

    ``subsets``: any of all/known/unknown/distractor (TrackEval's id lists) or a split name recorded
    in the ground truth's ``categories[*].split``. Returns ``{subset: result}``, each result as
    described in ``results.score_sequences`` (``summary['OWTA']`` is the headline number).
    """
    if isinstance(subsets, str):
        subsets = (subsets,)
    with gc_paused():
        return _evaluate_tao_ow(gt, predictions, tuple(subsets), int(max_dets), with_clear)


def _evaluate_tao_ow(gt, predictions, subsets, max_dets: int, with_clear: bool) -> Dict[str, Dict]:
    gt_data = gt if isinstance(gt, TaoGroundTruth) else load_tao_gt(gt)
    preds: TaoPredictions = load_tao_predictions(predictions, gt_data)
    kept = limit_detections(preds.image, preds.score, int(max_dets))
    p_trk = unique_track_ids(preds.track[kept], preds.video[kept])
    p_xyxy = xywh_to_xyxy(preds.box[kept])
    gt_xyxy = xywh_to_xyxy(gt_data.ann_box)
    p_by_image = _groups(preds.image[kept])
    out = {}
    for subset in subsets:
        seqs = _subset_sequences(gt_data, gt_xyxy, p_trk, p_xyxy, p_by_image, subset)
        res = score_sequences(seqs, with_clear=with_clear)
        res["subset"] = subset
        res["max_dets"] = int(max_dets)
        out[subset] = res
    return out


def available_subsets(gt: Union[str, dict, TaoGroundTruth]) -> Iterable[str]:
    """The TrackEval subsets plus any split names recorded in the ground truth."""
    gt_data = gt if isinstance(gt, TaoGroundTruth) else load_tao_gt(gt)
    return tuple(DEFAULT_SUBSETS) + tuple(s for s in gt_data.split_names() if s not in DEFAULT_SUBSETS)
