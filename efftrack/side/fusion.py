"""Multi-scale fusion: side-stage outputs -> FPN-style pyramid for the proposal head + one fused map."""
from typing import Dict, List, Sequence, Tuple

import torch
from torch import nn

from .blocks import LayerNorm2d
from .ladder import resample


def _grid(image_size: Tuple[int, int], stride: int) -> Tuple[int, int]:
    return (-(-image_size[0] // stride), -(-image_size[1] // stride))


class PyramidFusion(nn.Module):
    """Build pyramid levels at `out_strides` from stage outputs, top-down, plus a fused map at the finest level.

    A level whose stride no stage produced is resampled from the stage output nearest in stride (the side
    network documents when that happens). Top-down: p_s = lateral_s(c_s) + upsample(p_{2s}), then a
    depthwise-separable 3x3 smooth. Fused: every level upsampled to the finest stride, concatenated,
    1x1 conv to `fused_channels`, norm.

    forward(stage_maps {stride: (B, C_side, ceil(H/stride), ceil(W/stride))}, image_size (H, W)) ->
        (pyramid [(B, out_channels, ceil(H/s), ceil(W/s)) for s in out_strides],
         fused (B, fused_channels, ceil(H/s0), ceil(W/s0)) with s0 = min(out_strides))
    """

    def __init__(self, side_channels: int, out_strides: Sequence[int], out_channels: int, fused_channels: int):
        super().__init__()
        self.out_strides = tuple(sorted(int(s) for s in out_strides))
        self.lateral = nn.ModuleList(nn.Conv2d(side_channels, out_channels, 1) for _ in self.out_strides)
        self.smooth = nn.ModuleList(
            nn.Sequential(nn.Conv2d(out_channels, out_channels, 3, padding=1, groups=out_channels),
                          nn.Conv2d(out_channels, out_channels, 1), LayerNorm2d(out_channels))
            for _ in self.out_strides)
        self.fuse = nn.Sequential(nn.Conv2d(out_channels * len(self.out_strides), fused_channels, 1),
                                  LayerNorm2d(fused_channels))

    @staticmethod
    def _source(stage_maps: Dict[int, torch.Tensor], stride: int) -> torch.Tensor:
        if stride in stage_maps:
            return stage_maps[stride]
        finer = [s for s in stage_maps if s < stride]
        nearest = max(finer) if finer else min(stage_maps)
        return stage_maps[nearest]

    def forward(self, stage_maps: Dict[int, torch.Tensor], image_size: Tuple[int, int]):
        sizes = [_grid(image_size, s) for s in self.out_strides]
        laterals = [lat(resample(self._source(stage_maps, s), size))
                    for lat, s, size in zip(self.lateral, self.out_strides, sizes)]
        pyramid: List[torch.Tensor] = [None] * len(laterals)
        top = None
        for k in reversed(range(len(laterals))):
            p = laterals[k] if top is None else laterals[k] + resample(top, sizes[k])
            top = p
            pyramid[k] = self.smooth[k](p)
        fused = self.fuse(torch.cat([resample(p, sizes[0]) for p in pyramid], dim=1))
        return pyramid, fused
