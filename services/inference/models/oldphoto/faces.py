"""Faces (`face_enhance`): each detected face is restored at higher resolution and put back in place.

Without a face generator (BOPB's is unobtainable) the restorer is Real-ESRGAN x4plus, run on the face's
crop, aligned upright by its eyes (dlib's 68-point landmarks, when the model is installed), at a small input
size so its 4x output carries the detail back at (or above) the face's own size; the result is warped back
and blended in with a feathered ellipse. Real-ESRGAN is a general restorer, not a face generator: it
sharpens eyes, lashes and skin texture and removes grain, and it cannot change who the person is (it sees
every pixel of the face and invents no features). Faces smaller than `MIN_FACE` px are left as they are
(too little to restore), and on a CPU only the `MAX_FACES_CPU` largest are done (each costs seconds); the
report counts both.

Detector: OpenCV 5's headless wheel no longer bundles the Haar cascades (`cv2.data.haarcascades` is an empty
folder), so this uses dlib's HOG frontal-face detector, which is built into dlib (no model file). dlib is
optional: without it `detect_faces` finds nothing and `face_enhance` leaves the picture as the rest of the
pipeline made it (`faces_supported()` says which).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ...engine import RunContext
from . import cleanup

MIN_FACE = 24
"""Faces narrower than this (px) are not enhanced."""
MAX_FACES_CPU = 4
MAX_FACES_CUDA = 32
INPUT_CPU = 96
"""Side of the aligned crop Real-ESRGAN sees on a CPU (~2 s a face on 2 cores); 4x that comes out."""
INPUT_CUDA = 192
MARGIN = 1.7
"""Aligned crop side over the face box's larger side (forehead, hair line and chin included)."""
BLEND = 0.85
"""Weight of the restored face at the centre of the feathered ellipse."""
ESRGAN_ID = "REALESRGAN_X4PLUS_UP4X"

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
    detector = _DETECTOR
    assert detector is not None  # faces_supported() loaded it
    for r in detector(grey, 1):
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


_PREDICTOR: Any = None
"""dlib's landmark predictor once loaded; False when it cannot be (no dlib, no model)."""


def _landmarks(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """68×2 landmarks of the face in `box`, or None without dlib or the landmark model."""
    global _PREDICTOR
    if _PREDICTOR is None:
        try:
            import dlib

            from ..bopb.face_align import landmark_model_path

            _PREDICTOR = dlib.shape_predictor(str(landmark_model_path()))
        except Exception:  # optional: the face is then restored unrotated
            _PREDICTOR = False
    if _PREDICTOR is False:
        return None
    import dlib

    x0, y0, x1, y1 = box
    shape = _PREDICTOR(np.ascontiguousarray(rgb), dlib.rectangle(x0, y0, x1, y1))
    return np.array([(p.x, p.y) for p in shape.parts()], np.float32)


def _alignment(rgb: np.ndarray, box: tuple[int, int, int, int], side: int) -> np.ndarray:
    """2×3 affine map from picture pixels to an upright `side`×`side` crop of the face."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    angle = 0.0
    marks = _landmarks(rgb, box)
    if marks is not None:
        left, right = marks[36:42].mean(axis=0), marks[42:48].mean(axis=0)
        angle = float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))
        cx, cy = float((left[0] + right[0]) / 2), float((left[1] + right[1]) / 2 + 0.15 * (y1 - y0))
    scale = side / (MARGIN * max(x1 - x0, y1 - y0))
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m[:, 2] += np.array([side / 2 - cx, side / 2 - cy])
    return m


def enhance(
    rgb: np.ndarray, boxes: list[tuple[int, int, int, int]], ctx: RunContext, span: tuple[float, float]
) -> tuple[np.ndarray, int, int]:
    """Restore each face with Real-ESRGAN; returns (picture, faces enhanced, faces skipped)."""
    from ...tiling import upscale
    from .. import load_model

    cuda = ctx.device.startswith("cuda")
    big = sorted((b for b in boxes if b[2] - b[0] >= MIN_FACE), key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    todo = big[: MAX_FACES_CUDA if cuda else MAX_FACES_CPU]
    skipped = len(boxes) - len(todo)
    if not todo:
        return rgb, 0, skipped
    net, desc = load_model(ESRGAN_ID, ctx.device)
    h, w = rgb.shape[:2]
    out = rgb.astype(np.float32)
    for i, box in enumerate(todo):
        ctx.check_cancelled()
        face_side = MARGIN * max(box[2] - box[0], box[3] - box[1])
        side = int(min(INPUT_CUDA if cuda else INPUT_CPU, max(32, round(face_side))))
        m = _alignment(rgb, box, side)
        crop = cv2.warpAffine(rgb, m, (side, side), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
        step = (span[1] - span[0]) / len(todo)
        sr = upscale(net, desc, crop, ctx, span=(span[0] + i * step, span[0] + (i + 1) * step))
        # Back into the picture at the face's own scale: the 4x output is area-averaged to that size (where
        # it is larger) and mapped through the same alignment, scaled.
        r = int(min(4 * side, max(side, round(face_side))))
        sr = cv2.resize(sr, (r, r), interpolation=cv2.INTER_AREA)
        mr = m * (r / side)
        disc = np.zeros((r, r), np.float32)
        cv2.ellipse(disc, (r // 2, r // 2), (round(0.36 * r), round(0.44 * r)), 0, 0, 360, 1.0, -1)
        ellipse = cv2.GaussianBlur(disc, (0, 0), 0.06 * r)
        # Only the face's neighbourhood is warped back (not the whole picture).
        inv = cv2.invertAffineTransform(mr)
        corners = np.array([[0, 0], [r, 0], [0, r], [r, r]], np.float64)
        pts = corners @ inv[:, :2].T + inv[:, 2]
        rx0, ry0 = max(0, int(np.floor(pts[:, 0].min()))), max(0, int(np.floor(pts[:, 1].min())))
        rx1, ry1 = min(w, int(np.ceil(pts[:, 0].max()))), min(h, int(np.ceil(pts[:, 1].max())))
        if rx1 <= rx0 or ry1 <= ry0:
            continue
        local = mr.copy()
        local[:, 2] += local[:, :2] @ np.array([rx0, ry0], np.float64)
        size = (rx1 - rx0, ry1 - ry0)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        back = cv2.warpAffine(sr, local, size, flags=flags, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        mask = cv2.warpAffine(ellipse, local, size, flags=flags, borderValue=0.0)[..., None] * BLEND
        region = out[ry0:ry1, rx0:rx1]
        out[ry0:ry1, rx0:rx1] = region * (1 - mask) + back * mask
    return np.clip(np.round(out), 0, 255).astype(np.uint8), len(todo), skipped
