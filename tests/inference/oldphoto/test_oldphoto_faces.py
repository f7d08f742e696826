"""Faces that improve: Real-ESRGAN on the aligned face crop, blended back with a feathered mask, within a
budget (too small and too many faces are skipped and counted)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from services.inference.engine import RunContext
from services.inference.models.oldphoto import faces, learned
from services.inference.models.oldphoto.synthetic import damage

from .conftest import CASE_SEED, clean_crop

pytestmark = pytest.mark.models


def detail(img: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F).var())


@pytest.fixture(scope="module")
def soft_face() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    if not learned.installed(faces.ESRGAN_ID):
        pytest.skip("Real-ESRGAN x4plus weights are not installed")
    img = clean_crop("children-alpha.png", 320)
    img = cv2.GaussianBlur(img, (0, 0), 1.2)
    return img, (141, 38, 177, 74)  # a face dlib finds there (one of five), at 320 px


def test_a_face_gets_sharper_and_the_rest_is_untouched(soft_face: tuple[np.ndarray, tuple[int, ...]]) -> None:
    img, box = soft_face
    out, done, skipped = faces.enhance(img, [box], RunContext(), (0.0, 1.0))  # type: ignore[list-item]
    assert (done, skipped) == (1, 0) and out.shape == img.shape
    x0, y0, x1, y1 = box
    assert detail(out[y0:y1, x0:x1]) > 1.3 * detail(img[y0:y1, x0:x1])
    # Who it is does not change: the face is close to the original at low frequencies.
    low = lambda z: cv2.GaussianBlur(z[y0:y1, x0:x1].astype(np.float32), (0, 0), 3)  # noqa: E731
    assert np.abs(low(out) - low(img)).mean() < 4.0
    far = np.ones(img.shape[:2], bool)
    far[max(0, y0 - 40) : y1 + 40, max(0, x0 - 40) : x1 + 40] = False
    assert np.array_equal(out[far], img[far])


def test_small_and_surplus_faces_are_skipped(soft_face: tuple[np.ndarray, tuple[int, ...]]) -> None:
    img, box = soft_face
    tiny = (10, 200, 10 + faces.MIN_FACE - 4, 200 + faces.MIN_FACE - 4)
    out, done, skipped = faces.enhance(img, [tiny], RunContext(), (0.0, 1.0))
    assert (done, skipped) == (0, 1) and np.array_equal(out, img)
    many = [box] * (faces.MAX_FACES_CPU + 2)
    _, done, skipped = faces.enhance(img, many, RunContext(), (0.0, 1.0))  # type: ignore[arg-type]
    assert (done, skipped) == (faces.MAX_FACES_CPU, 2)


def test_face_enhance_in_the_pipeline_changes_only_with_faces() -> None:
    from services.inference.models.oldphoto import restore_array

    d = damage(clean_crop("ADE_val_00000114.jpg", 128), CASE_SEED)
    plain, _ = restore_array(d.damaged, True, False)
    with_faces, report = restore_array(d.damaged, True, True)
    if report.faces == 0:
        assert np.array_equal(plain, with_faces)
