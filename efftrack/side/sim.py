"""Sparse Interaction Module (SIM): token mixing along a token's row, column and two diagonals.

Receptive field (the contract, checked by tests with gradients): for one mixing step the output at grid
position (i, j) depends on exactly the inputs on row i, column j, the diagonal {(i+k, j+k)} and the
anti-diagonal {(i+k, j-k)} through (i, j), and on nothing else. Two SIM steps therefore reach every
position of the grid, while one step costs O(H*W*(H+W)) instead of attention's O((H*W)^2).

Formulation chosen: directional aggregation with a learned, per-channel distance decay.

    line_d(i, j)[c] = sum_{t on line d through (i,j)} exp(-rate[d,c] * dist(t, (i,j))) * x[c, t]
                      / sum_{same t} exp(-rate[d,c] * dist(t, (i,j)))
    y(i, j) = W_out @ concat_d(line_d(i, j)) + b                 d in (row, column, diagonal, anti-diagonal)

`dist` counts steps along the line (for both diagonals that is the row difference |i - i'|). Each
direction and channel learns how far it looks: rate near 0 is the plain line mean (global along the line),
a large rate is local. The rates are initialised log-spaced across channels, so at start some channels are
local and others global (a multi-scale prior, as in decay-based sequence mixers). The normaliser makes every
output a weighted mean, so short border lines (a corner's diagonal holds one token) are not darker than
long ones.

Why this rather than the alternatives:
- Axial/diagonal MLPs with a weight matrix per line length (sMLP style) tie the parameter count to the grid
  size and need the weights resampled for every new input size. Here the only parameters are 4*C decay
  logits and the 4C -> C output projection: independent of H*W, and any grid (non-square, 1 x N) works.
- A bare mean/max per line loses position: every token of a row would receive the same row summary. The
  decay keeps "near on the line" distinguishable from "far on the line" at no extra parameters.
- Attention restricted to the four lines would need per-pixel softmaxes over ragged sets; the decay kernel
  is a fixed (C, L, L) matrix per line length, so every direction is one batched matmul.

Implementation: rows and columns are plain einsums with the (C, L, L) kernel. Both diagonal families are
sheared into a dense (lines, positions) layout with one precomputed gather (padded slots read a zero and
carry zero weight in the normaliser), mixed with the same kernel along the position axis, and gathered
back. Index tensors are cached per (H, W, device). No Python loop runs over pixels or lines.

Decay rates are bounded by `max_rate` and distances are capped at `distance_cap`, so exp(-rate * dist)
stays a normal float32 (>= exp(-80)) at any grid size: the farthest tokens on a line keep a tiny but
non-zero weight and the receptive field stays exactly the four lines. (In float16 the far weights
underflow to zero beyond ~16 / rate steps; the normaliser always includes the token's own weight 1.)
"""
from typing import Dict, Tuple

import math

import torch
import torch.nn.functional as F
from torch import nn

DIRECTIONS = ("row", "column", "diagonal", "anti_diagonal")


def _diagonal_layout(height: int, width: int, anti: bool, device: torch.device):
    """Gather/scatter indices that shear a diagonal family into a dense (lines, height) layout.

    Returns (gather (NL, H) long into the flattened H*W grid, with H*W meaning "padding"; valid (NL, H) float
    mask; back (H*W,) long into the flattened (NL, H) layout). NL = H + W - 1. Line n holds the tokens
    with j - i + H - 1 == n (diagonal) or i + j == n (anti-diagonal); the position along a line is i.
    """
    n_lines = height + width - 1
    lines = torch.arange(n_lines, device=device).view(-1, 1)
    rows = torch.arange(height, device=device).view(1, -1)
    cols = (lines - rows) if anti else (lines - (height - 1) + rows)
    valid = (cols >= 0) & (cols < width)
    gather = torch.where(valid, rows * width + cols.clamp(0, width - 1), torch.full_like(cols, height * width))
    ii, jj = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device),
                            indexing="ij")
    line_of_pixel = (ii + jj) if anti else (jj - ii + height - 1)
    back = (line_of_pixel * height + ii).reshape(-1)
    return gather, valid.to(torch.float32), back


