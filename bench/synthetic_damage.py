"""Reproducible synthetic old-photo damage, with the ground truth the benchmark scores against.

The damage follows the life of a print and its scan: the print fades and yellows (contrast loss, lifted
blacks, a warm cast, some loss of saturation), the scan is soft (blur), the print carries thin bright and dark
scratches (their exact mask is returned), the scanner adds grain, and the file is saved as a mediocre JPEG.
Every random choice comes from one `numpy.random.Generator` seeded by the caller, so a (photo, seed) pair
always gives the same damaged picture.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
PHOTO_DIR = (REPO_ROOT / ".." / "shared" / "images" / "photo").resolve()


@dataclass(frozen=True)
class DamageSpec:
    """How strong each kind of damage is; ranges are sampled uniformly per picture."""

    contrast: tuple[float, float] = (0.55, 0.8)
    """Factor on the distance from mid-grey: below 1 flattens the picture."""
    lift: tuple[float, float] = (10.0, 35.0)
    """Added to every level (0…255): faded prints have grey blacks."""
    warm: tuple[float, float] = (0.0, 0.12)
    """Warm cast: red up by this fraction, blue down by it."""
    desaturate: tuple[float, float] = (0.0, 0.3)
    """Fraction of the colour lost toward luminance."""
    blur_sigma: tuple[float, float] = (0.5, 1.1)
    grain_sigma: tuple[float, float] = (4.0, 9.0)
    """Standard deviation of the scanner grain in levels of 255."""
    scratches: tuple[int, int] = (4, 9)
    """How many scratches, inclusive range."""
    dark_fraction: float = 0.35
    """Share of scratches that are dark (emulsion torn off a dark base) rather than bright."""
    jpeg_quality: tuple[int, int] = (45, 75)


@dataclass
class Damaged:
    """A damaged picture and what it was made from."""

    clean: np.ndarray
    """HxWx3 uint8 RGB, the reference."""
    damaged: np.ndarray
    """HxWx3 uint8 RGB."""
    scratch_mask: np.ndarray
    """HxW bool: the pixels a scratch was drawn on (grain and JPEG come after it)."""


def load_clean(path: Path, max_side: int | None = None) -> np.ndarray:
    """Decode a photo as HxWx3 uint8 RGB: alpha is composited on white, grey is replicated, 16 bit reduced."""
    img: Image.Image = Image.open(path)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    rgb = np.asarray(img.convert("RGB"))
    if max_side is not None and max(rgb.shape[:2]) > max_side:
        f = max_side / max(rgb.shape[:2])
        size = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


def clean_photos(max_side: int | None = None) -> list[tuple[str, np.ndarray]]:
    """Every clean photo of ../shared/images/photo, by file name."""
    return [(p.name, load_clean(p, max_side)) for p in sorted(PHOTO_DIR.iterdir()) if p.is_file()]


def _scratch_path(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A long, gently curving polyline: scratches run across much of the print, mostly near-straight."""
    length = rng.uniform(0.35, 1.0) * max(h, w)
    angle = rng.uniform(0, np.pi)
    # Real scratches are often near-vertical (film transport) — bias a share of them that way.
    if rng.random() < 0.4:
        angle = np.pi / 2 + rng.normal(0, 0.12)
    x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
    n = 24
    t = np.linspace(-0.5, 0.5, n) * length
    bend = rng.normal(0, 0.04) * length
    offs = bend * (1 - (2 * np.linspace(-0.5, 0.5, n)) ** 2) + np.cumsum(rng.normal(0, 0.3, n))
    xs = x0 + t * np.cos(angle) - offs * np.sin(angle)
    ys = y0 + t * np.sin(angle) + offs * np.cos(angle)
    return np.stack([xs, ys], axis=1)


def add_scratches(img: np.ndarray, rng: np.random.Generator, count: int, dark_fraction: float) -> np.ndarray:
    """Draw `count` thin scratches into `img` (float, in place) and return their mask."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    for _ in range(count):
        pts = _scratch_path(rng, h, w)
        width = int(rng.choice([1, 1, 2, 2, 3]))
        one = np.zeros((h, w), np.uint8)
        cv2.polylines(one, [np.round(pts).astype(np.int32)], False, 255, width, lineType=cv2.LINE_8)
        on = one > 0
        # Scratch strength varies along and between scratches: some are faint.
        alpha = rng.uniform(0.55, 1.0)
        if rng.random() < dark_fraction:
            target = rng.uniform(0.0, 40.0)
        else:
            target = rng.uniform(215.0, 255.0)
        img[on] = img[on] * (1 - alpha) + target * alpha
        mask |= one
    return mask > 0


def damage(clean: np.ndarray, seed: int, spec: DamageSpec | None = None) -> Damaged:
    """Apply the whole damage chain to an HxWx3 uint8 RGB photo."""
    spec = spec or DamageSpec()
    rng = np.random.default_rng(seed)
    u = lambda r: float(rng.uniform(*r))  # noqa: E731 - a local shorthand keeps the chain readable
    img = clean.astype(np.float32)

    lum = img @ np.array([0.299, 0.587, 0.114], np.float32)
    img = img + (lum[..., None] - img) * u(spec.desaturate)
    img = (img - 128.0) * u(spec.contrast) + 128.0 + u(spec.lift)
    warm = u(spec.warm)
    img *= np.array([1 + warm, 1.0, 1 - warm], np.float32)

    img = np.asarray(cv2.GaussianBlur(img, (0, 0), u(spec.blur_sigma)), np.float32)
    count = int(rng.integers(spec.scratches[0], spec.scratches[1] + 1))
    mask = add_scratches(img, rng, count, spec.dark_fraction)
    img += rng.normal(0, u(spec.grain_sigma), img.shape[:2])[..., None].astype(np.float32)
    out = np.clip(np.round(img), 0, 255).astype(np.uint8)

    buf = io.BytesIO()
    Image.fromarray(out).save(buf, "JPEG", quality=int(rng.integers(*spec.jpeg_quality)))
    buf.seek(0)
    jpeg = np.asarray(Image.open(buf).convert("RGB"))
    return Damaged(clean=clean, damaged=np.ascontiguousarray(jpeg), scratch_mask=mask)
