"""MOTChallenge text files: ``frame,id,x,y,w,h,conf,a,b,c`` (frames 1-based, boxes xywh).

These are edge readers/writers: they keep the raw file columns unchanged (1-based frames, xywh);
callers convert to 0-based frames and xyxy boxes themselves.
"""
from __future__ import annotations

import os

import numpy as np

from ..utils.atomic import atomic_open

NUM_COLUMNS = 10


class MotFormatError(ValueError):
    """A MOTChallenge file has a malformed row (the message names file and line)."""


def read_mot_txt(path) -> np.ndarray:
    """Read a MOTChallenge ``gt.txt``/``det.txt``/result file.

    Returns a float64 array of shape (M, 10) with the raw columns ``frame, id, x, y, w, h, conf,
    a, b, c`` (frame stays 1-based as in the file). Rows with fewer than 10 columns (but at least
    6) are padded with -1. An empty file gives shape (0, 10). Raises ``MotFormatError`` naming the
    file and line for a row that has too few/too many columns or a non-numeric value.
    """
    path = os.fspath(path)
    rows = []
    with open(path, "r", encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            text = line.strip()
            if not text:
                continue
            # Some MOT tools separate with spaces or tabs as well as commas.
            parts = [p for p in text.replace("\t", ",").replace(" ", ",").split(",") if p != ""]
            if len(parts) < 6 or len(parts) > NUM_COLUMNS:
                raise MotFormatError(
                    f"{path}:{line_no}: expected 6 to {NUM_COLUMNS} columns, got {len(parts)}: {text!r}")
            try:
                values = [float(p) for p in parts]
            except ValueError:
                raise MotFormatError(f"{path}:{line_no}: non-numeric value in row {text!r}") from None
            if not all(np.isfinite(values)):
                raise MotFormatError(f"{path}:{line_no}: non-finite value in row {text!r}")
            values += [-1.0] * (NUM_COLUMNS - len(values))
            rows.append(values)
    if not rows:
        return np.zeros((0, NUM_COLUMNS), dtype=np.float64)
    return np.asarray(rows, dtype=np.float64)


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def write_mot_txt(path, rows) -> None:
    """Write rows ``(M, >=7)`` (frame, id, x, y, w, h, conf, ...) as ``frame,id,x,y,w,h,conf,-1,-1,-1``.

    Frames are written as given (MOTChallenge expects 1-based). The write is atomic: a temporary
    file in the same folder is renamed over ``path`` only after everything was written.
    """
    path = os.fspath(path)
    arr = np.asarray(rows, dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, 7)
    if arr.ndim != 2 or arr.shape[1] < 7:
        raise MotFormatError(f"{path}: rows must have shape (M, >=7), got {arr.shape}")
    with atomic_open(path) as fh:
        for r in arr:
            fh.write(",".join(_fmt(v) for v in r[:7]) + ",-1,-1,-1\n")
