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
