"""HOTA family (HOTA, DetA, AssA, DetRe, DetPr, AssRe, AssPr, LocA, OWTA) with TrackEval semantics.

Per alpha in ``ALPHAS``: each frame is matched once by Hungarian assignment on
global-alignment score x IoU; a pair counts as a match at alpha when IoU >= alpha - eps.
The per-alpha bookkeeping is vectorised over all matched pairs of the sequence at once.
Quantities that steer the assignment (global alignment, score matrix) are computed with the
same floating-point operations as TrackEval so that ties break the same way.
"""
from __future__ import annotations

from typing import Dict, Iterable

import numpy as np
from scipy.optimize import linear_sum_assignment

from .iou import EPS
from .sequence import ScoredSequence

ALPHAS = np.arange(0.05, 0.99, 0.05)  # the exact float values TrackEval uses
INTEGER_ARRAY_FIELDS = ("HOTA_TP", "HOTA_FN", "HOTA_FP")
FLOAT_ARRAY_FIELDS = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "OWTA")
FLOAT_FIELDS = ("HOTA(0)", "LocA(0)", "HOTALocA(0)")


def _empty_result() -> Dict:
    res = {f: np.zeros(len(ALPHAS)) for f in FLOAT_ARRAY_FIELDS + INTEGER_ARRAY_FIELDS}
    res.update({f: 0 for f in FLOAT_FIELDS})
    return res


def _pair_cells(seq: ScoredSequence, frames, n_p: int) -> np.ndarray:
    """Flat (gt id * n_p + pred id) for every (gt, pred) pair of the given frames, row-major per frame."""
    g_ids = [seq.gt_ids[t] for t in frames]
    p_ids = [seq.pred_ids[t] for t in frames]
    n_gt = np.array([len(g) for g in g_ids])
    n_pr = np.array([len(p) for p in p_ids])
    sizes = n_gt * n_pr
    g_rep = np.repeat(np.concatenate(g_ids), np.repeat(n_pr, n_gt))
    frame = np.repeat(np.arange(len(sizes)), sizes)
    k = np.arange(int(sizes.sum())) - (np.cumsum(sizes) - sizes)[frame]
    p_rep = np.concatenate(p_ids)[(np.cumsum(n_pr) - n_pr)[frame] + k % n_pr[frame]]
    return g_rep * n_p + p_rep


