"""The training loop.

Why not mmengine's Runner: its checkpoints pickle Python objects (message hub, config) and store the whole
model, frozen backbone included, and its loader fails on torch >= 2.6 (weights-only unpickling); and its
samplers resume at epoch granularity, so a run killed mid-epoch would not end with the same weights as an
uninterrupted one. Here every random draw depends only on (seed, iteration), the learning rate is a function
of the iteration, and checkpoints hold plain tensors: resuming replays the run exactly. mmengine still
provides the configs.
"""
from __future__ import annotations

import json
import logging
import resource
import sys
import time
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..data.views import collate_pairs
from ..models.builder import build_model
from ..utils.params import parameter_report
from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from .data import IterationBatches, SeededItems, build_train_dataset
from .dist import DistInfo, barrier, init_distributed, mean_across
from .schedule import lr_at

TRAIN_DEFAULTS = dict(max_iters=1000, batch_size=2, lr=2e-4, weight_decay=0.05, warmup_iters=50,
                      lr_policy="cosine", lr_steps=(), grad_clip=10.0, log_interval=10, ckpt_interval=200,
                      max_keep_ckpts=3, val_interval=0, num_workers=0, val_max_videos=None)


def _logger(work_dir: Path, is_main: bool) -> logging.Logger:
    log = logging.getLogger("efftrack.train")
    log.handlers.clear()
    log.setLevel(logging.INFO if is_main else logging.WARNING)
    fmt = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    for h in (logging.StreamHandler(sys.stdout), logging.FileHandler(work_dir / "train.log")) if is_main else ():
        h.setFormatter(fmt)
        log.addHandler(h)
    log.propagate = False
    return log


def _memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _to_device(batch: dict, device: torch.device) -> dict:
    out = {}
    for side in ("key", "ref"):
        v = batch[side]
        out[side] = dict(img=v["img"].to(device, non_blocking=True),
                         boxes=[b.to(device) for b in v["boxes"]], track_ids=[t.to(device) for t in v["track_ids"]],
                         labels=v["labels"], meta=v["meta"])
    return out


