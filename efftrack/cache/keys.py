"""Content-addressed keys: what makes a stale read impossible.

A cache folder holds one *namespace* per (cache format, backbone identity incl. a hash of its weights, input
size, normalisation mean/std, storage dtype). An entry key is the sha256 of its namespace id and the exact
bytes, dtype and shape of the input image tensor *after* augmentation and letterboxing, so any change of
backbone, weights, preprocessing or augmentation parameters yields another key: nothing is ever invalidated,
it is just never read again.
"""
from __future__ import annotations

import hashlib
import json

import torch

FORMAT_VERSION = 1


def namespace_for(backbone_identity: dict, input_size, mean, std, dtype: str = "float16") -> dict:
    """The description whose hash names a namespace folder (kept in it as ``namespace.json``)."""
    return {"format_version": FORMAT_VERSION, "backbone": dict(backbone_identity),
            "input_size": [int(s) for s in input_size], "mean": [float(m) for m in mean],
            "std": [float(s) for s in std], "dtype": str(dtype)}


def namespace_id(namespace: dict) -> str:
    return hashlib.sha256(json.dumps(namespace, sort_keys=True).encode()).hexdigest()[:16]


def image_key(ns_id: str, image: torch.Tensor) -> str:
    """sha256 over the namespace and one image tensor (3,H,W), any dtype/device: exact content."""
    t = image.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    t = t.contiguous()
    h = hashlib.sha256(ns_id.encode())
    h.update(f"{t.dtype}|{tuple(t.shape)}|".encode())
    h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes())
    return h.hexdigest()
