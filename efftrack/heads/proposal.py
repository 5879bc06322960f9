"""Class-agnostic dense anchor-free proposal head on the side pyramid (FCOS/GFL style, ATSS assignment).

Per pyramid level of stride s the head predicts, at every location (point p = ((j+0.5)s, (i+0.5)s)):
  - one objectness/quality logit: trained with quality focal loss towards the IoU of the predicted box with
    its ground truth, so the score ranks proposals by localisation quality (OWTA ranks by score);
  - four distances (l, t, r, b) from p to the box sides, in stride units, positive:
    d = exp(scale_level * x) with x the conv output (exponent clamped at 10 to stay finite); the box is
    (p_x - l*s, p_y - t*s, p_x + r*s, p_y + b*s), xyxy absolute pixels of the (letterboxed) input image.
Weights are shared across levels; each level has a learnable scalar multiplying the regression output.
"""
from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import nn
from torchvision.ops import nms

from efftrack.heads.assign import atss_assign, level_points
from efftrack.models.losses import aligned_iou, giou_loss, quality_focal_loss, sigmoid_focal_loss

_MAX_EXP = 10.0


class ProposalInputError(ValueError):
    """The proposal head got a pyramid, outputs or ground truth of the wrong shape."""


def _gn_groups(channels: int) -> int:
    for g in (32, 16, 8, 4, 2):
        if channels % g == 0:
            return g
    return 1


def _tower(in_channels: int, feat_channels: int, num_convs: int, norm: str | None) -> nn.Sequential:
    layers: list[nn.Module] = []
    c = in_channels
    for _ in range(num_convs):
        layers.append(nn.Conv2d(c, feat_channels, 3, padding=1, bias=norm is None))
        if norm == "GN":
            layers.append(nn.GroupNorm(_gn_groups(feat_channels), feat_channels))
        elif norm == "BN":
            layers.append(nn.BatchNorm2d(feat_channels))
        layers.append(nn.ReLU(inplace=True))
        c = feat_channels
    return nn.Sequential(*layers)


