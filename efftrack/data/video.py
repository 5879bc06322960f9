"""Frame sources: a video file, a folder of frames (natural sort) or a webcam index.

``open_source(source)`` returns an iterable source with ``.fps`` (float or None), ``.num_frames``
(int or None), ``.num_skipped``; iterating yields ``Frame(index, timestamp, image)`` with ``image``
HxWx3 uint8 BGR (OpenCV order), ``index`` 0-based over the source's frames (skipped corrupt frames
keep their index, so indices stay aligned with the file), ``timestamp`` in seconds (None when
unknown). Corrupt frames are skipped, counted, and reported in one warning at the end.
"""
from __future__ import annotations

import os
import re
import time
import warnings
from typing import Iterator, NamedTuple, Optional

import cv2
import numpy as np

from .errors import VideoSourceError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
MAX_CONSECUTIVE_FAILURES = 25  # a stream that fails this often in a row has ended


class Frame(NamedTuple):
    index: int
    timestamp: Optional[float]
    image: np.ndarray


def natural_key(name: str):
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", name)]


def _valid(img) -> bool:
    return img is not None and img.ndim == 3 and img.shape[2] == 3 and img.size > 0


class _Source:
    fps: Optional[float] = None
    num_frames: Optional[int] = None

    def __init__(self, name: str):
        self.name = name
        self.num_skipped = 0

    def _warn_skipped(self):
        if self.num_skipped:
            warnings.warn(f"{self.name}: skipped {self.num_skipped} corrupt frame(s)", stacklevel=3)


class FolderSource(_Source):
    """Frames from image files in a folder, in natural sort order (frame2 before frame10)."""

    def __init__(self, folder: str, fps: Optional[float] = None):
        super().__init__(folder)
        self.files = sorted((f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS)), key=natural_key)
        if not self.files:
            raise VideoSourceError(f"{folder}: folder contains no image frames")
        self.folder, self.fps, self.num_frames = folder, fps, len(self.files)

    def __iter__(self) -> Iterator[Frame]:
        self.num_skipped = 0
        for i, f in enumerate(self.files):
            img = cv2.imread(os.path.join(self.folder, f), cv2.IMREAD_COLOR)
            if not _valid(img):
                self.num_skipped += 1
                continue
            yield Frame(i, i / self.fps if self.fps else None, img)
        self._warn_skipped()


class CaptureSource(_Source):
    """Frames from ``cv2.VideoCapture`` (a file or a webcam index)."""

    def __init__(self, target, name: str, live: bool):
        super().__init__(name)
        self.target, self.live = target, live
        cap = self._open()
        fps = cap.get(cv2.CAP_PROP_FPS)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if not live else 0
        self.fps = float(fps) if fps and fps > 0 and np.isfinite(fps) else None
        self.num_frames = count if count > 0 else None
        if not live:
            ok, img = cap.read()
            if not ok or not _valid(img):
                cap.release()
                raise VideoSourceError(f"{name}: video has no decodable frames")
        cap.release()

    def _open(self):
        cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            raise VideoSourceError(f"{self.name}: cannot open video source")
        return cap

    def __iter__(self) -> Iterator[Frame]:
        self.num_skipped = 0
        cap = self._open()
        start = time.monotonic()
        index, failures = 0, 0
        try:
            while True:
                if self.num_frames is not None and index >= self.num_frames:
                    break
                ok, img = cap.read()
                if ok and _valid(img):
                    if self.live:
                        ts = time.monotonic() - start
                    else:
                        ms = cap.get(cv2.CAP_PROP_POS_MSEC)
                        ts = index / self.fps if self.fps else (ms / 1000.0 if ms > 0 else None)
                    yield Frame(index, ts, img)
                    failures = 0
                else:
                    # Without a known length a failed read is the end; with one, a failure before
                    # the end is a corrupt frame: count it and try the next.
                    if self.num_frames is None or self.live:
                        break
                    self.num_skipped += 1
                    failures += 1
                    if failures >= MAX_CONSECUTIVE_FAILURES:
                        # The container over-reported its length: the rest is not frames.
                        self.num_skipped -= failures
                        break
                index += 1
        finally:
            cap.release()
        self._warn_skipped()


def open_source(source, fps: Optional[float] = None):
    """Open a video file, a folder of frames, or a webcam index (int or digit string).

    ``fps`` sets the frame rate of a folder source (timestamps None without it).
    Raises ``VideoSourceError`` naming the source when it cannot be opened or has zero frames.
    """
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return CaptureSource(int(source), f"webcam {int(source)}", live=True)
    path = os.fspath(source)
    if os.path.isdir(path):
        return FolderSource(path, fps=fps)
    if not os.path.isfile(path):
        raise VideoSourceError(f"{path}: no such video file or folder")
    if os.path.getsize(path) == 0:
        raise VideoSourceError(f"{path}: video file is empty")
    return CaptureSource(path, path, live=False)
