"""HybridSideNetwork: trainable CNN + SIM side network on a frozen backbone's tapped maps (LST / EffOWT).

Design (how any tap layout becomes an 8/16/32 pyramid):
- The side network is a chain of stages, one per entry of `stage_pattern` ('conv' = locality block,
  'sim' = SIM-Transformer block), each at its own stride `stage_strides[s]` (non-decreasing, ratios powers
  of two). Default strides spread the stages over `out_strides`: 4 stages with (8, 16, 32) run at
  8, 16, 16, 32, so the default (conv, sim, conv, sim) puts a conv block at the fine stride 8 (cheap, local)
  and the SIM blocks at 16 and 32, where a row/column/diagonal mix is cheap and reaches the whole image.
- Every grid is ceil(image / stride); the image size is implied by tap 0 (h_0 * s_0, w_0 * s_0).
- Ladders (one per tapped map, input detached): tap 0's ladder is the stem, the side chain's input.
  Taps 1..L-1 each enter one stage through a gate, h = g*h + (1-g)*ladder, g = sigmoid(alpha/0.1),
  alpha = 0 at start; by default tap l goes to stage round(l*(S-1)/(L-1)), so deeper taps feed coarser,
  later stages. A ladder resamples its map to the stage grid, so ViT towers (every tap at stride 16 or 32)
  are upsampled for the stride-8 stage and pooled for stride 32; conv pyramids (4/8/16/32) are
  pooled or passed through at matching strides.
- Between stages whose stride doubles: a stride-2 depthwise-separable conv per doubling.
- Side-layer dropping (LST): stages in `drop_layers` skip their block and their gated ladders are not
  built (those taps go unused); the stride transitions stay.
- Fusion: FPN-style top-down pyramid at `out_strides` and one fused map at the finest stride
  (see fusion.PyramidFusion).

Width: `width` channels everywhere in the chain; default max(min_width, max(in_channels) / reduction),
rounded up to a multiple of 8: exactly C / r for a ViT (768 / 8 = 96), the widest tap / r for a pyramid.
"""
import math
from typing import List, NamedTuple, Optional, Sequence

import torch
from torch import nn

from .blocks import Downsample, build_block
from .fusion import PyramidFusion, _grid
from .ladder import Ladder, LadderGate


class SideNetworkConfigError(ValueError):
    """The side network's constructor arguments are inconsistent."""


class SideInputError(ValueError):
    """The feature maps passed to the side network do not match its configuration."""


class SideOutput(NamedTuple):
    """pyramid: [(B, out_channels, ceil(H/s), ceil(W/s)) for s in out_strides], finest first.
    fused: (B, fused_channels, ceil(H/s0), ceil(W/s0)), s0 = min(out_strides): appearance features."""
    pyramid: List[torch.Tensor]
    fused: torch.Tensor


def _default_stage_strides(n_stages: int, out_strides: Sequence[int]) -> List[int]:
    if n_stages == 1:
        return [out_strides[0]]
    last = len(out_strides) - 1
    return [out_strides[int(round(s * last / (n_stages - 1)))] for s in range(n_stages)]


def _default_tap_stages(n_taps: int, n_stages: int) -> List[int]:
    if n_taps == 1:
        return []
    return [int(round(l * (n_stages - 1) / (n_taps - 1))) for l in range(1, n_taps)]


