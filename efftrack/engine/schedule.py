"""Learning rate as a pure function of the iteration: a resumed run needs no scheduler state."""
from __future__ import annotations

import math


def lr_at(iteration: int, *, base_lr: float, max_iters: int, warmup_iters: int = 0, warmup_ratio: float = 0.001,
          policy: str = "cosine", steps: tuple = (), gamma: float = 0.1, min_ratio: float = 0.01) -> float:
    """Linear warm-up, then 'cosine' decay to ``min_ratio * base_lr`` or 'step' decay by ``gamma`` at ``steps``."""
    if warmup_iters and iteration < warmup_iters:
        return base_lr * (warmup_ratio + (1 - warmup_ratio) * iteration / warmup_iters)
    if policy == "cosine":
        span = max(1, max_iters - warmup_iters)
        t = min(1.0, (iteration - warmup_iters) / span)
        return base_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t)))
    if policy == "step":
        return base_lr * gamma ** sum(iteration >= s for s in steps)
    if policy == "constant":
        return base_lr
    raise ValueError(f"unknown lr policy {policy!r}; choose cosine, step or constant")
