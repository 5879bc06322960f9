"""Gated minimum-cost assignment with ``lap.lapjv``.

Most detection-track pairs are ruled out by the gate (no overlap, unlike appearance), so the
matrix handed to the solver is cut down to the rows and columns that have any allowed pair, and
the common case where every allowed pair is unambiguous (one candidate per row and per column)
skips the solver altogether.
"""
from __future__ import annotations

import lap
import numpy as np

_EMPTY = np.zeros(0, dtype=np.int64)


def gated_assignment(cost: np.ndarray, allowed: np.ndarray, cost_limit: float):
    """Minimum-cost one-to-one matching of rows to columns.

    cost: (N,M) float; allowed: (N,M) bool, pairs that may match; cost_limit: pairs with a
    larger cost never match. Returns (rows (K,), cols (K,)) int64 index arrays of the matches.
    """
    allowed = allowed & (cost <= cost_limit)
    if not allowed.any():
        return _EMPTY, _EMPTY
    row_deg = allowed.sum(axis=1)
    col_deg = allowed.sum(axis=0)
    rows = np.flatnonzero(row_deg)
    cols = np.flatnonzero(col_deg)
    if (row_deg[rows] == 1).all() and (col_deg[cols] == 1).all():
        # Every allowed pair is the only option of both its row and its column: the optimum is them all.
        r, c = np.nonzero(allowed)
        return r.astype(np.int64), c.astype(np.int64)
    sub = cost[np.ix_(rows, cols)].astype(np.float64)
    # Forbidden pairs cost more than leaving both ends unmatched (lapjv prices that at cost_limit).
    sub[~allowed[np.ix_(rows, cols)]] = cost_limit + 1.0
    _, x, _ = lap.lapjv(sub, extend_cost=True, cost_limit=cost_limit)
    hit = x >= 0
    r = rows[hit]
    c = cols[x[hit]]
    keep = allowed[r, c]
    return r[keep].astype(np.int64), c[keep].astype(np.int64)