class HybridSideNetwork(nn.Module):
    """Trainable side network. See the module docstring for the design.

    Args:
        in_channels: channels of each tapped backbone map, C_l (len L).
        in_strides: stride of each tapped map relative to the input image, s_l (len L).
        reduction: r, side width = widest tap / r (unless `width` is given).
        stage_pattern: block kind per stage, 'conv' or 'sim'.
        stage_strides: stride per stage (default: spread over out_strides).
        out_strides: pyramid strides for the heads.
        out_channels: channels of every pyramid level.
        fused_channels: channels of the fused appearance map.
        width: side width override.
        min_width: lower bound on the default width.
        drop_layers: stage indices whose block (and gated ladders) are dropped.
        tap_stages: stage index for each of taps 1..L-1 (tap 0 is the stem); default spreads them.
        expansion: hidden ratio of conv and SIM-block MLPs.
        gate_temperature: T in g = sigmoid(alpha / T).
        sim_kwargs: extra arguments for SparseInteraction (max_rate, min_init_rate, distance_cap).
        detach_ladders: keep True; False lets gradients flow into a trainable backbone (fine-tuning baselines).

    forward(feats: list of L tensors (B, C_l, h_l, w_l)) -> SideOutput.
    """

    def __init__(self, in_channels: Sequence[int], in_strides: Sequence[int], reduction: int = 8,
                 stage_pattern: Sequence[str] = ("conv", "sim", "conv", "sim"),
                 stage_strides: Optional[Sequence[int]] = None, out_strides: Sequence[int] = (8, 16, 32),
                 out_channels: int = 96, fused_channels: int = 128, width: Optional[int] = None,
                 min_width: int = 32, drop_layers: Sequence[int] = (), tap_stages: Optional[Sequence[int]] = None,
                 expansion: float = 2.0, gate_temperature: float = 0.1, sim_kwargs: Optional[dict] = None,
                 detach_ladders: bool = True):
        super().__init__()
        in_channels, in_strides = [int(c) for c in in_channels], [int(s) for s in in_strides]
        if not in_channels or len(in_channels) != len(in_strides):
            raise SideNetworkConfigError(f"side network: need one stride per tapped map, got channels "
                                         f"{in_channels} and strides {in_strides}")
        if reduction < 1:
            raise SideNetworkConfigError(f"side network: reduction must be >= 1, got {reduction}")
        n_stages = len(stage_pattern)
        if n_stages < 1:
            raise SideNetworkConfigError("side network: stage_pattern is empty")
        out_strides = sorted(int(s) for s in out_strides)
        if not out_strides:
            raise SideNetworkConfigError("side network: out_strides is empty")
        stage_strides = (list(stage_strides) if stage_strides is not None
                         else _default_stage_strides(n_stages, out_strides))
        if len(stage_strides) != n_stages:
            raise SideNetworkConfigError(f"side network: {n_stages} stages but stage_strides {stage_strides}")
        for a, b in zip(stage_strides, stage_strides[1:]):
            if b < a or b % a or (b // a) & (b // a - 1):
                raise SideNetworkConfigError(f"side network: stage_strides must grow by powers of two, got "
                                             f"{stage_strides}")
        tap_stages = (list(tap_stages) if tap_stages is not None
                      else _default_tap_stages(len(in_channels), n_stages))
        if len(tap_stages) != len(in_channels) - 1 or any(not 0 <= s < n_stages for s in tap_stages):
            raise SideNetworkConfigError(f"side network: tap_stages must give a stage in [0, {n_stages}) for "
                                         f"each of taps 1..{len(in_channels) - 1}, got {tap_stages}")
        drop_layers = sorted(set(int(d) for d in drop_layers))
        if any(not 0 <= d < n_stages for d in drop_layers):
            raise SideNetworkConfigError(f"side network: drop_layers {drop_layers} outside [0, {n_stages})")

        self.in_channels, self.in_strides = in_channels, in_strides
        self.width = int(width) if width else max(min_width, 8 * math.ceil(max(in_channels) / reduction / 8))
        self.stage_pattern = tuple(stage_pattern)
        self.stage_strides = tuple(int(s) for s in stage_strides)
        self.out_strides = tuple(out_strides)
        self.out_channels, self.fused_channels = int(out_channels), int(fused_channels)
        self.fused_stride = self.out_strides[0]
        self.drop_layers = tuple(drop_layers)
        # Taps whose stage is dropped are not used at all (LST drops the ladder with the side layer).
        self.tap_stages = tuple(tap_stages)
        self.used_taps = [0] + [l for l, s in enumerate(tap_stages, start=1) if s not in drop_layers]

        self.stem = Ladder(in_channels[0], self.width, detach=detach_ladders)
        self.ladders = nn.ModuleDict()
        self.gates = nn.ModuleDict()
        for l in self.used_taps[1:]:
            self.ladders[str(l)] = Ladder(in_channels[l], self.width, detach=detach_ladders)
            self.gates[str(l)] = LadderGate(gate_temperature)
        self.transitions = nn.ModuleList()
        self.blocks = nn.ModuleList()
        for s, kind in enumerate(self.stage_pattern):
            ratio = self.stage_strides[s] // self.stage_strides[s - 1] if s else 1
            self.transitions.append(Downsample(self.width, int(math.log2(ratio))) if ratio > 1 else nn.Identity())
            self.blocks.append(nn.Identity() if s in drop_layers
                               else build_block(kind, self.width, expansion=expansion, **(sim_kwargs or {})))
        self.fusion = PyramidFusion(self.width, self.out_strides, self.out_channels, self.fused_channels)

    @classmethod
    def from_backbone(cls, backbone: nn.Module, **kwargs) -> "HybridSideNetwork":
        """Build for a backbone exposing `.channels` and `.strides` (one per tap)."""
        return cls(in_channels=backbone.channels, in_strides=backbone.strides, **kwargs)

    def gate_values(self) -> dict:
        """{tap index: current gate g} for every gated ladder."""
        return {int(k): float(g.gate().detach()) for k, g in self.gates.items()}

    def forward(self, feats: Sequence[torch.Tensor]) -> SideOutput:
        if len(feats) != len(self.in_channels):
            raise SideInputError(f"side network: expected {len(self.in_channels)} feature maps, got {len(feats)}")
        for l, (f, c) in enumerate(zip(feats, self.in_channels)):
            if f.dim() != 4 or f.shape[1] != c:
                raise SideInputError(f"side network: feature map {l} should be (B, {c}, h, w), got {tuple(f.shape)}")
        image_size = (feats[0].shape[-2] * self.in_strides[0], feats[0].shape[-1] * self.in_strides[0])
        by_stage = {}
        for l in self.used_taps[1:]:
            by_stage.setdefault(self.tap_stages[l - 1], []).append(l)
        stage_maps = {}
        h = None
        for s, stride in enumerate(self.stage_strides):
            size = _grid(image_size, stride)
            h = self.stem(feats[0], size) if s == 0 else self.transitions[s](h)
            for l in by_stage.get(s, []):
                h = self.gates[str(l)](h, self.ladders[str(l)](feats[l], size))
            h = self.blocks[s](h)
            stage_maps[stride] = h  # the last stage at a stride feeds that pyramid level
        pyramid, fused = self.fusion(stage_maps, image_size)
        return SideOutput(pyramid=pyramid, fused=fused)


def build_side_network(backbone: nn.Module, cfg: Optional[dict] = None) -> HybridSideNetwork:
    """Thin config builder: `cfg` holds HybridSideNetwork keyword arguments (no channels/strides)."""
    return HybridSideNetwork.from_backbone(backbone, **dict(cfg or {}))
