"""Reproducible synthetic old-photo damage, with its ground truth, and procedural scenes to damage.

Used by the scratch detector's training (train_scratch.py: procedural scenes only, so training reads no image
file and needs nothing but this repository) and by bench/oldphoto_bench.py, which damages clean photos it
reads itself (../shared/images) and scores the results against their undamaged selves.

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
    wide_fraction: float = 0.0
    """Share of scratches drawn 4–7 px wide (training only: 0 keeps the benchmark's random stream as it was)."""
    crack_fraction: float = 0.0
    """Share of scratches that are cracks: jagged, branching, of varying width (training only, like the above)."""


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


def _crack(rng: np.random.Generator, h: int, w: int, one: np.ndarray) -> None:
    """A jagged random walk with a few branches, 1–3 px wide, drawn into `one`."""
    x, y = rng.uniform(0, w), rng.uniform(0, h)
    angle = rng.uniform(0, 2 * np.pi)
    steps = int(rng.integers(15, 60))
    step = max(h, w) / rng.uniform(25, 60)
    tips = [(x, y, angle)]
    while tips:
        x, y, angle = tips.pop()
        pts = [(x, y)]
        for _ in range(steps):
            angle += rng.normal(0, 0.5)
            x, y = x + step * np.cos(angle), y + step * np.sin(angle)
            pts.append((x, y))
            if len(tips) < 3 and rng.random() < 0.04:
                tips.append((x, y, angle + rng.choice([-1, 1]) * rng.uniform(0.4, 1.2)))
        width = int(rng.integers(1, 4))
        cv2.polylines(one, [np.round(np.array(pts)).astype(np.int32)], False, 255, width, lineType=cv2.LINE_8)
        steps = max(5, steps // 2)


def add_scratches(
    img: np.ndarray, rng: np.random.Generator, count: int, dark_fraction: float, spec: DamageSpec | None = None
) -> np.ndarray:
    """Draw `count` scratches into `img` (float, in place) and return their mask."""
    spec = spec or DamageSpec()
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    for _ in range(count):
        one = np.zeros((h, w), np.uint8)
        if spec.crack_fraction > 0 and rng.random() < spec.crack_fraction:
            _crack(rng, h, w, one)
        else:
            pts = _scratch_path(rng, h, w)
            width = int(rng.choice([1, 1, 2, 2, 3]))
            if spec.wide_fraction > 0 and rng.random() < spec.wide_fraction:
                width = int(rng.integers(4, 8))
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
    mask = add_scratches(img, rng, count, spec.dark_fraction, spec)
    img += rng.normal(0, u(spec.grain_sigma), img.shape[:2])[..., None].astype(np.float32)
    out = np.clip(np.round(img), 0, 255).astype(np.uint8)

    buf = io.BytesIO()
    Image.fromarray(out).save(buf, "JPEG", quality=int(rng.integers(*spec.jpeg_quality)))
    buf.seek(0)
    jpeg = np.asarray(Image.open(buf).convert("RGB"))
    return Damaged(clean=clean, damaged=np.ascontiguousarray(jpeg), scratch_mask=mask)


# ---- Procedural scenes: photo-like content, with the thin real structure a detector must spare ----
# The scratch detector's training data (train_scratch.py): nothing here reads a file. Changing the order of
# the random draws changes the committed net's training data: retrain and update its checksum if you do.

Rng = np.random.Generator


def _pink(rng: Rng, h: int, w: int, beta: float = 2.0) -> np.ndarray:
    """Zero-mean, unit-variance 1/f^beta noise: the texture statistics of natural pictures."""
    f = np.fft.fftfreq(h)[:, None] ** 2 + np.fft.rfftfreq(w)[None, :] ** 2
    f[0, 0] = 1
    spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 4)
    spec[0, 0] = 0
    x = np.fft.irfft2(spec, s=(h, w)).astype(np.float32)
    return (x - x.mean()) / (x.std() + 1e-6)


def _palette(rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    base = rng.uniform(20, 235, 3)
    return base, rng.uniform(-60, 60, 3)


def background(rng: Rng, h: int, w: int) -> np.ndarray:
    """Smooth regions + 1/f texture + soft-edged shapes, HxWx3 float 0…255."""
    c0, dc = _palette(rng)
    t = _pink(rng, h, w, rng.uniform(1.8, 3.2))
    img = c0 + t[..., None] * dc * rng.uniform(0.3, 1.0)
    for _ in range(int(rng.integers(2, 9))):
        m = np.zeros((h, w), np.float32)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        if rng.random() < 0.5:
            axes = (int(rng.uniform(10, w / 2)), int(rng.uniform(10, h / 2)))
            cv2.ellipse(m, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        else:
            pts = np.stack([cx + rng.normal(0, w / 5, 6), cy + rng.normal(0, h / 5, 6)], 1).astype(np.int32)
            cv2.fillPoly(m, [cv2.convexHull(pts)], 1.0)
        soft = cv2.GaussianBlur(m, (0, 0), rng.uniform(0.3, 4))[..., None]
        col = rng.uniform(0, 255, 3) + _pink(rng, h, w)[..., None] * rng.uniform(0, 40)
        img = img * (1 - soft) + col * soft
    return img


def _strokes(
    img: np.ndarray,
    rng: Rng,
    n: int,
    length: float,
    width: int,
    val: float | np.ndarray,
    orient: float | None = None,
    curl: float = 0.1,
    alpha: tuple[float, float] = (0.4, 1.0),
) -> None:
    """Draw `n` gently curving strokes into `img` (in place)."""
    h, w = img.shape[:2]
    for _ in range(n):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        a = orient if orient is not None else rng.uniform(0, np.pi)
        a += rng.normal(0, 0.25)
        pts = []
        for _ in range(8):
            pts.append((x, y))
            a += rng.normal(0, curl)
            x += np.cos(a) * length / 8
            y += np.sin(a) * length / 8
        m = np.zeros((h, w), np.float32)
        cv2.polylines(m, [np.round(np.array(pts)).astype(np.int32)], False, 1.0, int(width), cv2.LINE_AA)
        k = rng.uniform(*alpha)
        v = val if np.ndim(val) else np.full(3, val)
        img[:] = img * (1 - k * m[..., None]) + np.asarray(v, np.float32) * k * m[..., None]


def fur(img: np.ndarray, rng: Rng) -> None:
    """Dense short strokes, bright and dark, along one direction: fur, grass."""
    h, w = img.shape[:2]
    orient = rng.uniform(0, np.pi)
    n = int(h * w / rng.uniform(60, 200))
    for bright in (True, False):
        length = rng.uniform(8, 30)
        value = rng.uniform(180, 255) if bright else rng.uniform(0, 70)
        _strokes(img, rng, n // 2, length, 1, value, orient, 0.15, (0.3, 0.9))


def hair(img: np.ndarray, rng: Rng) -> None:
    """Long, nearly parallel strands of one colour."""
    orient = rng.uniform(0, np.pi)
    col = rng.uniform(0, 255, 3)
    _strokes(img, rng, int(rng.integers(20, 80)), rng.uniform(60, 250), 1, col, orient, 0.06, (0.4, 1.0))


def whiskers(img: np.ndarray, rng: Rng) -> None:
    """A few long, thin, bright, slightly curved lines."""
    n = int(rng.integers(3, 12))
    length = rng.uniform(40, 160)
    value = rng.uniform(200, 255)
    _strokes(img, rng, n, length, 1, value, rng.uniform(0, np.pi), 0.04, (0.6, 1.0))


def wires(img: np.ndarray, rng: Rng) -> None:
    """Straight dark lines across the whole picture: wires, masts, rails."""
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(1, 5))):
        p1 = (int(rng.uniform(-w, 0)), int(rng.uniform(0, h)))
        p2 = (int(rng.uniform(w, 2 * w)), int(rng.uniform(0, h)))
        m = np.zeros((h, w), np.float32)
        cv2.line(m, p1, p2, 1.0, int(rng.choice([1, 1, 2])), cv2.LINE_AA)
        v = rng.uniform(0, 60)
        img[:] = img * (1 - m[..., None]) + v * m[..., None]


def text(img: np.ndarray, rng: Rng) -> None:
    """Random lines of lettering in OpenCV's Hershey fonts."""
    h, w = img.shape[:2]
    fonts = [
        cv2.FONT_HERSHEY_SIMPLEX,
        cv2.FONT_HERSHEY_PLAIN,
        cv2.FONT_HERSHEY_DUPLEX,
        cv2.FONT_HERSHEY_COMPLEX,
        cv2.FONT_HERSHEY_TRIPLEX,
        cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
        cv2.FONT_ITALIC | cv2.FONT_HERSHEY_SIMPLEX,
    ]
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,-"
    col = rng.uniform(0, 255, 3).astype(np.float32)
    m = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(2, 10))):
        s = "".join(rng.choice(list(letters), int(rng.integers(3, 20))))
        org = (int(rng.uniform(-20, w)), int(rng.uniform(10, h)))
        font = int(rng.choice(fonts))
        cv2.putText(m, s, org, font, rng.uniform(0.4, 2.0), 255, int(rng.integers(1, 3)), cv2.LINE_AA)
    a = (m.astype(np.float32) / 255)[..., None]
    img[:] = img * (1 - a) + col * a


