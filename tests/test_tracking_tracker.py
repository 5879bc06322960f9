"""Behaviour of the online tracker on small synthetic scenes (numpy only, milliseconds each)."""
import numpy as np
import pytest
import torch

from efftrack.tracking import Tracker, TrackerInputError, build_tracker


def box(cx, cy, w=40.0, h=80.0):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def id_at(tracks, det):
    hit = np.flatnonzero(tracks.det_index == det)
    return int(tracks.ids[hit[0]]) if len(hit) else None


def crossing_scene(bounce: bool, frames: int = 30):
    """Two same-size objects on one row moving towards each other; they meet at frame 15.

    With bounce=True both turn back when they meet, so a constant-velocity prediction points each
    track at the other object: only appearance can keep the ids.
    """
    out = []
    for f in range(frames):
        t = f if (not bounce or f <= 15) else 30 - f
        out.append((box(100 + 6 * t, 200), box(280 - 6 * t, 200)))
    return out


@pytest.mark.parametrize("bounce", [False, True])
def test_crossing_objects_keep_ids_when_appearance_differs(bounce):
    rng = np.random.default_rng(0)
    app_a, app_b = unit(rng.normal(size=32)), unit(rng.normal(size=32))
    trk = Tracker()
    ids_a, ids_b = set(), set()
    for f, (a, b) in enumerate(crossing_scene(bounce)):
        # Detection order alternates so the test cannot pass by order alone.
        dets = [a, b] if f % 2 == 0 else [b, a]
        embs = [app_a, app_b] if f % 2 == 0 else [app_b, app_a]
        embs = np.stack([unit(e + 0.05 * rng.normal(size=32)) for e in embs])
        out = trk.update(np.array(dets, np.float32), np.array([0.9, 0.9]), embs, f)
        assert len(out) == 2
        ia, ib = (0, 1) if f % 2 == 0 else (1, 0)
        ids_a.add(id_at(out, ia))
        ids_b.add(id_at(out, ib))
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b


def test_bounce_without_appearance_is_what_appearance_fixes():
    # The same bouncing scene on motion alone swaps ids: this is what the embedding term prevents.
    trk = Tracker()
    ids_a = set()
    for f, (a, b) in enumerate(crossing_scene(bounce=True)):
        out = trk.update(np.array([a, b], np.float32), np.array([0.9, 0.9]), None, f)
        ids_a.add(id_at(out, 0))
    assert len(ids_a) > 1


@pytest.mark.parametrize("with_emb", [True, False])
def test_occluded_object_is_refound_with_its_old_id(with_emb):
    rng = np.random.default_rng(1)
    app = unit(rng.normal(size=16))
    other = unit(rng.normal(size=16))
    trk = Tracker(fps=10, max_lost_seconds=1.0)  # kept 10 frames
    seen = {}
    for f in range(25):
        dets, embs = [box(400, 300)], [other]     # a static bystander far away
        if not 8 <= f < 13:                       # occluded for 5 frames
            dets.append(box(100 + 4 * f, 200))
            embs.append(unit(app + 0.05 * rng.normal(size=16)))
        out = trk.update(np.array(dets, np.float32), np.full(len(dets), 0.9), np.stack(embs) if with_emb else None, f)
        if len(dets) == 2:
            seen[f] = id_at(out, 1)
        else:
            assert len(out) == 1  # a lost track is not reported
    assert len(set(seen.values())) == 1, seen


