"""Vectorised box geometry for the tracker (numpy, boxes xyxy absolute pixels)."""
from __future__ import annotations

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU.

    a: (N,4) xyxy, b: (M,4) xyxy -> (N,M) float32 in [0,1]. Degenerate boxes give IoU 0.
    """
    a = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    area_a = (a[:, 2] - a[:, 0]).clip(min=0) * (a[:, 3] - a[:, 1]).clip(min=0)
    area_b = (b[:, 2] - b[:, 0]).clip(min=0) * (b[:, 3] - b[:, 1]).clip(min=0)
    # In-place ops: at 300x300 the temporaries, not the arithmetic, dominate the time.
    iw = np.minimum(a[:, None, 2], b[None, :, 2])
    iw -= np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3])
    ih -= np.maximum(a[:, None, 1], b[None, :, 1])
    np.maximum(iw, 0, out=iw)
    np.maximum(ih, 0, out=ih)
    iw *= ih                                   # intersection
    union = area_a[:, None] + area_b[None, :]
    union -= iw
    # Zero union only happens for two degenerate boxes; their IoU is defined as 0.
    np.maximum(union, 1e-9, out=union)
    iw /= union
    return iw


def xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    """(N,4) xyxy -> (N,4) centre x, centre y, width, height."""
    boxes = np.asarray(boxes)
    out = np.empty_like(boxes)
    out[:, 0] = (boxes[:, 0] + boxes[:, 2]) * 0.5
    out[:, 1] = (boxes[:, 1] + boxes[:, 3]) * 0.5
    out[:, 2] = boxes[:, 2] - boxes[:, 0]
    out[:, 3] = boxes[:, 3] - boxes[:, 1]
    return out


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(N,4) centre x, centre y, width, height -> (N,4) xyxy."""
    boxes = np.asarray(boxes)
    out = np.empty_like(boxes)
    half_w = boxes[:, 2] * 0.5
    half_h = boxes[:, 3] * 0.5
    out[:, 0] = boxes[:, 0] - half_w
    out[:, 1] = boxes[:, 1] - half_h
    out[:, 2] = boxes[:, 0] + half_w
    out[:, 3] = boxes[:, 1] + half_h
    return out
