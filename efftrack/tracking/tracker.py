"""Online open-world tracker: Kalman motion + EMA appearance, two-stage (ByteTrack-style) matching.

One ``update`` per frame, in order:

1. Predict every live track with a constant-velocity Kalman filter (``dt`` = frame-id gap).
2. Stage 1: confident detections (score >= ``high_thr``) against all tracks (tentative, confirmed
   and lost, as ByteTrack does) on the fused cost ``(1 - w) * (1 - IoU) + w * (1 - cos)``,
   ``w = appearance_weight`` (``1 - IoU`` alone without embeddings). A pair may match only with
   IoU >= ``match_iou_thr`` (IoU with the Kalman-predicted box), cosine >= ``min_appearance_sim``
   and cost <= ``match_cost_thr``.
3. Stage 2: low-score detections (``low_thr`` <= score < ``high_thr``) against confirmed tracks
   still unmatched, IoU only (IoU >= ``low_match_iou_thr``); their embeddings are not learned from,
   since low scores mostly mean occlusion.
4. Stage 3 (re-finding, with embeddings only): confident detections still unmatched against lost
   tracks still unmatched, for occlusions long enough that the boxes no longer overlap: cosine >=
   ``reid_sim_thr`` and the detection centre inside a loose Kalman gate (squared Mahalanobis
   distance <= ``reid_gate_chi2``; the gate widens the longer a track is unseen); cost ``1 - cos``.
5. Bookkeeping: a matched lost track becomes confirmed again; a tentative track is confirmed after
   ``min_hits`` matches; an unmatched tentative track ends at once; an unmatched confirmed track is
   lost and ends after ``max_lost_seconds * fps`` frames unseen. Unmatched confident detections
   with score >= ``new_track_thr`` start tentative tracks (tracks started on the first frame after a
   reset are confirmed at once, as in SORT/ByteTrack: there is no history to confirm them with).

Reporting rule (open world): with ``report_tentative=True`` (default) every matched track, tentative
or not, is reported on every frame it is matched, from its first frame on: every proposal may become
a track, TAO-OW ranks tracks by score and unmatched predictions cost nothing in OWTA. With
``report_tentative=False`` (MOTChallenge-style, where false positives count) a track is reported
only once confirmed; it gets its id then, so ids stay dense. Lost tracks are never reported.

Memory stays flat on long videos: the tracker keeps no per-frame history; ended tracks are moved
to a small summary buffer that a writer drains with ``pop_finished()`` (call ``finish_all()`` at the
end of a video to close the live ones too).
"""
from __future__ import annotations

import inspect

import numpy as np

from .assignment import gated_assignment
from .box_ops import cxcywh_to_xyxy, iou_matrix, xyxy_to_cxcywh
from .kalman import BatchKalmanFilter
from .results import FinishedTracks, Tracks

TENTATIVE, CONFIRMED, LOST = 0, 1, 2


class TrackerInputError(ValueError):
    """Inputs to ``Tracker.update`` have the wrong shape, type or order (the message says which)."""


def _to_numpy(x, name: str, dtype) -> np.ndarray:
    if x is None:
        return None
    if hasattr(x, "detach"):  # torch tensor on any device
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TrackerInputError(f"{name}: cannot convert to a {np.dtype(dtype).name} array ({exc})") from None


