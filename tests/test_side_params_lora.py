"""Parameter report and the LoRA wrapper used by the efficiency benchmark."""
import copy

import pytest
import torch
from torch import nn

from efftrack.side import HybridSideNetwork
from efftrack.utils.lora import LoRAError, apply_lora, lora_parameters
from efftrack.utils.params import parameter_report


class _Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))
        self.backbone = nn.Linear(10, 20)
        self.side = HybridSideNetwork(in_channels=[16], in_strides=[16], stage_pattern=("conv",),
                                      out_channels=8, fused_channels=8)
        self.head = nn.Conv2d(8, 5, 1)
        self.head_alias = self.head  # shared module: counted once
        for p in self.backbone.parameters():
            p.requires_grad_(False)


def test_parameter_report_counts_per_part_and_shared_once():
    model = _Model()
    rep = parameter_report(model)
    parts = {p.name: p for p in rep.parts}
    assert parts["backbone"].frozen == 10 * 20 + 20 and parts["backbone"].trainable == 0
    assert parts["side"].trainable == sum(p.numel() for p in model.side.parameters())
    assert parts["(root)"].trainable == 3
    assert parts["head"].trainable == 8 * 5 + 5 and "head_alias" not in parts
    assert rep.total == sum(p.numel() for p in model.parameters())
    assert rep.trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert abs(rep.trainable_fraction - rep.trainable / rep.total) < 1e-12
    table = rep.table()
    assert "| backbone | 0 | 220 | 220 |" in table and "**all**" in table


def test_lora_starts_as_identity_trains_only_low_rank_and_reaches_attention():
    open_clip_model = pytest.importorskip("open_clip.model")
    vcfg = {"image_size": 32, "layers": 2, "width": 32, "patch_size": 16, "head_width": 16}
    tower = open_clip_model._build_vision_tower(16, vcfg).eval()
    x = torch.randn(2, 3, 32, 32)
    ref = tower(x)
    adapted = copy.deepcopy(tower)
    names = apply_lora(adapted, rank=4)
    assert "transformer.resblocks.0.attn" in names and "transformer.resblocks.1.mlp.c_fc" in names
    assert torch.allclose(adapted(x), ref, atol=1e-5)
    trainable = [p for p in adapted.parameters() if p.requires_grad]
    assert {id(p) for p in trainable} == {id(p) for p in lora_parameters(adapted)}
    # 2 blocks x (in 3D + out D + fc 4D + proj D outputs, inputs D + D + D + 4D) x rank 4
    d = 32
    assert sum(p.numel() for p in trainable) == 2 * 4 * ((d + 3 * d) + (d + d) + (d + 4 * d) + (4 * d + d))
    for m in adapted.modules():
        if hasattr(m, "lora_b"):
            nn.init.normal_(m.lora_b)
    adapted(x).square().mean().backward()
    attn = adapted.transformer.resblocks[0].attn
    assert attn.in_delta.lora_a.grad.abs().sum() > 0 and attn.out_delta.lora_a.grad.abs().sum() > 0
    assert all(p.grad is None for p in adapted.parameters() if not p.requires_grad)


def test_lora_refuses_a_module_without_linears():
    with pytest.raises(LoRAError, match="no nn.Linear"):
        apply_lora(nn.Sequential(nn.Conv2d(3, 4, 3)))
