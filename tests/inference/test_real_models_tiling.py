"""Real weights through the tiling engine: tiled vs whole image, our port vs the ncnn backend, on crops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.inference.engine import RunContext
from services.inference.imageio import decode, to_planes
from services.inference.tiling import upscale

pytestmark = pytest.mark.models


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def crop(images: Path, relative: str, box: tuple[int, int, int, int]) -> np.ndarray:
    return np.ascontiguousarray(to_planes(decode(images / relative).crop(box)).rgb)


@pytest.mark.parametrize(
    "model_id,relative,box,tile,bound",
    [
        # RRDBNet's receptive field exceeds any tile pad: tiles differ slightly, the blend keeps it invisible.
        ("REALSR_DF2K_UP4X", "photo/OST_009.png", (200, 300, 248, 340), 24, 40.0),
        # CUNet's squeeze-excitation pools over the tile (MODELS.md: 52–62 dB for 80–112 px tiles).
        ("WAIFU2X_CUNET_UP2X_DENOISE1X", "anime/renpy_bg_uni_320x180_q25.jpg", (100, 60, 164, 116), 32, 40.0),
        # UpConv7's receptive field fits its pad: tiling is exact up to float noise.
        ("WAIFU2X_PHOTO_UP2X", "photo/ADE_val_00000114.jpg", (64, 64, 128, 120), 32, 60.0),
    ],
)
def test_tiled_matches_whole_image(
    images: Path, model_id: str, relative: str, box: tuple[int, int, int, int], tile: int, bound: float
) -> None:
    from services.inference.models import load_model

    net, desc = load_model(model_id)
    image = crop(images, relative, box)
    whole = upscale(net, desc, image, RunContext(), tile=512)
    tiled = upscale(net, desc, image, RunContext(), tile=tile)
    assert tiled.shape == whole.shape == (desc.scale * image.shape[0], desc.scale * image.shape[1], 3)
    assert psnr(tiled, whole) >= bound


@pytest.mark.parametrize("model_id", ["WAIFU2X_CUNET_UP2X", "WAIFU2X_PHOTO_UP2X_DENOISE2X"])
def test_ncnn_backend_agrees_with_our_port(images: Path, model_id: str) -> None:
    pytest.importorskip("ncnn")
    from services.inference.models import load_model, model_path
    from services.inference.ncnn_net import NcnnNetwork

    net, desc = load_model(model_id)
    image = crop(images, "anime/renpy_sylvie_blue_normal.png", (120, 200, 168, 240))
    ours = upscale(net, desc, image, RunContext(), tile=32)
    theirs = upscale(NcnnNetwork(model_path(model_id), model_id), desc, image, RunContext(), tile=32)
    assert psnr(ours, theirs) >= 50.0


@pytest.mark.parametrize("name", ["tiny_1x1.png", "tiny_3x2.jpg"])
def test_tiny_pictures_through_every_kind_of_model(images: Path, name: str) -> None:
    """Pictures far below the networks' minimum sizes are padded up to them and cropped back."""
    from services.inference.registry import Registry

    registry = Registry(families=("realsr", "waifu2x"))
    image = decode(images / "edge" / name)
    cases: list[tuple[str, dict[str, Any]]] = [("realsr", {"scale": 3})] + [
        ("waifu2x", {"noise": noise, "scale": scale, "style": style})
        for noise, scale, style in [(2, 1, "art"), (-1, 2, "art"), (0, 4, "photo"), (1, 1, "photo")]
    ]
    for family, options in cases:
        out = registry.engine(family).run(image, "x", options, RunContext()).image
        assert out.size == (image.width * options["scale"], image.height * options["scale"])
