"""Turn one image + its annotations into a training view and collate pairs of views."""
from __future__ import annotations

import numpy as np
import torch


def make_view(image_rgb, boxes, track_ids, labels, pipeline, rng, base_meta: dict) -> dict:
    """Apply ``pipeline`` and build a view.

    Returns dict(img=float32 (3,H,W) RGB in [0,1] (not mean/std normalised), boxes=(N,4) float32
    xyxy in the transformed image's pixels, track_ids=(N,) int64, labels=(N,) int64, meta=dict).
    ``meta`` has image_id, video_id, frame_index, orig_size, scale, pad, input_size, file_name;
    orig_size is the original image's (h, w); scale/pad map exactly back to it when the pipeline
    is only a letterbox (augment=False).
    """
    orig_size = tuple(image_rgb.shape[:2])
    img, b, meta = pipeline(image_rgb, boxes, {}, rng)
    keep = np.asarray(meta["keep"], dtype=np.int64)
    out_meta = dict(base_meta)
    out_meta.update(orig_size=orig_size, scale=meta["scale"], pad=meta["pad"],
                    input_size=meta["input_size"])
    tensor = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float().div_(255.0)
    return dict(img=tensor,
                boxes=torch.from_numpy(np.asarray(b, np.float32).reshape(-1, 4)),
                track_ids=torch.from_numpy(np.asarray(track_ids, np.int64)[keep]),
                labels=torch.from_numpy(np.asarray(labels, np.int64)[keep]),
                meta=out_meta)


def _collate_views(views):
    return dict(img=torch.stack([v["img"] for v in views]),
                boxes=[v["boxes"] for v in views], track_ids=[v["track_ids"] for v in views],
                labels=[v["labels"] for v in views], meta=[v["meta"] for v in views])


def collate_pairs(pairs) -> dict:
    """Collate a list of ``dict(key=view, ref=view)``.

    Returns dict(key=dict(img=(B,3,H,W), boxes=[(N_i,4)], track_ids=[(N_i,)], labels=[(N_i,)],
    meta=[dict]), ref=same). All images in a batch must share one input size.
    """
    return dict(key=_collate_views([p["key"] for p in pairs]),
                ref=_collate_views([p["ref"] for p in pairs]))


def item_rng(seed: int, index: int) -> np.random.Generator:
    """Per-item generator: varies per epoch/worker through torch's seed, reproducible under
    ``torch.manual_seed``."""
    return np.random.default_rng([int(seed), int(index), torch.initial_seed() % (2 ** 32)])
