"""One job's compute, run in a worker thread: decode, run the engine, encode the result as PNG."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .engine import Engine, RunContext
from .imageio import decode, encode_png


@dataclass(frozen=True)
class Processed:
    png: bytes
    width: int
    height: int
    engine: str
    input_pixels: int


def process(
    engine: Engine,
    data: bytes,
    type_name: str,
    options: dict[str, Any],
    progress: Callable[[float], None],
    cancelled: Callable[[], bool],
    device: str = "cpu",
    tile: int | None = None,
) -> Processed:
    """Raises InputError for pictures that cannot be processed and Cancelled when asked to stop."""
    image = decode(data)
    ctx = RunContext(progress=progress, cancelled=cancelled, device=device, tile=tile,
                     extra={"family": engine.family})
    ctx.check_cancelled()
    result = engine.run(image, type_name, options, ctx)
    png = encode_png(result.image)
    progress(1.0)
    return Processed(png, result.image.width, result.image.height, result.engine, image.width * image.height)