@pytest.mark.parametrize("with_emb", [True, False])
def test_long_occlusion_with_a_stop_is_refound_by_appearance_only(with_emb):
    # The object stops while hidden for 10 frames, so the predicted box (40 px ahead) no longer
    # overlaps it: only the appearance stage, inside the widened Kalman gate, can re-find it.
    rng = np.random.default_rng(4)
    app = unit(rng.normal(size=16))
    trk = Tracker(fps=10, max_lost_seconds=2.0)
    first = None
    for f in range(10):
        e = unit(app + 0.05 * rng.normal(size=16))[None] if with_emb else None
        out = trk.update(np.array([box(100 + 4 * f, 200)], np.float32), np.array([0.9]), e, f)
        first = int(out.ids[0])
    for f in range(10, 20):
        trk.update(np.zeros((0, 4), np.float32), np.zeros(0), np.zeros((0, 16)) if with_emb else None, f)
    e = unit(app + 0.05 * rng.normal(size=16))[None] if with_emb else None
    out = trk.update(np.array([box(136, 200)], np.float32), np.array([0.9]), e, 20)
    assert (int(out.ids[0]) == first) == with_emb


def test_lost_track_ends_after_max_lost_frames_and_is_not_refound():
    trk = Tracker(fps=10, max_lost_seconds=0.5)  # kept 5 frames
    first = trk.update(np.array([box(100, 100)], np.float32), np.array([0.9]), None, 0)
    for f in range(1, 8):
        trk.update(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), None, f)
    finished = trk.pop_finished()
    assert finished.ids.tolist() == first.ids.tolist()
    again = trk.update(np.array([box(100, 100)], np.float32), np.array([0.9]), None, 8)
    assert again.ids[0] != first.ids[0]


def test_ids_never_repeat_and_finished_tracks_are_flushed():
    rng = np.random.default_rng(2)
    trk = Tracker(fps=5, max_lost_seconds=0.4)
    finished_ids, last_seen, live_peak = [], {}, 0
    for f in range(200):
        # Fresh objects every frame, each visible for a few frames: heavy churn.
        dets = [box(30 + 37 * ((f - k) % 17) + 300 * (k % 3), 50 + 41 * ((f * 7 + k) % 13)) for k in range(6)]
        dets = np.array(dets, np.float32) + rng.normal(scale=2, size=(6, 4)).astype(np.float32)
        out = trk.update(dets, rng.uniform(0.3, 1.0, size=6), None, f)
        assert len(set(out.ids.tolist())) == len(out)          # unique within a frame
        for i in out.ids.tolist():
            assert i not in finished_ids                      # an ended id never comes back
            last_seen[i] = f
        fin = trk.pop_finished()
        for i, last in zip(fin.ids.tolist(), fin.last_frame.tolist()):
            assert last == last_seen[i]
        finished_ids.extend(fin.ids.tolist())
        live_peak = max(live_peak, trk.num_live)
    finished_ids.extend(trk.finish_all().ids.tolist())
    assert len(finished_ids) == len(set(finished_ids)) == len(last_seen)
    assert trk.num_live == 0
    assert live_peak < 60  # memory stays flat: ended tracks leave the live arrays


def test_reset_starts_ids_at_one_and_forgets_tracks():
    trk = Tracker()
    for f in range(3):
        trk.update(np.array([box(50, 50), box(300, 50)], np.float32), np.array([0.9, 0.8]), None, f)
    trk.reset()
    assert trk.num_live == 0
    out = trk.update(np.array([box(600, 400)], np.float32), np.array([0.9]), None, 0)  # frame ids restart too
    assert out.ids.tolist() == [1]


def test_two_trackers_do_not_share_ids():
    a, b = Tracker(), build_tracker({"min_hits": 2})
    one = np.array([box(50, 50)], np.float32)
    ra = a.update(one, np.array([0.9]), None, 0)
    a.update(np.zeros((0, 4)), np.zeros(0), None, 1)
    ra2 = a.update(np.array([box(500, 50)], np.float32), np.array([0.9]), None, 2)
    rb = b.update(one, np.array([0.9]), None, 0)
    assert ra.ids.tolist() == [1] and ra2.ids.tolist() == [2] and rb.ids.tolist() == [1]


