"""How good is the worker's ETA? Real `sr` jobs (the RealSR engine with the installed weights, the worker's
backend choice) on crops of the shared photos: the estimate the worker would publish when a job passes 25 %
of its progress, against the time the job actually still took (decode, tiles and encoding included).

    .venv/bin/python bench/eta_bench.py [--megapixels 0.25,1,4] [--scale 4] [--backend auto] [--tile N]
                                        [--device cuda]

Each input is a shared photo resized (Lanczos) to the given size; the first job also pays the model's loading.
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


def one(engine: RealSREngine, data: bytes, scale: int, tile: int | None,
        device: str) -> tuple[float | None, float, float]:
    """(estimate at 25 %, actual seconds left from then, whole job seconds)."""
    eta = Eta()
    at_quarter: list[tuple[float, float | None]] = []

    def progress(fraction: float) -> None:
        estimate = eta.update(fraction)
        if fraction >= 0.25 and not at_quarter:
            at_quarter.append((time.monotonic(), estimate))

    start = time.monotonic()
    process(engine, data, "sr", {"scale": scale}, progress, lambda: False, device=device, tile=tile,
            output={"format": "auto"})
    end = time.monotonic()
    if not at_quarter:
        return None, 0.0, end - start
    when, estimate = at_quarter[0]
    return estimate, end - when, end - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megapixels", default="0.25,1,4")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--tile", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--photos", type=Path, default=PHOTOS, help="the shared images folder")
    args = parser.parse_args()
    engine = RealSREngine(backend=args.backend)
    sources = ["photo/OST_009.png", "old/d.png", "photo/ADE_val_00000114.jpg"]
    print(f"device {args.device}, tile {args.tile or 'auto'}, scale {args.scale}")
    print(f"{'input':<36} {'job s':>7} {'left at 25% s':>14} {'estimate s':>11} {'error':>7}")
    errors = []
    for megapixels in (float(m) for m in args.megapixels.split(",")):
        for name in sources:
            picture = Image.open(args.photos / name).convert("RGB")
            factor = (megapixels * 1e6 / (picture.width * picture.height)) ** 0.5
            picture = picture.resize((round(picture.width * factor), round(picture.height * factor)),
                                     Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            picture.save(buffer, "PNG")
            estimate, actual, total = one(engine, buffer.getvalue(), args.scale, args.tile, args.device)
            error = (estimate - actual) / actual if estimate is not None and actual > 0 else None
            if error is not None:
                errors.append(abs(error))
            label = f"{name} {picture.width}x{picture.height}"
            print(f"{label:<36} {total:7.2f} {actual:14.2f} "
                  f"{'-' if estimate is None else f'{estimate:.2f}':>11} "
                  f"{'-' if error is None else f'{error:+.0%}':>7}", flush=True)
    if errors:
        print(f"mean absolute error {sum(errors) / len(errors):.0%}, worst {max(errors):.0%} over {len(errors)} jobs")


if __name__ == "__main__":
    main()
