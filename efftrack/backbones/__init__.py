"""Frozen open_clip image towers and their feature taps."""
from .errors import BackboneError
from .frozen import FrozenBackbone
from .open_clip_tower import TowerTaps, build_image_tower, resolve_model_cfg

__all__ = ["BackboneError", "FrozenBackbone", "TowerTaps", "build_image_tower", "resolve_model_cfg"]
