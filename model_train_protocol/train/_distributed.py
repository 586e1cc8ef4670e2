"""Single-process or DDP under ``torchrun`` / ``accelerate launch``: both set RANK, WORLD_SIZE, LOCAL_RANK.

Only rank 0 logs and writes files; every rank runs the same steps on its own
share of each batch, and gradients are averaged by DDP.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._env import local_rank as env_local_rank, world_size
from ..errors import MTPValueError

__all__ = ["Dist", "init_distributed", "broadcast_text"]


@dataclass(frozen=True)
class Dist:
    """Where this process stands: its rank, the world size, its device."""

    rank: int
    world: int
    device: str
    started: bool  # True when this process initialised the process group (and must destroy it)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.started:
            import torch.distributed as dist

            dist.destroy_process_group()


def init_distributed(device: str) -> Dist:
    """Join the process group when launched with WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    import torch
    import torch.distributed as dist

    if device == "cuda" and not torch.cuda.is_available():
        raise MTPValueError("--device cuda was asked for, but PyTorch sees no CUDA device; use --device cpu or auto.")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    world = world_size()
    local_rank = env_local_rank()
    started = False
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        started = True
    rank = dist.get_rank() if world > 1 else 0
    if use_cuda:
        torch.cuda.set_device(local_rank)
        return Dist(rank, world, f"cuda:{local_rank}", started)
    return Dist(rank, world, "cpu", started)


def broadcast_text(text: str | None, dist_info: Dist) -> str:
    """Rank 0's string on every rank (as bytes in tensors: no pickle)."""
    if dist_info.world == 1:
        assert text is not None
        return text
    import torch
    import torch.distributed as dist

    device = dist_info.device
    data = (text or "").encode("utf-8") if dist_info.main else b""
    size = torch.tensor([len(data)], dtype=torch.long, device=device)
    dist.broadcast(size, src=0)
    buf = torch.zeros(int(size.item()), dtype=torch.uint8, device=device)
    if dist_info.main:
        buf.copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8))
    dist.broadcast(buf, src=0)
    return bytes(buf.cpu().tolist()).decode("utf-8")
