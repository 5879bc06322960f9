"""Training data in a fixed order that depends only on (seed, iteration): resuming replays it exactly."""
from __future__ import annotations

import torch
from torch.utils.data import ConcatDataset, Dataset, Sampler

from ..data.coco import CocoPseudoPairDataset
from ..data.tao import TaoPairDataset


def build_train_dataset(sources, input_size, seed: int = 0) -> Dataset:
    """``sources``: list of dict(type='tao'|'coco', ann_file, img_root, ...) -> one dataset of pairs."""
    parts = []
    for src in sources:
        src = dict(src)
        kind = src.pop("type", "tao")
        if kind == "tao":
            parts.append(TaoPairDataset(input_size=tuple(input_size), augment=True, seed=seed, **src))
        elif kind == "coco":
            parts.append(CocoPseudoPairDataset(input_size=tuple(input_size), augment=True, **src))
        else:
            raise ValueError(f"unknown training data type {kind!r}; choose tao or coco")
    if not parts:
        raise ValueError("data.train lists no dataset")
    return parts[0] if len(parts) == 1 else ConcatDataset(parts)


class SeededItems(Dataset):
    """Items are fetched as ``(index, seed)``: augmentation randomness comes from the seed alone,
    in the main process or any worker."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item):
        index, seed = item
        torch.manual_seed(seed)
        return self.dataset[index]


class IterationBatches(Sampler):
    """Batches for iterations ``start .. max_iters-1`` of one rank.

    Global sample ``p = it * batch * world + rank * batch + j`` is item ``perm_e[p % N]`` of epoch
    ``e = p // N`` (a permutation seeded by ``seed + e``), with augmentation seed derived from ``p``.

    ``variants=K`` (the frozen-feature cache's mode): the augmentation seed is ``variant_seed(seed, item,
    e % K)`` instead, so each item is seen in K fixed augmentations (its reference frame included), each
    once per K epochs: inputs repeat, so their backbone features can be cached.
    """

    def __init__(self, num_items: int, batch_size: int, max_iters: int, start: int = 0, seed: int = 0,
                 rank: int = 0, world_size: int = 1, variants: int | None = None):
        if num_items <= 0:
            raise ValueError("the training dataset is empty")
        self.n, self.b, self.max_iters, self.start = num_items, batch_size, max_iters, start
        self.seed, self.rank, self.world = seed, rank, world_size
        self.variants = variants
        self._perm_epoch, self._perm = None, None

    def __len__(self) -> int:
        return max(0, self.max_iters - self.start)

    def _item(self, p: int) -> int:
        epoch = p // self.n
        if epoch != self._perm_epoch:
            g = torch.Generator().manual_seed(self.seed * 100003 + epoch)
            self._perm, self._perm_epoch = torch.randperm(self.n, generator=g).tolist(), epoch
        return self._perm[p % self.n]

    def __iter__(self):
        for it in range(self.start, self.max_iters):
            base = (it * self.world + self.rank) * self.b
            yield [self._sample(p) for p in range(base, base + self.b)]

    def _sample(self, p: int) -> tuple[int, int]:
        item = self._item(p)
        if self.variants:
            return item, variant_seed(self.seed, item, (p // self.n) % self.variants)
        return item, (self.seed * 1000003 + p) % (2 ** 31)


def variant_seed(seed: int, item: int, variant: int) -> int:
    """Augmentation seed of augmentation variant ``variant`` of dataset item ``item`` (cached mode)."""
    return ((seed * 1000003 + item) * 65537 + variant) % (2 ** 31)
