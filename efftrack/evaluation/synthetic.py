"""Synthetic TAO ground truth and TAO-OW predictions for evaluation tests and benchmarks (not a dataset)."""
from __future__ import annotations

import numpy as np

CATEGORIES = [(4, "known"), (13, "known"), (2, "unknown"), (3, "unknown"), (20, "distractor")]


def make_tao(seed=0, num_videos=3, frames=6, objects=5, fp_per_frame=3, frame_step=30, track_id_reuse=True,
             not_exhaustive_video=True, extra_dets=0):
    """(gt dict, prediction list). Predictions: noisy copies of gt with id swaps, drops and false positives."""
    rng = np.random.default_rng(seed)
    videos, images, anns, tracks, preds = [], [], [], [], []
    img_id, ann_id, track_id = 1, 1, 1
    for v in range(num_videos):
        vid = 10 + v
        videos.append({"id": vid, "name": f"src/video_{v}", "neg_category_ids": [],
                       "not_exhaustive_category_ids": [1] if (not_exhaustive_video and v == 1) else []})
        cats = [CATEGORIES[(v + k) % len(CATEGORIES)][0] for k in range(objects)]
        starts = rng.uniform(0, 300, (objects, 2))
        sizes = rng.uniform(20, 80, (objects, 2))
        vel = rng.normal(0, 3, (objects, 2))
        tids = list(range(track_id, track_id + objects))
        track_id += objects
        for k in range(objects):
            tracks.append({"id": tids[k], "category_id": cats[k], "video_id": vid})
        pred_base = 1 if track_id_reuse else 1000 * (v + 1)  # reuse ids across videos on purpose
        for f in range(frames):
            images.append({"id": img_id, "video_id": vid, "frame_index": f * frame_step,
                           "file_name": f"v{v}/{f}.jpg", "width": 640, "height": 480})
            for k in range(objects):
                if rng.random() < 0.15:
                    continue
                xy = starts[k] + vel[k] * f * 5
                box = [float(xy[0]), float(xy[1]), float(sizes[k, 0]), float(sizes[k, 1])]
                anns.append({"id": ann_id, "image_id": img_id, "video_id": vid, "track_id": tids[k],
                             "category_id": cats[k], "bbox": box, "area": box[2] * box[3], "iscrowd": 0})
                ann_id += 1
                if rng.random() < 0.85:
                    noisy = [box[0] + rng.normal(0, 4), box[1] + rng.normal(0, 4), box[2] * rng.uniform(0.8, 1.2),
                             box[3] * rng.uniform(0.8, 1.2)]
                    swap = f >= frames // 2 and (k ^ 1) < objects
                    pid = pred_base + ((k ^ 1) if swap else k)
                    preds.append({"image_id": img_id, "video_id": vid, "category_id": 1, "bbox": noisy,
                                  "score": float(rng.uniform(0.3, 1.0)), "track_id": int(pid)})
            for j in range(fp_per_frame + extra_dets):
                xy = rng.uniform(0, 500, 2)
                preds.append({"image_id": img_id, "category_id": 1, "bbox": [float(xy[0]), float(xy[1]), 30.0, 30.0],
                              "score": float(rng.choice([0.1, 0.2, 0.25])), "track_id": 500 + j + (f % 2)})
            img_id += 1
    categories = [{"id": c, "name": f"cat{c}", "split": s} for c, s in CATEGORIES]
    gt = {"videos": videos, "images": images, "annotations": anns, "tracks": tracks, "categories": categories,
          "info": {}, "licenses": []}
    return gt, preds
