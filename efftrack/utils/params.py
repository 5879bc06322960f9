"""Parameter report: trainable vs frozen parameters per named top-level part of a model."""
from typing import List, NamedTuple

from torch import nn


class PartCount(NamedTuple):
    name: str
    trainable: int
    frozen: int

    @property
    def total(self) -> int:
        return self.trainable + self.frozen


class ParamReport(NamedTuple):
    """parts: one row per top-level child (plus '(root)' for parameters held directly by the model)."""
    parts: List[PartCount]

    @property
    def trainable(self) -> int:
        return sum(p.trainable for p in self.parts)

    @property
    def frozen(self) -> int:
        return sum(p.frozen for p in self.parts)

    @property
    def total(self) -> int:
        return self.trainable + self.frozen

    @property
    def trainable_fraction(self) -> float:
        """Trainable / (trainable + frozen); 0.0 for a model without parameters."""
        return self.trainable / self.total if self.total else 0.0

    def as_dict(self) -> dict:
        return {"parts": {p.name: {"trainable": p.trainable, "frozen": p.frozen} for p in self.parts},
                "trainable": self.trainable, "frozen": self.frozen, "total": self.total,
                "trainable_fraction": self.trainable_fraction}

    def table(self) -> str:
        """Markdown table: part, trainable, frozen, total, share of all parameters."""
        rows = ["| part | trainable | frozen | total | % of all |", "|---|---:|---:|---:|---:|"]
        for p in self.parts + [PartCount("**all**", self.trainable, self.frozen)]:
            share = 100.0 * p.total / self.total if self.total else 0.0
            rows.append(f"| {p.name} | {p.trainable:,} | {p.frozen:,} | {p.total:,} | {share:.2f} |")
        rows.append(f"\ntrainable: {self.trainable:,} of {self.total:,} ({100 * self.trainable_fraction:.3f}%)")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.table()


def parameter_report(model: nn.Module) -> ParamReport:
    """Count parameters of `model` per named top-level child.

    A parameter shared by two parts is counted once, in the first part that registers it (the order of
    `model.named_children()`), so the parts add up to the model's true parameter count.
    """
    seen = set()
    parts = []

    def count(name, params):
        trainable = frozen = 0
        for p in params:
            if id(p) in seen:
                continue
            seen.add(id(p))
            if p.requires_grad:
                trainable += p.numel()
            else:
                frozen += p.numel()
        parts.append(PartCount(name, trainable, frozen))

    own = list(model.parameters(recurse=False))
    if own:
        count("(root)", own)
    for name, child in model.named_children():
        count(name, child.parameters())
    return ParamReport(parts)
