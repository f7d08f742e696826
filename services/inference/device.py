"""Device, precision and memory decisions shared by every engine (one place, not one per model)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import torch

from .descriptor import ModelDescriptor

Precision = Literal["auto", "fp32", "fp16", "bf16"]

# Peak activation memory per input pixel of one tile, fp32, batch 1, under inference_mode. Estimated from the
# widest tensors alive at once (RRDBNet: ~200 channels at 4x resolution in the upsampler; CUNet: UNet2 at 2x;
# UpConv7: 256 channels before the deconvolution) and rounded up, so a tile chosen from them leaves headroom.
_BYTES_PER_INPUT_PIXEL: dict[str, int] = {"rrdbnet": 16_000, "upcunet": 10_000, "upconv7": 5_000}
_DEFAULT_BYTES_PER_INPUT_PIXEL = 16_000

# On the CPU a bigger tile is not faster once it outgrows the caches; it only costs memory. On a GPU big tiles
# and batches keep the device busy.
CPU_MAX_TILE = 256
CUDA_MAX_TILE = 1024
MIN_TILE = 16


def resolve_device(name: str) -> torch.device:
    """Turn `cpu`, `cuda` or `cuda:N` into a torch.device, refusing CUDA where it is not available."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was requested but torch.cuda.is_available() is False on this machine")
    if device.type not in ("cpu", "cuda"):
        raise RuntimeError(f"unsupported device {name!r}; expected cpu or cuda[:N]")
    return device


def free_memory_bytes(device: torch.device) -> int:
    """Memory a run may still use: `MemAvailable` from /proc/meminfo on the CPU, free VRAM on CUDA."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    available = 2 << 30  # no /proc (not Linux): assume a modest 2 GiB rather than failing
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except OSError:
        pass
    # In a container the cgroup limit, not the host's free memory, is what the OOM killer enforces.
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return max(available, 0)


def autocast_dtype(
    device: torch.device, desc: ModelDescriptor, precision: Precision = "auto"
) -> torch.dtype | None:
    """The autocast dtype for this model on this device, or None for plain fp32.

    `auto` means fp32 on the CPU (the fidelity bound against ncnn is 50 dB; bf16 gives ~42 dB) and, on CUDA,
    fp16 where the descriptor says it is safe, else bf16 where that is safe, else fp32. An explicit choice is
    honoured even against the descriptor: the caller asked for it (e.g. the benchmark).
    """
    if precision == "fp32":
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16":
        return torch.bfloat16
    if device.type != "cuda":
        return None
    if desc.half_safe:
        return torch.float16
    if desc.bf16_safe and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


@contextlib.contextmanager
def precision_context(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """inference_mode plus autocast when a reduced dtype was chosen."""
    with torch.inference_mode():
        if dtype is None:
            yield
        else:
            with torch.autocast(device_type=device.type, dtype=dtype):
                yield


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA OOM and for the CPU allocator's failure (a plain RuntimeError)."""
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text
    )


def release_cached_memory(device: torch.device) -> None:
    """Give cached blocks back after an OOM so that the retry with a smaller tile can use them."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def round_down(value: int, multiple: int) -> int:
    return max(multiple, value // multiple * multiple)


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def choose_tile_and_batch(
    desc: ModelDescriptor,
    device: torch.device,
    dtype: torch.dtype | None,
    *,
    free_bytes: int | None = None,
) -> tuple[int, int]:
    """Tile side (input pixels, before padding) and batch size that fit this device's free memory.

    A quarter of free host memory on the CPU (the output canvas and other jobs need the rest), 60% of free
    VRAM on CUDA. The tile is a multiple of the descriptor's `size_multiple`.
    """
    free = free_memory_bytes(device) if free_bytes is None else free_bytes
    per_pixel = _BYTES_PER_INPUT_PIXEL.get(desc.arch, _DEFAULT_BYTES_PER_INPUT_PIXEL)
    if dtype in (torch.float16, torch.bfloat16):
        per_pixel //= 2
    budget = free * (0.6 if device.type == "cuda" else 0.25)
    side = int(math.sqrt(budget / per_pixel)) - 2 * desc.pad
    cap = CUDA_MAX_TILE if device.type == "cuda" else CPU_MAX_TILE
    tile = round_down(max(MIN_TILE, min(side, cap)), desc.size_multiple)
    batch = 1
    if device.type == "cuda":
        one = per_pixel * (tile + 2 * desc.pad) ** 2
        batch = int(max(1, min(16, budget // max(one, 1))))
    return tile, batch
