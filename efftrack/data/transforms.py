"""Image + box transforms for training and inference.

Every transform is a callable ``t(image, boxes, meta, rng) -> (image, boxes, meta)`` where
``image`` is HxWx3 uint8 RGB (numpy), ``boxes`` is (N, 4) float32 xyxy in that image's pixels and
``meta`` a dict. Transforms that can drop boxes (``RandomCrop``) narrow ``meta["keep"]`` (indices
into the boxes given to ``Compose``) so callers can index track ids and labels alike.

Letterbox convention: keep aspect ratio, scale by ``min(H_in/H, W_in/W)``, place the resized image
at the TOP-LEFT and pad bottom/right with grey (114). So ``meta["pad"]`` is always ``(0, 0)``, and
mapping back is a single division: ``box_orig = (box - [pad_l, pad_t]*2) / scale``. ``meta`` records
``orig_size (h, w)`` of the image that entered the letterbox, ``scale``, ``pad (left, top)`` and
``input_size (h, w)``.
"""
from __future__ import annotations

import cv2
import numpy as np

PAD_VALUE = 114


def _rng(rng):
    return rng if rng is not None else np.random.default_rng()


def _ensure_keep(boxes, meta):
    if "keep" not in meta:
        meta["keep"] = np.arange(len(boxes), dtype=np.int64)


def letterbox(image: np.ndarray, size) -> tuple:
    """Resize ``image`` (HxWx3) into ``size=(h, w)`` keeping aspect, pad bottom/right.

    Returns ``(padded_image (h, w, 3), meta)`` with meta keys orig_size, scale, pad, input_size.
    """
    out_h, out_w = int(size[0]), int(size[1])
    h, w = image.shape[:2]
    scale = min(out_h / h, out_w / w)
    new_h, new_w = max(1, min(out_h, round(h * scale))), max(1, min(out_w, round(w * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interp) if (new_h, new_w) != (h, w) else image
    canvas = np.full((out_h, out_w, image.shape[2]), PAD_VALUE, dtype=image.dtype)
    canvas[:new_h, :new_w] = resized
    meta = dict(orig_size=(h, w), scale=float(scale), pad=(0, 0), input_size=(out_h, out_w))
    return canvas, meta


def unletterbox_boxes(boxes_xyxy, meta) -> np.ndarray:
    """Map (N, 4) xyxy boxes from letterboxed input pixels back to original pixels (clipped)."""
    b = np.asarray(boxes_xyxy, dtype=np.float32).reshape(-1, 4).copy()
    pl, pt = meta["pad"]
    b[:, [0, 2]] = (b[:, [0, 2]] - pl) / meta["scale"]
    b[:, [1, 3]] = (b[:, [1, 3]] - pt) / meta["scale"]
    h, w = meta["orig_size"]
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, w)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, h)
    return b


class Letterbox:
    """Letterbox to ``size=(h, w)``; boxes scaled; writes orig_size/scale/pad/input_size into meta."""

    def __init__(self, size):
        self.size = (int(size[0]), int(size[1]))

    def __call__(self, image, boxes, meta, rng=None):
        out, lb = letterbox(image, self.size)
        b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4) * lb["scale"]
        meta = dict(meta)
        meta.update(lb)
        return out, b.astype(np.float32), meta


class RandomFlip:
    """Horizontal flip with probability ``p``: x -> W - x."""

    def __init__(self, p: float = 0.5):
        self.p = float(p)

    def __call__(self, image, boxes, meta, rng=None):
        if _rng(rng).random() >= self.p:
            return image, boxes, meta
        w = image.shape[1]
        b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
        b[:, [0, 2]] = w - b[:, [2, 0]]
        meta = dict(meta)
        meta["flipped"] = not meta.get("flipped", False)
        return np.ascontiguousarray(image[:, ::-1]), b, meta


