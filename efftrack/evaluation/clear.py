"""CLEAR MOT (MOTA, MOTP, ...) and identity (IDF1, ...) scores through motmetrics.

motmetrics' own ``iou_matrix`` calls ``np.asfarray`` (gone in NumPy 2), so it is fed our IoU
matrices as distances ``1 - IoU`` with NaN (do-not-pair) where IoU < 0.5 - eps, TrackEval's
CLEAR threshold. Differences from TrackEval that are motmetrics' definitions, kept on purpose:

* MOTP is reported as mean IoU of matches (TrackEval's definition); motmetrics' own MOTP
  (mean distance) is ``1 - MOTP`` and is kept as ``MOTP_mm``.
* Matching keeps every still-valid previous pair, then minimises summed distance over the rest
  (TrackEval maximises IoU with a 1000x bonus for continued pairs); the two can differ when a
  frame admits several equally continued matchings.
* MT uses ratio >= 0.8 (TrackEval > 0.8), ML < 0.2; Frag counts tracked->missed transitions.
MOTA and IDF1 use TrackEval's ``max(1, .)`` denominators so empty ground truth gives a number.
"""
from __future__ import annotations

from typing import Dict, Iterable

import numpy as np

from .iou import EPS
from .sequence import ScoredSequence

CLEAR_THRESHOLD = 0.5
_MM_METRICS = ("num_frames", "num_matches", "num_switches", "num_false_positives", "num_misses",
               "num_objects", "num_predictions", "num_unique_objects", "mostly_tracked", "partially_tracked",
               "mostly_lost", "num_fragmentations", "idtp", "idfn", "idfp", "motp")


def _accumulator(seq: ScoredSequence):
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for t in range(seq.num_timesteps):
        dist = 1.0 - seq.similarity[t]
        dist[seq.similarity[t] < CLEAR_THRESHOLD - EPS] = np.nan
        acc.update(seq.raw_gt_ids[t], seq.raw_pred_ids[t], dist)
    return acc


def _finish(c: Dict) -> Dict:
    tp, fn, fp, sw = c["CLR_TP"], c["CLR_FN"], c["CLR_FP"], c["IDSW"]
    n_obj = c["MT"] + c["PT"] + c["ML"]
    out = dict(c)
    out["MOTA"] = (tp - fp - sw) / max(1.0, tp + fn)
    out["MODA"] = (tp - fp) / max(1.0, tp + fn)
    out["MOTP"] = c["MOTP_sum"] / max(1.0, tp)
    out["MOTP_mm"] = 1.0 - out["MOTP"] if tp else float("nan")
    out["CLR_Re"] = tp / max(1.0, tp + fn)
    out["CLR_Pr"] = tp / max(1.0, tp + fp)
    out["MTR"], out["PTR"], out["MLR"] = (c[k] / max(1.0, n_obj) for k in ("MT", "PT", "ML"))
    out["IDR"] = c["IDTP"] / max(1.0, c["IDTP"] + c["IDFN"])
    out["IDP"] = c["IDTP"] / max(1.0, c["IDTP"] + c["IDFP"])
    out["IDF1"] = c["IDTP"] / max(1.0, c["IDTP"] + 0.5 * c["IDFP"] + 0.5 * c["IDFN"])
    return out


def _counts(row) -> Dict:
    tp = int(row["num_matches"]) + int(row["num_switches"])
    motp_mm = float(row["motp"]) if tp else 0.0
    return {"CLR_TP": tp, "CLR_FN": int(row["num_misses"]), "CLR_FP": int(row["num_false_positives"]),
            "IDSW": int(row["num_switches"]), "MT": int(row["mostly_tracked"]), "PT": int(row["partially_tracked"]),
            "ML": int(row["mostly_lost"]), "Frag": int(row["num_fragmentations"]),
            "CLR_Frames": int(row["num_frames"]), "MOTP_sum": (1.0 - motp_mm) * tp if tp else 0.0,
            "IDTP": int(row["idtp"]), "IDFN": int(row["idfn"]), "IDFP": int(row["idfp"])}


def clear_identity(seqs: Iterable[ScoredSequence]) -> Dict:
    """CLEAR and identity fields per sequence and combined ('COMBINED'), TrackEval field names."""
    import motmetrics as mm

    seqs = list(seqs)
    if not seqs:
        return {}
    accs = [_accumulator(s) for s in seqs]
    names = [s.name for s in seqs]
    summary = mm.metrics.create().compute_many(accs, names=names, metrics=list(_MM_METRICS),
                                               generate_overall=False)
    per_seq = {n: _counts(summary.loc[n]) for n in names}
    total = {k: sum(per_seq[n][k] for n in names) for k in next(iter(per_seq.values()))}
    out = {n: _finish(c) for n, c in per_seq.items()}
    out["COMBINED"] = _finish(total)
    return out
