"""Load and check COCO / COCO-video (TAO) annotation JSON.

Boxes are converted at this edge from the file's xywh to xyxy float32. Hard errors (raised as
``DatasetFormatError`` naming file and item): unreadable or malformed JSON, missing sections,
duplicate ids, annotations pointing at unknown images, tracks or categories, images pointing at
unknown videos. Skip-worthy problems are counted and reported in ONE warning: boxes with zero or
negative size, and boxes entirely outside their image, are dropped; boxes partly outside are clipped.
``Annotations.stats`` keeps the counts.
"""
from __future__ import annotations

import json
import os
import warnings
from collections import defaultdict
from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import DatasetFormatError, MissingImageError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


@dataclass
class Annotations:
    """Parsed annotation file.

    ``per_image[image_id]`` holds ``boxes (N,4) float32 xyxy``, ``track_ids (N,) int64``,
    ``labels (N,) int64`` (category ids). ``videos`` is empty for plain COCO files.
    """
    path: str
    images: dict
    videos: dict
    categories: dict
    tracks: dict
    per_image: dict
    stats: dict = field(default_factory=dict)


def _fail(path, msg):
    raise DatasetFormatError(f"{path}: {msg}")


def _index(path, items, section):
    out = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "id" not in item:
            _fail(path, f"{section}[{i}] has no 'id'")
        if item["id"] in out:
            _fail(path, f"duplicate {section} id {item['id']}")
        out[item["id"]] = item
    return out


def load_annotations(path, require_video: bool = True) -> Annotations:
    """Parse and check a COCO-video (``require_video``) or plain COCO JSON file."""
    path = os.fspath(path)
    try:
        with open(path, "r", encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise DatasetFormatError(f"{path}: annotation file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetFormatError(f"{path}: malformed JSON ({exc})") from None
    if not isinstance(data, dict):
        _fail(path, "top level must be a JSON object")
    needed = ["images", "annotations", "categories"] + (["videos"] if require_video else [])
    for key in needed:
        if not isinstance(data.get(key), list):
            _fail(path, f"missing or non-list section '{key}'")

    images = _index(path, data["images"], "images")
    videos = _index(path, data.get("videos") or [], "videos")
    categories = _index(path, data["categories"], "categories")
    tracks = _index(path, data.get("tracks") or [], "tracks")
    for img in images.values():
        if "file_name" not in img:
            _fail(path, f"image {img['id']} has no 'file_name'")
        if require_video:
            if img.get("video_id") not in videos:
                _fail(path, f"image {img['id']} points at unknown video {img.get('video_id')}")
            if "frame_index" not in img:
                _fail(path, f"image {img['id']} has no 'frame_index'")

    stats = dict(degenerate=0, outside=0, clipped=0)
    raw = defaultdict(list)
    for i, ann in enumerate(data["annotations"]):
        item = f"annotation {ann.get('id', '#' + str(i))}"
        if ann.get("image_id") not in images:
            _fail(path, f"{item} points at unknown image {ann.get('image_id')}")
        if ann.get("category_id") not in categories:
            _fail(path, f"{item} points at unknown category {ann.get('category_id')}")
        if require_video:
            if "track_id" not in ann:
                _fail(path, f"{item} has no 'track_id'")
            if tracks and ann["track_id"] not in tracks:
                _fail(path, f"{item} points at unknown track {ann['track_id']}")
            if tracks and tracks[ann["track_id"]].get("video_id", images[ann["image_id"]]["video_id"]) \
                    != images[ann["image_id"]]["video_id"]:
                _fail(path, f"{item}: track {ann['track_id']} belongs to another video")
        bbox = ann.get("bbox")
        if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4):
            _fail(path, f"{item} has no 4-number 'bbox'")
        try:
            x, y, w, h = (float(v) for v in bbox)
        except (TypeError, ValueError):
            _fail(path, f"{item} has a non-numeric bbox {bbox}")
        if not np.all(np.isfinite([x, y, w, h])) or w <= 0 or h <= 0:
            stats["degenerate"] += 1
            continue
        box = [x, y, x + w, y + h]
        img = images[ann["image_id"]]
        if "width" in img and "height" in img:
            W, H = float(img["width"]), float(img["height"])
            c = [min(max(box[0], 0), W), min(max(box[1], 0), H), min(max(box[2], 0), W), min(max(box[3], 0), H)]
            if c[2] <= c[0] or c[3] <= c[1]:
                stats["outside"] += 1
                continue
            if c != box:
                stats["clipped"] += 1
            box = c
        if ann.get("iscrowd", 0):
            stats["crowd"] = stats.get("crowd", 0) + 1
            continue
        # Plain COCO: the annotation id is the instance id carried across the two views.
        tid = ann["track_id"] if require_video else ann.get("id", i)
        raw[ann["image_id"]].append((box, tid, ann["category_id"]))

    per_image = {}
    for image_id in images:
        rows = raw.get(image_id, [])
        per_image[image_id] = dict(
            boxes=np.asarray([r[0] for r in rows], np.float32).reshape(-1, 4),
            track_ids=np.asarray([r[1] for r in rows], np.int64),
            labels=np.asarray([r[2] for r in rows], np.int64))
    dropped = {k: v for k, v in stats.items() if v}
    if dropped:
        warnings.warn(f"{path}: " + ", ".join(f"{v} {k} box(es)" for k, v in dropped.items())
                      + " (degenerate/outside/crowd dropped, clipped kept)", stacklevel=2)
    return Annotations(path, images, videos, categories, tracks, per_image, stats)


def image_path(img_root, image: dict) -> str:
    return os.path.join(os.fspath(img_root), image["file_name"])


def read_image_rgb(img_root, image: dict) -> np.ndarray:
    """Read the image of one image record as HxWx3 uint8 RGB.

    ``file_name`` may point at a video file; then frame ``frame_index`` of it is read.
    Raises ``MissingImageError`` naming the file and the image id.
    """
    path = image_path(img_root, image)
    if not os.path.isfile(path):
        raise MissingImageError(f"{path}: image file missing (image id {image.get('id')})")
    if path.lower().endswith(VIDEO_EXTENSIONS):
        cap = cv2.VideoCapture(path)
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(image["frame_index"]))
            ok, bgr = cap.read()
        finally:
            cap.release()
        if not ok or bgr is None:
            raise MissingImageError(
                f"{path}: cannot decode frame {image.get('frame_index')} (image id {image.get('id')})")
    else:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise MissingImageError(f"{path}: cannot decode image (image id {image.get('id')})")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
