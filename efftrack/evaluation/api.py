"""Scoring of in-memory sequences (the tracker's own outputs, no file formats involved)."""
from __future__ import annotations

from typing import Dict, Mapping, Sequence, Union

from .errors import EvalInputError
from .results import score_sequences
from .sequence import sequence_from_boxes

_KEYS = ("gt_ids", "gt_boxes", "pred_ids", "pred_boxes")


def evaluate_sequences(seqs: Union[Mapping[str, Mapping], Sequence[Mapping]], with_clear: bool = True) -> Dict:
    """HOTA/OWTA family (and CLEAR/IDF1 unless ``with_clear=False``) over several sequences.

    ``seqs``: ``{name: seq}`` or a list of seqs (named ``seq0``, ``seq1``, ... unless they carry
    ``'name'``). Each seq maps ``gt_ids``/``pred_ids`` to a list over frames of (N_t,) int arrays and
    ``gt_boxes``/``pred_boxes`` to a list over frames of (N_t,4) xyxy pixel boxes; ``pred_scores``
    is accepted and ignored (no preprocessing happens here). See ``results.score_sequences`` for
    the returned dictionary.
    """
    items = seqs.items() if isinstance(seqs, Mapping) else (
        (s.get("name", f"seq{i}"), s) for i, s in enumerate(seqs))
    prepared = []
    for name, s in items:
        missing = [k for k in _KEYS if k not in s]
        if missing:
            raise EvalInputError(f"sequence {name!r}: missing {', '.join(missing)}")
        prepared.append(sequence_from_boxes(str(name), s["gt_ids"], s["gt_boxes"], s["pred_ids"], s["pred_boxes"]))
    names = [p.name for p in prepared]
    if len(set(names)) != len(names):
        raise EvalInputError("sequence names must be unique")
    return score_sequences(prepared, with_clear=with_clear)
