"""Build an ``EffOWT`` from a config's ``model`` section (thin: every part has a plain constructor)."""
from __future__ import annotations

from ..backbones import FrozenBackbone
from ..heads.embedding import EmbeddingHead
from ..heads.proposal import ProposalHead
from ..side import HybridSideNetwork
from .effowt import EffOWT


def build_model(cfg) -> EffOWT:
    """``cfg``: dict(backbone=dict(model_name, pretrained, model_cfg, taps), side=dict(...),
    proposal_head=dict(...), embedding_head=dict(...), topk, nms_iou, score_thr, train_proposals,
    embed_rois, loss_weights). ``input_size`` and other keys used elsewhere are ignored here."""
    cfg = dict(cfg)
    backbone = FrozenBackbone(**dict(cfg["backbone"]))
    side = HybridSideNetwork(in_channels=backbone.channels, in_strides=backbone.strides, **dict(cfg.get("side", {})))
    proposal_head = ProposalHead(in_channels=side.out_channels, strides=tuple(side.out_strides),
                                 **dict(cfg.get("proposal_head", {})))
    embedding_head = EmbeddingHead(in_channels=side.fused_channels, stride=side.fused_stride,
                                   **dict(cfg.get("embedding_head", {})))
    keys = ("topk", "nms_iou", "score_thr", "train_proposals", "embed_rois", "loss_weights")
    return EffOWT(backbone, side, proposal_head, embedding_head, **{k: cfg[k] for k in keys if k in cfg})
