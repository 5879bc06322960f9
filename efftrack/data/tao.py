"""TAO / TAO-OW (COCO-video JSON) datasets: training pairs and per-video iteration."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List

import numpy as np

from .annotations import image_path, load_annotations, read_image_rgb
from .tao_ow_ids import subset_ids
from .transforms import build_pipeline
from .views import item_rng, make_view


def _annotated(img: dict) -> bool:
    # TAO lists only annotated frames; the synthetic benchmark marks unannotated ones explicitly.
    return img.get("annotated", True) is not False


def _subset_gt(gt: dict, allowed) -> dict:
    m = np.isin(gt["labels"], np.fromiter(allowed, np.int64))
    return {k: v[m] for k, v in gt.items()}


class TaoPairDataset:
    """(key, reference) frame pairs from one video of a TAO-format dataset.

    Args:
        ann_file: COCO-video JSON. img_root: folder that ``file_name`` is relative to.
        subset: 'all' | 'known' | 'unknown' | 'distractor' (TAO-OW category subsets): annotations of
            other categories are dropped (those objects stay visible, unlabelled).
        max_gap: the reference frame is an annotated frame of the same video with
            ``|frame_index - key frame_index| <= max_gap`` (another frame when one exists).
        input_size: (h, w) letterbox size. augment: training augmentation on each view.
    Items: ``dict(key=view, ref=view)`` (see ``views.make_view``); labels are TAO category ids.
    """

    def __init__(self, ann_file, img_root, subset: str = "all", max_gap: int = 30,
                 input_size=(384, 384), augment: bool = True, seed: int = 0):
        self.ann = load_annotations(ann_file, require_video=True)
        self.img_root = img_root
        self.allowed = subset_ids(subset)
        self.max_gap = int(max_gap)
        self.pipeline = build_pipeline(input_size, augment)
        self.seed = int(seed)
        by_video = {}
        for img in self.ann.images.values():
            if _annotated(img):
                by_video.setdefault(img["video_id"], []).append(img)
        for frames in by_video.values():
            frames.sort(key=lambda im: im["frame_index"])
        self.by_video = by_video
        self.items = [im for vid in sorted(by_video) for im in by_video[vid]]

    def __len__(self) -> int:
        return len(self.items)

    def _view(self, img: dict, rng) -> dict:
        gt = _subset_gt(self.ann.per_image[img["id"]], self.allowed)
        meta = dict(image_id=img["id"], video_id=img["video_id"], frame_index=int(img["frame_index"]),
                    file_name=img["file_name"])
        return make_view(read_image_rgb(self.img_root, img), gt["boxes"], gt["track_ids"], gt["labels"],
                         self.pipeline, rng, meta)

    def __getitem__(self, index: int) -> dict:
        key = self.items[index]
        rng = item_rng(self.seed, index)
        cands = [im for im in self.by_video[key["video_id"]]
                 if abs(im["frame_index"] - key["frame_index"]) <= self.max_gap and im["id"] != key["id"]]
        ref = cands[int(rng.integers(len(cands)))] if cands else key
        return dict(key=self._view(key, rng), ref=self._view(ref, rng))


@dataclass
class FrameRecord:
    image_id: int
    frame_index: int
    path: str
    annotated: bool
    image: dict


@dataclass
class VideoRecord:
    """One video: frames ordered by frame_index; ``gt[image_id]`` = dict(boxes (N,4) xyxy float32
    original pixels, track_ids (N,), labels (N,)) for annotated frames."""
    video_id: int
    name: str
    frames: List[FrameRecord]
    gt: dict


class TaoVideos:
    """Iterate the videos of a TAO-format dataset for validation / inference.

    ``for video in TaoVideos(...)`` yields ``VideoRecord``; ``load_image(frame)`` returns the
    frame as HxWx3 uint8 RGB (raises ``MissingImageError`` naming the file).
    """

    def __init__(self, ann_file, img_root, subset: str = "all"):
        self.ann = load_annotations(ann_file, require_video=True)
        self.img_root = img_root
        allowed = subset_ids(subset)
        frames = {vid: [] for vid in self.ann.videos}
        for img in self.ann.images.values():
            frames[img["video_id"]].append(img)
        self.videos = []
        for vid in sorted(frames):
            imgs = sorted(frames[vid], key=lambda im: im["frame_index"])
            recs = [FrameRecord(im["id"], int(im["frame_index"]), image_path(img_root, im), _annotated(im), im)
                    for im in imgs]
            gt = {im["id"]: _subset_gt(self.ann.per_image[im["id"]], allowed) for im in imgs if _annotated(im)}
            self.videos.append(VideoRecord(vid, self.ann.videos[vid].get("name", str(vid)), recs, gt))

    def __len__(self) -> int:
        return len(self.videos)

    def __iter__(self) -> Iterator[VideoRecord]:
        return iter(self.videos)

    def __getitem__(self, i: int) -> VideoRecord:
        return self.videos[i]

    def load_image(self, frame: FrameRecord) -> np.ndarray:
        return read_image_rgb(self.img_root, frame.image)
