"""RoI sampling for the quasi-dense embedding loss: proposals labelled with ground-truth track ids."""
from __future__ import annotations

import torch
from torchvision.ops import box_iou


class RoiSamplingError(ValueError):
    """sample_rois got boxes/ids of inconsistent shapes or an impossible setting."""


def _pick(idx: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    if k >= idx.numel():
        return idx
    # randperm on the CPU so one CPU generator (or the global seed) drives sampling on any device.
    order = torch.randperm(idx.numel(), generator=generator)[:k]
    return idx[order.to(idx.device)]


def sample_rois(proposals: torch.Tensor, gt_boxes: torch.Tensor, gt_track_ids: torch.Tensor, num: int = 128,
                pos_fraction: float = 0.25, pos_iou: float = 0.7, neg_iou: float = 0.3, add_gt: bool = True,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample RoIs of one image and give each the track id of its ground truth.

    proposals: (P,4) xyxy pixels; gt_boxes: (N,4) xyxy pixels; gt_track_ids: (N,) int (>= 0).
    With add_gt the GT boxes join the proposals (so every object has at least one positive). A RoI whose
    best IoU with a GT is >= pos_iou is positive and takes that GT's id; one with best IoU < neg_iou is
    background (id -1); those in between are not sampled. At most round(num*pos_fraction) positives are drawn
    at random, negatives fill up to num. Randomness comes from `generator` (or torch's global RNG, so
    torch.manual_seed makes it repeatable).
    Returns rois (R,4) detached, positives first, and ids (R,) int64; R <= num.
    """
    if proposals.dim() != 2 or proposals.shape[-1] != 4 or gt_boxes.dim() != 2 or gt_boxes.shape[-1] != 4:
        raise RoiSamplingError(f"sample_rois: proposals {tuple(proposals.shape)} and gt_boxes "
                               f"{tuple(gt_boxes.shape)} must be (P,4) and (N,4)")
    if gt_track_ids.shape != (gt_boxes.shape[0],):
        raise RoiSamplingError(f"sample_rois: gt_track_ids {tuple(gt_track_ids.shape)} do not match "
                               f"{gt_boxes.shape[0]} gt_boxes")
    if not 0.0 <= pos_fraction <= 1.0 or neg_iou > pos_iou or num < 0:
        raise RoiSamplingError(f"sample_rois: need num >= 0, 0 <= pos_fraction <= 1 and neg_iou <= pos_iou, got "
                               f"num={num}, pos_fraction={pos_fraction}, neg_iou={neg_iou}, pos_iou={pos_iou}")
    proposals = proposals.detach().float()
    gt_boxes = gt_boxes.detach().to(proposals)
    gt_track_ids = gt_track_ids.to(device=proposals.device, dtype=torch.long)
    boxes = torch.cat([gt_boxes, proposals]) if add_gt else proposals
    ids = torch.full((boxes.shape[0],), -1, dtype=torch.long, device=boxes.device)
    if gt_boxes.shape[0] > 0 and boxes.shape[0] > 0:
        best_iou, best_gt = box_iou(boxes, gt_boxes).max(dim=1)
    else:
        best_iou = boxes.new_zeros((boxes.shape[0],))
        best_gt = ids
    pos_idx = torch.nonzero(best_iou >= pos_iou).squeeze(1)
    neg_idx = torch.nonzero(best_iou < neg_iou).squeeze(1)
    pos_idx = _pick(pos_idx, min(int(round(num * pos_fraction)), pos_idx.numel()), generator)
    neg_idx = _pick(neg_idx, num - pos_idx.numel(), generator)
    keep = torch.cat([pos_idx, neg_idx])
    ids[pos_idx] = gt_track_ids[best_gt[pos_idx]]
    return boxes[keep], ids[keep]
