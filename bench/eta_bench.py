"""How good is the worker's ETA? Real `sr` jobs (the RealSR engine with the installed weights, the worker's
backend choice) on crops of the shared photos: the estimate the worker would publish when a job passes 25 %
of its progress, against the time the job actually still took (decode, tiles and encoding included).

    .venv/bin/python bench/eta_bench.py [--sizes 160,240,320] [--scale 4] [--backend auto] [--tile 32]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.inference.eta import Eta  # noqa: E402
from services.inference.models.realsr.engine import RealSREngine  # noqa: E402
from services.inference.processing import process  # noqa: E402

PHOTOS = (ROOT.parent / "shared" / "images").resolve()


def one(engine: RealSREngine, data: bytes, scale: int, tile: int | None) -> tuple[float | None, float, float]:
    """(estimate at 25 %, actual seconds left from then, whole job seconds)."""
    eta = Eta()
    at_quarter: list[tuple[float, float | None]] = []

    def progress(fraction: float) -> None:
        estimate = eta.update(fraction)
        if fraction >= 0.25 and not at_quarter:
            at_quarter.append((time.monotonic(), estimate))

    start = time.monotonic()
    process(engine, data, "sr", {"scale": scale}, progress, lambda: False, tile=tile, output={"format": "auto"})
    end = time.monotonic()
    if not at_quarter:
        return None, 0.0, end - start
    when, estimate = at_quarter[0]
    return estimate, end - when, end - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="160,240,320")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--tile", type=int, default=None)
    args = parser.parse_args()
    engine = RealSREngine(backend=args.backend)  # type: ignore[arg-type]
    sources = ["photo/OST_009.png", "old/g.png", "photo/ADE_val_00000114.jpg"]
    print(f"{'input':<32} {'job s':>7} {'left at 25% s':>14} {'estimate s':>11} {'error':>7}")
    errors = []
    for size in (int(s) for s in args.sizes.split(",")):
        for name in sources:
            picture = Image.open(PHOTOS / name).convert("RGB")
            side = min(size, picture.width, picture.height)
            crop = picture.crop((0, 0, side, side))
            buffer = io.BytesIO()
            crop.save(buffer, "PNG")
            estimate, actual, total = one(engine, buffer.getvalue(), args.scale, args.tile)
            error = (estimate - actual) / actual if estimate is not None and actual > 0 else None
            if error is not None:
                errors.append(abs(error))
            print(f"{name + f' {side}px':<32} {total:7.2f} {actual:14.2f} "
                  f"{'-' if estimate is None else f'{estimate:.2f}':>11} "
                  f"{'-' if error is None else f'{error:+.0%}':>7}")
    if errors:
        print(f"mean absolute error {sum(errors) / len(errors):.0%}, worst {max(errors):.0%} over {len(errors)} jobs")


if __name__ == "__main__":
    main()
