"""Fixtures of the inference tests (the stand-in networks live in standins.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from torch import nn

from services.inference.descriptor import ModelDescriptor
from tests.inference.standins import IMAGES, standin_loader


@pytest.fixture
def images() -> Path:
    """The shared test images (../shared/images relative to the repository root)."""
    if not IMAGES.is_dir():
        pytest.skip(f"shared images not found at {IMAGES}")
    return IMAGES


@pytest.fixture
def loader() -> Callable[[str, str], tuple[nn.Module, ModelDescriptor]]:
    return standin_loader