class Trainer:
    """Train the side network and heads of ``cfg.model`` on ``cfg.data.train``.

    ``after_iteration(it)`` may be set by callers (tests) to observe or interrupt the loop.
    """

    def __init__(self, cfg, work_dir, *, resume=None, amp: bool = False, launcher: str = "none", seed: int = 0,
                 device: str | None = None, config_text: str = ""):
        self.cfg = cfg
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.dist: DistInfo = init_distributed(launcher, device)
        self.log = _logger(self.work_dir, self.dist.is_main)
        self.train_cfg = {**TRAIN_DEFAULTS, **dict(cfg.get("train", {}))}
        self.seed, self.amp, self.config_text = int(seed), bool(amp), config_text
        self.input_size = tuple(cfg.model["input_size"])
        # data first: a missing annotation file is reported before minutes of model building
        self.dataset = build_train_dataset(cfg.data["train"], self.input_size, seed=self.seed)
        torch.manual_seed(self.seed)
        self.model = build_model(cfg.model).to(self.dist.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=self.train_cfg["lr"], weight_decay=self.train_cfg["weight_decay"])
        self.start_iter = 0
        if resume:
            path = latest_checkpoint(self.work_dir) if resume is True else Path(resume)
            if path is None:
                self.log.info(f"--resume: no checkpoint in {self.work_dir}, starting from scratch")
            else:
                ckpt = load_checkpoint(path, self.model, self.optimizer)
                self.start_iter = int(ckpt["iteration"])
                self.log.info(f"resumed from {path} at iteration {self.start_iter}")
        self.ddp = (DistributedDataParallel(self.model, device_ids=[self.dist.local_rank]
                                            if self.dist.device.type == "cuda" else None)
                    if self.dist.distributed else None)
        self.after_iteration = None
        self.cache = None  # frozen-feature cache (efftrack.cache): backbone taps read back instead of recomputed
        if cfg.get("cache"):
            from ..cache import build_feature_cache, cache_settings
            self.cache_cfg = cache_settings(cfg.cache)
            self.cache = build_feature_cache(self.cache_cfg, self.model, self.input_size, log=self.log.warning)
        if self.dist.is_main:
            self.log.info("parameters:\n" + parameter_report(self.model).table())

    # ------------------------------------------------------------------------------------------------------
    def _loader(self) -> DataLoader:
        ds = self.dataset
        sampler = IterationBatches(len(ds), self.train_cfg["batch_size"], self.train_cfg["max_iters"],
                                   start=self.start_iter, seed=self.seed, rank=self.dist.rank,
                                   world_size=self.dist.world_size,
                                   variants=self.cache_cfg["variants"] if self.cache else None)
        workers = int(self.train_cfg["num_workers"])
        return DataLoader(SeededItems(ds), batch_sampler=sampler, collate_fn=collate_pairs, num_workers=workers,
                          pin_memory=self.dist.device.type == "cuda", persistent_workers=workers > 0)

    def _step(self, it: int, batch: dict) -> dict:
        tc = self.train_cfg
        lr = lr_at(it, base_lr=tc["lr"], max_iters=tc["max_iters"], warmup_iters=tc["warmup_iters"],
                   policy=tc["lr_policy"], steps=tuple(tc["lr_steps"]))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        # model-side randomness (RoI sampling) depends only on the seed, the iteration and the rank
        torch.manual_seed((self.seed * 7919 + it) * 64 + self.dist.rank)
        self.model.train()
        dtype = torch.bfloat16 if self.dist.device.type == "cpu" else torch.float16
        batch, extra = _to_device(batch, self.dist.device), {}
        if self.cache is not None:  # outside autocast: stored features are fp32 results rounded to fp16
            images = torch.cat([batch["key"]["img"], batch["ref"]["img"]])
            extra["backbone_feats"] = self.cache.features(images, self.model.backbone_features)
            if (it + 1) % tc["log_interval"] == 0:
                self.log.info(self.cache.summary())
        with torch.autocast(self.dist.device.type, dtype=dtype, enabled=self.amp):
            losses = (self.ddp or self.model)(batch, **extra)
        total = sum(losses.values())
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if tc["grad_clip"]:
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], tc["grad_clip"])
        self.optimizer.step()
        logged = {k: float(mean_across(v.detach().float(), self.dist)) for k, v in losses.items()}
        logged["loss"] = sum(logged.values())
        logged["lr"] = lr
        return logged

    def _save(self, it: int) -> None:
        if not self.dist.is_main:
            return
        path = save_checkpoint(self.work_dir / f"iter_{it}.pth", model=self.model, optimizer=self.optimizer,
                               iteration=it, config_text=self.config_text)
        ckpts = sorted(self.work_dir.glob("iter_*.pth"), key=lambda p: int(p.stem.split("_")[1]))
        for old in ckpts[:-int(self.train_cfg["max_keep_ckpts"])]:
            old.unlink(missing_ok=True)
        self.log.info(f"saved {path}")

    def validate(self) -> dict:
        from .validate import validate
        val = self.cfg.data.get("val")
        if not val or not self.dist.is_main:
            return {}
        metrics = validate(self.model, ann_file=val["ann_file"], img_root=val["img_root"],
                           input_size=self.input_size, tracker_cfg=dict(self.cfg.get("tracker", {})),
                           device=self.dist.device, max_videos=self.train_cfg["val_max_videos"])
        self.log.info("validation: " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        self._append_scalars({"iteration": self._iteration, "validation": metrics})
        return metrics

    def _append_scalars(self, record: dict) -> None:
        if self.dist.is_main:
            with open(self.work_dir / "scalars.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    # ------------------------------------------------------------------------------------------------------
    def run(self) -> dict:
        tc = self.train_cfg
        max_iters = int(tc["max_iters"])
        self._iteration = self.start_iter
        last, t_start, t_data = {}, time.perf_counter(), time.perf_counter()
        self.log.info(f"training iterations {self.start_iter}..{max_iters} on {self.dist.device} "
                      f"(world size {self.dist.world_size}), work dir {self.work_dir}")
        for it, batch in zip(range(self.start_iter, max_iters), self._loader()):
            data_s = time.perf_counter() - t_data
            last = self._step(it, batch)
            self._iteration = done = it + 1
            if done % tc["log_interval"] == 0 or done == max_iters:
                elapsed = time.perf_counter() - t_start
                per_iter = elapsed / (done - self.start_iter)
                eta = per_iter * (max_iters - done)
                self.log.info(f"iter {done}/{max_iters}  " + "  ".join(
                    f"{k} {v:.4f}" for k, v in last.items() if k != "lr") + f"  lr {last['lr']:.2e}  "
                    f"{per_iter:.2f}s/it (data {data_s:.2f}s)  mem {_memory_mb(self.dist.device):.0f}MB  "
                    f"eta {time.strftime('%H:%M:%S', time.gmtime(eta))}")
                self._append_scalars({"iteration": done, **last, "s_per_iter": per_iter})
            if done % tc["ckpt_interval"] == 0 or done == max_iters:
                self._save(done)
            if tc["val_interval"] and (done % tc["val_interval"] == 0 or done == max_iters):
                self.validate()
            barrier(self.dist)
            if self.after_iteration is not None:
                self.after_iteration(done)
            t_data = time.perf_counter()
        return last


def train(cfg, work_dir, **kwargs) -> dict:
    trainer = Trainer(cfg, work_dir, **kwargs)
    try:
        return trainer.run()
    finally:
        if trainer.dist.distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
