"""Assemble the result dictionary shared by every evaluation entry point."""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from .clear import clear_identity
from .hota import ALPHAS, combine_hota, hota_sequence, summarize_hota
from .sequence import ScoredSequence

SUMMARY_CLEAR_FIELDS = ("MOTA", "MOTP", "IDF1", "IDR", "IDP", "IDSW", "CLR_TP", "CLR_FN", "CLR_FP", "MT", "PT",
                        "ML", "Frag")


def score_sequences(seqs: List[ScoredSequence], with_clear: bool) -> Dict:
    """Score prepared sequences; combine in sorted-name order as TrackEval's evaluator does.

    Returns ``{'alphas': (19,), 'hota': combined TrackEval HOTA dict (per-alpha arrays),
    'summary': scalar means (+ CLEAR/identity when asked), 'per_sequence': {name: {'hota', 'summary'}},
    'clear': combined CLEAR/identity dict or None, 'num_sequences', 'num_gt_dets', 'num_pred_dets'}``.
    """
    ordered = sorted(seqs, key=lambda s: s.name)
    if len({s.name for s in ordered}) != len(ordered):
        raise ValueError("sequence names must be unique")
    per_seq = {s.name: hota_sequence(s) for s in ordered}
    combined = combine_hota(per_seq.values())
    summary = summarize_hota(combined)
    clear: Optional[Dict] = None
    if with_clear:
        clear = clear_identity(ordered)
        if clear:
            summary.update({k: clear["COMBINED"][k] for k in SUMMARY_CLEAR_FIELDS})
    out = {
        "alphas": ALPHAS.copy(),
        "hota": combined,
        "summary": summary,
        "clear": clear["COMBINED"] if clear else None,
        "per_sequence": {n: {"hota": r, "summary": summarize_hota(r),
                             **({"clear": clear[n]} if clear else {})} for n, r in per_seq.items()},
        "num_sequences": len(ordered),
        "num_gt_dets": int(sum(s.num_gt_dets for s in ordered)),
        "num_pred_dets": int(sum(s.num_pred_dets for s in ordered)),
    }
    return out


def to_jsonable(obj):
    """Numpy arrays/scalars -> lists/floats so results can be written as JSON."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
