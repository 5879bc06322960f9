"""Result writers: MOTChallenge txt, TAO-OW prediction JSON, annotated video.

All are context managers writing to a temporary file in the target folder that is renamed onto
the target only when the ``with`` block ends without an exception; on an exception the temporary
file is removed and no partial output exists. Common method::

    write(frame_index, track_ids (N,), boxes_xyxy (N,4), scores (N,), image=None, image_id=None,
          video_id=None, category_ids=None)

``frame_index`` is 0-based; boxes are xyxy absolute pixels (converted to xywh at this edge).
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import deque

import cv2
import numpy as np

from .mot import write_mot_txt


def _arrays(track_ids, boxes, scores):
    ids = np.asarray(track_ids, np.int64).reshape(-1)
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    s = np.asarray(scores, np.float64).reshape(-1) if scores is not None else np.ones(len(ids))
    if not (len(ids) == len(b) == len(s)):
        raise ValueError(f"track_ids ({len(ids)}), boxes ({len(b)}) and scores ({len(s)}) differ in length")
    return ids, b, s


class _AtomicWriter:
    suffix = ".tmp"

    def __init__(self, path):
        self.path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=".tmp_", suffix=self.suffix, dir=folder)
        os.close(fd)
        self.closed = False

    def __enter__(self):
        return self

    def _finish(self):  # write everything to self.tmp
        raise NotImplementedError

    def _abort(self):
        pass

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self._finish()
            os.replace(self.tmp, self.path)
        except BaseException:
            self._remove_tmp()
            raise

    def _remove_tmp(self):
        if os.path.exists(self.tmp):
            os.remove(self.tmp)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.closed = True
            self._abort()
            self._remove_tmp()
        return False


class MotWriter(_AtomicWriter):
    """MOTChallenge result file ``frame,id,x,y,w,h,conf,-1,-1,-1`` with 1-based frames."""

    suffix = ".txt"

    def __init__(self, path):
        super().__init__(path)
        self.rows = []

    def write(self, frame_index, track_ids, boxes_xyxy, scores=None, image=None, image_id=None, video_id=None,
              category_ids=None):
        ids, b, s = _arrays(track_ids, boxes_xyxy, scores)
        for i in range(len(ids)):
            x1, y1, x2, y2 = b[i]
            self.rows.append([int(frame_index) + 1, ids[i], x1, y1, x2 - x1, y2 - y1, s[i]])

    def _finish(self):
        rows = sorted(self.rows, key=lambda r: (r[0], r[1]))
        # write_mot_txt is atomic itself; write to our temp so the final rename stays in close().
        write_mot_txt(self.tmp, np.asarray(rows, np.float64).reshape(-1, 7))


def tao_records(track_ids, boxes_xyxy, scores, image_id: int, video_id: int, category_ids=None) -> list:
    """TAO-OW prediction records ``{image_id, video_id, category_id, bbox [x,y,w,h], score, track_id}`` for one
    image; boxes come in xyxy pixels; ``category_id`` is 1 unless given."""
    ids, b, s = _arrays(track_ids, boxes_xyxy, scores)
    cats = np.ones(len(ids), np.int64) if category_ids is None else np.asarray(category_ids, np.int64)
    return [dict(image_id=int(image_id), video_id=int(video_id), category_id=int(c), bbox=[x1, y1, x2 - x1, y2 - y1],
                 score=float(sc), track_id=int(t))
            for t, (x1, y1, x2, y2), sc, c in zip(ids.tolist(), b.tolist(), s.tolist(), cats.tolist())]


class TaoJsonWriter(_AtomicWriter):
    """TAO-OW prediction JSON: a list of ``{image_id, video_id, category_id, bbox [x,y,w,h], score,
    track_id}`` as TrackEval's ``run_tao_ow.py`` reads. ``category_id`` is 1 unless given."""

    suffix = ".json"

    def __init__(self, path):
        super().__init__(path)
        self.items = []

    def write(self, frame_index, track_ids, boxes_xyxy, scores=None, image=None, image_id=None, video_id=None,
              category_ids=None):
        if len(np.asarray(track_ids).reshape(-1)) and (image_id is None or video_id is None):
            raise ValueError(f"{self.path}: TAO results need image_id and video_id (frame {frame_index})")
        if image_id is not None:
            self.items.extend(tao_records(track_ids, boxes_xyxy, scores, image_id, video_id, category_ids))

    def _finish(self):
        with open(self.tmp, "w", encoding="utf-8") as fh:
            json.dump(self.items, fh)