def test_empty_frames_one_box_and_torch_inputs():
    trk = Tracker()
    out = trk.update(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), None, 0)
    assert len(out) == 0 and out.boxes.shape == (0, 4)
    ids = []
    for f in range(1, 6):
        b = torch.tensor([box(100 + 3 * f, 100)])
        out = trk.update(b, torch.tensor([0.8]), torch.ones(1, 8), f)
        assert out.boxes.shape == (1, 4) and out.boxes.dtype == np.float32
        np.testing.assert_allclose(out.boxes[0], b[0].numpy())
        ids.append(int(out.ids[0]))
    assert len(set(ids)) == 1
    out = trk.update(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, 8), 6)  # empty frame with embeddings mode
    assert len(out) == 0


def test_track_score_is_running_mean_and_low_scores_only_extend():
    trk = Tracker(high_thr=0.5, low_thr=0.1)
    scores = [0.9, 0.7, 0.3, 0.8]
    for f, s in enumerate(scores):
        out = trk.update(np.array([box(100 + 2 * f, 100)], np.float32), np.array([s]), None, f)
        assert out.scores[0] == pytest.approx(np.mean(scores[:f + 1]), abs=1e-6)
    # A low-score detection alone never starts a track.
    out = Tracker().update(np.array([box(10, 10)], np.float32), np.array([0.3]), None, 0)
    assert len(out) == 0


def test_tentative_tracks_hidden_until_confirmed_when_asked():
    trk = Tracker(report_tentative=False, min_hits=3)
    trk.update(np.array([box(50, 50)], np.float32), np.array([0.9]), None, 0)   # first frame: confirmed
    reported = []
    for f in range(1, 6):
        dets = np.array([box(50 + f, 50), box(400 + 2 * f, 300)], np.float32)
        out = trk.update(dets, np.array([0.9, 0.9]), None, f)
        reported.append(id_at(out, 1))
    # The newcomer (frame 1) shows from its 3rd hit, with the next free id.
    assert reported == [None, None, 2, 2, 2]


def test_bad_inputs_raise_one_clear_error():
    trk = Tracker()
    with pytest.raises(TrackerInputError, match="shape"):
        trk.update(np.zeros((2, 5)), np.zeros(2), None, 0)
    with pytest.raises(TrackerInputError, match="scores"):
        trk.update(np.zeros((2, 4)), np.zeros(3), None, 0)
    trk.update(np.array([box(5, 5)]), np.array([0.9]), None, 3)
    with pytest.raises(TrackerInputError, match="frame_id"):
        trk.update(np.array([box(5, 5)]), np.array([0.9]), None, 3)
    with pytest.raises(TrackerInputError, match="embeddings"):
        trk.update(np.array([box(5, 5)]), np.array([0.9]), np.ones((1, 4)), 4)
    with pytest.raises(ValueError, match="unknown"):
        build_tracker({"hgh_thr": 0.5})


def test_degenerate_boxes_do_not_break_the_filter():
    trk = Tracker()
    for f in range(6):
        # A zero-width box (a clipped proposal at the image border) next to a normal one.
        dets = np.array([[0, 10, 0, 60], box(200 + f, 100)], np.float32)
        out = trk.update(dets, np.array([0.9, 0.9]), None, f)
        assert np.isfinite(trk._mean).all() and np.isfinite(trk._cov).all()
    assert id_at(out, 1) == 2


def test_finished_summary_has_span_hits_and_mean_score():
    trk = Tracker(fps=10, max_lost_seconds=0.2)
    scores = [0.9, 0.6, 0.75]
    for f, s in enumerate(scores):
        trk.update(np.array([box(100 + f, 100)], np.float32), np.array([s]), None, f + 10)
    assert len(trk.pop_finished()) == 0           # still alive
    fin = trk.finish_all()
    assert fin.ids.tolist() == [1] and fin.first_frame.tolist() == [10] and fin.last_frame.tolist() == [12]
    assert fin.hits.tolist() == [3] and fin.scores[0] == pytest.approx(np.mean(scores), abs=1e-6)
    assert trk.num_live == 0 and len(trk.pop_finished()) == 0
    # After finish_all a new video may start at frame 0; ids keep counting.
    assert trk.update(np.array([box(5, 5)], np.float32), np.array([0.9]), None, 0).ids.tolist() == [2]
