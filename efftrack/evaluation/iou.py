"""Box IoU with TrackEval's exact arithmetic (so threshold decisions agree bit for bit)."""
from __future__ import annotations

import numpy as np

EPS = np.finfo("float").eps


def xywh_to_xyxy(boxes) -> np.ndarray:
    """(N,4) xywh -> (N,4) xyxy float64, computed as ``x + w`` the way TrackEval does."""
    b = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    b[:, 2] = b[:, 0] + b[:, 2]
    b[:, 3] = b[:, 1] + b[:, 3]
    return b


def box_iou(gt_xyxy: np.ndarray, pred_xyxy: np.ndarray) -> np.ndarray:
    """IoU matrix (G,T) float64 between gt (G,4) and predicted (T,4) xyxy boxes in pixels.

    Zero-area boxes get IoU 0 with everything, as in TrackEval's ``_calculate_box_ious``.
    """
    b1 = np.asarray(gt_xyxy, dtype=np.float64).reshape(-1, 4)
    b2 = np.asarray(pred_xyxy, dtype=np.float64).reshape(-1, 4)
    lo = np.minimum(b1[:, None, :], b2[None, :, :])
    hi = np.maximum(b1[:, None, :], b2[None, :, :])
    inter = np.maximum(lo[..., 2] - hi[..., 0], 0) * np.maximum(lo[..., 3] - hi[..., 1], 0)
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    union = area1[:, None] + area2[None, :] - inter
    inter[area1 <= 0 + EPS, :] = 0
    inter[:, area2 <= 0 + EPS] = 0
    inter[union <= 0 + EPS] = 0
    union[union <= 0 + EPS] = 1
    return inter / union


def box_iou_blocks(gt_xyxy: np.ndarray, gt_groups, pred_xyxy: np.ndarray, pred_groups) -> list:
    """Per-frame IoU matrices for many frames in one vectorised pass.

    gt_groups[t] / pred_groups[t]: row indices into gt_xyxy (G,4) / pred_xyxy (P,4) for frame t.
    Returns [ (len(gt_groups[t]), len(pred_groups[t])) float64 ]; each equals ``box_iou`` on that
    frame bit for bit (same element-wise operations).
    """
    n_g = np.array([len(g) for g in gt_groups], dtype=np.int64)
    n_p = np.array([len(p) for p in pred_groups], dtype=np.int64)
    sizes = n_g * n_p
    total = int(sizes.sum())
    if total == 0:
        return [np.zeros((a, b)) for a, b in zip(n_g, n_p)]
    g_cat = np.concatenate([np.asarray(g, np.int64) for g in gt_groups]) if len(gt_groups) else np.zeros(0, np.int64)
    p_cat = np.concatenate([np.asarray(p, np.int64) for p in pred_groups]) if len(pred_groups) else np.zeros(0, np.int64)
    gi = np.repeat(g_cat, np.repeat(n_p, n_g))
    frame = np.repeat(np.arange(len(sizes)), sizes)
    block_start = np.cumsum(sizes) - sizes
    p_start = np.cumsum(n_p) - n_p
    k = np.arange(total) - block_start[frame]
    pi = p_cat[p_start[frame] + k % np.maximum(n_p[frame], 1)]
    g = np.asarray(gt_xyxy, np.float64).reshape(-1, 4)
    p = np.asarray(pred_xyxy, np.float64).reshape(-1, 4)
    # Per-box areas gathered per pair: the same element-wise products as in box_iou.
    area1 = ((g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1]))[gi]
    area2 = ((p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1]))[pi]
    inter = np.maximum(np.minimum(g[gi, 2], p[pi, 2]) - np.maximum(g[gi, 0], p[pi, 0]), 0)
    inter *= np.maximum(np.minimum(g[gi, 3], p[pi, 3]) - np.maximum(g[gi, 1], p[pi, 1]), 0)
    union = area1 + area2 - inter
    inter[(area1 <= 0 + EPS) | (area2 <= 0 + EPS) | (union <= 0 + EPS)] = 0
    union[union <= 0 + EPS] = 1
    iou = inter / union
    return [blk.reshape(a, b) for blk, a, b in zip(np.split(iou, np.cumsum(sizes)[:-1]), n_g, n_p)]