def id_colour(track_id: int) -> tuple:
    """Stable, well-spread BGR colour for a track id (golden-ratio hue walk)."""
    hue = int((int(track_id) * 0.618033988749895 % 1.0) * 179)
    hsv = np.uint8([[[hue, 220, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


class AnnotatedVideoWriter(_AtomicWriter):
    """Video with boxes, ids, a stable colour per id and a short trail of box centres.

    ``frame_size`` is (width, height) as OpenCV expects; images are BGR uint8 and are resized if
    they differ. The codec follows the extension (.mp4 -> mp4v, .avi -> MJPG).
    """

    def __init__(self, path, fps: float, frame_size=None, trail: int = 15, min_score: float = 0.0):
        self.suffix = os.path.splitext(os.fspath(path))[1] or ".mp4"
        super().__init__(path)
        self.fps, self.vw, self.frame_size = float(fps), None, None
        if frame_size is not None:  # else the first frame's size, when it arrives
            self._open((int(frame_size[0]), int(frame_size[1])))
        self.trail = trail
        self.min_score = float(min_score)  # draw only tracks this confident: the files keep them all
        self.trails = {}
        self.num_written = 0

    def _open(self, frame_size):
        fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.suffix.lower() == ".avi" else "mp4v"))
        self.frame_size = frame_size
        self.vw = cv2.VideoWriter(self.tmp, fourcc, self.fps, self.frame_size)
        if not self.vw.isOpened():
            self._remove_tmp()
            raise ValueError(f"{self.path}: cannot open a video writer for this format")

    def write(self, frame_index, track_ids, boxes_xyxy, scores=None, image=None, image_id=None, video_id=None,
              category_ids=None):
        if image is None:
            raise ValueError(f"{self.path}: AnnotatedVideoWriter.write needs the frame image")
        ids, b, s = _arrays(track_ids, boxes_xyxy, scores)
        shown = s >= self.min_score
        ids, b, s = ids[shown], b[shown], s[shown]
        if self.vw is None:
            self._open((int(image.shape[1]), int(image.shape[0])))
        img = np.ascontiguousarray(image).copy()
        if (img.shape[1], img.shape[0]) != self.frame_size:
            sx, sy = self.frame_size[0] / img.shape[1], self.frame_size[1] / img.shape[0]
            img = cv2.resize(img, self.frame_size)
            b = b * np.array([sx, sy, sx, sy])
        for i in range(len(ids)):
            col = id_colour(ids[i])
            x1, y1, x2, y2 = (int(round(v)) for v in b[i])
            self.trails.setdefault(int(ids[i]), deque(maxlen=self.trail)).append(((x1 + x2) // 2, (y1 + y2) // 2))
            pts = list(self.trails[int(ids[i])])
            for p, q in zip(pts[:-1], pts[1:]):
                cv2.line(img, p, q, col, 2)
            cv2.rectangle(img, (x1, y1), (x2, y2), col, 2)
            cv2.putText(img, f"{ids[i]}", (x1, max(10, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, col, 1, cv2.LINE_AA)
        self.vw.write(img)
        self.num_written += 1
        # trails of ids absent from this frame are dropped, so memory stays flat on long videos
        live = set(ids.tolist())
        self.trails = {k: v for k, v in self.trails.items() if k in live}

    def _finish(self):
        if self.vw is not None:
            self.vw.release()

    def _abort(self):
        if self.vw is not None:
            self.vw.release()
