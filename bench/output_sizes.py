"""Result sizes and encoding times of one 12 MP photo in each output format.

The "result" is a shared photo upscaled to 4000×3000 with Lanczos (what a `none`-like re-encode of a 12 MP
picture costs; no model runs), carrying EXIF and an sRGB profile. PNG is the reference the ratios are to.

    .venv/bin/python bench/output_sizes.py [--photo old/d.png]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image, ImageCms

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.inference.imageio import Source  # noqa: E402
from services.inference.output import encode  # noqa: E402

PHOTOS = (ROOT.parent / "shared" / "images").resolve()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", default="photo/OST_009.png")
    parser.add_argument("--photos", type=Path, default=PHOTOS, help="the shared images folder")
    args = parser.parse_args()
    picture = Image.open(args.photos / args.photo).convert("RGB")
    big = picture.resize((4000, 3000) if picture.width >= picture.height else (3000, 4000), Image.Resampling.LANCZOS)
    exif = Image.Exif()
    exif[0x0132] = "2020:01:02 03:04:05"
    srgb = bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    for label, lossless in (("lossless original", True), ("JPEG original", False)):
        source = Source(exif.tobytes(), srgb, lossless, False)
        print(f"{args.photo} upscaled to {big.width}x{big.height} ({big.width * big.height / 1e6:.0f} MP), {label}")
        print(f"{'format':<16} {'MB':>8} {'vs PNG':>7} {'encode s':>9}")
        reference = None
        for fmt, quality in (("png", None), ("webp", None), ("webp", 100), ("jpeg", None), ("jpeg", 85),
                             ("auto", None)):
            start = time.perf_counter()
            encoded = encode(big, fmt, quality, source=source)
            seconds = time.perf_counter() - start
            size = len(encoded.data)
            reference = reference or size
            name = f"{fmt}{f' q{quality}' if quality else ''}" + (f" → {encoded.format}" if fmt == "auto" else "")
            print(f"{name:<16} {size / 1e6:8.2f} {size / reference:7.2f} {seconds:9.2f}")
        print()


if __name__ == "__main__":
    main()
