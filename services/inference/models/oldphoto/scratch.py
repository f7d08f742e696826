"""Scratch detection (classical, or the trained `scratch_net`) and inpainting of what was found.

The classical detector: morphological top-hat (thin bright lines) and black-hat (thin dark lines) with an
ellipse wider than a scratch; each is averaged along 16 line orientations, and the best orientation minus
the median one is the "line-ness" (texture answers in every direction, a line in one). That is normalised by
the local texture level, thresholded with hysteresis, and only long, thin connected components are kept.
It is the fallback when the net's weights are missing and the baseline the benchmark compares the net with.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ...engine import RunContext
from . import scratch_net


@dataclass(frozen=True)
class ClassicalParams:
    """Tuning of the classical detector (benchmarked grid: bench/oldphoto_bench.py --sweep-classical)."""

    kernel: int = 7
    """Top-hat/black-hat ellipse: wider than the widest scratch expected."""
    line_length: int = 21
    """Length of the oriented averaging line: longer rejects more texture, misses curved scratches."""
    orientations: int = 16
    high: float = 3.0
    """Hysteresis thresholds on the texture-normalised line-ness."""
    low: float = 1.8
    min_length_px: int = 20
    max_width_px: float = 4.0


@lru_cache(maxsize=8)
def _line_kernels(length: int, count: int) -> tuple[np.ndarray, ...]:
    """Normalised one-pixel line kernels at `count` orientations over 180°."""
    c = (length - 1) / 2
    kernels = []
    for i in range(count):
        th = np.pi * i / count
        k = np.zeros((length, length), np.float32)
        p1 = (round(c - np.cos(th) * c), round(c - np.sin(th) * c))
        p2 = (round(c + np.cos(th) * c), round(c + np.sin(th) * c))
        cv2.line(k, p1, p2, 1.0, 1)
        kernels.append(k / k.sum())
    return tuple(kernels)


def _line_ness(residue: np.ndarray, p: ClassicalParams) -> np.ndarray:
    responses = np.stack([cv2.filter2D(residue, -1, k) for k in _line_kernels(p.line_length, p.orientations)])
    median = np.median(responses, axis=0)
    texture = cv2.blur(median, (31, 31))
    return (responses.max(axis=0) - median) / (texture + 5.0)


def _long_thin(strength: np.ndarray, p: ClassicalParams) -> np.ndarray:
    """Hysteresis threshold; keep components at least `min_length_px` long and at most `max_width_px` wide."""
    weak = (strength > p.low).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[strength > p.high])] = True
    keep[0] = False
    for i in np.flatnonzero(keep):
        x, y, w, h, area = stats[i]
        if max(w, h) < p.min_length_px:
            keep[i] = False
            continue
        pts = np.column_stack(np.nonzero(labels[y : y + h, x : x + w] == i)).astype(np.float32)
        length = max(cv2.minAreaRect(pts)[1])
        keep[i] = length >= p.min_length_px and area / max(length, 1.0) <= p.max_width_px
    return keep[labels]


def detect_classical(rgb: np.ndarray, params: ClassicalParams = ClassicalParams()) -> np.ndarray:
    """HxW bool scratch mask of an HxWx3 uint8 RGB picture, without any learned weights."""
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (params.kernel, params.kernel))
    mask = np.zeros(g.shape, bool)
    for residue in (
        g - cv2.morphologyEx(g, cv2.MORPH_OPEN, se),
        cv2.morphologyEx(g, cv2.MORPH_CLOSE, se) - g,
    ):
        mask |= _long_thin(_line_ness(residue, params), params)
    return mask


def detect(
    rgb: np.ndarray, weights_dir: Path, method: str = "auto", ctx: RunContext | None = None
) -> tuple[np.ndarray, str]:
    """(HxW bool mask, method used). `auto` uses the trained net when its weights are in `weights_dir`."""
    if method == "auto":
        method = "net" if scratch_net.available(weights_dir) else "classical"
    if method == "net":
        return scratch_net.to_mask(scratch_net.probability(rgb, weights_dir, ctx)), method
    if method == "classical":
        return detect_classical(rgb), method
    raise ValueError(f"unknown scratch detector {method!r}")


def spare_faces(mask: np.ndarray, boxes: list[tuple[int, int, int, int]], grow: float = 0.15) -> np.ndarray:
    """Drop the mask's components that lie wholly inside a face box (grown by `grow` of its size).

    Eyes, lashes, nostrils and the line between the lips are thin dark strokes: both detectors call them
    scratches, and inpainting them wipes the face out (seen on the real scratched photos). A crack that
    crosses a face runs on beyond the box and is kept whole.
    """
    if not boxes or not mask.any():
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    drop = np.zeros(n, bool)
    for x0, y0, x1, y1 in boxes:
        gx, gy = grow * (x1 - x0), grow * (y1 - y0)
        inside = (
            (stats[:, 0] >= x0 - gx)
            & (stats[:, 1] >= y0 - gy)
            & (stats[:, 0] + stats[:, 2] <= x1 + gx)
            & (stats[:, 1] + stats[:, 3] <= y1 + gy)
        )
        drop |= inside
    drop[0] = True  # background
    return mask & ~drop[labels]


def inpaint(rgb: np.ndarray, mask: np.ndarray, grow: int = 1, radius: int = 3) -> np.ndarray:
    """Fill the masked pixels from their surroundings (OpenCV's Telea method).

    The mask grows by `grow` pixels first: blur and JPEG spread a scratch's edge beyond the pixels that
    carry it, and a half-filled edge leaves a visible ghost line.
    """
    if not mask.any():
        return rgb.copy()
    m: np.ndarray = mask.astype(np.uint8) * 255
    if grow > 0:
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return cv2.inpaint(np.ascontiguousarray(rgb), m, radius, cv2.INPAINT_TELEA)
