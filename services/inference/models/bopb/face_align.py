"""Face detection, alignment and warp-back of the official BOPB face stage (`Face_Detection/*_dlib*.py`).

dlib's HOG frontal detector (no upsampling, as upstream) and 68-point landmarks give five points (eye centres,
nose tip, mouth corners); a similarity transform maps them onto a fixed template scaled by 1.3 in a 256² crop
(512² under `--HR`). After enhancement each face is colour-matched to its crop by per-channel histogram
matching, warped back (bicubic) and blended with an eroded, blurred mask.

Upstream warps with scikit-image; here OpenCV does the same sampling (inverse map, pixel centres at integer
coordinates, constant 0 outside). Its interpolation kernels differ slightly (fixed-point bilinear, cubic
a=-0.75), so pixels may differ by a level or so; no checkpoint is involved in this stage.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

TEMPLATE_POINTS = (
    np.array([196.0, 226.0, 316.0, 226.0, 256.0, 286.0, 220.0, 360.4, 292.0, 360.4], np.float32).reshape(5, 2)
    / 256.0
    - 1.0
)
"""Five-point face template in [-1, 1] (left eye, right eye, nose, mouth left, mouth right)."""
FACE_SCALE = 1.3
"""`target_face_scale` upstream: how much context around the template the crop keeps."""


class FaceStageUnavailable(RuntimeError):
    """dlib or the 68-point landmark model cannot be found."""


def landmark_model_path(weights_dir: Path | None = None) -> Path:
    """`shape_predictor_68_face_landmarks.dat`: beside the official layout if present, else from the
    `face-recognition-models` package (located without importing it: its `__init__` needs pkg_resources)."""
    if weights_dir is not None:
        local = weights_dir / "Face_Detection" / "shape_predictor_68_face_landmarks.dat"
        if local.is_file():
            return local
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceStageUnavailable("face-recognition-models is not installed (68-point landmark model)")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path.is_file():
        raise FaceStageUnavailable(f"landmark model missing: {path}")
    return path


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (3×3) mapping src to dst: scikit-image's `SimilarityTransform.
    estimate`, i.e. Umeyama (1991) with scale."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    num, dim = src.shape
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_d, dst_d = src - src_mean, dst - dst_mean
    a = dst_d.T @ src_d / num
    d = np.ones(dim)
    if np.linalg.det(a) < 0:
        d[dim - 1] = -1
    t = np.eye(dim + 1)
    u, s, v = np.linalg.svd(a)
    rank = np.linalg.matrix_rank(a)
    if rank == 0:
        return np.full_like(t, np.nan)
    if rank == dim - 1 and np.linalg.det(u) * np.linalg.det(v) <= 0:
        d2 = d.copy()
        d2[dim - 1] = -1
        t[:dim, :dim] = u @ np.diag(d2) @ v
    elif rank == dim - 1:
        t[:dim, :dim] = u @ v
    else:
        t[:dim, :dim] = u @ np.diag(d) @ v
    scale = 1.0 / src_d.var(axis=0).sum() * (s @ d)
    t[:dim, dim] = dst_mean - scale * (t[:dim, :dim] @ src_mean.T)
    t[:dim, :dim] *= scale
    return t


def five_points(shape: Any) -> np.ndarray:
    """Upstream `search`: eye centres (int-truncated means of the eye corners), nose tip, mouth corners."""

    def p(i: int) -> tuple[int, int]:
        part = shape.part(i)
        return int(part.x), int(part.y)

    (x1, y1), (x2, y2), (x3, y3), (x4, y4) = p(36), p(39), p(42), p(45)
    return np.array(
        [
            [int((x1 + x2) / 2), int((y1 + y2) / 2)],
            [int((x3 + x4) / 2), int((y3 + y4) / 2)],
            p(30),
            p(48),
            p(54),
        ]
    )


def crop_transform(points: np.ndarray, crop_size: int) -> np.ndarray:
    """3×3 matrix mapping crop coordinates to picture coordinates (`compute_transformation_matrix`)."""
    target = (TEMPLATE_POINTS * FACE_SCALE + 1) / 2 * float(crop_size)
    return umeyama(target, points)


def warp(
    image: np.ndarray, crop_to_src: np.ndarray, shape: tuple[int, int], interpolation: int
) -> np.ndarray:
    """skimage-style `warp`: output pixel (x, y) samples `image` at `crop_to_src @ (x, y, 1)`; 0 outside.
    Returns float32 in the input's value range."""
    h, w = shape
    return cv2.warpAffine(
        image.astype(np.float32),
        crop_to_src[:2].astype(np.float64),
        (w, h),
        flags=interpolation | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0.0, 0.0, 0.0, 0.0),
    )


