"""Reading and validating TAO ground truth and TAO-OW predictions (JSON or already-loaded objects).

Edge code: boxes stay xywh here (converted with TrackEval's arithmetic in ``tao_ow``).
Every error names the source and the first offending record.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from .errors import EvalInputError
from .gc_pause import gc_paused


def _load(obj, what: str):
    if isinstance(obj, (str, os.PathLike)):
        path = os.fspath(obj)
        try:
            with gc_paused(), open(path, "r", encoding="utf-8") as fh:
                return json.load(fh), path
        except FileNotFoundError:
            raise EvalInputError(f"{what} file not found: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise EvalInputError(f"{path}: not valid JSON ({err})") from None
    return obj, f"<{what}>"


def _int_field(rec: dict, key: str, src: str, kind: str, idx: int, allow_negative=False) -> int:
    if key not in rec:
        raise EvalInputError(f"{src}: {kind} {idx} is missing field {key!r}")
    v = rec[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer():
        raise EvalInputError(f"{src}: {kind} {idx}: {key} must be an integer, got {v!r}")
    if v < 0 and not allow_negative:
        raise EvalInputError(f"{src}: {kind} {idx}: negative {key} {v!r}")
    return int(v)


def _bbox(rec: dict, src: str, kind: str, idx: int) -> List[float]:
    if "bbox" not in rec:
        raise EvalInputError(f"{src}: {kind} {idx} is missing field 'bbox'")
    b = rec["bbox"]
    if not isinstance(b, (list, tuple)) or len(b) != 4:
        raise EvalInputError(f"{src}: {kind} {idx}: bbox must be [x, y, w, h], got {b!r}")
    try:
        vals = [float(x) for x in b]
    except (TypeError, ValueError):
        raise EvalInputError(f"{src}: {kind} {idx}: bbox has a non-numeric value {b!r}") from None
    if not all(math.isfinite(x) for x in vals):
        raise EvalInputError(f"{src}: {kind} {idx}: bbox has a NaN or infinite value {b!r}")
    if vals[2] < 0 or vals[3] < 0:
        raise EvalInputError(f"{src}: {kind} {idx}: bbox has negative width/height {b!r}")
    return vals


@dataclass
class TaoGroundTruth:
    """Validated TAO ground truth. Annotation arrays keep the file's record order.

    videos: list of video dicts (file order); image_video/image_frame: {image_id: video_id / frame_index};
    ann_*: (N,) arrays (image, video, track, category) and ann_box (N,4) xywh float64;
    categories: {category_id: category dict}.
    """

    source: str
    videos: List[dict]
    image_video: Dict[int, int]
    image_frame: Dict[int, float]
    ann_image: np.ndarray
    ann_video: np.ndarray
    ann_track: np.ndarray
    ann_category: np.ndarray
    ann_box: np.ndarray
    categories: Dict[int, dict]

    def image_arrays(self):
        """(sorted image ids, their video ids) as int64 arrays, for vectorised look-ups."""
        ids = np.fromiter(self.image_video.keys(), dtype=np.int64, count=len(self.image_video))
        vids = np.fromiter(self.image_video.values(), dtype=np.int64, count=len(self.image_video))
        order = np.argsort(ids)
        return ids[order], vids[order]

    def split_names(self) -> List[str]:
        """Split names recorded in the categories' optional 'split' field."""
        return sorted({str(c["split"]) for c in self.categories.values() if "split" in c})


@dataclass
class TaoPredictions:
    """Validated predictions; arrays in file order. box (N,4) xywh float64."""

    source: str
    image: np.ndarray
    video: np.ndarray
    track: np.ndarray
    score: np.ndarray
    box: np.ndarray


def _require_list(data: dict, key: str, src: str) -> list:
    if key not in data:
        raise EvalInputError(f"{src}: ground truth is missing {key!r}")
    if not isinstance(data[key], list):
        raise EvalInputError(f"{src}: {key!r} must be a list")
    return data[key]


