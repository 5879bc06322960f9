"""Constant-velocity Kalman filter over many boxes at once (numpy, batched over tracks).

State per track (8,): ``cx, cy, w, h, vcx, vcy, vw, vh`` in pixels and pixels/frame. The
measurement is the box ``cx, cy, w, h``. Process and measurement noise scale with the box size
(a large box moves more pixels per frame than a small one), as in SORT/ByteTrack/BoT-SORT.
"""
from __future__ import annotations

import numpy as np

_NDIM = 4


def _size4(w: np.ndarray, h: np.ndarray) -> np.ndarray:
    """(T,) widths and heights -> (T,4) ``w, h, w, h`` for the noise scales; at least 1 px, so a
    degenerate (zero-size) box cannot make a covariance singular."""
    w = np.maximum(w, 1.0)
    h = np.maximum(h, 1.0)
    return np.stack([w, h, w, h], axis=1)


class BatchKalmanFilter:
    """Stateless helpers: every method takes and returns batched means (T,8) and covariances (T,8,8)."""

    def __init__(self, std_weight_position: float = 1.0 / 20, std_weight_velocity: float = 1.0 / 160):
        self.std_weight_position = float(std_weight_position)
        self.std_weight_velocity = float(std_weight_velocity)

    def initiate(self, measurements: np.ndarray):
        """measurements: (T,4) cxcywh -> means (T,8), covariances (T,8,8), velocities zero."""
        z = np.asarray(measurements, dtype=np.float64).reshape(-1, _NDIM)
        t = len(z)
        mean = np.zeros((t, 2 * _NDIM))
        mean[:, :_NDIM] = z
        wh = _size4(z[:, 2], z[:, 3])
        std = np.concatenate([2 * self.std_weight_position * wh, 10 * self.std_weight_velocity * wh], axis=1)
        cov = np.zeros((t, 2 * _NDIM, 2 * _NDIM))
        idx = np.arange(2 * _NDIM)
        cov[:, idx, idx] = std ** 2
        return mean, cov

    def predict(self, mean: np.ndarray, cov: np.ndarray, dt: float = 1.0):
        """Advance all tracks by ``dt`` frames. mean (T,8), cov (T,8,8) -> new (T,8), (T,8,8)."""
        if len(mean) == 0:
            return mean, cov
        wh = _size4(mean[:, 2], mean[:, 3])
        q = np.concatenate([self.std_weight_position * wh, self.std_weight_velocity * wh], axis=1) ** 2
        q *= dt
        new_mean = mean.copy()
        new_mean[:, :_NDIM] += dt * mean[:, _NDIM:]
        # Extrapolated sizes can turn negative on a shrinking box; a box is at least 1 px.
        np.maximum(new_mean[:, 2:4], 1.0, out=new_mean[:, 2:4])
        # F P F^T with F = [[I, dt I], [0, I]], written blockwise: cheaper than a batched matmul.
        a = cov[:, :_NDIM, :_NDIM]
        b = cov[:, :_NDIM, _NDIM:]
        c = cov[:, _NDIM:, :_NDIM]
        d = cov[:, _NDIM:, _NDIM:]
        new_cov = np.empty_like(cov)
        new_cov[:, _NDIM:, _NDIM:] = d
        new_cov[:, :_NDIM, _NDIM:] = b + dt * d
        new_cov[:, _NDIM:, :_NDIM] = c + dt * d
        new_cov[:, :_NDIM, :_NDIM] = a + dt * (b + c) + (dt * dt) * d
        idx = np.arange(2 * _NDIM)
        new_cov[:, idx, idx] += q
        return new_mean, new_cov

    def measurement_noise(self, mean: np.ndarray) -> np.ndarray:
        """(T,8) -> diagonal of R, (T,4)."""
        wh = _size4(mean[:, 2], mean[:, 3])
        return (self.std_weight_position * wh) ** 2

    def update(self, mean: np.ndarray, cov: np.ndarray, measurements: np.ndarray):
        """Correct tracks with their matched boxes. mean (T,8), cov (T,8,8), measurements (T,4) cxcywh."""
        if len(mean) == 0:
            return mean, cov
        z = np.asarray(measurements, dtype=np.float64).reshape(-1, _NDIM)
        s = cov[:, :_NDIM, :_NDIM].copy()
        idx = np.arange(_NDIM)
        s[:, idx, idx] += self.measurement_noise(mean)
        ph = cov[:, :_NDIM, :]                      # H P, (T,4,8)
        gain_t = np.linalg.solve(s, ph)             # (K)^T = S^-1 H P, S is symmetric
        gain = np.swapaxes(gain_t, 1, 2)            # (T,8,4)
        innovation = z - mean[:, :_NDIM]
        new_mean = mean + np.einsum("tij,tj->ti", gain, innovation)
        new_cov = cov - gain @ ph
        # Rounding makes P - K H P drift from symmetric over long videos; keep it exact.
        new_cov = 0.5 * (new_cov + np.swapaxes(new_cov, 1, 2))
        return new_mean, new_cov

    def position_mahalanobis(self, mean: np.ndarray, cov: np.ndarray, centers: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of box centres to each track's predicted centre.

        mean (T,8), cov (T,8,8), centers (N,2) -> (N,T). Uses only the centre (2 dof), so a
        chi-square 2-dof quantile is the matching gate.
        """
        r = self.measurement_noise(mean)[:, :2]
        s00 = cov[:, 0, 0] + r[:, 0]
        s11 = cov[:, 1, 1] + r[:, 1]
        s01 = cov[:, 0, 1]
        det = np.maximum(s00 * s11 - s01 * s01, 1e-12)
        dx = centers[:, None, 0] - mean[None, :, 0]
        dy = centers[:, None, 1] - mean[None, :, 1]
        return (dx * dx * s11[None] - 2 * dx * dy * s01[None] + dy * dy * s00[None]) / det[None]
