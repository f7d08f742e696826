"""Real weights through the tiling engine: tiled vs whole image, our port vs the ncnn backend, on crops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.models_bench import worst_band_psnr  # the measure the descriptors' pads were chosen by
from services.inference.engine import RunContext
from services.inference.imageio import decode, to_planes
from services.inference.tiling import upscale

pytestmark = pytest.mark.models


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def crop(images: Path, relative: str, box: tuple[int, int, int, int]) -> np.ndarray:
    return np.ascontiguousarray(to_planes(decode(images / relative).crop(box)).rgb)


def resized(images: Path, relative: str, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    with Image.open(images / relative) as original:
        return np.ascontiguousarray(np.asarray(original.convert("RGB").resize(size, Image.Resampling.BICUBIC)))


@pytest.mark.parametrize(
    "model_id,relative,size,tile,band_bound",
    [
        # RRDBNet's receptive field is wider than any affordable context: its pad is the measured 50-dB one, on the
        # textured photo where seams show most (pad 10, realsr-ncnn-vulkan's, leaves 39 dB in the band here).
        ("REALSR_DF2K_UP4X", "photo/OST_009.png", (192, 144), 96, 50.0),
        # UpConv7's receptive field fits its pad: tiling is exact up to float noise.
        ("WAIFU2X_PHOTO_UP2X", "photo/ADE_val_00000114.jpg", (192, 144), 64, 80.0),
        # CUNet's squeeze-excitation pools over each tile, so neighbouring tiles differ slightly everywhere, not
        # only where context is missing (more pad does not help: bench/models_bench.py --seams); the picture
        # stays above 50 dB and the band above 45 with tiles of a few hundred pixels, as the planner makes them.
        ("WAIFU2X_CUNET_UP2X_DENOISE1X", "anime/renpy_lucy_happy.png", (400, 300), 200, 45.0),
    ],
)
def test_tile_seams_against_the_untiled_run(
    images: Path, model_id: str, relative: str, size: tuple[int, int], tile: int, band_bound: float
) -> None:
    """The CPU default backend (ncnn, through the shared planner and blend): the picture at 50 dB or more
    against one untiled run, and the worst band across a seam at the model's bound."""
    from services.inference.models import descriptor, model_path
    from services.inference.ncnn_net import NcnnNetwork, upscale_numpy

    net, desc = NcnnNetwork(model_path(model_id), model_id, 2), descriptor(model_id)
    image = resized(images, relative, size)
    whole = upscale_numpy(net, desc, image, RunContext(), tile=max(size) + 64)
    tiled = upscale_numpy(net, desc, image, RunContext(), tile=tile)
    assert tiled.shape == whole.shape == (desc.scale * image.shape[0], desc.scale * image.shape[1], 3)
    assert psnr(tiled, whole) >= 50.0
    assert worst_band_psnr(tiled, whole, 16 * desc.scale) >= band_bound


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
