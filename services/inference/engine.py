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
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image

Backend = Literal["torch", "ncnn"]
"""Runtime of the ncnn-shipped upscalers: our PyTorch ports or ncnn's own CPU runtime."""


class InputError(Exception):
    """The picture or its options cannot be processed by this engine: the job fails with this message."""


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
    """Tile size in input pixels; None lets the engine choose from free memory."""
    extra: dict[str, Any] = field(default_factory=dict)

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


class Engine(ABC):
    """Base class of an engine family. Subclasses load their models lazily and cache them."""

    family: str
    """The engine family (shared.enhancements), set by each subclass (per instance for placeholders)."""

    @abstractmethod
    def availability(self) -> Availability: ...

    @abstractmethod
    def run(self, image: Image.Image, type_name: str, options: dict[str, Any], ctx: RunContext) -> EngineResult:
        """Process one picture. `options` are already validated against shared.enhancements."""