def line_art(rng: Rng, h: int, w: int) -> np.ndarray:
    """A drawing: ink lines, circles and arcs (sometimes lettering) on paper, HxWx3 float32."""
    paper = rng.uniform(200, 255)
    img = np.full((h, w, 3), paper, np.float32) + rng.uniform(-15, 15, 3)
    ink = rng.uniform(0, 70, 3)
    for _ in range(int(rng.integers(5, 30))):
        kind = rng.integers(4)
        t = int(rng.integers(1, 4))
        col = tuple(float(c) for c in ink)
        if kind == 0:
            pts = np.stack([rng.uniform(0, w, 6), rng.uniform(0, h, 6)], 1).astype(np.int32)
            cv2.polylines(img, [pts], bool(rng.random() < 0.3), col, t, cv2.LINE_AA)
        elif kind == 1:
            centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            cv2.circle(img, centre, int(rng.uniform(5, h / 3)), col, t, cv2.LINE_AA)
        elif kind == 2:
            p1 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            p2 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            cv2.line(img, p1, p2, col, t, cv2.LINE_AA)
        else:
            centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            axes = (int(rng.uniform(5, w / 3)), int(rng.uniform(5, h / 3)))
            angle, start, end = rng.uniform(0, 180), rng.uniform(0, 180), rng.uniform(180, 360)
            cv2.ellipse(img, centre, axes, angle, start, end, col, t, cv2.LINE_AA)
    if rng.random() < 0.5:
        text(img, rng)
    return img