def load_tao_gt(gt) -> TaoGroundTruth:
    """Load a TAO ground-truth JSON (path or dict) and validate it."""
    data, src = _load(gt, "ground truth")
    if not isinstance(data, dict):
        raise EvalInputError(f"{src}: ground truth must be a JSON object with videos/images/annotations")
    videos = _require_list(data, "videos", src)
    video_ids = set()
    for i, v in enumerate(videos):
        vid = _int_field(v, "id", src, "video", i, allow_negative=True)
        if vid in video_ids:
            raise EvalInputError(f"{src}: video {i}: duplicate video id {vid}")
        video_ids.add(vid)
    image_video, image_frame = {}, {}
    for i, im in enumerate(_require_list(data, "images", src)):
        iid = _int_field(im, "id", src, "image", i, allow_negative=True)
        vid = _int_field(im, "video_id", src, "image", i, allow_negative=True)
        if vid not in video_ids:
            raise EvalInputError(f"{src}: image {i} (id {iid}) refers to unknown video_id {vid}")
        if "frame_index" not in im:
            raise EvalInputError(f"{src}: image {i} (id {iid}) is missing field 'frame_index'")
        if iid in image_video:
            raise EvalInputError(f"{src}: image {i}: duplicate image id {iid}")
        image_video[iid] = vid
        image_frame[iid] = im["frame_index"]
    cats = {}
    for i, c in enumerate(data.get("categories", [])):
        cats[_int_field(c, "id", src, "category", i, allow_negative=True)] = c
    anns = _require_list(data, "annotations", src)
    fast = _fast_annotations(anns, image_video)
    if fast is not None:
        return TaoGroundTruth(source=src, videos=videos, image_video=image_video, image_frame=image_frame,
                              ann_image=fast[0], ann_video=fast[1], ann_track=fast[2], ann_category=fast[3],
                              ann_box=fast[4], categories=cats)
    n = len(anns)
    a_img, a_vid, a_trk, a_cat = (np.zeros(n, np.int64) for _ in range(4))
    a_box = np.zeros((n, 4), np.float64)
    for i, a in enumerate(anns):
        iid = _int_field(a, "image_id", src, "annotation", i, allow_negative=True)
        if iid not in image_video:
            raise EvalInputError(f"{src}: annotation {i} refers to unknown image_id {iid}")
        vid = image_video[iid]
        if "video_id" in a and _int_field(a, "video_id", src, "annotation", i, True) != vid:
            raise EvalInputError(f"{src}: annotation {i}: video_id {a['video_id']} but image {iid} is in video {vid}")
        a_img[i], a_vid[i] = iid, vid
        a_trk[i] = _int_field(a, "track_id", src, "annotation", i)
        a_cat[i] = _int_field(a, "category_id", src, "annotation", i)
        a_box[i] = _bbox(a, src, "annotation", i)
    _check_unique_per_image(a_img, a_trk, src, "annotation")
    return TaoGroundTruth(source=src, videos=videos, image_video=image_video, image_frame=image_frame,
                          ann_image=a_img, ann_video=a_vid, ann_track=a_trk, ann_category=a_cat, ann_box=a_box,
                          categories=cats)


def _check_unique_per_image(image: np.ndarray, track: np.ndarray, src: str, kind: str) -> None:
    if len(image) < 2:
        return
    order = np.lexsort((np.arange(len(image)), track, image))
    same = (image[order][1:] == image[order][:-1]) & (track[order][1:] == track[order][:-1])
    if same.any():
        j = int(order[1:][same].min())  # earliest record that repeats an (image, track) pair
        first = int(np.nonzero((image == image[j]) & (track == track[j]))[0][0])
        raise EvalInputError(f"{src}: {kind} {j}: track_id {int(track[j])} appears twice in image "
                             f"{int(image[j])} (also {kind} {first})")


def _integral(a: np.ndarray) -> bool:
    """True for an int array, or a float array of whole finite numbers (JSON ints may arrive as 1.0)."""
    if a.dtype.kind in "iu":
        return True
    return a.dtype.kind == "f" and bool(np.all(np.isfinite(a))) and bool(np.all(a == np.trunc(a)))