def hota_sequence(seq: ScoredSequence) -> Dict:
    """HOTA fields of one sequence: arrays of shape (19,) per alpha plus HOTA(0), LocA(0), HOTALocA(0)."""
    res = _empty_result()
    n_alpha = len(ALPHAS)
    num_gt_dets, num_pred_dets = seq.num_gt_dets, seq.num_pred_dets
    if num_pred_dets == 0 or num_gt_dets == 0:
        key = "HOTA_FN" if num_pred_dets == 0 else "HOTA_FP"
        res[key] = (num_gt_dets if num_pred_dets == 0 else num_pred_dets) * np.ones(n_alpha)
        res["LocA"] = np.ones(n_alpha)
        res["LocA(0)"] = 1.0
        return res

    n_g, n_p = seq.num_gt_ids, seq.num_pred_ids
    gt_count = np.bincount(np.concatenate(seq.gt_ids), minlength=n_g).astype(np.float64)
    pred_count = np.bincount(np.concatenate(seq.pred_ids), minlength=n_p).astype(np.float64)
    both = [t for t in range(seq.num_timesteps) if len(seq.gt_ids[t]) and len(seq.pred_ids[t])]

    # Soft co-occurrence of id pairs. Row/column sums stay per frame so they round exactly like
    # TrackEval's; bincount then adds in frame order like its += loop.
    values = []
    for t in both:
        sim = seq.similarity[t]
        denom = sim.sum(0)[np.newaxis, :] + sim.sum(1)[:, np.newaxis] - sim
        sim_iou = np.zeros_like(sim)
        mask = denom > 0 + EPS
        sim_iou[mask] = sim[mask] / denom[mask]
        values.append(sim_iou.ravel())
    potential = np.zeros(n_g * n_p)
    if values:
        potential = np.bincount(_pair_cells(seq, both, n_p), weights=np.concatenate(values), minlength=n_g * n_p)
    potential = potential.reshape(n_g, n_p)
    global_alignment = potential / (gt_count[:, None] + pred_count[None, :] - potential)

    match_g, match_p, match_sim = [], [], []
    for t in both:
        g_t, p_t, sim = seq.gt_ids[t], seq.pred_ids[t], seq.similarity[t]
        score = global_alignment[g_t[:, np.newaxis], p_t[np.newaxis, :]] * sim
        rows, cols = linear_sum_assignment(-score)
        match_g.append(g_t[rows])
        match_p.append(p_t[cols])
        match_sim.append(sim[rows, cols])
    if match_g:
        m_g, m_p, m_sim = np.concatenate(match_g), np.concatenate(match_p), np.concatenate(match_sim)
    else:
        m_g = m_p = np.zeros(0, np.int64)
        m_sim = np.zeros(0)

    hit = m_sim[None, :] >= (ALPHAS[:, None] - EPS)  # (A, M)
    tp = hit.sum(1).astype(np.float64)
    res["HOTA_TP"] = tp
    res["HOTA_FN"] = num_gt_dets - tp
    res["HOTA_FP"] = num_pred_dets - tp
    res["LocA"] = (hit * m_sim[None, :]).sum(1)

    # Matches per (alpha, id pair), only over pairs that ever matched.
    pair = m_g * n_p + m_p
    uniq, inv = np.unique(pair, return_inverse=True)
    n_u = len(uniq)
    a_idx = np.broadcast_to(np.arange(n_alpha)[:, None], hit.shape)
    counts = np.bincount((a_idx * n_u + inv[None, :])[hit], minlength=n_alpha * n_u).reshape(n_alpha, n_u)
    gc = gt_count[uniq // n_p][None, :] if n_u else np.zeros((1, 0))
    pc = pred_count[uniq % n_p][None, :] if n_u else np.zeros((1, 0))
    denom_tp = np.maximum(1, tp)
    res["AssA"] = np.sum(counts * (counts / np.maximum(1, gc + pc - counts)), axis=1) / denom_tp
    res["AssRe"] = np.sum(counts * (counts / np.maximum(1, gc)), axis=1) / denom_tp
    res["AssPr"] = np.sum(counts * (counts / np.maximum(1, pc)), axis=1) / denom_tp

    res["LocA"] = np.maximum(1e-10, res["LocA"]) / np.maximum(1e-10, tp)
    return _final_fields(res)


def _final_fields(res: Dict) -> Dict:
    tp, fn, fp = res["HOTA_TP"], res["HOTA_FN"], res["HOTA_FP"]
    res["DetRe"] = tp / np.maximum(1, tp + fn)
    res["DetPr"] = tp / np.maximum(1, tp + fp)
    res["DetA"] = tp / np.maximum(1, tp + fn + fp)
    res["HOTA"] = np.sqrt(res["DetA"] * res["AssA"])
    res["OWTA"] = np.sqrt(res["DetRe"] * res["AssA"])
    res["HOTA(0)"] = res["HOTA"][0]
    res["LocA(0)"] = res["LocA"][0]
    res["HOTALocA(0)"] = res["HOTA(0)"] * res["LocA(0)"]
    return res


def combine_hota(per_sequence: Iterable[Dict]) -> Dict:
    """Combine sequences as TrackEval does: TP/FN/FP summed, AssA/AssRe/AssPr and LocA TP-weighted."""
    seqs = list(per_sequence)
    if not seqs:
        return _final_fields(_empty_result())
    res = {}
    for f in INTEGER_ARRAY_FIELDS:
        res[f] = sum(s[f] for s in seqs)
    weight = np.maximum(1.0, res["HOTA_TP"])
    for f in ("AssRe", "AssPr", "AssA"):
        res[f] = sum(s[f] * s["HOTA_TP"] for s in seqs) / weight
    loc = sum(s["LocA"] * s["HOTA_TP"] for s in seqs)
    res["LocA"] = np.maximum(1e-10, loc) / np.maximum(1e-10, res["HOTA_TP"])
    return _final_fields(res)


def summarize_hota(res: Dict) -> Dict[str, float]:
    """Scalar summary: mean over alpha of each per-alpha score (OWTA = mean of sqrt, not sqrt of means)."""
    out = {f: float(np.mean(res[f])) for f in FLOAT_ARRAY_FIELDS}
    out.update({f: float(res[f]) for f in FLOAT_FIELDS})
    return out
