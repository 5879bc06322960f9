"""Track every object in a stream of frames: detector -> tracker -> writers, with per-stage timing."""
from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np


@dataclass
class TrackingSummary:
    frames: int = 0
    skipped: int = 0
    tracks: int = 0
    seconds: dict = field(default_factory=lambda: {"backbone": 0.0, "side_heads": 0.0, "association": 0.0})
    wall: float = 0.0

    def ms_per_frame(self, stage: str) -> float:
        return 1000.0 * self.seconds[stage] / max(self.frames, 1)

    def line(self) -> str:
        fps = self.frames / self.wall if self.wall else 0.0
        skipped = f" ({self.skipped} corrupt skipped)" if self.skipped else ""
        return (f"{self.frames} frames{skipped}, {self.tracks} tracks, {fps:.1f} fps; per frame: backbone "
                f"{self.ms_per_frame('backbone'):.1f} ms, side network + heads {self.ms_per_frame('side_heads'):.1f} ms, "
                f"association {self.ms_per_frame('association'):.2f} ms")


class Progress:
    """A one-line progress bar on stderr (frames, fps); quiet when stderr is not a terminal, except at the end."""

    def __init__(self, total: int | None, stream=sys.stderr, every: float = 0.5):
        self.total, self.stream, self.every = total, stream, every
        self.start = self.last = time.perf_counter()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def update(self, done: int, final: bool = False) -> None:
        now = time.perf_counter()
        if not final and (not self.tty or now - self.last < self.every):
            return
        self.last = now
        fps = done / max(now - self.start, 1e-9)
        if self.total:
            width = 30
            filled = int(width * min(done, self.total) / self.total)
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}"
        else:
            bar = f"{done} frames"
        self.stream.write(f"\r{bar} {fps:.1f} fps" + ("\n" if final else ""))
        self.stream.flush()


def track_stream(source, detector, tracker, writers=(), *, score_thr: float = 0.0, max_dets: int = 300,
                 video_id: int = 1, progress: bool = True, show: bool = False) -> TrackingSummary:
    """Run ``detector`` + ``tracker`` over ``source`` (``efftrack.data.video`` frames, BGR) into ``writers``.

    Writers get ``write(frame_index, ids, boxes_xyxy, scores, image=BGR, image_id=frame_index+1,
    video_id=video_id)`` per frame, in original pixels. Finished tracks are drained from the tracker as the
    video goes, so memory does not grow with its length.
    """
    summary = TrackingSummary()
    # the tracker ignores proposals below its low threshold: they need no embedding
    min_score = max(float(score_thr), float(getattr(tracker, "low_thr", 0.0)))
    bar = Progress(getattr(source, "num_frames", None)) if progress else None
    seen_ids: set[int] = set()
    start = time.perf_counter()
    with ExitStack() as stack:
        for w in writers:
            stack.enter_context(w)
        for frame in source:
            out = detector([frame.image], bgr=True, timings=summary.seconds, min_score=min_score)[0]
            keep = np.flatnonzero(out["scores"] >= score_thr)[:max_dets]
            t0 = time.perf_counter()
            tracks = tracker.update(out["boxes"][keep], out["scores"][keep], out["embeddings"][keep],
                                    frame_id=frame.index)
            tracker.pop_finished()
            summary.seconds["association"] += time.perf_counter() - t0
            seen_ids.update(tracks.ids.tolist())
            for w in writers:
                w.write(frame.index, tracks.ids, tracks.boxes, tracks.scores, image=frame.image,
                        image_id=frame.index + 1, video_id=video_id)
            if show:
                _show(frame.image, tracks)
            summary.frames += 1
            if bar:
                bar.update(summary.frames)
        summary.skipped = int(getattr(source, "num_skipped", 0))
    summary.tracks = len(seen_ids)
    summary.wall = time.perf_counter() - start
    if bar:
        bar.update(summary.frames, final=True)
    return summary


def _show(image, tracks) -> None:
    import cv2
    from .data.writers import id_colour
    img = image.copy()
    for tid, (x1, y1, x2, y2) in zip(tracks.ids.tolist(), tracks.boxes.astype(int).tolist()):
        cv2.rectangle(img, (x1, y1), (x2, y2), id_colour(tid), 2)
    cv2.imshow("efftrack", img)
    cv2.waitKey(1)
