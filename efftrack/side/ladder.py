"""Ladders (LST): detached backbone map -> 1x1 conv to the side width -> side-stage resolution; and gates."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn


def resample(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Resize (B, C, h, w) to (B, C, *size): area averaging when shrinking, bilinear when growing."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if size[0] <= x.shape[-2] and size[1] <= x.shape[-1]:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class Ladder(nn.Module):
    """One ladder: (B, C_in, h, w) backbone map -> (B, C_side, *size), with the input detached.

    `detach=False` only for baselines that fine-tune the backbone through the same side network
    (the efficiency benchmark's `full` and `lora` modes).

    The 1x1 conv and the resampling are both linear and the resampling weights sum to one, so they
    commute (bias included); the cheaper order is used: shrink first, or project first when growing.
    """

    def __init__(self, in_channels: int, out_channels: int, detach: bool = True):
        super().__init__()
        self.detach = detach
        self.proj = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, feat: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        if self.detach:
            feat = feat.detach()  # gradients never reach the backbone through a ladder
        if size[0] * size[1] <= feat.shape[-2] * feat.shape[-1]:
            return self.proj(resample(feat, size))
        return resample(self.proj(feat), size)


class LadderGate(nn.Module):
    """h = g * h_side + (1 - g) * ladder with g = sigmoid(alpha / T); alpha is a learnable scalar, 0 at start."""

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"LadderGate: temperature must be > 0, got {temperature}")
        self.alpha = nn.Parameter(torch.zeros(()))
        self.temperature = float(temperature)

    def gate(self) -> torch.Tensor:
        """Current gate value g, a 0-dim tensor in (0, 1)."""
        return torch.sigmoid(self.alpha / self.temperature)

    def forward(self, side: torch.Tensor, ladder: torch.Tensor) -> torch.Tensor:
        g = self.gate()
        return g * side + (1.0 - g) * ladder
