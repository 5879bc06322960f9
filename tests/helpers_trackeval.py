"""Test-only bridge to TrackEval (the reference implementation) under NumPy 2.

TrackEval 1.3 still refers to ``np.float``/``np.int``/``np.bool``, removed in NumPy 1.24, so the
aliases are set here, before its import, and nowhere in the package.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import warnings

import numpy as np

for _name, _type in (("float", float), ("int", int), ("bool", bool)):
    if _name not in np.__dict__:
        setattr(np, _name, _type)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import trackeval  # noqa: E402
from trackeval.datasets._base_dataset import _BaseDataset  # noqa: E402

_QUIET = {"PRINT_CONFIG": False}
_EVAL_CFG = {"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_ONLY_COMBINED": False, "PRINT_CONFIG": False,
             "TIME_PROGRESS": False, "DISPLAY_LESS_PROGRESS": True, "OUTPUT_SUMMARY": False,
             "OUTPUT_EMPTY_CLASSES": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False, "BREAK_ON_ERROR": True,
             "LOG_ON_ERROR": None}


def _data_dict(name, gt_ids, gt_boxes, pred_ids, pred_boxes):
    """TrackEval metric input for one sequence, built the way its datasets do (xyxy boxes)."""
    sims = [_BaseDataset._calculate_box_ious(np.asarray(g, float).reshape(-1, 4), np.asarray(p, float).reshape(-1, 4),
                                             box_format="x0y0x1y1")
            for g, p in zip(gt_boxes, pred_boxes)]
    data = {"gt_ids": [], "tracker_ids": [], "similarity_scores": sims, "num_timesteps": len(gt_ids), "seq": name}
    for key, src in (("gt", gt_ids), ("tracker", pred_ids)):
        src = [np.asarray(i, int).reshape(-1) for i in src]
        uniq = np.unique(np.concatenate(src)) if src and sum(len(i) for i in src) else np.zeros(0, int)
        lut = {int(u): k for k, u in enumerate(uniq)}
        data[f"{key}_ids"] = [np.array([lut[int(x)] for x in i], dtype=int) for i in src]
        data[f"num_{key}_ids"] = len(uniq)
        data[f"num_{key}_dets"] = int(sum(len(i) for i in src))
    return data


def trackeval_on_sequences(seqs: dict, metrics=("HOTA", "CLEAR", "Identity")) -> dict:
    """{metric: combined result} with TrackEval's metric classes on in-memory xyxy sequences."""
    out = {}
    for m in metrics:
        metric = getattr(trackeval.metrics, m)(_QUIET) if m != "HOTA" else trackeval.metrics.HOTA()
        per = {n: metric.eval_sequence(_data_dict(n, s["gt_ids"], s["gt_boxes"], s["pred_ids"], s["pred_boxes"]))
               for n, s in sorted(seqs.items())}
        out[m] = metric.combine_sequences(per)
    return out


def _run(dataset, metrics):
    evaluator = trackeval.Evaluator(_EVAL_CFG)
    with contextlib.redirect_stdout(io.StringIO()):
        res, msg = evaluator.evaluate([dataset], metrics)
    name = dataset.get_name()
    tracker = dataset.tracker_list[0]
    if res[name][tracker] is None:
        raise RuntimeError(msg[name][tracker])
    return res[name][tracker]


def trackeval_tao_ow(tmp_path, gt: dict, preds: list, subset="all", max_dets=300) -> dict:
    """Run TrackEval's TAO_OW dataset + HOTA end to end; returns its combined HOTA dict."""
    gt_dir = os.path.join(tmp_path, f"te_gt_{subset}")
    tr_dir = os.path.join(tmp_path, f"te_tr_{subset}")
    write_tao_ow_folders(gt_dir, tr_dir, gt, preds)
    return run_tao_ow_folders(gt_dir, tr_dir, subset=subset, max_dets=max_dets)


def write_tao_ow_folders(gt_dir, tr_dir, gt: dict, preds: list) -> None:
    """TrackEval's layout: GT_DIR/gt.json and TR_DIR/trk/data/pred.json."""
    os.makedirs(gt_dir, exist_ok=True)
    os.makedirs(os.path.join(tr_dir, "trk", "data"), exist_ok=True)
    with open(os.path.join(gt_dir, "gt.json"), "w") as fh:
        json.dump(gt, fh)
    with open(os.path.join(tr_dir, "trk", "data", "pred.json"), "w") as fh:
        json.dump(preds, fh)


def run_tao_ow_folders(gt_dir, tr_dir, subset="all", max_dets=300) -> dict:
    """TAO_OW + HOTA on folders written by ``write_tao_ow_folders``; combined HOTA dict."""
    cfg = {"GT_FOLDER": gt_dir, "TRACKERS_FOLDER": tr_dir, "TRACKERS_TO_EVAL": ["trk"], "SUBSET": subset,
           "MAX_DETECTIONS": max_dets, **_QUIET}
    with contextlib.redirect_stdout(io.StringIO()):
        dataset = trackeval.datasets.TAO_OW(cfg)
    res = _run(dataset, [trackeval.metrics.HOTA()])
    return res["COMBINED_SEQ"]["object"]["HOTA"]


def trackeval_mot(gt_root, tr_root, seq_lengths: dict, benchmark="MOT17", metrics=("HOTA", "CLEAR", "Identity")) -> dict:
    """Run MotChallenge2DBox end to end on GT_ROOT/<seq>/gt/gt.txt and TR_ROOT/trk/data/<seq>.txt."""
    cfg = {"GT_FOLDER": str(gt_root), "TRACKERS_FOLDER": str(tr_root), "TRACKERS_TO_EVAL": ["trk"],
           "BENCHMARK": benchmark, "SKIP_SPLIT_FOL": True, "SEQ_INFO": dict(seq_lengths), **_QUIET}
    with contextlib.redirect_stdout(io.StringIO()):
        dataset = trackeval.datasets.MotChallenge2DBox(cfg)
    objs = [trackeval.metrics.HOTA() if m == "HOTA" else getattr(trackeval.metrics, m)(_QUIET) for m in metrics]
    res = _run(dataset, objs)
    return res["COMBINED_SEQ"]["pedestrian"]