class ScaleJitter:
    """Resize by a factor drawn uniformly from ``scale_range``; boxes scaled by the same factors."""

    def __init__(self, scale_range=(0.75, 1.25)):
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))

    def __call__(self, image, boxes, meta, rng=None):
        s = _rng(rng).uniform(*self.scale_range)
        h, w = image.shape[:2]
        new_h, new_w = max(1, round(h * s)), max(1, round(w * s))
        out = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
        # Per-axis factors so boxes follow the integer output size exactly.
        b[:, [0, 2]] *= new_w / w
        b[:, [1, 3]] *= new_h / h
        return out, b, meta


class RandomCrop:
    """Crop a random window covering ``min_ratio..1`` of each side; boxes shifted and clipped.

    Boxes keeping less than ``min_visible`` of their area are dropped (``meta["keep"]`` narrowed).
    """

    def __init__(self, min_ratio: float = 0.6, min_visible: float = 0.3):
        self.min_ratio = float(min_ratio)
        self.min_visible = float(min_visible)

    def __call__(self, image, boxes, meta, rng=None):
        rng = _rng(rng)
        h, w = image.shape[:2]
        ch = max(1, round(h * rng.uniform(self.min_ratio, 1.0)))
        cw = max(1, round(w * rng.uniform(self.min_ratio, 1.0)))
        y0 = int(rng.integers(0, h - ch + 1))
        x0 = int(rng.integers(0, w - cw + 1))
        return crop(image, boxes, meta, x0, y0, cw, ch, self.min_visible)


def crop(image, boxes, meta, x0: int, y0: int, cw: int, ch: int, min_visible: float = 0.3):
    """Deterministic crop of window (x0, y0, cw, ch); see ``RandomCrop``."""
    meta = dict(meta)
    _ensure_keep(boxes, meta)
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    nb = b - np.array([x0, y0, x0, y0], dtype=np.float32)
    nb[:, [0, 2]] = nb[:, [0, 2]].clip(0, cw)
    nb[:, [1, 3]] = nb[:, [1, 3]].clip(0, ch)
    new_area = (nb[:, 2] - nb[:, 0]) * (nb[:, 3] - nb[:, 1])
    ok = (new_area > 0) & (new_area >= min_visible * np.maximum(area, 1e-6))
    meta["keep"] = np.asarray(meta["keep"])[ok]
    return np.ascontiguousarray(image[y0:y0 + ch, x0:x0 + cw]), nb[ok].astype(np.float32), meta


class ColorJitter:
    """Random brightness, contrast, saturation and hue shift; boxes unchanged."""

    def __init__(self, brightness=0.25, contrast=0.25, saturation=0.25, hue=0.03):
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.saturation, self.hue = float(saturation), float(hue)

    def __call__(self, image, boxes, meta, rng=None):
        rng = _rng(rng)
        img = image.astype(np.float32)
        img *= rng.uniform(1 - self.brightness, 1 + self.brightness)
        mean = img.mean()
        img = (img - mean) * rng.uniform(1 - self.contrast, 1 + self.contrast) + mean
        grey = img.mean(axis=2, keepdims=True)
        img = (img - grey) * rng.uniform(1 - self.saturation, 1 + self.saturation) + grey
        out = img.clip(0, 255).astype(np.uint8)
        if self.hue > 0:
            hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
            shift = int(round(rng.uniform(-self.hue, self.hue) * 180))
            hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 180).astype(np.uint8)
            out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        return out, boxes, meta


class Compose:
    """Apply transforms in order, sharing one ``rng``; initialises ``meta["keep"]``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image, boxes, meta=None, rng=None):
        meta = dict(meta or {})
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        _ensure_keep(boxes, meta)
        for t in self.transforms:
            image, boxes, meta = t(image, boxes, meta, rng)
        return image, boxes, meta


def build_pipeline(input_size, augment: bool) -> Compose:
    """Training pipeline (jitter, crop, flip, colour, letterbox) or plain letterbox."""
    if not augment:
        return Compose([Letterbox(input_size)])
    return Compose([ScaleJitter(), RandomCrop(), RandomFlip(), ColorJitter(), Letterbox(input_size)])