def branches(img: np.ndarray, rng: Rng) -> None:
    """Bare tree branches: forking, tapering dark (sometimes bright) lines, as jagged as a crack but part of
    the scene (softened with it). Without them the detector learnt "branching thin line = crack" and flagged
    every tree against a sky."""
    h, w = img.shape[:2]
    col = rng.uniform(0, 80, 3) if rng.random() < 0.8 else rng.uniform(190, 255, 3)
    m = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        tips = [(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, 2 * np.pi), int(rng.integers(2, 5)))]
        drawn = 0
        while tips and drawn < 40:
            x, y, a, width = tips.pop()
            pts = [(x, y)]
            for _ in range(int(rng.integers(4, 14))):
                a += rng.normal(0, 0.35)
                x, y = x + np.cos(a) * rng.uniform(3, 10), y + np.sin(a) * rng.uniform(3, 10)
                pts.append((x, y))
                if rng.random() < 0.2:
                    tips.append((x, y, a + rng.choice([-1, 1]) * rng.uniform(0.3, 1.0), max(1, width - 1)))
            cv2.polylines(m, [np.round(np.array(pts)).astype(np.int32)], False, 1.0, width, cv2.LINE_AA)
            drawn += 1
    k = rng.uniform(0.5, 1.0)
    img[:] = img * (1 - k * m[..., None]) + col * k * m[..., None]


