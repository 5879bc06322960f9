"""Distributed set-up for ``--launcher none|pytorch|slurm`` (torchrun sets RANK/WORLD_SIZE/LOCAL_RANK)."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(launcher: str = "none", device: str | None = None) -> DistInfo:
    """Join the process group (NCCL on GPUs, gloo on CPUs) and pick this process's device."""
    if launcher == "slurm":
        os.environ.setdefault("RANK", os.environ.get("SLURM_PROCID", "0"))
        os.environ.setdefault("WORLD_SIZE", os.environ.get("SLURM_NTASKS", "1"))
        os.environ.setdefault("LOCAL_RANK", os.environ.get("SLURM_LOCALID", "0"))
        os.environ.setdefault("MASTER_PORT", "29500")
        if "MASTER_ADDR" not in os.environ:
            nodes = os.environ.get("SLURM_NODELIST", "127.0.0.1")
            os.environ["MASTER_ADDR"] = nodes.split(",")[0].split("[")[0]
    elif launcher not in ("none", "pytorch"):
        raise ValueError(f"unknown launcher {launcher!r}; choose none, pytorch or slurm")
    if launcher == "none":
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        return DistInfo(device=dev)
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    use_cuda = torch.cuda.is_available() and device != "cpu"
    if use_cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    return DistInfo(rank, world, local, torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu"))


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


def mean_across(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.distributed:
        value = value.detach().clone()
        dist.all_reduce(value)
        value /= info.world_size
    return value