def _fast_annotations(anns: list, image_video: Dict[int, int]):
    """Vectorised read of well-formed gt annotations; None if anything looks wrong (slow path names it)."""
    try:
        img = np.array([a["image_id"] for a in anns])
        trk = np.array([a["track_id"] for a in anns])
        cat = np.array([a["category_id"] for a in anns])
        box = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(len(anns), 4)
        has_vid = np.array([("video_id" in a) for a in anns], dtype=bool)
        vid_given = np.array([a["video_id"] for a in anns if "video_id" in a])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    if len(anns) == 0:
        return (np.zeros(0, np.int64),) * 4 + (np.zeros((0, 4)),)
    if not all(_integral(a) for a in (img, trk, cat)) or (len(vid_given) and not _integral(vid_given)):
        return None
    if not np.all(np.isfinite(box)) or np.any(box[:, 2:] < 0) or np.any(trk < 0) or np.any(cat < 0):
        return None
    img, trk, cat = img.astype(np.int64), trk.astype(np.int64), cat.astype(np.int64)
    ids = np.fromiter(image_video.keys(), dtype=np.int64, count=len(image_video))
    vids = np.fromiter(image_video.values(), dtype=np.int64, count=len(image_video))
    order = np.argsort(ids)
    ids, vids = ids[order], vids[order]
    if not len(ids):
        return None
    pos = np.minimum(np.searchsorted(ids, img), len(ids) - 1)
    if not np.all(ids[pos] == img):
        return None
    vid = vids[pos]
    if len(vid_given) and not np.array_equal(vid_given.astype(np.int64), vid[has_vid]):
        return None
    if len(img) > 1:
        o = np.lexsort((trk, img))
        if np.any((img[o][1:] == img[o][:-1]) & (trk[o][1:] == trk[o][:-1])):
            return None
    return img, vid, trk, cat, box


def _fast_predictions(data: list, gt: TaoGroundTruth):
    """Vectorised read of well-formed predictions; None if anything looks wrong.

    The per-record loop in ``load_tao_predictions`` then runs and names the first bad record, so
    the fast path only has to be conservative, never precise.
    """
    try:
        img = np.array([r["image_id"] for r in data])
        trk = np.array([r["track_id"] for r in data])
        cat = np.array([r["category_id"] for r in data])
        score = np.array([r["score"] for r in data])
        box = np.array([r["bbox"] for r in data], dtype=np.float64).reshape(len(data), 4)
        has_vid = [("video_id" in r) for r in data]
        vid_given = np.array([r["video_id"] for r in data if "video_id" in r])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    n = len(data)
    if n == 0:
        return (np.zeros(0, np.int64),) * 3 + (np.zeros(0), np.zeros((0, 4)))
    if not all(_integral(a) for a in (img, trk, cat)) or (len(vid_given) and not _integral(vid_given)):
        return None
    if score.dtype.kind not in "iuf" or not np.all(np.isfinite(score)):
        return None
    if not np.all(np.isfinite(box)) or np.any(box[:, 2:] < 0) or np.any(trk < 0):
        return None
    img, trk = img.astype(np.int64), trk.astype(np.int64)
    known_img, known_vid = gt.image_arrays()
    pos = np.searchsorted(known_img, img)
    pos = np.minimum(pos, len(known_img) - 1) if len(known_img) else pos
    if not len(known_img) or not np.all(known_img[pos] == img):
        return None
    vid = known_vid[pos]
    if len(vid_given) and not np.array_equal(vid_given.astype(np.int64), vid[np.asarray(has_vid, bool)]):
        return None
    if len(img) > 1:
        order = np.lexsort((trk, img))
        if np.any((img[order][1:] == img[order][:-1]) & (trk[order][1:] == trk[order][:-1])):
            return None
    return img, vid, trk, score.astype(np.float64), box


