"""From video frames to proposals in original pixels: preprocessing + ``EffOWT.predict`` + mapping back."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..data.transforms import letterbox, unletterbox_boxes


class FrameDetector:
    """Run the model on frames of any size.

    Args:
        model: an ``EffOWT`` (put in eval mode here). input_size: (h, w) letterbox size, multiples of the
        backbone's largest stride. device: where the model runs.

    ``__call__(frames, bgr=True, timings=None, min_score=0.0)``: frames is a list of HxWx3 uint8 images (BGR as
    OpenCV reads them, or RGB with ``bgr=False``); proposals below ``min_score`` are dropped. Returns per frame dict(boxes (K,4) float32 xyxy original pixels,
    scores (K,) float32, embeddings (K,D) float32), sorted by score.
    """

    def __init__(self, model, input_size: Sequence[int], device: str | torch.device = "cpu"):
        self.model = model.eval().to(device)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        stride = model.backbone.max_stride
        if self.input_size[0] % stride or self.input_size[1] % stride:
            raise ValueError(f"input_size {self.input_size} must be a multiple of the backbone stride {stride}")
        self.device = torch.device(device)

    def __call__(self, frames: Sequence[np.ndarray], bgr: bool = True, timings: dict | None = None,
                 min_score: float = 0.0) -> list[dict]:
        if not len(frames):
            return []
        batch, metas = [], []
        for f in frames:
            rgb = f[..., ::-1] if bgr else f
            img, meta = letterbox(np.ascontiguousarray(rgb), self.input_size)
            batch.append(torch.from_numpy(img).permute(2, 0, 1))
            metas.append(meta)
        images = torch.stack(batch).to(self.device, non_blocking=True).float().div_(255.0)
        outs = self.model.predict(images, timings=timings, min_score=min_score)
        results = []
        for out, meta in zip(outs, metas):
            results.append(dict(boxes=unletterbox_boxes(out["boxes"].float().cpu().numpy(), meta),
                                scores=out["scores"].float().cpu().numpy(),
                                embeddings=out["embeddings"].float().cpu().numpy()))
        return results