def grid(img: np.ndarray, rng: Rng) -> None:
    """Bricks, tiles, windows, fences: a (slightly rotated) grid of thin mortar or frame lines."""
    h, w = img.shape[:2]
    m = np.zeros((2 * h, 2 * w), np.float32)
    step_y, step_x = rng.uniform(6, 30), rng.uniform(10, 50)
    width = int(rng.choice([1, 1, 2, 3]))
    for i, y in enumerate(np.arange(0, 2 * h, step_y)):
        cv2.line(m, (0, int(y)), (2 * w, int(y)), 1.0, width, cv2.LINE_AA)
        offset = step_x / 2 if (i % 2 and rng.random() < 0.7) else 0.0
        for x in np.arange(offset, 2 * w, step_x):
            cv2.line(m, (int(x), int(y)), (int(x), int(y + step_y)), 1.0, width, cv2.LINE_AA)
    rot = cv2.getRotationMatrix2D((w, h), float(rng.normal(0, 15)), 1.0)
    m = cv2.warpAffine(m, rot, (2 * w, 2 * h))[h // 2 : h // 2 + h, w // 2 : w // 2 + w]
    # Only part of the picture is a wall: a soft-edged region.
    region = np.zeros((h, w), np.float32)
    cv2.ellipse(region, (int(rng.uniform(0, w)), int(rng.uniform(0, h))), (int(w * 0.6), int(h * 0.6)),
                rng.uniform(0, 180), 0, 360, 1.0, -1)  # fmt: skip
    m = m * cv2.GaussianBlur(region, (0, 0), 5)
    col = rng.uniform(0, 255, 3)
    k = rng.uniform(0.3, 0.9)
    img[:] = img * (1 - k * m[..., None]) + col * k * m[..., None]


def clutter(img: np.ndarray, rng: Rng) -> None:
    """Many small sharp-edged shapes (leaves, pebbles, a crowd's details): crisp edges in every direction."""
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(20, 80))):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(1.5, 6)
        pts = np.stack([cx + rng.normal(0, r, 5), cy + rng.normal(0, r, 5)], 1).astype(np.int32)
        cv2.fillPoly(img, [cv2.convexHull(pts)], tuple(float(c) for c in rng.uniform(0, 255, 3)), cv2.LINE_AA)


def scene(rng: Rng, h: int, w: int) -> tuple[np.ndarray, str]:
    """(clean HxWx3 uint8 picture, `photo` or `lineart`)."""
    r = rng.random()
    if r < 0.12:
        img, kind = line_art(rng, h, w), "lineart"
    else:
        # A third of the photos are drawn at twice the size and reduced, as photos are for the web: their
        # detail (half-pixel strands, aliased edges) is as crisp as a scratch.
        zoom = 2 if rng.random() < 0.33 else 1
        img = background(rng, zoom * h, zoom * w)
        kind = "photo"
        for f in (fur, hair, whiskers, wires, text, branches, grid, clutter):
            if rng.random() < 0.3:
                f(img, rng)
        if zoom > 1:
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    # Camera softness: content is softened like the rest of the picture (scratches come later, crisp), but
    # photos downscaled for the web are nearly as crisp as a scratch, so some are left sharp or sharpened.
    sigma = rng.uniform(0.0, 1.0)
    if sigma > 0.15:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < 0.25:
        img = img + rng.uniform(0.3, 1.5) * (img - cv2.GaussianBlur(img, (0, 0), 1.0))
    if rng.random() < 0.3:  # many old photos are black and white
        img = np.repeat(img @ np.array([[0.299], [0.587], [0.114]], np.float32), 3, axis=2)
    return np.clip(np.round(img), 0, 255).astype(np.uint8), kind
