"""OWTA / DetRe / AssA against alpha, drawn with OpenCV (matplotlib is not a dependency)."""
from __future__ import annotations

from typing import Dict

import cv2
import numpy as np

from ..utils.atomic import atomic_open

CURVES = (("OWTA", (40, 40, 220)), ("DetRe", (200, 90, 30)), ("AssA", (40, 160, 40)))  # BGR
PANEL_W, PANEL_H, MARGIN = 460, 360, 50


def _panel(title: str, alphas: np.ndarray, res: Dict) -> np.ndarray:
    img = np.full((PANEL_H, PANEL_W, 3), 255, np.uint8)
    x0, y0, x1, y1 = MARGIN, 30, PANEL_W - 20, PANEL_H - MARGIN

    def to_px(a, v):
        return int(round(x0 + a * (x1 - x0))), int(round(y1 - v * (y1 - y0)))

    font = cv2.FONT_HERSHEY_SIMPLEX
    for k in range(6):  # grid every 0.2
        v = k / 5
        px, py = to_px(v, v)
        cv2.line(img, (x0, py), (x1, py), (225, 225, 225), 1)
        cv2.line(img, (px, y0), (px, y1), (225, 225, 225), 1)
        cv2.putText(img, f"{v:.1f}", (x0 - 35, py + 4), font, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
        cv2.putText(img, f"{v:.1f}", (px - 10, y1 + 16), font, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), 1)
    cv2.putText(img, "alpha", ((x0 + x1) // 2 - 18, y1 + 36), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, title, (x0, 20), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for i, (name, colour) in enumerate(CURVES):
        vals = np.asarray(res[name], dtype=float)
        pts = np.array([to_px(a, v) for a, v in zip(alphas, vals)], np.int32)
        cv2.polylines(img, [pts], False, colour, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, tuple(int(c) for c in p), 3, colour, -1, cv2.LINE_AA)
        ly = y1 - 12 - 18 * (len(CURVES) - 1 - i)
        cv2.line(img, (x0 + 10, ly - 4), (x0 + 30, ly - 4), colour, 2)
        cv2.putText(img, f"{name} {vals.mean() * 100:.1f}", (x0 + 36, ly), font, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def plot_alpha_curves(results: Dict[str, Dict], path: str) -> None:
    """Write a PNG with one panel per subset: OWTA, DetRe, AssA (TrackEval per-alpha values) vs alpha.

    ``results``: {subset name: result dict with 'alphas' and 'hota'}. The write is atomic.
    """
    panels = [_panel(name, np.asarray(r["alphas"]), r["hota"]) for name, r in results.items()]
    canvas = np.concatenate(panels, axis=1) if panels else np.full((PANEL_H, PANEL_W, 3), 255, np.uint8)
    ok, buf = cv2.imencode(".png", canvas)
    if not ok:
        raise OSError(f"could not encode plot for {path}")
    with atomic_open(path, "wb") as fh:
        fh.write(buf.tobytes())
