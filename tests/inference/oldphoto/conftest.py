"""Small synthetic old-photo cases for the old-photo engine's tests (kept small: the suite must stay fast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.inference.models.oldphoto.synthetic import Damaged, damage, load_clean

PHOTOS = (Path(__file__).resolve().parents[3] / ".." / "shared" / "images" / "photo").resolve()

CASE_PHOTOS = ("ADE_val_00000114.jpg", "children-alpha.png")
"""Two contrasting photos (an indoor scene; people outdoors), used at 256 px so each case runs in < 1 s."""
CASE_SEED = 424_242
"""Damage seed of the tests: disjoint from the benchmark's (10 000…) and the scratch net's (900 000…)."""


def clean_crop(name: str, side: int = 256) -> np.ndarray:
    path = PHOTOS / name
    if not path.is_file():
        pytest.skip(f"shared photo not found: {path}")
    return load_clean(path, side)


@pytest.fixture(scope="session", params=CASE_PHOTOS)
def case(request: pytest.FixtureRequest) -> Damaged:
    """One damaged photo with its clean original and its true scratch mask."""
    return damage(clean_crop(request.param), CASE_SEED)
