"""Pre-/post-processing rules and the face-alignment geometry, checked on small hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from services.inference.models.bopb import preprocess as pp
from services.inference.models.bopb.face_align import crop_transform, match_histograms, umeyama, warp


@pytest.mark.parametrize(
    ("size", "multiple", "expected"),
    [(40, 16, 32), (24, 16, 32), (75, 16, 80), (47, 4, 48), (61, 4, 60), (6, 4, 8), (10, 4, 8)],
)
def test_round_to_multiple_uses_python_round(size: int, multiple: int, expected: int) -> None:
    # Python rounds halves to even: 40/16 = 2.5 → 2, 24/16 = 1.5 → 2, 10/4 = 2.5 → 2.
    assert pp.round_to_multiple(size, multiple) == expected


def test_resize_is_skipped_when_the_size_is_already_right() -> None:
    image = Image.new("RGB", (64, 48))
    assert pp.detection_resize(image) is image
    assert pp.restoration_resize(image) is image


def test_detection_input_short_side_256() -> None:
    assert pp.detection_input(Image.new("RGB", (96, 80))).shape == (1, 1, 256, 304)
    assert pp.detection_input(Image.new("RGB", (80, 96))).shape == (1, 1, 304, 256)


def test_uniform_prediction_saves_an_all_zero_mask() -> None:
    # save_image(normalize=True) stretches min..max: an all-scratch prediction is written as all zeros.
    assert not pp.detection_mask(torch.full((1, 1, 16, 16), 5.0), (32, 32)).any()
    assert pp.save_image_uint8(torch.ones(1, 3, 4, 4), normalize=False).min() == 255


def test_hole_synthesis_whitens_scratches() -> None:
    image = np.full((4, 4, 3), 100, np.uint8)
    mask = np.zeros((4, 4), np.uint8)
    mask[1, 2] = 255
    hole = pp.hole_synthesize(image, mask)
    assert (hole[1, 2] == 255).all() and (hole[0, 0] == 100).all()
    assert pp.mask_tensor(mask).shape == (1, 1, 4, 4) and pp.mask_tensor(mask).sum() == 1


def test_umeyama_recovers_a_similarity() -> None:
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = np.array([[0, 0], [10, 0], [0, 7], [4, 9], [8, 3]], float)
    t = umeyama(src, src @ rot.T + shift)
    np.testing.assert_allclose(t[:2, :2], rot, atol=1e-9)
    np.testing.assert_allclose(t[:2, 2], shift, atol=1e-9)


def test_crop_maps_the_template_onto_the_landmarks() -> None:
    points = np.array([[120, 100], [170, 102], [146, 130], [126, 160], [166, 161]])
    t = crop_transform(points, 256)
    template = (np.array([[196, 226], [316, 226], [256, 286], [220, 360.4], [292, 360.4]]) / 256 - 1) * 1.3
    mapped = (np.c_[(template + 1) / 2 * 256, np.ones(5)] @ t.T)[:, :2]
    assert np.abs(mapped - points).max() < 6  # least squares over five points
    image = np.random.default_rng(0).integers(0, 255, (300, 300, 3)).astype(np.uint8)
    assert warp(image, t, (256, 256), 1).shape == (256, 256, 3)


def test_histogram_matching_onto_itself_is_identity() -> None:
    image = np.random.default_rng(1).integers(0, 255, (32, 32, 3)).astype(np.uint8)
    assert np.array_equal(match_histograms(image, image), image)
    dark = (image // 4).astype(np.uint8)
    assert match_histograms(dark, image).mean() > dark.mean() + 50
