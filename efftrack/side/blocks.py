"""Side-network building blocks; every block maps (B, C, H, W) -> (B, C', H', W')."""
import torch
import torch.nn.functional as F
from torch import nn

from .sim import SparseInteraction


class LayerNorm2d(nn.Module):
    """LayerNorm over channels at every pixel of a (B, C, H, W) map.

    Per-token normalisation (ConvNeXt style) rather than BatchNorm: tracking trains with batches of 2-8
    frame pairs, where batch statistics are noise.
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvBlock(nn.Module):
    """Locality block: depthwise 3x3 -> norm -> pointwise expand -> GELU -> pointwise, residual.

    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, expansion: float = 2.0):
        super().__init__()
        hidden = max(1, int(round(channels * expansion)))
        self.dw = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.norm = LayerNorm2d(channels)
        self.pw1 = nn.Conv2d(channels, hidden, 1)
        self.act = nn.GELU()
        self.pw2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pw2(self.act(self.pw1(self.norm(self.dw(x)))))


class SIMBlock(nn.Module):
    """Transformer-style block whose token mixer is the SIM: x + SIM(LN(x)), then x + MLP(LN(x)).

    The channel MLP is per token, so the block keeps the SIM's row/column/diagonal receptive field.
    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, mlp_ratio: float = 2.0, **sim_kwargs):
        super().__init__()
        hidden = max(1, int(round(channels * mlp_ratio)))
        self.norm1 = LayerNorm2d(channels)
        self.mixer = SparseInteraction(channels, **sim_kwargs)
        self.norm2 = LayerNorm2d(channels)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.GELU(), nn.Conv2d(hidden, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mixer(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Downsample(nn.Module):
    """Halve the resolution `steps` times: (depthwise 3x3 stride 2 -> pointwise -> norm) per step.

    Output size per step is ceil(n / 2), matching the side network's ceil(image / stride) grid.
    Shapes: (B, C, H, W) -> (B, C, ceil(H / 2**steps), ceil(W / 2**steps)).
    """

    def __init__(self, channels: int, steps: int):
        super().__init__()
        layers = []
        for _ in range(steps):
            layers += [nn.Conv2d(channels, channels, 3, stride=2, padding=1, groups=channels),
                       nn.Conv2d(channels, channels, 1), LayerNorm2d(channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def build_block(kind: str, channels: int, expansion: float = 2.0, **sim_kwargs) -> nn.Module:
    """Block factory for the side network's stage pattern: 'conv' or 'sim'."""
    if kind == "conv":
        return ConvBlock(channels, expansion=expansion)
    if kind == "sim":
        return SIMBlock(channels, mlp_ratio=expansion, **sim_kwargs)
    raise ValueError(f"side network: unknown block kind {kind!r} (expected 'conv' or 'sim')")
