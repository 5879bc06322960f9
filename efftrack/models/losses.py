"""Training losses: focal / quality focal for dense objectness, GIoU for boxes, quasi-dense embedding losses.

Boxes are xyxy absolute pixels, float32. Embeddings are expected L2-normalised (EmbeddingHead output), so a
dot product is a cosine.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.ops import generalized_box_iou_loss
from torchvision.ops import sigmoid_focal_loss as _tv_sigmoid_focal_loss

_REDUCTIONS = ("none", "mean", "sum")


class LossInputError(ValueError):
    """A loss was called with tensors of inconsistent shapes or an unknown option."""


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise LossInputError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean() if loss.numel() else loss.sum()
    return loss


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0,
                       reduction: str = "sum") -> torch.Tensor:
    """Focal loss (Lin et al. 2017) on sigmoid logits.

    logits, targets: same shape, targets in {0,1} (float). alpha < 0 disables the class balance term.
    loss = -alpha_t * (1 - p_t)^gamma * log(p_t).
    """
    _check_reduction(reduction)
    if logits.shape != targets.shape:
        raise LossInputError(f"sigmoid_focal_loss: logits {tuple(logits.shape)} vs targets {tuple(targets.shape)}")
    return _tv_sigmoid_focal_loss(logits, targets.to(logits.dtype), alpha=alpha, gamma=gamma, reduction=reduction)


def quality_focal_loss(logits: torch.Tensor, targets: torch.Tensor, beta: float = 2.0,
                       reduction: str = "sum") -> torch.Tensor:
    """Quality focal loss (GFL, Li et al. 2020): a focal BCE towards a soft target in [0,1].

    logits, targets: same shape; targets are the localisation quality (IoU) for positives and 0 for negatives.
    loss = BCE(sigmoid(logit), t) * |t - sigmoid(logit)|^beta.
    """
    _check_reduction(reduction)
    if logits.shape != targets.shape:
        raise LossInputError(f"quality_focal_loss: logits {tuple(logits.shape)} vs targets {tuple(targets.shape)}")
    targets = targets.to(logits.dtype)
    prob = logits.sigmoid()
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    loss = bce * (targets - prob).abs().pow(beta)
    return _reduce(loss, reduction)


def giou_loss(pred: torch.Tensor, target: torch.Tensor, reduction: str = "sum",
              eps: float = 1e-7) -> torch.Tensor:
    """1 - GIoU for aligned box pairs.

    pred, target: (N,4) xyxy absolute pixels with x2 >= x1, y2 >= y1. Returns (N,) or a scalar.
    """
    _check_reduction(reduction)
    if pred.shape != target.shape or pred.shape[-1:] != (4,):
        raise LossInputError(f"giou_loss: pred {tuple(pred.shape)} vs target {tuple(target.shape)}, need (N,4)")
    if pred.numel() == 0:
        return pred.sum() * 0.0 if reduction != "none" else pred.new_zeros((0,))
    return generalized_box_iou_loss(pred, target.to(pred.dtype), reduction=reduction, eps=eps)


def aligned_iou(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """IoU of row-aligned boxes: a, b (N,4) xyxy -> (N,)."""
    lt = torch.maximum(a[:, :2], b[:, :2])
    rb = torch.minimum(a[:, 2:], b[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    return inter / (area_a + area_b - inter).clamp(min=eps)


def _check_embeds(key_embeds, key_ids, ref_embeds, ref_ids) -> None:
    if key_embeds.dim() != 2 or ref_embeds.dim() != 2 or key_embeds.shape[1] != ref_embeds.shape[1]:
        raise LossInputError(f"embeddings must be (K,D) and (R,D), got {tuple(key_embeds.shape)} "
                             f"and {tuple(ref_embeds.shape)}")
    if key_ids.shape != (key_embeds.shape[0],) or ref_ids.shape != (ref_embeds.shape[0],):
        raise LossInputError(f"ids must be (K,) and (R,), got {tuple(key_ids.shape)} and {tuple(ref_ids.shape)} "
                             f"for {key_embeds.shape[0]} key and {ref_embeds.shape[0]} ref embeddings")


def _zero_with_grad(*tensors: torch.Tensor) -> torch.Tensor:
    # Keeps every input in the graph so DDP sees all parameters used even when a batch has no positives.
    return sum(t.sum() for t in tensors) * 0.0


def _pair_targets(key_ids: torch.Tensor, ref_ids: torch.Tensor) -> torch.Tensor:
    """(K,R) bool: same track id, background (-1) never matching anything."""
    return (key_ids[:, None] == ref_ids[None, :]) & (key_ids[:, None] >= 0)


def quasi_dense_loss(key_embeds: torch.Tensor, key_ids: torch.Tensor, ref_embeds: torch.Tensor,
                     ref_ids: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Multi-positive contrastive loss of QDTrack (Pang et al. 2021) between key and reference RoIs.

    key_embeds (K,D), ref_embeds (R,D): L2-normalised embeddings; key_ids (K,), ref_ids (R,): int track ids,
    -1 for background. Every key RoI with a track id that occurs among the ref RoIs is an anchor; its
    positives are the ref RoIs of that id, its negatives all other ref RoIs (background included):
        L_i = log(1 + sum_{p in pos} sum_{n in neg} exp(s_n - s_p)),   s = <key_i, ref> / temperature,
    averaged over anchors. The double sum factorises: log(1 + exp(LSE_n s_n + LSE_p -s_p)) = softplus(...),
    which is O(K*R) and numerically stable. Returns a scalar; 0 (still connected to the inputs) when there
    is no anchor. Used unchanged for video pairs and for two views of one image.
    """
    _check_embeds(key_embeds, key_ids, ref_embeds, ref_ids)
    pos = _pair_targets(key_ids, ref_ids)
    anchors = pos.any(dim=1)
    if not bool(anchors.any()):
        return _zero_with_grad(key_embeds, ref_embeds)
    # float32: at temperature 0.07 a bf16/fp16 similarity (from autocast) is too coarse to rank positives.
    sim = key_embeds[anchors].float() @ ref_embeds.float().t() / temperature
    pos = pos[anchors]
    # Finite fill (not -inf): an anchor without negatives must give loss 0 with finite gradients.
    very_neg = -1e9
    lse_neg = sim.masked_fill(pos, very_neg).logsumexp(dim=1)
    lse_neg_pos = (-sim).masked_fill(~pos, very_neg).logsumexp(dim=1)
    return F.softplus(lse_neg + lse_neg_pos).mean()


