"""COCO-style image datasets as pseudo-videos (two augmented views of one image)."""
from __future__ import annotations

import numpy as np

from .annotations import load_annotations, read_image_rgb
from .transforms import build_pipeline
from .views import item_rng, make_view


class CocoPseudoPairDataset:
    """Pairs of two independently augmented views of one COCO image.

    Instance ids (the annotation ids) are carried across the views as ``track_ids``; class-agnostic:
    every label is 1 ("object"). Images without usable annotations are skipped unless
    ``keep_empty``. ``meta["video_id"]`` is the image id and ``frame_index`` 0 for both views.
    """

    def __init__(self, ann_file, img_root, input_size=(384, 384), augment: bool = True,
                 keep_empty: bool = False, seed: int = 0):
        self.ann = load_annotations(ann_file, require_video=False)
        self.img_root = img_root
        self.pipeline = build_pipeline(input_size, augment)
        self.seed = int(seed)
        self.items = [img for _, img in sorted(self.ann.images.items())
                      if keep_empty or len(self.ann.per_image[img["id"]]["boxes"])]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        img = self.items[index]
        rng = item_rng(self.seed, index)
        gt = self.ann.per_image[img["id"]]
        image = read_image_rgb(self.img_root, img)
        labels = np.ones(len(gt["boxes"]), np.int64)
        meta = dict(image_id=img["id"], video_id=img["id"], frame_index=0, file_name=img["file_name"])
        views = [make_view(image, gt["boxes"], gt["track_ids"], labels, self.pipeline, rng, meta)
                 for _ in range(2)]
        return dict(key=views[0], ref=views[1])
