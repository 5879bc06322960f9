"""Building blocks of the tracker: IoU, the batched Kalman filter and the gated assignment."""
import lap
import numpy as np

from efftrack.tracking.assignment import gated_assignment
from efftrack.tracking.box_ops import cxcywh_to_xyxy, iou_matrix, xyxy_to_cxcywh
from efftrack.tracking.kalman import BatchKalmanFilter


def test_iou_matrix_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, size=(7, 2))
    a = np.concatenate([xy, xy + rng.uniform(1, 50, size=(7, 2))], 1).astype(np.float32)
    b = a[::-1].copy() + 3
    got = iou_matrix(a, b)
    for i in range(len(a)):
        for j in range(len(b)):
            iw = max(0, min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0]))
            ih = max(0, min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1]))
            inter = iw * ih
            area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
            assert abs(got[i, j] - inter / (area(a[i]) + area(b[j]) - inter)) < 1e-5
    assert iou_matrix(a[:0], b).shape == (0, 7)
    np.testing.assert_allclose(cxcywh_to_xyxy(xyxy_to_cxcywh(a)), a, atol=1e-4)


def test_kalman_learns_constant_velocity_for_many_tracks_at_once():
    kf = BatchKalmanFilter()
    rng = np.random.default_rng(1)
    vel = rng.uniform(-5, 5, size=(50, 2))
    start = rng.uniform(100, 500, size=(50, 2))
    wh = rng.uniform(20, 80, size=(50, 2))
    mean, cov = kf.initiate(np.concatenate([start, wh], 1))
    for t in range(1, 15):
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, np.concatenate([start + t * vel, wh], 1))
    mean, cov = kf.predict(mean, cov)
    np.testing.assert_allclose(mean[:, :2], start + 15 * vel, atol=0.5)
    np.testing.assert_allclose(mean[:, 4:6], vel, atol=0.2)
    assert np.all(np.linalg.eigvalsh(cov) > 0)  # covariances stay positive definite
    # A two-frame gap moves the prediction twice as far.
    m2, _ = kf.predict(mean, cov, dt=2.0)
    np.testing.assert_allclose(m2[:, :2] - mean[:, :2], 2 * mean[:, 4:6], atol=1e-9)


def test_gated_assignment_is_optimal_and_respects_the_gate():
    rng = np.random.default_rng(3)
    for trial in range(60):
        n, m = rng.integers(1, 12, size=2)
        cost = rng.uniform(0, 1, size=(n, m))
        allowed = rng.uniform(size=(n, m)) < (0.15 if trial % 2 else 0.6)
        limit = 0.7
        r, c = gated_assignment(cost, allowed, limit)
        assert len(set(r.tolist())) == len(r) and len(set(c.tolist())) == len(c)
        assert np.all(allowed[r, c]) and np.all(cost[r, c] <= limit)
        # Reference: full lapjv where forbidden pairs are priced out.
        ref = np.where(allowed & (cost <= limit), cost, limit + 1.0)
        _, x, _ = lap.lapjv(ref, extend_cost=True, cost_limit=limit)
        rows = np.flatnonzero(x >= 0)
        ok = ref[rows, x[rows]] <= limit
        ref_total = ref[rows, x[rows]][ok].sum() + limit / 2 * (n + m - 2 * ok.sum())
        got_total = cost[r, c].sum() + limit / 2 * (n + m - 2 * len(r))
        assert abs(got_total - ref_total) < 1e-9
