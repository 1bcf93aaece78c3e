"""Process-group setup from torchrun's environment, deterministic sharded sampling, small collectives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Optional

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

__all__ = ["DistEnv", "init_distributed", "ShardedSampler", "any_rank", "all_gather_objects"]


@dataclass
class DistEnv:
    """Where this process runs: rank, world size, local rank and device."""

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


def init_distributed(device: Optional[str] = None) -> DistEnv:
    """Join torchrun's process group if ``WORLD_SIZE`` > 1 (NCCL on CUDA, gloo on CPU); pick the device.

    ``device`` forces ``"cpu"`` or ``"cuda"``; by default CUDA is used when available.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device is None else device == "cuda"
    if device not in (None, "cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")
    if use_cuda and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for but torch.cuda.is_available() is False")
    dev = torch.device("cuda", local) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    return DistEnv(rank=rank, world_size=world, local_rank=local, device=dev)


class ShardedSampler(Sampler[int]):
    """Shuffled (or ordered) indices, split across ranks, a pure function of (seed, epoch).

    Like ``DistributedSampler``, but it can also start part-way into an epoch: ``set_epoch(e,
    skip=k)`` drops this rank's first ``k`` indices, which is how a run resumed mid-epoch skips
    the batches it already did. With ``pad`` the index list is padded (by wrapping) to a multiple
    of the world size so every rank gets the same number of samples; without it (evaluation) the
    shards are uneven and nothing is repeated.
    """

    def __init__(self, size: int, *, rank: int = 0, world_size: int = 1, shuffle: bool = True, seed: int = 0, pad: bool = True) -> None:
        if size < 1:
            raise ValueError(f"size: expected a non-empty dataset, got {size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank: expected 0 <= rank < world_size={world_size}, got {rank}")
        self.size, self.rank, self.world_size = size, rank, world_size
        self.shuffle, self.seed, self.pad = shuffle, seed, pad
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = int(epoch), int(skip)

    def _indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.size, generator=g).tolist()
        else:
            order = list(range(self.size))
        if self.pad and self.size % self.world_size:
            extra = self.world_size - self.size % self.world_size
            order += (order * (extra // len(order) + 1))[:extra]
        return order[self.rank::self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.skip:])

    def __len__(self) -> int:
        return max(0, len(self._indices()) - self.skip)


def any_rank(flag: bool, device: torch.device) -> bool:
    """True if ``flag`` is true on any rank (a no-op without a process group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def all_gather_objects(obj: object) -> list[object]:
    """Every rank's ``obj`` (a list with one entry without a process group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out: list[object] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out
