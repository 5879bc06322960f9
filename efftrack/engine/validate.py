"""Validation: track every val video with the current model, then score OWTA and proposal recall."""
from __future__ import annotations

import numpy as np

from ..data.tao import TaoVideos
from ..data.tao_ow_ids import subset_of
from ..data.writers import tao_records
from ..evaluation.iou import box_iou
from ..models.detector import FrameDetector
from ..tracking import build_tracker

TRACK_ID_STRIDE = 1_000_000  # keeps track ids unique across videos in one prediction file


def category_splits(categories: dict) -> dict[int, str]:
    """category id -> 'known'/'unknown'/'distractor': the split recorded in the JSON, else TAO-OW's lists."""
    return {int(cid): c.get("split") or subset_of(int(cid)) for cid, c in categories.items()}


def run_video_tracking(model, videos: TaoVideos, *, input_size, tracker_cfg, device="cpu", batch_frames: int = 4,
                       recall_topk: int = 300, recall_iou: float = 0.5, splits=None, max_videos=None):
    """TAO-OW predictions for every annotated frame, and proposal-recall counts per category split.

    Returns (predictions list of TAO-OW dicts, recall dict split -> [covered, total]).
    """
    detector = FrameDetector(model, input_size, device)
    preds, recall = [], {}
    for v_index, video in enumerate(videos):
        if max_videos is not None and v_index >= max_videos:
            break
        tracker = build_tracker(tracker_cfg)
        frames = video.frames
        for start in range(0, len(frames), batch_frames):
            chunk = frames[start:start + batch_frames]
            outs = detector([videos.load_image(f) for f in chunk], bgr=False)
            for f, out in zip(chunk, outs):
                tracks = tracker.update(out["boxes"], out["scores"], out["embeddings"], frame_id=f.frame_index)
                if not f.annotated:
                    continue
                gt = video.gt.get(f.image_id)
                if gt is not None and len(gt["boxes"]):
                    props = out["boxes"][:recall_topk]
                    hit = (box_iou(gt["boxes"], props).max(1) >= recall_iou) if len(props) else np.zeros(len(gt["boxes"]), bool)
                    for label, h in zip(gt["labels"].tolist(), hit.tolist()):
                        split = (splits or {}).get(int(label)) or subset_of(int(label))
                        c = recall.setdefault(split, [0, 0])
                        c[0] += int(h)
                        c[1] += 1
                preds.extend(tao_records(v_index * TRACK_ID_STRIDE + tracks.ids, tracks.boxes, tracks.scores,
                                         f.image_id, video.video_id))
    return preds, recall


def validate(model, *, ann_file, img_root, input_size, tracker_cfg, device="cpu", subsets=("known", "unknown"),
             max_videos=None, batch_frames: int = 4) -> dict:
    """OWTA per subset (TrackEval semantics) and proposal recall@300 per split, as flat floats."""
    from ..evaluation import evaluate_tao_ow

    videos = TaoVideos(ann_file, img_root)
    splits = category_splits(videos.ann.categories)
    preds, recall = run_video_tracking(model, videos, input_size=input_size, tracker_cfg=tracker_cfg,
                                       device=device, splits=splits, max_videos=max_videos,
                                       batch_frames=batch_frames)
    metrics = {f"recall_{k}": c[0] / max(c[1], 1) for k, c in sorted(recall.items())}
    if max_videos is None:
        scores = evaluate_tao_ow(ann_file, preds, subsets=tuple(subsets))
        for subset in subsets:
            res = scores[subset]["summary"]
            for key in ("OWTA", "DetRe", "AssA"):
                metrics[f"{key}_{subset}"] = float(res[key])
    return metrics


def metrics_table(metrics: dict, subsets=("known", "unknown")) -> str:
    """The markdown table of ``validate``'s metrics, one row per subset."""
    rows = ["| subset | OWTA | DetRe | AssA | proposal recall@300 |", "|---|---|---|---|---|"]
    for s in subsets:
        rows.append(f"| {s} | {metrics[f'OWTA_{s}']:.3f} | {metrics[f'DetRe_{s}']:.3f} | {metrics[f'AssA_{s}']:.3f} | "
                    f"{metrics.get(f'recall_{s}', float('nan')):.3f} |")
    return "\n".join(rows)
