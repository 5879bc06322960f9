"""Appearance embedding head: RoIAlign on the fused side map -> small conv + MLP -> L2-normalised D-dim vector."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import roi_align


class EmbeddingInputError(ValueError):
    """The embedding head got a feature map or box lists of the wrong shape."""


def _gn_groups(channels: int) -> int:
    for g in (32, 16, 8, 4, 2):
        if channels % g == 0:
            return g
    return 1


class EmbeddingHead(nn.Module):
    """Per-box appearance embeddings.

    Args:
        in_channels: channels C_f of the fused map.
        dim: output embedding size D.
        roi_size: RoIAlign output side.
        stride: stride of the fused map in input pixels (spatial_scale = 1/stride).
        hidden: width of the MLP's hidden layer.
        num_convs: 3x3 conv + GN + ReLU layers on the RoI features before the MLP (0 for the cheapest head).
        conv_channels: width of those convs; kept small because the conv runs on every RoI (up to 1000).
    """

    def __init__(self, in_channels: int, dim: int = 128, roi_size: int = 7, stride: int = 8, hidden: int = 256,
                 num_convs: int = 1, conv_channels: int = 64):
        super().__init__()
        self.in_channels = in_channels
        self.dim = dim
        self.roi_size = roi_size
        self.stride = stride
        layers: list[nn.Module] = []
        c = in_channels
        for _ in range(num_convs):
            layers += [nn.Conv2d(c, conv_channels, 3, padding=1, bias=False),
                       nn.GroupNorm(_gn_groups(conv_channels), conv_channels), nn.ReLU(inplace=True)]
            c = conv_channels
        self.convs = nn.Sequential(*layers)
        self.mlp = nn.Sequential(nn.Flatten(1), nn.Linear(c * roi_size * roi_size, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, dim))

    def forward(self, fused: torch.Tensor, boxes: list[torch.Tensor]) -> list[torch.Tensor]:
        """fused: (B,C_f,H/stride,W/stride); boxes: B tensors (K_i,4) xyxy input-image pixels.

        Returns B tensors (K_i, dim), unit L2 norm (K_i may be 0).
        """
        if fused.dim() != 4 or fused.shape[1] != self.in_channels:
            raise EmbeddingInputError(f"EmbeddingHead: fused map has shape {tuple(fused.shape)}, "
                                      f"need (B,{self.in_channels},h,w)")
        if len(boxes) != fused.shape[0]:
            raise EmbeddingInputError(f"EmbeddingHead: {len(boxes)} box lists for a batch of {fused.shape[0]}")
        for i, b in enumerate(boxes):
            if b.dim() != 2 or b.shape[-1] != 4:
                raise EmbeddingInputError(f"EmbeddingHead: boxes[{i}] has shape {tuple(b.shape)}, need (K,4)")
        counts = [int(b.shape[0]) for b in boxes]
        if sum(counts) == 0:
            # Still attached to the graph so a loss over no RoIs can backpropagate (as zero).
            return [fused.new_zeros((0, self.dim)) + fused.sum() * 0.0 for _ in boxes]
        rois = roi_align(fused, [b.to(fused.dtype) for b in boxes], output_size=self.roi_size,
                         spatial_scale=1.0 / self.stride, sampling_ratio=2, aligned=True)
        emb = F.normalize(self.mlp(self.convs(rois)), p=2, dim=1)
        return list(emb.split(counts, dim=0))
