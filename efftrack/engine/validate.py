"""Validation: track every val video with the current model, then score OWTA and proposal recall."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data.tao import TaoVideos
from ..data.tao_ow_ids import subset_of
from ..models.detector import FrameDetector
from ..tracking import build_tracker

TRACK_ID_STRIDE = 1_000_000  # keeps track ids unique across videos in one prediction file


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(-1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)


def category_splits(ann_file) -> dict[int, str]:
    """category id -> 'known'/'unknown'/'distractor': the split recorded in the JSON, else TAO-OW's lists."""
    cats = json.loads(Path(ann_file).read_text()).get("categories", [])
    return {int(c["id"]): c.get("split") or subset_of(int(c["id"])) for c in cats}


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
                    hit = (_iou(gt["boxes"], props).max(1) >= recall_iou) if len(props) else np.zeros(len(gt["boxes"]), bool)
                    for label, h in zip(gt["labels"].tolist(), hit.tolist()):
                        split = (splits or {}).get(int(label)) or subset_of(int(label))
                        c = recall.setdefault(split, [0, 0])
                        c[0] += int(h)
                        c[1] += 1
                for tid, box, score in zip(tracks.ids.tolist(), tracks.boxes.tolist(), tracks.scores.tolist()):
                    x1, y1, x2, y2 = box
                    preds.append(dict(image_id=int(f.image_id), video_id=int(video.video_id), category_id=1,
                                      bbox=[x1, y1, x2 - x1, y2 - y1], score=float(score),
                                      track_id=int(v_index * TRACK_ID_STRIDE + tid)))
    return preds, recall


def validate(model, *, ann_file, img_root, input_size, tracker_cfg, device="cpu", subsets=("known", "unknown"),
             max_videos=None, batch_frames: int = 4) -> dict:
    """OWTA per subset (TrackEval semantics) and proposal recall@300 per split, as flat floats."""
    from ..evaluation import evaluate_tao_ow

    videos = TaoVideos(ann_file, img_root)
    splits = category_splits(ann_file)
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
