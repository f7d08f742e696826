"""Scratch detection: finds synthetic scratches, leaves clean photos alone; inpainting removes them."""

from __future__ import annotations

import numpy as np
import pytest

from services.inference.engine import RunContext
from services.inference.models.oldphoto import scratch, scratch_net
from services.inference.models.oldphoto.synthetic import Damaged
from services.inference.settings import DEFAULT_WEIGHTS_DIR

from .conftest import CASE_PHOTOS, clean_crop


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(int((a | b).sum()), 1))


# Measured IoU on the two test cases (256 px, seed 424242): net 0.844 / 0.749, classical 0.632 / 0.610.
# Each bar sits well below the lower of its two, so retraining noise does not flip the test, and above what
# a detector that marks lines everywhere (or nothing) would score. The net's bar is above the classical
# detector's measured IoU: a net that regressed to classical quality fails.
NET_MIN_IOU = 0.55
CLASSICAL_MIN_IOU = 0.45
MAX_CLEAN_FLAGGED = 0.05
"""At most 5 % of a clean photo's pixels may be called scratches (measured for the net at 256 px: 2.6 % on
the indoor scene — crisp furniture edges —, 1.0 % on the children photo; 0.8 % at most for the classical
detector; 0.49 % on average, 2.6 % at most, on the benchmark's clean photos)."""


def test_net_finds_synthetic_scratches(case: Damaged) -> None:
    mask, method = scratch.detect(case.damaged, DEFAULT_WEIGHTS_DIR, "net")
    assert method == "net"
    assert iou(mask, case.scratch_mask) > NET_MIN_IOU


def test_classical_detector_finds_synthetic_scratches(case: Damaged) -> None:
    assert iou(scratch.detect_classical(case.damaged), case.scratch_mask) > CLASSICAL_MIN_IOU


@pytest.mark.parametrize("name", CASE_PHOTOS)
@pytest.mark.parametrize("method", ["auto", "classical"])
def test_clean_photo_is_not_flagged_wholesale(name: str, method: str) -> None:
    mask, _ = scratch.detect(clean_crop(name), DEFAULT_WEIGHTS_DIR, method)
    assert mask.mean() < MAX_CLEAN_FLAGGED


def test_inpainting_brings_scratched_pixels_back_toward_the_clean_photo(case: Damaged) -> None:
    m = case.scratch_mask
    filled = scratch.inpaint(case.damaged, m)
    before = np.abs(case.damaged[m].astype(int) - case.clean[m]).mean()
    after = np.abs(filled[m].astype(int) - case.clean[m]).mean()
    assert after < 0.7 * before
    assert np.array_equal(filled[~scratch_dilated(m)], case.damaged[~scratch_dilated(m)])


def scratch_dilated(mask: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def test_tiled_probability_equals_whole_picture() -> None:
    # The shared tiled renderer with the net's context margin: tiles give what the whole picture gives.
    rgb = clean_crop("ADE_val_00000114.jpg", 160)
    whole = scratch_net.probability(rgb, DEFAULT_WEIGHTS_DIR, RunContext(tile=1024))
    tiled = scratch_net.probability(rgb, DEFAULT_WEIGHTS_DIR, RunContext(tile=64))
    np.testing.assert_allclose(tiled, whole, atol=1e-4)
    assert whole.shape == rgb.shape[:2] and whole.dtype == np.float32


def test_detection_stops_when_cancelled() -> None:
    from services.inference.engine import Cancelled

    with pytest.raises(Cancelled):
        scratch.detect(clean_crop("ADE_val_00000114.jpg", 160), DEFAULT_WEIGHTS_DIR, "net",
                       RunContext(cancelled=lambda: True))  # fmt: skip