class ProposalHead(nn.Module):
    """Dense class-agnostic proposals from a feature pyramid.

    Args:
        in_channels: channels C of every pyramid level.
        strides: stride of each level in input pixels, finest first.
        num_convs: 3x3 conv layers in each of the two towers (objectness, regression).
        feat_channels: width of the towers.
        norm: 'GN', 'BN' or None.
        prior_prob: initial objectness probability (bias init), 0.01 as in RetinaNet/FCOS.
        obj_loss: 'qfl' (quality focal, target = IoU of the predicted box with its GT) or 'focal'
            (binary sigmoid focal loss).
        loss_obj_weight, loss_box_weight: multipliers of the two losses (GFL uses 1 and 2).
        atss_topk: candidates per level and GT for ATSS assignment; anchor_scale: side of the virtual
            square anchor, in strides, used only to measure IoU during assignment.
    """

    def __init__(self, in_channels: int, strides: tuple[int, ...] = (8, 16, 32), num_convs: int = 2,
                 feat_channels: int = 128, norm: str | None = "GN", prior_prob: float = 0.01,
                 obj_loss: str = "qfl", loss_obj_weight: float = 1.0, loss_box_weight: float = 2.0,
                 atss_topk: int = 9, anchor_scale: float = 8.0):
        super().__init__()
        if norm not in ("GN", "BN", None):
            raise ProposalInputError(f"ProposalHead: norm must be 'GN', 'BN' or None, got {norm!r}")
        if obj_loss not in ("qfl", "focal"):
            raise ProposalInputError(f"ProposalHead: obj_loss must be 'qfl' or 'focal', got {obj_loss!r}")
        self.in_channels = in_channels
        self.strides = tuple(int(s) for s in strides)
        self.obj_loss = obj_loss
        self.loss_obj_weight = loss_obj_weight
        self.loss_box_weight = loss_box_weight
        self.atss_topk = atss_topk
        self.anchor_scale = anchor_scale
        tower_out = feat_channels if num_convs > 0 else in_channels
        self.obj_tower = _tower(in_channels, feat_channels, num_convs, norm)
        self.reg_tower = _tower(in_channels, feat_channels, num_convs, norm)
        self.obj_pred = nn.Conv2d(tower_out, 1, 3, padding=1)
        self.reg_pred = nn.Conv2d(tower_out, 4, 3, padding=1)
        self.scales = nn.Parameter(torch.ones(len(self.strides)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.constant_(self.obj_pred.bias, -math.log((1 - prior_prob) / prior_prob))
        # Start at distances of ~2 strides rather than 1 so early boxes are not sub-stride specks.
        nn.init.constant_(self.reg_pred.bias, math.log(2.0))

    # ------------------------------------------------------------------ forward
    def forward(self, pyramid: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """pyramid: list of (B,C,h_l,w_l), one per stride -> (scores, boxes_reg).

        scores: list of (B,1,h_l,w_l) objectness logits; boxes_reg: list of (B,4,h_l,w_l) positive ltrb
        distances in stride units.
        """
        if len(pyramid) != len(self.strides):
            raise ProposalInputError(f"ProposalHead: got {len(pyramid)} pyramid levels for strides {self.strides}")
        scores, regs = [], []
        for lvl, feat in enumerate(pyramid):
            if feat.dim() != 4 or feat.shape[1] != self.in_channels:
                raise ProposalInputError(f"ProposalHead: level {lvl} has shape {tuple(feat.shape)}, "
                                         f"need (B,{self.in_channels},h,w)")
            scores.append(self.obj_pred(self.obj_tower(feat)))
            x = self.reg_pred(self.reg_tower(feat)) * self.scales[lvl]
            regs.append(x.clamp(max=_MAX_EXP).exp())
        return scores, regs

    # ------------------------------------------------------------------ helpers
    def _flatten(self, outputs):
        """-> logits (B,A), dists (B,A,4), points (A,2), point strides (A,), level sizes [A_l]."""
        scores, regs = outputs
        if len(scores) != len(self.strides) or len(regs) != len(self.strides):
            raise ProposalInputError(f"ProposalHead: outputs have {len(scores)}/{len(regs)} levels, "
                                     f"need {len(self.strides)}")
        b = scores[0].shape[0]
        # float32 from here on: under fp16 autocast, distances times a stride of 32 overflow to inf.
        logits = torch.cat([s.reshape(b, -1) for s in scores], dim=1).float()
        dists = torch.cat([r.permute(0, 2, 3, 1).reshape(b, -1, 4) for r in regs], dim=1).float()
        pts, pstrides, sizes = [], [], []
        for s, stride in zip(scores, self.strides):
            h, w = s.shape[-2:]
            pts.append(level_points(h, w, stride, s.device, torch.float32))
            pstrides.append(torch.full((h * w,), float(stride), device=s.device, dtype=torch.float32))
            sizes.append(h * w)
        return logits, dists, torch.cat(pts), torch.cat(pstrides), sizes

    @staticmethod
    def _boxes(points: torch.Tensor, dists: torch.Tensor, pstrides: torch.Tensor) -> torch.Tensor:
        """points (...,2), dists (...,4) in stride units, pstrides broadcastable (...,) -> (...,4) xyxy."""
        d = dists * pstrides[..., None]
        return torch.cat([points - d[..., :2], points + d[..., 2:]], dim=-1)

    # ------------------------------------------------------------------ loss
    def loss(self, outputs, gt_boxes: list[torch.Tensor], image_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """Objectness + box losses for a batch.

        outputs: forward's (scores, boxes_reg); gt_boxes: list of B tensors (N_i,4) xyxy pixels of the input
        image (N_i may be 0); image_size: (H, W) of the input image, GT is clipped to it.
        Returns dict(loss_obj, loss_box), both normalised by the number of positives (>= 1, averaged over
        processes under DDP) and already multiplied by their weights.
        """
        logits, dists, points, pstrides, sizes = self._flatten(outputs)
        b = logits.shape[0]
        if len(gt_boxes) != b:
            raise ProposalInputError(f"ProposalHead.loss: {len(gt_boxes)} GT lists for a batch of {b}")
        h_img, w_img = image_size
        obj_targets = torch.zeros_like(logits)
        pos_img, pos_pt, pos_gt = [], [], []
        for i, gt in enumerate(gt_boxes):
            if gt.dim() != 2 or gt.shape[-1] != 4:
                raise ProposalInputError(f"ProposalHead.loss: gt_boxes[{i}] has shape {tuple(gt.shape)}, need (N,4)")
            gt = gt.to(device=logits.device, dtype=logits.dtype)
            gt = torch.stack([gt[:, 0].clamp(0, w_img), gt[:, 1].clamp(0, h_img),
                              gt[:, 2].clamp(0, w_img), gt[:, 3].clamp(0, h_img)], dim=1)
            gt = gt[((gt[:, 2] - gt[:, 0]) > 0) & ((gt[:, 3] - gt[:, 1]) > 0)]
            if gt.shape[0] == 0:
                continue
            assigned = atss_assign(points, pstrides, sizes, gt, topk=self.atss_topk,
                                   anchor_scale=self.anchor_scale)
            idx = torch.nonzero(assigned >= 0).squeeze(1)
            pos_img.append(torch.full_like(idx, i))
            pos_pt.append(idx)
            pos_gt.append(gt[assigned[idx]])
        if pos_pt:
            pos_img_t, pos_pt_t, pos_gt_t = torch.cat(pos_img), torch.cat(pos_pt), torch.cat(pos_gt)
        else:
            pos_img_t = pos_pt_t = torch.zeros((0,), dtype=torch.long, device=logits.device)
            pos_gt_t = logits.new_zeros((0, 4))
        num_pos = logits.new_tensor(float(pos_pt_t.numel()))
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(num_pos)
            num_pos = num_pos / dist.get_world_size()
        norm = num_pos.clamp(min=1.0)

        pred_boxes = self._boxes(points[pos_pt_t], dists[pos_img_t, pos_pt_t], pstrides[pos_pt_t])
        if self.obj_loss == "qfl":
            obj_targets[pos_img_t, pos_pt_t] = aligned_iou(pred_boxes.detach(), pos_gt_t).clamp(min=0)
            loss_obj = quality_focal_loss(logits, obj_targets, reduction="sum") / norm
        else:
            obj_targets[pos_img_t, pos_pt_t] = 1.0
            loss_obj = sigmoid_focal_loss(logits, obj_targets, reduction="sum") / norm
        if pos_pt_t.numel():
            loss_box = giou_loss(pred_boxes, pos_gt_t, reduction="sum") / norm
        else:
            loss_box = dists.sum() * 0.0
        return dict(loss_obj=loss_obj * self.loss_obj_weight, loss_box=loss_box * self.loss_box_weight)

    # ------------------------------------------------------------------ decode
    @torch.no_grad()
    def decode(self, outputs, image_size: tuple[int, int], topk: int = 300, nms_iou: float = 0.7,
               score_thr: float = 0.0, pre_nms_topk: int = 1000,
               min_size: float = 0.0) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Outputs -> per image (boxes (K,4) xyxy clipped to image_size (H,W), scores (K,) probabilities).

        Per level keeps the pre_nms_topk best points with score > score_thr, clips, drops boxes whose side is
        <= min_size, runs class-agnostic NMS at nms_iou over all levels and keeps the topk best (K <= topk),
        sorted by decreasing score.
        """
        if topk < 1 or pre_nms_topk < 1:
            raise ProposalInputError(f"ProposalHead.decode: topk={topk} and pre_nms_topk={pre_nms_topk} must be >= 1")
        logits, dists, points, pstrides, sizes = self._flatten(outputs)
        probs = logits.sigmoid()
        h_img, w_img = image_size
        # Per-level top-k in one batched call per level, then one NMS per image.
        cand_idx = []
        start = 0
        for n in sizes:
            k = min(pre_nms_topk, n)
            cand_idx.append(probs[:, start:start + n].topk(k, dim=1).indices + start)
            start += n
        cand_idx = torch.cat(cand_idx, dim=1)                                  # (B, M)
        cand_scores = probs.gather(1, cand_idx)
        cand_boxes = self._boxes(points[cand_idx], dists.gather(1, cand_idx[..., None].expand(-1, -1, 4)),
                                 pstrides[cand_idx])
        lim = cand_boxes.new_tensor([w_img, h_img, w_img, h_img])
        cand_boxes = torch.minimum(cand_boxes.clamp(min=0), lim)
        results = []
        for boxes, scores in zip(cand_boxes, cand_scores):
            keep = (scores > score_thr) & ((boxes[:, 2] - boxes[:, 0]) > min_size) & \
                   ((boxes[:, 3] - boxes[:, 1]) > min_size)
            boxes, scores = boxes[keep], scores[keep]
            keep = nms(boxes, scores, nms_iou)[:topk]
            results.append((boxes[keep], scores[keep]))
        return results


__all__ = ["ProposalHead", "ProposalInputError"]
