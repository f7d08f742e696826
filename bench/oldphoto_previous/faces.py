"""Optional face-region care (`face_enhance`): faces get a gentler denoise and a little more sharpening.

Why: non-local means tuned for a whole photo flattens skin into wax and softens eyes and mouths, the parts a
viewer looks at first. Without a face generator (BOPB's is unobtainable) the honest help is to treat face
regions differently, not to invent them.

Detector: OpenCV 5's headless wheel no longer bundles the Haar cascades (`cv2.data.haarcascades` is an empty
folder), so this uses dlib's HOG frontal-face detector, which is built into dlib (no model file). dlib is
optional: without it `detect_faces` finds nothing and `face_enhance` leaves the picture as the rest of the
pipeline made it (`faces_supported()` says which).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from . import cleanup

DETECT_MAX_SIDE = 800
"""Detection runs on a copy at most this large: HOG with one upsampling step costs grow with area."""


def _detector() -> Any | None:
    try:
        import dlib
    except ImportError:
        return None
    return dlib.get_frontal_face_detector()


_DETECTOR: Any | None = None


def faces_supported() -> bool:
    """Whether a face detector is installed (dlib)."""
    global _DETECTOR
    if _DETECTOR is None:
        _DETECTOR = _detector()
    return _DETECTOR is not None


def detect_faces(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes (x0, y0, x1, y1) in picture pixels; empty without dlib."""
    if not faces_supported():
        return []
    h, w = rgb.shape[:2]
    f = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    boxes = []
    for r in _DETECTOR(grey, 1):  # type: ignore[misc]
        x0, y0 = max(0, int(r.left() / f)), max(0, int(r.top() / f))
        x1, y1 = min(w, int(r.right() / f)), min(h, int(r.bottom() / f))
        if x1 > x0 and y1 > y0:
            boxes.append((x0, y0, x1, y1))
    return boxes


def face_mask(shape: tuple[int, int], boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """HxW float32 0…1: a feathered ellipse over each face (HOG boxes are tight; the ellipse takes the hair
    line and chin too), so the two treatments blend without a visible edge."""
    mask = np.zeros(shape, np.float32)
    for x0, y0, x1, y1 in boxes:
        one = np.zeros(shape, np.float32)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * (y1 - y0)
        axes = (max(1, round(0.7 * (x1 - x0))), max(1, round(0.85 * (y1 - y0))))
        cv2.ellipse(one, (round(cx), round(cy)), axes, 0, 0, 360, 1.0, -1)
        mask = np.maximum(mask, cv2.GaussianBlur(one, (0, 0), max(2.0, (x1 - x0) / 6)))
    return mask


def care(
    before_denoise: np.ndarray,
    denoised: np.ndarray,
    sigma: float,
    grey: bool,
    boxes: list[tuple[int, int, int, int]],
    strength: float = 0.55,
    sharpen_amount: float = 0.6,
) -> np.ndarray:
    """Blend a gentler-denoised, sharper version of each face region into the whole-picture result."""
    if not boxes:
        return denoised
    out = denoised.astype(np.float32)
    for box in boxes:
        x0, y0, x1, y1 = box
        # Work on a padded crop: denoising the whole picture again would double the stage's cost.
        pad = (x1 - x0) // 2
        cx0, cy0 = max(0, x0 - pad), max(0, y0 - pad)
        cx1, cy1 = min(out.shape[1], x1 + pad), min(out.shape[0], y1 + pad)
        crop = before_denoise[cy0:cy1, cx0:cx1]
        gentle = cleanup.sharpen(cleanup.denoise(crop, sigma, strength, grey), sharpen_amount)
        m = face_mask((cy1 - cy0, cx1 - cx0), [(x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0)])[..., None]
        region = out[cy0:cy1, cx0:cx1]
        out[cy0:cy1, cx0:cx1] = region * (1 - m) + gentle.astype(np.float32) * m
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
