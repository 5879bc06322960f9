"""EffOWT: frozen open_clip tower -> hybrid side network -> class-agnostic proposals + appearance embeddings.

Only ``side``, ``proposal_head`` and ``embedding_head`` hold trainable parameters; checkpoints store just those
(``trainable_state_dict``) plus the backbone's identity.
"""
from __future__ import annotations

import time
from typing import Sequence

import torch
from torch import nn

from ..backbones import FrozenBackbone
from ..heads.embedding_targets import sample_rois
from .losses import aux_cosine_loss, quasi_dense_loss

TRAINABLE_PARTS = ("side", "proposal_head", "embedding_head")


class EffOWT(nn.Module):
    """The open-world detector with appearance embeddings.

    Args:
        backbone: a ``FrozenBackbone``. side: a ``HybridSideNetwork`` built for its channels/strides.
        proposal_head: ``ProposalHead`` on the side pyramid. embedding_head: ``EmbeddingHead`` on the fused map.
        topk, nms_iou, score_thr: proposal decoding at inference (OWTA rewards recall: keep many).
        train_proposals: proposals decoded per image to sample embedding RoIs from during training.
        embed_rois: RoIs sampled per image for the embedding loss.
        loss_weights: multipliers for the entries of ``loss()``'s dict (missing keys weigh 1).

    Images enter as float (B,3,H,W) RGB in [0,1]; the model normalises them with the backbone's mean/std.
    Boxes are xyxy pixels of that input image (``predict`` maps them back to original pixels given metas).
    """

    def __init__(self, backbone: FrozenBackbone, side: nn.Module, proposal_head: nn.Module,
                 embedding_head: nn.Module, *, topk: int = 300, nms_iou: float = 0.7, score_thr: float = 0.0,
                 train_proposals: int = 256, embed_rois: int = 128, loss_weights: dict | None = None):
        super().__init__()
        self.backbone = backbone
        self.side = side
        self.proposal_head = proposal_head
        self.embedding_head = embedding_head
        self.topk, self.nms_iou, self.score_thr = int(topk), float(nms_iou), float(score_thr)
        self.train_proposals, self.embed_rois = int(train_proposals), int(embed_rois)
        self.loss_weights = dict(loss_weights or {})
        self.register_buffer("mean", torch.tensor(backbone.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(backbone.std).view(1, 3, 1, 1), persistent=False)

    # ---- features -------------------------------------------------------------------------------------
    def backbone_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """images (B,3,H,W) RGB in [0,1] -> the frozen tower's taps."""
        return self.backbone((images - self.mean) / self.std)

    def side_features(self, feats: Sequence[torch.Tensor]):
        return self.side(list(feats))

    # ---- training -------------------------------------------------------------------------------------
    def forward(self, batch: dict, backbone_feats: Sequence[torch.Tensor] | None = None) -> dict:
        """Training forward (what DistributedDataParallel wraps): the loss dict of ``loss``."""
        return self.loss(batch, backbone_feats)

    def loss(self, batch: dict, backbone_feats: Sequence[torch.Tensor] | None = None) -> dict:
        """Losses for a collated batch of (key, ref) pairs (``efftrack.data.collate_pairs``).

        Key and reference views go through the network together (one batch of 2B). ``backbone_feats``, if
        given, replaces the backbone pass (the frozen-feature cache). Returns weighted scalar losses.
        """
        key, ref = batch["key"], batch["ref"]
        images = torch.cat([key["img"], ref["img"]])
        n = key["img"].shape[0]
        image_size = tuple(images.shape[-2:])
        feats = backbone_feats if backbone_feats is not None else self.backbone_features(images)
        side = self.side_features(feats)
        out = self.proposal_head(side.pyramid)
        gt_boxes = list(key["boxes"]) + list(ref["boxes"])
        gt_ids = list(key["track_ids"]) + list(ref["track_ids"])
        losses = dict(self.proposal_head.loss(out, gt_boxes, image_size=image_size))

        with torch.no_grad():
            props = self.proposal_head.decode(_detach(out), image_size, topk=self.train_proposals,
                                              nms_iou=self.nms_iou, score_thr=0.0)
        rois, ids = [], []
        for (boxes, _), gb, gi in zip(props, gt_boxes, gt_ids):
            r, i = sample_rois(boxes, gb.to(boxes), gi.to(boxes.device), num=self.embed_rois)
            rois.append(r)
            ids.append(i)
        embeds = self.embedding_head(side.fused, rois)
        qd, aux = [], []
        for b in range(n):
            qd.append(quasi_dense_loss(embeds[b], ids[b], embeds[n + b], ids[n + b]))
            aux.append(aux_cosine_loss(embeds[b], ids[b], embeds[n + b], ids[n + b]))
        losses["loss_embed"] = torch.stack(qd).mean()
        losses["loss_aux"] = torch.stack(aux).mean()
        return {k: v * self.loss_weights.get(k, 1.0) for k, v in losses.items()}

    # ---- inference ------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, images: torch.Tensor, timings: dict | None = None, min_score: float = 0.0) -> list[dict]:
        """images (B,3,H,W) RGB in [0,1] -> per image dict(boxes (K,4) xyxy input pixels, scores (K,),
        embeddings (K,D) unit vectors), K <= topk, sorted by score. Proposals below ``min_score`` are dropped
        before the embedding head (RoIAlign on 300 boxes costs more than the backbone on CPU).
        ``timings`` (if given) accumulates seconds spent in 'backbone' and 'side_heads'."""
        t0 = time.perf_counter()
        feats = self.backbone_features(images)
        t1 = time.perf_counter()
        side = self.side_features(feats)
        out = self.proposal_head(side.pyramid)
        dets = self.proposal_head.decode(out, tuple(images.shape[-2:]), topk=self.topk, nms_iou=self.nms_iou,
                                         score_thr=self.score_thr)
        if min_score > 0:
            dets = [(b[s >= min_score], s[s >= min_score]) for b, s in dets]
        embeds = self.embedding_head(side.fused, [b for b, _ in dets])
        if timings is not None:
            t2 = time.perf_counter()
            timings["backbone"] = timings.get("backbone", 0.0) + (t1 - t0)
            timings["side_heads"] = timings.get("side_heads", 0.0) + (t2 - t1)
        return [dict(boxes=b, scores=s, embeddings=e) for (b, s), e in zip(dets, embeds)]

    # ---- what a checkpoint holds ----------------------------------------------------------------------
    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        return {f"{part}.{k}": v.detach().clone() for part in TRAINABLE_PARTS
                for k, v in getattr(self, part).state_dict().items()}

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
        """Load side network + heads; refuse (naming keys) anything that does not fit exactly."""
        from ..backbones.weights import check_fits
        expected = nn.ModuleDict({p: getattr(self, p) for p in TRAINABLE_PARTS})
        check_fits(state, expected, source, what="this model's side network and heads")
        expected.load_state_dict(state, strict=True)


def _detach(out):
    if torch.is_tensor(out):
        return out.detach()
    if isinstance(out, (list, tuple)):
        return type(out)(_detach(o) for o in out)
    return out