class Tracker:
    """Multi-object tracker for class-agnostic proposals; all state lives on the instance.

    Args (all keyword; scores and similarities are in the detector's [0,1] / cosine units):
        high_thr: detections at or above it are confident (stages 1 and 3, may start tracks).
        low_thr: detections below it are ignored; between the two they only extend tracks (stage 2).
        new_track_thr: a confident unmatched detection starts a track only at or above it.
        match_iou_thr: minimum IoU with the predicted box for a stage-1 match.
        match_cost_thr: maximum fused cost for a stage-1 match.
        appearance_weight: weight ``w`` of the appearance term in the fused cost (ignored without embeddings).
        min_appearance_sim: minimum cosine for a stage-1 match when embeddings are given.
        low_match_iou_thr: minimum IoU for a stage-2 (low-score) match.
        min_hits: matches needed to confirm a tentative track.
        max_lost_seconds, fps: a lost track is kept ``round(max_lost_seconds * fps)`` frames (at least 1).
        reid_sim_thr: minimum cosine to re-find a lost track by appearance.
        reid_gate_chi2: squared Mahalanobis gate on the centre for re-finding (2 dof; 13.8 = 99.9%).
        ema_momentum: track embedding = m * old + (1 - m) * new, then L2-normalised.
        report_tentative: report tentative tracks (open-world default) or only confirmed ones.
        std_weight_position, std_weight_velocity: Kalman noise per pixel of box size.
    """

    def __init__(self, *, high_thr: float = 0.5, low_thr: float = 0.1, new_track_thr: float = 0.6,
                 match_iou_thr: float = 0.2, match_cost_thr: float = 0.8, appearance_weight: float = 0.5,
                 min_appearance_sim: float = 0.25, low_match_iou_thr: float = 0.5, min_hits: int = 3,
                 max_lost_seconds: float = 1.0, fps: float = 30.0, reid_sim_thr: float = 0.6,
                 reid_gate_chi2: float = 13.8, ema_momentum: float = 0.9, report_tentative: bool = True,
                 std_weight_position: float = 1.0 / 20, std_weight_velocity: float = 1.0 / 160):
        if not 0.0 <= low_thr <= high_thr:
            raise ValueError(f"Tracker: need 0 <= low_thr <= high_thr, got low_thr={low_thr}, high_thr={high_thr}")
        if fps <= 0 or max_lost_seconds < 0:
            raise ValueError(f"Tracker: fps must be > 0 and max_lost_seconds >= 0, got {fps}, {max_lost_seconds}")
        if min_hits < 1:
            raise ValueError(f"Tracker: min_hits must be >= 1, got {min_hits}")
        if not 0.0 <= appearance_weight <= 1.0 or not 0.0 <= ema_momentum < 1.0:
            raise ValueError("Tracker: appearance_weight must be in [0,1] and ema_momentum in [0,1)")
        self.high_thr = float(high_thr)
        self.low_thr = float(low_thr)
        self.new_track_thr = float(new_track_thr)
        self.match_iou_thr = float(match_iou_thr)
        self.match_cost_thr = float(match_cost_thr)
        self.appearance_weight = float(appearance_weight)
        self.min_appearance_sim = float(min_appearance_sim)
        self.low_match_iou_thr = float(low_match_iou_thr)
        self.min_hits = int(min_hits)
        self.max_lost_seconds = float(max_lost_seconds)
        self.fps = float(fps)
        self.max_lost_frames = max(1, int(round(self.max_lost_seconds * self.fps)))
        self.reid_sim_thr = float(reid_sim_thr)
        self.reid_gate_chi2 = float(reid_gate_chi2)
        self.ema_momentum = float(ema_momentum)
        self.report_tentative = bool(report_tentative)
        self.kf = BatchKalmanFilter(std_weight_position, std_weight_velocity)
        self.reset()

    @classmethod
    def from_config(cls, cfg) -> "Tracker":
        """Build from a mapping of keyword arguments (e.g. a config's ``tracker`` section).

        A ``type`` key is ignored; an unknown key raises ValueError naming it.
        """
        cfg = dict(cfg or {})
        cfg.pop("type", None)
        known = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f"tracker config: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**cfg)

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget every track and start ids again at 1."""
        self._next_id = 1
        self._last_frame_id = None
        self._emb_dim = None          # fixed by the first frame with embeddings
        self._uses_emb = None         # True/False once a frame with detections was seen
        self._ids = np.zeros(0, np.int64)          # 0 = no public id yet
        self._state = np.zeros(0, np.int8)
        self._mean = np.zeros((0, 8))
        self._cov = np.zeros((0, 8, 8))
        self._emb = None                            # (T,D) float32, L2-normalised
        self._hits = np.zeros(0, np.int64)
        self._score_sum = np.zeros(0, np.float64)
        self._first_frame = np.zeros(0, np.int64)
        self._last_frame = np.zeros(0, np.int64)
        self._finished = []

    @property
    def num_live(self) -> int:
        """Tracks alive now (tentative, confirmed and lost)."""
        return int(self._state.shape[0])

    def pop_finished(self) -> FinishedTracks:
        """Summaries of the tracks that ended since the last call (only tracks that got an id)."""
        out = FinishedTracks.concat(self._finished)
        self._finished = []
        return out

    def finish_all(self) -> FinishedTracks:
        """End every live track (end of video) and return all unpopped summaries. Ids keep counting."""
        self._end_tracks(np.ones(self.num_live, dtype=bool))
        self._last_frame_id = None
        return self.pop_finished()

    # ----------------------------------------------------------------- update
    def update(self, boxes_xyxy, scores, embeddings=None, frame_id: int = None) -> Tracks:
        """Associate one frame's detections with the live tracks.

        boxes_xyxy: (N,4) xyxy absolute pixels; scores: (N,); embeddings: (N,D) or None (numpy or
        torch, any device; normalised here). frame_id: 0-based, strictly increasing between resets
        (gaps are allowed: the Kalman filter predicts across them). Returns the ``Tracks`` matched
        on this frame (see the module docstring for which are reported).
        """
        boxes, scores, emb, frame_id = self._check_inputs(boxes_xyxy, scores, embeddings, frame_id)
        dt = 1 if self._last_frame_id is None else frame_id - self._last_frame_id
        first_frame = self._last_frame_id is None and self.num_live == 0
        self._last_frame_id = frame_id
        self._mean, self._cov = self.kf.predict(self._mean, self._cov, float(dt))

        n = len(boxes)
        det_track = np.full(n, -1, np.int64)
        track_matched = np.zeros(self.num_live, bool)
        high = np.flatnonzero(scores >= self.high_thr)
        low = np.flatnonzero((scores >= self.low_thr) & (scores < self.high_thr))
        use_emb = emb is not None and self._emb is not None
        pred_xyxy = cxcywh_to_xyxy(self._mean[:, :4]).astype(np.float32) if self.num_live else None

        # Stage 1: confident detections vs all tracks, lost ones included: a lost track left out
        # here lets its neighbour's track take the detection it would have won (an id swap).
        active = np.arange(self.num_live)
        if len(high) and len(active):
            iou = iou_matrix(boxes[high], pred_xyxy[active])
            allowed = iou >= self.match_iou_thr
            cost = 1.0 - iou
            if use_emb:
                # Cosine only on the pairs the overlap gate lets through: a dense (N,T,D) product
                # costs more than the whole rest of the frame at 300 x 300 x 128.
                pr, pc = np.nonzero(allowed)
                sim = np.einsum("pd,pd->p", emb[high[pr]], self._emb[active[pc]])
                w = self.appearance_weight
                cost[pr, pc] = (1.0 - w) * cost[pr, pc] + w * (1.0 - sim)
                bad = sim < self.min_appearance_sim
                allowed[pr[bad], pc[bad]] = False
            r, c = gated_assignment(cost, allowed, self.match_cost_thr)
            det_track[high[r]] = active[c]
            track_matched[active[c]] = True

        # Stage 2: low-score detections vs confirmed tracks left over, IoU only.
        left = np.flatnonzero((self._state == CONFIRMED) & ~track_matched)
        if len(low) and len(left):
            iou = iou_matrix(boxes[low], pred_xyxy[left])
            r, c = gated_assignment(1.0 - iou, iou >= self.low_match_iou_thr, 1.0 - self.low_match_iou_thr)
            det_track[low[r]] = left[c]
            track_matched[left[c]] = True

        # Stage 3: re-find lost tracks by appearance where overlap no longer helps (long occlusions).
        lost = np.flatnonzero((self._state == LOST) & ~track_matched)
        free = high[det_track[high] < 0]
        if use_emb and len(free) and len(lost):
            sim = emb[free] @ self._emb[lost].T
            centers = (boxes[free, :2] + boxes[free, 2:]) * 0.5
            gate = self.kf.position_mahalanobis(self._mean[lost], self._cov[lost], centers)
            allowed = (sim >= self.reid_sim_thr) & (gate <= self.reid_gate_chi2)
            r, c = gated_assignment(1.0 - sim, allowed, 1.0 - self.reid_sim_thr)
            det_track[free[r]] = lost[c]
            track_matched[lost[c]] = True

        self._apply_matches(det_track, boxes, scores, emb, frame_id)
        keep = self._retire_unmatched(track_matched, frame_id)
        if keep is not None:
            # Matched tracks never retire, so every matched row has a place in the compacted arrays.
            new_row = np.cumsum(keep) - 1
            hit = det_track >= 0
            det_track[hit] = new_row[det_track[hit]]
        self._start_tracks(det_track, high, boxes, scores, emb, frame_id, first_frame)
        return self._report(det_track, boxes, frame_id)

    # --------------------------------------------------------------- internals
    def _check_inputs(self, boxes, scores, embeddings, frame_id):
        if frame_id is None:
            raise TrackerInputError("update: frame_id is required")
        try:
            frame_id = int(frame_id)
        except (TypeError, ValueError):
            raise TrackerInputError(f"update: frame_id must be an int, got {frame_id!r}") from None
        if self._last_frame_id is not None and frame_id <= self._last_frame_id:
            raise TrackerInputError(
                f"update: frame_id {frame_id} is not after the previous frame {self._last_frame_id}; call reset() "
                "between videos")
        boxes = _to_numpy(boxes, "boxes_xyxy", np.float32)
        scores = _to_numpy(scores, "scores", np.float32)
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise TrackerInputError(f"update: boxes_xyxy must have shape (N,4), got {boxes.shape}")
        n = boxes.shape[0]
        scores = scores.reshape(-1) if scores.size == n else scores
        if scores.shape != (n,):
            raise TrackerInputError(f"update: scores must have shape ({n},), got {scores.shape}")
        if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
            raise TrackerInputError("update: boxes_xyxy/scores contain NaN or inf")
        emb = _to_numpy(embeddings, "embeddings", np.float32)
        if emb is not None:
            if emb.ndim != 2 or emb.shape[0] != n:
                raise TrackerInputError(f"update: embeddings must have shape ({n},D), got {emb.shape}")
            if self._emb_dim is not None and emb.shape[1] != self._emb_dim:
                raise TrackerInputError(
                    f"update: embedding size changed from {self._emb_dim} to {emb.shape[1]} without reset()")
            if not np.isfinite(emb).all():
                raise TrackerInputError("update: embeddings contain NaN or inf")
            norm = np.linalg.norm(emb, axis=1, keepdims=True)
            emb = emb / np.maximum(norm, 1e-12)
        if n:
            uses = emb is not None
            if self._uses_emb is None:
                self._uses_emb = uses
                if uses:
                    self._emb_dim = emb.shape[1]
                    self._emb = np.zeros((self.num_live, self._emb_dim), np.float32)
            elif self._uses_emb != uses:
                raise TrackerInputError(
                    "update: embeddings were " + ("given" if self._uses_emb else "None")
                    + " on earlier frames and are " + ("given" if uses else "None")
                    + " now; use one mode per video (reset() between)")
        elif not self._uses_emb:
            emb = None
        return boxes, scores, emb, frame_id

    def _apply_matches(self, det_track, boxes, scores, emb, frame_id):
        dets = np.flatnonzero(det_track >= 0)
        if not len(dets):
            return
        rows = det_track[dets]
        self._mean[rows], self._cov[rows] = self.kf.update(
            self._mean[rows], self._cov[rows], xyxy_to_cxcywh(boxes[dets]).astype(np.float64))
        self._hits[rows] += 1
        self._score_sum[rows] += scores[dets]
        self._last_frame[rows] = frame_id
        state = self._state[rows]
        state[state == LOST] = CONFIRMED
        state[(state == TENTATIVE) & (self._hits[rows] >= self.min_hits)] = CONFIRMED
        self._state[rows] = state
        if emb is not None and self._emb is not None:
            # Only confident matches teach the appearance model (stage-2 boxes are often occluded).
            learn = scores[dets] >= self.high_thr
            r, d = rows[learn], dets[learn]
            m = self.ema_momentum
            mixed = m * self._emb[r] + (1.0 - m) * emb[d]
            self._emb[r] = mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)

    def _retire_unmatched(self, matched, frame_id):
        unmatched = ~matched
        self._state[unmatched & (self._state == CONFIRMED)] = LOST
        end = unmatched & (self._state == TENTATIVE)
        end |= (self._state == LOST) & (frame_id - self._last_frame > self.max_lost_frames)
        if end.any():
            self._end_tracks(end)
            return ~end
        return None

    def _end_tracks(self, end: np.ndarray):
        if not end.any():
            return
        named = end & (self._ids > 0)
        if named.any():
            self._finished.append(FinishedTracks(
                ids=self._ids[named].copy(), first_frame=self._first_frame[named].copy(),
                last_frame=self._last_frame[named].copy(),
                scores=(self._score_sum[named] / self._hits[named]).astype(np.float32),
                hits=self._hits[named].copy(), confirmed=self._state[named] != TENTATIVE))
        keep = ~end
        self._ids = self._ids[keep]
        self._state = self._state[keep]
        self._mean = self._mean[keep]
        self._cov = self._cov[keep]
        if self._emb is not None:
            self._emb = self._emb[keep]
        self._hits = self._hits[keep]
        self._score_sum = self._score_sum[keep]
        self._first_frame = self._first_frame[keep]
        self._last_frame = self._last_frame[keep]

    def _start_tracks(self, det_track, high, boxes, scores, emb, frame_id, first_frame):
        start = high[(det_track[high] < 0) & (scores[high] >= self.new_track_thr)]
        k = len(start)
        if not k:
            return
        t0 = self.num_live
        mean, cov = self.kf.initiate(xyxy_to_cxcywh(boxes[start]).astype(np.float64))
        self._ids = np.concatenate([self._ids, np.zeros(k, np.int64)])
        state = CONFIRMED if (first_frame or self.min_hits <= 1) else TENTATIVE
        self._state = np.concatenate([self._state, np.full(k, state, np.int8)])
        self._mean = np.concatenate([self._mean, mean])
        self._cov = np.concatenate([self._cov, cov])
        if self._emb is not None:
            self._emb = np.concatenate([self._emb, emb[start]])
        self._hits = np.concatenate([self._hits, np.ones(k, np.int64)])
        self._score_sum = np.concatenate([self._score_sum, scores[start].astype(np.float64)])
        self._first_frame = np.concatenate([self._first_frame, np.full(k, frame_id, np.int64)])
        self._last_frame = np.concatenate([self._last_frame, np.full(k, frame_id, np.int64)])
        det_track[start] = np.arange(t0, t0 + k)

    def _report(self, det_track, boxes, frame_id) -> Tracks:
        dets = np.flatnonzero(det_track >= 0)
        rows = det_track[dets]
        if not self.report_tentative:
            shown = self._state[rows] != TENTATIVE
            dets, rows = dets[shown], rows[shown]
        unnamed = rows[self._ids[rows] == 0]
        if len(unnamed):
            # Ids are handed out when a track is first reported, in detection order: dense and reproducible.
            self._ids[unnamed] = np.arange(self._next_id, self._next_id + len(unnamed))
            self._next_id += len(unnamed)
        return Tracks(ids=self._ids[rows].copy(), boxes=boxes[dets].copy(),
                      scores=(self._score_sum[rows] / self._hits[rows]).astype(np.float32),
                      det_index=dets.astype(np.int64), confirmed=self._state[rows] != TENTATIVE,
                      frame_id=frame_id)
