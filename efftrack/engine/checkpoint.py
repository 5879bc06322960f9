"""Checkpoints that hold only what was trained, load without unpickling code, and are written atomically.

A checkpoint is a plain dict of tensors, numbers and strings (``torch.load(weights_only=True)`` reads it):
``model`` (side network + heads), ``optimizer``, ``iteration``, ``backbone`` (identity: name, pretrained
source, taps, weights hash), ``config`` (the config text) and ``format``. The frozen backbone is never stored:
it is rebuilt from its identity, and a different one is refused.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ..utils.atomic import atomic_open

FORMAT = "efftrack-checkpoint-v1"


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, or made for another backbone or model."""


def save_checkpoint(path: str | os.PathLike, *, model, optimizer=None, iteration: int = 0,
                    config_text: str = "", extra: dict | None = None) -> Path:
    """Write atomically: a kill mid-save leaves the previous checkpoints, never a partial file."""
    path = Path(path)
    payload = dict(format=FORMAT, model=model.trainable_state_dict(), iteration=int(iteration),
                   backbone=model.backbone.identity, config=config_text, extra=dict(extra or {}))
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    with atomic_open(path, "wb") as f:
        torch.save(payload, f)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint's dict, read without executing pickled code; a clear error if it is not ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} is corrupt or not an efftrack checkpoint "
                              f"({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not an efftrack checkpoint (format {FORMAT} expected)")
    return ckpt


def check_backbone(ckpt: dict, model, path) -> None:
    """Refuse a checkpoint trained on other backbone weights: its side network would read other features."""
    have, want = ckpt.get("backbone", {}), model.backbone.identity
    for key in ("model_name", "taps", "weights_sha256"):
        if have.get(key) != want.get(key):
            raise CheckpointError(
                f"checkpoint {path} was trained on backbone {have.get('model_name')} "
                f"(pretrained={have.get('pretrained')}, weights {have.get('weights_sha256')}, taps {have.get('taps')}) "
                f"but the config builds {want.get('model_name')} (pretrained={want.get('pretrained')}, "
                f"weights {want.get('weights_sha256')}, taps {want.get('taps')}): {key} differs")


def load_checkpoint(path, model, optimizer=None) -> dict:
    """Load model (and optimizer) state; returns the checkpoint dict (``iteration`` etc.)."""
    ckpt = read_checkpoint(path)
    check_backbone(ckpt, model, path)
    try:
        model.load_trainable_state_dict(ckpt["model"], source=str(path))
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    if optimizer is not None and "optimizer" in ckpt:
        optimizer.load_state_dict(ckpt["optimizer"])
    return ckpt


def latest_checkpoint(work_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint in ``work_dir`` (temp files of an interrupted save are ignored)."""
    found = []
    for p in Path(work_dir).glob("iter_*.pth"):
        try:
            found.append((int(p.stem.split("_")[1]), p))
        except (IndexError, ValueError):
            continue
    return max(found)[1] if found else None


def publish_checkpoint(src, dst, half: bool = False) -> Path:
    """Copy a training checkpoint without the optimizer state: what inference (and the demo) needs.

    ``half`` stores floating-point weights in fp16 (half the size; loading casts them back to the model's dtype).
    """
    ckpt = read_checkpoint(src)
    ckpt.pop("optimizer", None)
    if half:
        ckpt["model"] = {k: v.half() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    with atomic_open(Path(dst), "wb") as f:
        torch.save(ckpt, f)
    return Path(dst)