class SparseInteraction(nn.Module):
    """Row/column/diagonal/anti-diagonal token mixer.

    Args:
        channels: C, channels in and out.
        max_rate: upper bound of the per-channel decay rate (per step along a line).
        min_init_rate: smallest decay rate at initialisation (near-global channels).
        distance_cap: distances along a line are clamped here (see module docstring).

    Shapes: forward(x (B, C, H, W)) -> (B, C, H, W), any H, W >= 1.
    """

    def __init__(self, channels: int, max_rate: float = 0.5, min_init_rate: float = 0.01,
                 distance_cap: int = 160):
        super().__init__()
        if channels < 1:
            raise ValueError(f"SparseInteraction: channels must be >= 1, got {channels}")
        if not 0 < min_init_rate < max_rate:
            raise ValueError(f"SparseInteraction: need 0 < min_init_rate < max_rate, got {min_init_rate}, "
                             f"{max_rate}")
        self.channels = channels
        self.max_rate = float(max_rate)
        self.distance_cap = int(distance_cap)
        # Log-spaced initial rates (up to 0.8 * max_rate) so each direction has local and global channels.
        rates = torch.logspace(math.log10(min_init_rate), math.log10(0.8 * max_rate), channels)
        frac = rates / max_rate
        logits = torch.log(frac) - torch.log1p(-frac)
        self.decay_logit = nn.Parameter(logits.repeat(len(DIRECTIONS), 1))  # (4, C)
        self.proj = nn.Conv2d(len(DIRECTIONS) * channels, channels, kernel_size=1)
        self._layouts: Dict[Tuple[int, int, str], tuple] = {}

    def rates(self) -> torch.Tensor:
        """Decay rate per direction and channel, (4, C), in (0, max_rate)."""
        return self.max_rate * torch.sigmoid(self.decay_logit)

    def _kernel(self, rate: torch.Tensor, length: int) -> torch.Tensor:
        """(C, L, L) decay weights exp(-rate * |p - q|) for one direction."""
        pos = torch.arange(length, device=rate.device, dtype=rate.dtype)
        dist = (pos.view(-1, 1) - pos.view(1, -1)).abs().clamp(max=self.distance_cap)
        return torch.exp(-rate.view(-1, 1, 1) * dist)

    def _layout(self, height: int, width: int, anti: bool, device: torch.device):
        key = (height, width, f"{device}{'a' if anti else 'd'}")
        if key not in self._layouts:
            self._layouts[key] = _diagonal_layout(height, width, anti, device)
        return self._layouts[key]

    def _mix_diagonals(self, x: torch.Tensor, kernel: torch.Tensor, anti: bool) -> torch.Tensor:
        b, c, h, w = x.shape
        gather, valid, back = self._layout(h, w, anti, x.device)
        flat = F.pad(x.reshape(b, c, h * w), (0, 1))  # slot H*W reads zero for padded line positions
        # index_select: its backward is one index_add, much faster on CPU than advanced indexing's.
        sheared = flat.index_select(2, gather.reshape(-1)).reshape(b, c, *gather.shape)  # (B, C, NL, H)
        num = torch.einsum("bcnq,cpq->bcnp", sheared, kernel)
        den = torch.einsum("nq,cpq->cnp", valid.to(kernel.dtype), kernel)
        mixed = (num / den).reshape(b, c, -1)
        return mixed.index_select(2, back).reshape(b, c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"SparseInteraction: expected (B, {self.channels}, H, W), got {tuple(x.shape)}")
        _, _, h, w = x.shape
        rates = self.rates().to(x.dtype)
        k_w = self._kernel(rates[0], w)
        k_h = self._kernel(rates[1], h)
        # Full rows/columns: the normaliser folds into the (C, L, L) kernel, not the (B, C, H, W) output.
        row = torch.einsum("bchq,cpq->bchp", x, k_w / k_w.sum(-1, keepdim=True))
        col = torch.einsum("bcqw,cpq->bcpw", x, k_h / k_h.sum(-1, keepdim=True))
        diag = self._mix_diagonals(x, self._kernel(rates[2], h), anti=False)
        anti = self._mix_diagonals(x, self._kernel(rates[3], h), anti=True)
        return self.proj(torch.cat([row, col, diag, anti], dim=1))
