"""Minimal LoRA (Hu et al., 2021) for the efficiency benchmark's `lora` mode.

The low-rank path is kept unmerged (x @ A^T @ B^T), as LoRA trains: the frozen weight never gets a full-size
gradient, only A and B do. nn.MultiheadAttention reads its in-projection as a raw parameter inside
F.multi_head_attention_forward, so wrapping Linear modules alone would miss q/k/v; it is replaced by
`LoRAMultiheadAttention`, which computes the same self-attention with LoRA on the in- and out-projections.
"""
import math
from typing import List

import torch
import torch.nn.functional as F
from torch import nn


class LoRAError(ValueError):
    """LoRA cannot be applied as asked (nothing to adapt, unsupported attention call)."""


class LoRADelta(nn.Module):
    """Low-rank update (x @ A^T) @ B^T * (alpha / rank); B starts at zero so the wrapped layer is unchanged."""

    def __init__(self, in_features: int, out_features: int, rank: int = 8, alpha: float = 16.0):
        super().__init__()
        if rank < 1:
            raise LoRAError(f"LoRA: rank must be >= 1, got {rank}")
        self.lora_a = nn.Parameter(torch.empty(rank, in_features))
        self.lora_b = nn.Parameter(torch.zeros(out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(F.linear(x, self.lora_a), self.lora_b) * self.scale


class LoRALinear(nn.Module):
    """Frozen nn.Linear plus a trainable LoRADelta. Shapes as the wrapped Linear."""

    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16.0):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.delta = LoRADelta(base.in_features, base.out_features, rank, alpha)

    @property
    def weight(self) -> torch.Tensor:
        return self.base.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.delta(x)


class LoRAMultiheadAttention(nn.Module):
    """Self-attention equivalent of a batch-first nn.MultiheadAttention with LoRA on in_proj and out_proj.

    Called like nn.MultiheadAttention (query, key, value, need_weights=False, attn_mask=None) and returns
    (output (B, N, D), None). Only self-attention (query is key is value) without key_padding_mask.
    """

    def __init__(self, base: nn.MultiheadAttention, rank: int = 8, alpha: float = 16.0):
        super().__init__()
        if not base.batch_first or not base._qkv_same_embed_dim or base.in_proj_weight is None:
            raise LoRAError("LoRA: only batch-first nn.MultiheadAttention with a packed in_proj is supported")
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        d = base.embed_dim
        self.num_heads = base.num_heads
        self.batch_first = True
        self.in_delta = LoRADelta(d, 3 * d, rank, alpha)
        self.out_delta = LoRADelta(d, d, rank, alpha)

    def forward(self, query, key=None, value=None, need_weights: bool = False, attn_mask=None,
                key_padding_mask=None, **_):
        if (key is not None and key is not query) or (value is not None and value is not query):
            raise LoRAError("LoRA attention: only self-attention is supported")
        if key_padding_mask is not None or need_weights:
            raise LoRAError("LoRA attention: key_padding_mask / need_weights are not supported")
        b, n, d = query.shape
        qkv = F.linear(query, self.base.in_proj_weight, self.base.in_proj_bias) + self.in_delta(query)
        q, k, v = qkv.view(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        if attn_mask is not None and attn_mask.dtype != torch.bool:
            attn_mask = attn_mask.to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        out = out.transpose(1, 2).reshape(b, n, d)
        out = F.linear(out, self.base.out_proj.weight, self.base.out_proj.bias) + self.out_delta(out)
        return out, None


def apply_lora(module: nn.Module, rank: int = 8, alpha: float = 16.0, freeze: bool = True) -> List[str]:
    """Freeze `module` and put LoRA on every nn.MultiheadAttention and every nn.Linear outside them.

    Returns the qualified names of the adapted layers; raises LoRAError when there are none (e.g. a pure
    conv tower). Modifies `module` in place.
    """
    if freeze:
        for p in module.parameters():
            p.requires_grad_(False)
    adapted: List[str] = []

    def visit(parent: nn.Module, prefix: str):
        for name, child in list(parent.named_children()):
            qual = f"{prefix}{name}"
            if isinstance(child, nn.MultiheadAttention):
                setattr(parent, name, LoRAMultiheadAttention(child, rank, alpha))
                adapted.append(qual)
            elif isinstance(child, nn.Linear):
                setattr(parent, name, LoRALinear(child, rank, alpha))
                adapted.append(qual)
            elif not isinstance(child, (LoRALinear, LoRAMultiheadAttention)):
                visit(child, qual + ".")

    visit(module, "")
    if not adapted:
        raise LoRAError(f"LoRA: {type(module).__name__} has no nn.Linear or nn.MultiheadAttention to adapt")
    return adapted


def lora_parameters(module: nn.Module) -> List[nn.Parameter]:
    """The LoRA A/B matrices inside `module`."""
    return [p for m in module.modules() if isinstance(m, LoRADelta) for p in m.parameters()]


__all__ = ["LoRAError", "LoRADelta", "LoRALinear", "LoRAMultiheadAttention", "apply_lora", "lora_parameters"]
