"""What the tracker hands out: per-frame tracks and summaries of tracks that have ended."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tracks:
    """Tracks reported on one frame.

    ids: (M,) int64, >= 1, unique within a tracker until ``reset()``.
    boxes: (M,4) float32 xyxy absolute pixels: the matched detection's box, not the Kalman estimate.
    scores: (M,) float32, running mean of the track's box scores so far (TAO-OW ranks by it).
    det_index: (M,) int64, index into this frame's input detections.
    confirmed: (M,) bool, False for a track that is still tentative (see ``Tracker``).
    frame_id: the frame these tracks belong to (0-based).
    """

    ids: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    det_index: np.ndarray
    confirmed: np.ndarray
    frame_id: int

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class FinishedTracks:
    """Tracks that ended (lost too long, tentative and missed, or closed by ``finish_all``).

    All arrays have shape (K,). ids int64; first_frame / last_frame int64 (0-based, last frame the
    track was seen); scores float32 mean of all its box scores (the final track score); hits int64
    number of frames it was matched; confirmed bool.
    """

    ids: np.ndarray
    first_frame: np.ndarray
    last_frame: np.ndarray
    scores: np.ndarray
    hits: np.ndarray
    confirmed: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @staticmethod
    def empty() -> "FinishedTracks":
        z = np.zeros(0, dtype=np.int64)
        return FinishedTracks(z, z.copy(), z.copy(), np.zeros(0, np.float32), z.copy(), np.zeros(0, bool))

    @staticmethod
    def concat(parts) -> "FinishedTracks":
        parts = [p for p in parts if len(p)]
        if not parts:
            return FinishedTracks.empty()
        return FinishedTracks(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                                ("ids", "first_frame", "last_frame", "scores", "hits", "confirmed")))
