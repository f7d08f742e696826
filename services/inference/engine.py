"""What every inference engine looks like to the worker and the CLI.

An engine family (`none`, `realsr`, `waifu2x`, `bopb`) turns one decoded picture into one restored picture.
The worker decodes (EXIF orientation applied), calls `Engine.run` in a worker thread, and encodes the result
as PNG. Engines report progress through `RunContext.progress` and must check `RunContext.cancelled` between
tiles; they raise `InputError` for pictures they cannot process (a permanent failure with a reason the user
reads) and `Cancelled` when asked to stop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image

Backend = Literal["torch", "ncnn"]
"""Runtime of the ncnn-shipped upscalers: our PyTorch ports or ncnn's own CPU runtime."""

Precision = Literal["auto", "fp32", "fp16", "bf16"]


class InputError(Exception):
    """The picture or its options cannot be processed by this engine: the job fails with this message."""


_OOM_TEXT = (
    "out of memory",
    "can't allocate memory",
    "not enough memory",
    "cudnn_status_alloc_failed",
    "cudnn_status_not_enough_workspace",
    "cublas_status_alloc_failed",
    "cufft_alloc_failed",
    "cusolver_status_alloc_failed",
    "failed to allocate",
)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA OOM (`torch.OutOfMemoryError`, and cuDNN/cuBLAS allocation failures, which arrive as plain
    RuntimeErrors) and for the CPU allocator's failure. Needs no torch import."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(marker in text for marker in _OOM_TEXT)


class PictureTooLarge(InputError):
    """Even the smallest tile ran out of memory: the job fails with a reason instead of crashing (and being
    requeued into the same failure)."""

    def __init__(self, detail: str = "", device_type: str = "cuda") -> None:
        where = "this GPU" if device_type == "cuda" else "this machine's memory"
        super().__init__(f"picture too large for {where}" + (f" ({detail.splitlines()[0][:200]})" if detail else ""))
        self.detail = detail


class Cancelled(Exception):
    """The job was cancelled while it ran."""


def _no_progress(fraction: float) -> None:
    return None


def _never_cancelled() -> bool:
    return False


@dataclass
class RunContext:
    """What the caller offers a running engine."""

    progress: Callable[[float], None] = _no_progress
    """Called with the fraction done, 0…1; the caller throttles what it publishes."""
    cancelled: Callable[[], bool] = _never_cancelled
    """True once the job has been cancelled: stop at the next tile by raising `Cancelled`."""
    device: str = "cpu"
    """`cpu` or `cuda` (or `cuda:N`)."""
    tile: int | None = None
    """Largest tile side in input pixels; None lets the tile planner choose from the memory budget."""
    precision: Precision = "auto"
    """Autocast dtype: `auto` (fp32 on the CPU; fp16/bf16 on CUDA where the model's descriptor allows it)."""
    family: str | None = None
    """The engine family running (the label of the model layer's metrics); None outside the worker."""

    def check_cancelled(self) -> None:
        if self.cancelled():
            raise Cancelled()


@dataclass(frozen=True)
class Availability:
    """Whether a family can run on this installation, which implementation will, and why not if it cannot."""

    available: bool
    engine: str
    reason: str | None = None


@dataclass
class EngineResult:
    image: Image.Image
    engine: str
    """The implementation that made it, reported with the job (e.g. `realsr`, `bopb`, `renovo`)."""
    notes: tuple[str, ...] = ()
    """What a person should know about this result (a stage skipped and why), in plain sentences."""


class Engine(ABC):
    """Base class of an engine family. Subclasses load their models lazily and cache them."""

    family: str
    """The engine family (shared.enhancements), set by each subclass (per instance for placeholders)."""

    @abstractmethod
    def availability(self) -> Availability: ...

    @abstractmethod
    def run(self, image: Image.Image, type_name: str, options: dict[str, Any], ctx: RunContext) -> EngineResult:
        """Process one picture. `options` are already validated against shared.enhancements."""
