"""Dense target assignment for the proposal head: ATSS (Zhang et al. 2020) on points, vectorised per image.

Why ATSS rather than FCOS size ranges: the IoU threshold is set per object from the statistics of its
candidates, so there are no per-level size ranges to retune when the input size or the object scale
distribution changes (letterboxed 256-px CPU images vs 1024-px TAO frames), and every object, tiny or huge,
gets positives on the levels that suit it. It costs one (N, A) IoU and one top-k per level.
"""
from __future__ import annotations

import torch
from torchvision.ops import box_iou


def level_points(h: int, w: int, stride: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Centres of the cells of an (h, w) map of stride `stride`: (h*w, 2) as (x, y) pixels, row-major.

    Cell (i, j) covers pixels [j*s, (j+1)*s) x [i*s, (i+1)*s), so its centre is ((j+0.5)s, (i+0.5)s); this
    matches RoIAlign with aligned=True.
    """
    ys = (torch.arange(h, device=device, dtype=dtype) + 0.5) * stride
    xs = (torch.arange(w, device=device, dtype=dtype) + 0.5) * stride
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def atss_assign(points: torch.Tensor, point_strides: torch.Tensor, level_sizes: list[int], gt_boxes: torch.Tensor,
                topk: int = 9, anchor_scale: float = 8.0, inside_eps: float = 0.01) -> torch.Tensor:
    """Assign each point to at most one ground-truth box.

    points: (A,2) xy pixels, all levels concatenated in level order; point_strides: (A,) stride of each point;
    level_sizes: number of points of each level (sums to A); gt_boxes: (N,4) xyxy pixels, N >= 0.
    Each point stands for a square anchor of side anchor_scale*stride (only to measure IoU). Per GT: the
    topk points nearest its centre on each level are candidates; those with anchor IoU >= mean + std of
    the candidates' IoUs and the point strictly inside the GT are positives. A GT left without positives
    (smaller than a stride, so no point inside it) keeps its best candidate, so no object is untrainable.
    A point positive for several GTs goes to the one with the highest anchor IoU.
    Returns (A,) int64: GT index per point, -1 for negatives.
    """
    a = points.shape[0]
    n = gt_boxes.shape[0]
    assigned = torch.full((a,), -1, dtype=torch.long, device=points.device)
    if n == 0 or a == 0:
        return assigned
    half = point_strides[:, None] * (anchor_scale / 2.0)
    anchors = torch.cat([points - half, points + half], dim=1)
    iou = box_iou(gt_boxes, anchors)                                           # (N, A)
    gt_centres = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
    d2 = (gt_centres[:, None, :] - points[None, :, :]).pow(2).sum(-1)          # (N, A)

    cands = []
    start = 0
    for size in level_sizes:
        k = min(topk, size)
        if k > 0:
            cands.append(d2[:, start:start + size].topk(k, dim=1, largest=False).indices + start)
        start += size
    cand = torch.cat(cands, dim=1)                                             # (N, Kc)
    cand_iou = iou.gather(1, cand)
    if cand.shape[1] > 1:
        thr = cand_iou.mean(1) + cand_iou.std(1)
    else:
        thr = cand_iou[:, 0]
    cp = points[cand]                                                          # (N, Kc, 2)
    inside = torch.stack([cp[..., 0] - gt_boxes[:, None, 0], cp[..., 1] - gt_boxes[:, None, 1],
                          gt_boxes[:, None, 2] - cp[..., 0], gt_boxes[:, None, 3] - cp[..., 1]],
                         dim=-1).amin(-1) > inside_eps
    pos_cand = (cand_iou >= thr[:, None]) & inside
    orphan = ~pos_cand.any(dim=1)
    if bool(orphan.any()):
        best = cand_iou.argmax(dim=1)
        pos_cand[orphan, best[orphan]] = True

    pos = torch.zeros_like(iou, dtype=torch.bool)
    pos.scatter_(1, cand, pos_cand)
    best_iou, best_gt = iou.masked_fill(~pos, -1.0).max(dim=0)
    return torch.where(best_iou >= 0, best_gt, assigned)