def aux_cosine_loss(key_embeds: torch.Tensor, key_ids: torch.Tensor, ref_embeds: torch.Tensor,
                    ref_ids: torch.Tensor, neg_pos_ratio: int = 3, pos_margin: float = 0.0,
                    neg_margin: float = 0.1) -> torch.Tensor:
    """QDTrack's auxiliary L2 loss on cosine similarities between key RoIs with a track id and all ref RoIs.

    Positive pairs (same id) are pulled to cos >= 1 - pos_margin: (1 - pos_margin - cos)_+^2; negative pairs
    are pushed below neg_margin: (cos - neg_margin)_+^2. To keep the balance only the hardest negatives are
    kept, at most neg_pos_ratio per positive pair (deterministic, no sampling). Mean over the kept pairs.
    Inputs as in quasi_dense_loss; returns 0 (connected to the inputs) when there is no positive pair.
    """
    _check_embeds(key_embeds, key_ids, ref_embeds, ref_ids)
    keys = key_ids >= 0
    pos = _pair_targets(key_ids[keys], ref_ids)
    num_pos = int(pos.sum())
    if num_pos == 0:
        return _zero_with_grad(key_embeds, ref_embeds)
    cos = key_embeds[keys].float() @ ref_embeds.float().t()
    pos_loss = (1.0 - pos_margin - cos[pos]).clamp(min=0).pow(2)
    neg_loss = (cos[~pos] - neg_margin).clamp(min=0).pow(2)
    num_neg = min(neg_loss.numel(), neg_pos_ratio * num_pos)
    if num_neg < neg_loss.numel():
        neg_loss = neg_loss.topk(num_neg).values
    return torch.cat([pos_loss, neg_loss]).mean()
