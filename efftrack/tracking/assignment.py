"""Gated minimum-cost assignment with ``lap.lapjv``.

Most detection-track pairs are ruled out by the gate (no overlap, unlike appearance), so the
matrix handed to the solver is cut down to the rows and columns that have any allowed pair, and
pairs that are unambiguous (the only candidate of both their row and their column) skip the
solver altogether; on a typical frame that leaves the solver a handful of contested rows.
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
    # A pair that is the only option of both its row and its column is a component of its own:
    # it is in every optimum, so it is matched directly and the solver sees only the rest.
    single_r, single_c = np.nonzero(allowed & (row_deg[:, None] == 1) & (col_deg[None, :] == 1))
    row_rest = row_deg > 0
    col_rest = col_deg > 0
    row_rest[single_r] = False
    col_rest[single_c] = False
    rest_rows = np.flatnonzero(row_rest)
    rest_cols = np.flatnonzero(col_rest)
    if not len(rest_rows) or not len(rest_cols):
        return single_r.astype(np.int64), single_c.astype(np.int64)
    sub_allowed = allowed[np.ix_(rest_rows, rest_cols)]
    sub = cost[np.ix_(rest_rows, rest_cols)].astype(np.float64)
    # Forbidden pairs cost more than leaving both ends unmatched (lapjv prices that at cost_limit).
    sub[~sub_allowed] = cost_limit + 1.0
    _, x, _ = lap.lapjv(sub, extend_cost=True, cost_limit=cost_limit)
    hit = np.flatnonzero(x >= 0)
    hit = hit[sub_allowed[hit, x[hit]]]
    r = np.concatenate([single_r, rest_rows[hit]]).astype(np.int64)
    c = np.concatenate([single_c, rest_cols[x[hit]]]).astype(np.int64)
    return r, c