@dataclass(frozen=True)
class AlignedFace:
    """One detected face: its aligned crop (uint8, as upstream saves it) and the crop→picture transform."""

    crop: np.ndarray
    transform: np.ndarray


class FaceAligner:
    """dlib detector + landmark predictor, created once (loading the 68-point model takes ~1 s)."""

    def __init__(self, weights_dir: Path | None = None) -> None:
        try:
            import dlib
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise FaceStageUnavailable("dlib is not installed (pip package dlib-bin)") from exc
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(landmark_model_path(weights_dir)))

    def align(self, image: np.ndarray, crop_size: int) -> list[AlignedFace]:
        """Detect every face in the H×W×3 uint8 RGB picture and cut its aligned crop_size² crop."""
        faces: list[AlignedFace] = []
        for rect in self._detector(image):
            points = five_points(self._predictor(image, rect))
            transform = crop_transform(points, crop_size)
            crop = warp(image, transform, (crop_size, crop_size), cv2.INTER_LINEAR)
            # skimage's warp (no preserve_range) works in [0, 1]; img_as_ubyte rounds to nearest.
            faces.append(AlignedFace(np.clip(np.rint(crop), 0, 255).astype(np.uint8), transform))
        return faces


def _lookup(src_cdf: np.ndarray, ref_cdf: np.ndarray) -> np.ndarray:
    table = np.zeros(256)
    value = 0
    for s in range(256):
        # First reference level whose CDF reaches the source CDF; if none, keep the previous value.
        i = int(np.searchsorted(ref_cdf, src_cdf[s], side="left"))
        if i < len(ref_cdf):
            value = i
        table[s] = value
    return table


def match_histograms(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Upstream's per-channel histogram matching of src (uint8 H×W×3) onto ref."""
    out = np.empty_like(src)
    for c in range(3):
        src_hist = np.histogram(src[:, :, c].ravel(), 256, (0, 256))[0].cumsum()
        ref_hist = np.histogram(ref[:, :, c].ravel(), 256, (0, 256))[0].cumsum()
        table = _lookup(src_hist / float(src_hist.max()), ref_hist / float(ref_hist.max()))
        out[:, :, c] = np.clip(np.rint(table[src[:, :, c]]), 0, 255).astype(np.uint8)
    return out


def blur_blend(face: np.ndarray, base: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Upstream `blur_blending_cv2`: erode the 0/1 mask (9×9, 3×), blur it (Gaussian 25×25), alpha-blend.
    Returns 0…1."""
    eroded = cv2.erode(mask.astype(np.float64) * 255.0, np.ones((9, 9), np.uint8), iterations=3)
    alpha = cv2.GaussianBlur(eroded, (25, 25), 0) / 255.0
    return np.clip((face * alpha + (1 - alpha) * base) / 255.0, 0.0, 1.0)


def paste_faces(image: np.ndarray, faces: list[AlignedFace], restored: list[np.ndarray]) -> np.ndarray:
    """Warp each restored crop (uint8) back into the picture and blend, face after face, as upstream."""
    h, w = image.shape[:2]
    blended = image.astype(np.float64)
    for face, new_crop in zip(faces, restored, strict=True):
        size = new_crop.shape[0]
        src_to_crop = np.linalg.inv(face.transform)
        # Upstream recomputes the crop here with preserve_range and truncates it to uint8.
        reference = warp(image, face.transform, (size, size), cv2.INTER_LINEAR).astype(np.uint8)
        inside = warp(np.ones_like(image), face.transform, (size, size), cv2.INTER_NEAREST)
        matched = match_histograms(new_crop, reference)
        back = warp(matched, src_to_crop, (h, w), cv2.INTER_CUBIC).astype(np.float64)
        back_mask = warp(inside, src_to_crop, (h, w), cv2.INTER_NEAREST)
        blended = blur_blend(back, blended, back_mask) * 255.0
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)
