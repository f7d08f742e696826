"""One job's compute, run in a worker thread: decode, run the engine, encode the result (PNG, WebP or JPEG,
with the original's EXIF and ICC profile; see output.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .engine import Engine, InputError, PictureTooLarge, RunContext, is_out_of_memory
from .imageio import SOURCE_KEY, Source, decode
from .output import EXTENSIONS, encode


@dataclass(frozen=True)
class Processed:
    data: bytes
    format: str
    """png, webp or jpeg (what `auto` became)."""
    width: int
    height: int
    engine: str
    input_pixels: int
    notes: tuple[str, ...] = ()
    """The engine's notes on this result (EngineResult.notes), reported with job.completed."""

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def process(
    engine: Engine,
    data: bytes,
    type_name: str,
    options: dict[str, Any],
    progress: Callable[[float], None],
    cancelled: Callable[[], bool],
    device: str = "cpu",
    tile: int | None = None,
    output: dict[str, Any] | None = None,
) -> Processed:
    """Raises InputError for pictures that cannot be processed and Cancelled when asked to stop."""
    image = decode(data)
    ctx = RunContext(progress=progress, cancelled=cancelled, device=device, tile=tile,
                     family=engine.family)
    ctx.check_cancelled()
    try:
        result = engine.run(image, type_name, options, ctx)
    except RuntimeError as exc:  # OOM anywhere (model load, BOPB, a copy to the GPU): a reason, not a requeue
        if not is_out_of_memory(exc) or isinstance(exc, InputError):
            raise
        raise PictureTooLarge(str(exc), "cuda" if device.startswith("cuda") else "cpu") from None
    except MemoryError as exc:
        raise PictureTooLarge(str(exc), "cpu") from None
    spec = output or {}
    source = image.info.get(SOURCE_KEY)
    encoded = encode(result.image, str(spec.get("format", "auto")), spec.get("quality"),
                     flatten=bool(spec.get("flatten")), source=source if isinstance(source, Source) else None)
    progress(1.0)
    return Processed(encoded.data, encoded.format, result.image.width, result.image.height, result.engine,
                     image.width * image.height, tuple(result.notes))
