"""Device, precision and memory decisions shared by every engine (one place, not one per model)."""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator

import torch

from .descriptor import ModelDescriptor
from .engine import PictureTooLarge, Precision
from .engine import is_out_of_memory as _is_out_of_memory

__all__ = ["CPU_BUDGET_BYTES", "MIN_TILE", "PictureTooLarge", "Precision", "round_down", "round_up"]

from .planner import (  # noqa: E402  (torch-free; shared with the ncnn backend)
    CPU_BUDGET_BYTES,
    DEFAULT_BYTES_PER_INPUT_PIXEL,
    MIN_TILE,
    NCNN_BYTES_PER_INPUT_PIXEL,
    TORCH_BYTES_PER_INPUT_PIXEL,
    cpu_budget_pixels,
    host_free_bytes,
    round_down,
    round_up,
)

CUDA_MAX_BATCH = 16
_device_threads: dict[str, int] = {}
"""How many worker threads share each device (`register_device_user`): each budgets its share of memory."""
_threads_lock = threading.Lock()


_thread_devices = threading.local()
_next_gpu = [0]


def thread_device(name: str) -> str:
    """The device this thread runs on: a bare `cuda` on a machine with several GPUs is spread over the worker's
    threads (each thread keeps the GPU it was given first); `cuda:N` and `cpu` are taken as they are."""
    if name != "cuda" or not torch.cuda.is_available() or torch.cuda.device_count() < 2:
        return name
    chosen: str | None = getattr(_thread_devices, "device", None)
    if chosen is None:
        with _threads_lock:
            chosen = f"cuda:{_next_gpu[0] % torch.cuda.device_count()}"
            _next_gpu[0] += 1
        _thread_devices.device = chosen
    return chosen


@contextlib.contextmanager
def exact_fp32(device: torch.device | str) -> Iterator[None]:
    """Full fp32 convolutions and matmuls (no TF32) for the duration of a call on CUDA, restored afterwards:
    BOPB's goldens need it, the other models do not, so it is never switched off for the whole process."""
    if not str(device).startswith("cuda"):
        yield
        return
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(enabled=torch.backends.cudnn.enabled, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul


def register_device_user(device: str) -> None:
    """One more thread will run models on `device` (the worker calls this once per compute thread)."""
    with _threads_lock:
        _device_threads[device] = _device_threads.get(device, 0) + 1


def device_users(device: str) -> int:
    with _threads_lock:
        return max(1, _device_threads.get(device, 1))


def resolve_device(name: str) -> torch.device:
    """Turn `cpu`, `cuda` or `cuda:N` into a torch.device, refusing CUDA where it is not usable here (a CPU
    build of torch, no driver, or an index beyond `torch.cuda.device_count()`)."""
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise RuntimeError(f"unsupported device {name!r}; expected cpu or cuda[:N]") from exc
    if device.type not in ("cpu", "cuda"):
        raise RuntimeError(f"unsupported device {name!r}; expected cpu or cuda[:N]")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"{name} was requested but torch.cuda.is_available() is False on this machine")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise RuntimeError(f"{name} was requested but this machine has {count} CUDA device(s)")
    return device


def free_memory_bytes(device: torch.device) -> int:
    """Memory a run may still use: `MemAvailable` from /proc/meminfo on the CPU, free VRAM on CUDA."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        # PyTorch's own cache is free for this process: memory_reserved − memory_allocated counts as free,
        # or tiles would shrink after the first job.
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free) + max(0, int(cached))
    return host_free_bytes()


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
    """True for CUDA OOM (also as cuDNN/cuBLAS allocation failures) and for the CPU allocator's failure."""
    return isinstance(exc, torch.OutOfMemoryError) or _is_out_of_memory(exc)


def release_cached_memory(device: torch.device) -> None:
    """Give cached blocks back after an OOM so that the retry with a smaller tile can use them. Call it after
    the failed attempt's tensors are released (outside the `except` block), or nothing comes back."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def bytes_per_input_pixel(desc: ModelDescriptor, dtype: torch.dtype | None, backend: str = "torch") -> int:
    table = NCNN_BYTES_PER_INPUT_PIXEL if backend == "ncnn" else TORCH_BYTES_PER_INPUT_PIXEL
    per_pixel = table.get(desc.arch, DEFAULT_BYTES_PER_INPUT_PIXEL)
    if dtype in (torch.float16, torch.bfloat16):
        per_pixel //= 2
    return per_pixel


def tile_budget(
    desc: ModelDescriptor,
    device: torch.device,
    dtype: torch.dtype | None,
    *,
    free_bytes: int | None = None,
    backend: str = "torch",
) -> tuple[int, int]:
    """Input pixels one tile window may have (context included), and the batch size, for this device.

    CPU: a quarter of free host memory (the canvas and other jobs need the rest), at most `CPU_BUDGET_BYTES`.
    CUDA: 60 % of free VRAM (PyTorch's cache counted as free). Either is shared by the threads registered on
    the device. The batch (CUDA only) is how many 512²-pixel windows fit besides, at most `CUDA_MAX_BATCH`.
    """
    users = device_users(str(device))
    if device.type != "cuda":
        return cpu_budget_pixels(desc, backend, users, free_bytes), 1
    free = free_memory_bytes(device) if free_bytes is None else free_bytes
    per_pixel = bytes_per_input_pixel(desc, dtype, backend)
    pixels = max(int(free * 0.6 / users // per_pixel), (MIN_TILE + 2 * desc.pad) ** 2)
    batch = 1
    if device.type == "cuda":
        batch = int(max(1, min(CUDA_MAX_BATCH, pixels // (512 + 2 * desc.pad) ** 2)))
        pixels //= batch
    return pixels, batch


def choose_tile_and_batch(
    desc: ModelDescriptor,
    device: torch.device,
    dtype: torch.dtype | None,
    *,
    free_bytes: int | None = None,
    backend: str = "torch",
) -> tuple[int, int]:
    """The largest square tile side (input pixels, before context) and the batch the budget allows."""
    pixels, batch = tile_budget(desc, device, dtype, free_bytes=free_bytes, backend=backend)
    side = int(math.sqrt(pixels)) - 2 * desc.pad
    return round_down(max(MIN_TILE, side), desc.size_multiple), batch