def load_tao_predictions(preds, gt: TaoGroundTruth) -> TaoPredictions:
    """Load TAO-OW predictions (path or list of dicts) and validate them against the ground truth."""
    data, src = _load(preds, "predictions")
    if isinstance(data, dict) and "annotations" in data:
        data = data["annotations"]  # also accept a COCO-style results file
    if not isinstance(data, list):
        raise EvalInputError(f"{src}: predictions must be a JSON list of records")
    fast = _fast_predictions(data, gt)
    if fast is not None:
        return TaoPredictions(source=src, image=fast[0], video=fast[1], track=fast[2], score=fast[3], box=fast[4])
    n = len(data)
    img, vid, trk = (np.zeros(n, np.int64) for _ in range(3))
    score = np.zeros(n, np.float64)
    box = np.zeros((n, 4), np.float64)
    for i, r in enumerate(data):
        if not isinstance(r, dict):
            raise EvalInputError(f"{src}: record {i} is not an object")
        for key in ("image_id", "bbox", "score", "track_id", "category_id"):
            if key not in r:
                raise EvalInputError(f"{src}: record {i} is missing field {key!r}")
        iid = _int_field(r, "image_id", src, "record", i, allow_negative=True)
        if iid not in gt.image_video:
            raise EvalInputError(f"{src}: record {i} refers to unknown image_id {iid}")
        v = gt.image_video[iid]
        if "video_id" in r:
            rv = _int_field(r, "video_id", src, "record", i, allow_negative=True)
            if rv != v:
                known = any(int(x["id"]) == rv for x in gt.videos)
                what = "unknown video_id" if not known else "video_id"
                raise EvalInputError(f"{src}: record {i}: {what} {rv} but image {iid} belongs to video {v}")
        img[i], vid[i] = iid, v
        trk[i] = _int_field(r, "track_id", src, "record", i)
        _int_field(r, "category_id", src, "record", i, allow_negative=True)
        s = r["score"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s):
            raise EvalInputError(f"{src}: record {i}: score must be a finite number, got {s!r}")
        score[i] = s
        box[i] = _bbox(r, src, "record", i)
    _check_unique_per_image(img, trk, src, "record")
    return TaoPredictions(source=src, image=img, video=vid, track=trk, score=score, box=box)


def _warn_split_mismatch(gt: TaoGroundTruth, subset: str, ids) -> None:
    """A recorded split that contradicts TrackEval's id lists would silently score other objects."""
    odd = sorted(cid for cid, c in gt.categories.items() if (str(c.get("split")) == subset) != (cid in ids)
                 and "split" in c and str(c["split"]) in ("known", "unknown", "distractor"))
    if odd:
        warnings.warn(f"{gt.source}: categories {odd[:5]} have a 'split' that disagrees with TrackEval's id lists; "
                      f"subset {subset!r} follows the id lists (as TrackEval does)", stacklevel=3)


def subset_category_filter(gt: TaoGroundTruth, subset: str) -> Optional[np.ndarray]:
    """Boolean mask over gt annotations for a subset; None means keep all ('all', no filtering).

    'known'/'unknown'/'distractor' use TrackEval's hard-coded id lists; any other name selects the
    categories whose optional ``split`` field equals it (e.g. a synthetic benchmark's splits).
    """
    from efftrack.data.tao_ow_ids import DISTRACTOR_IDS, KNOWN_IDS, UNKNOWN_IDS

    if subset == "all":
        return None
    table = {"known": KNOWN_IDS, "unknown": UNKNOWN_IDS, "distractor": DISTRACTOR_IDS}
    if subset in table:
        ids = table[subset]
        _warn_split_mismatch(gt, subset, ids)
    else:
        ids = {cid for cid, c in gt.categories.items() if str(c.get("split")) == subset}
        if not ids:
            splits = gt.split_names()
            raise EvalInputError(f"{gt.source}: unknown subset {subset!r}; choose all, known, unknown, distractor"
                                 + (f" or a split in the ground truth ({', '.join(splits)})" if splits else ""))
    return np.isin(gt.ann_category, np.fromiter(ids, dtype=np.int64))
