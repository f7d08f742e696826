"""Knowing what it is given: line art and text skip the scratch stage (their lines are kept), and the
result's notes say so; photos are photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from services.inference.engine import RunContext
from services.inference.models.oldphoto import content, restore_array
from services.inference.models.oldphoto.engine import OldPhotoEngine
from services.inference.models.oldphoto.synthetic import damage, line_art

from .conftest import CASE_PHOTOS, clean_crop


def page() -> np.ndarray:
    img = np.full((240, 320, 3), 236, np.uint8)
    for i in range(7):
        cv2.putText(img, f"Dear Anna, line {i} of the letter", (8, 28 + 30 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (25, 25, 25), 1, cv2.LINE_AA)  # fmt: skip
    return img


def drawing(seed: int) -> np.ndarray:
    return np.clip(line_art(np.random.default_rng(seed), 240, 320), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", [*CASE_PHOTOS, "wolf_gray.jpg", "00003.png"])
def test_photos_are_photos_damaged_or_not(name: str) -> None:
    clean = clean_crop(name)
    assert content.classify(clean).kind == "photo"
    assert content.classify(damage(clean, 10_000).damaged).kind == "photo"


@pytest.mark.parametrize("make", [page, lambda: drawing(2), lambda: drawing(1)])
def test_line_art_and_text_are_recognised_damaged_or_not(make: object) -> None:
    img = make()  # type: ignore[operator]
    assert content.classify(img).kind == "lineart"
    assert content.classify(damage(img, 7).damaged).kind == "lineart"


def test_restore_scratch_keeps_the_lines_of_a_page_and_says_why() -> None:
    clean = page()
    d = damage(clean, 11)
    out, report = restore_array(d.damaged, True, False)
    assert report.content == "lineart" and report.scratch_fraction == 0.0
    assert any("line art" in n and "skipped" in n for n in report.notes)
    ink = clean.mean(axis=2) < 100
    # The letters stay darker than the paper (inpainting would have filled them with paper).
    assert out.mean(axis=2)[ink].mean() < out.mean(axis=2)[~ink].mean() - 60


def test_engine_result_carries_the_notes(tmp_path: Path) -> None:
    engine = OldPhotoEngine(weights_dir=tmp_path)
    result = engine.run(Image.fromarray(page()), "restore_scratch", {}, RunContext())
    assert result.engine == "renovo" and any("line art" in n for n in result.notes)
    photo = engine.run(Image.fromarray(clean_crop(CASE_PHOTOS[0], 96)), "restore_scratch", {}, RunContext())
    assert getattr(photo, "notes", ()) == ()
