"""Our PyTorch ports against ncnn's own CPU runtime, on small crops of real images, every shipped model.

Whole images (no tiling) on both sides: CUNet's SE blocks pool over the whole input, so only whole-image
runs are comparable. Required: ≥ 50 dB PSNR over the whole output (measured: 120+ dB, i.e. float noise).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from services.inference import models
from services.inference.ncnn_backend import NcnnRunner
from tests.inference.helpers import load_crop, psnr

pytestmark = pytest.mark.models

MIN_PSNR = 50.0
PHOTO = ("photo/OST_009.png", 200, 180)
ART = ("anime/renpy_eileen_happy.png", 150, 90)
# RRDBNet costs ~1 s per 64² run on two idle cores, so its crops stay small; the others run 96².
CASES = [(m, PHOTO, 48) for m in ("REALSR_DF2K_UP4X", "REALESRGAN_X4PLUS_UP4X")]
CASES += [("REALESRGAN_X4PLUSANIME_UP4X", ART, 48)]
CASES += [(m, ART, 96) for m in models.model_ids("waifu2x") if "_PHOTO_" not in m]
CASES += [(m, PHOTO, 96) for m in models.model_ids("waifu2x") if "_PHOTO_" in m]


@pytest.fixture(scope="module", autouse=True)
def two_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)
    models.clear_cache()  # the RRDBNets hold 67 MB each


@pytest.mark.parametrize(("model_id", "image", "size"), CASES, ids=[c[0] for c in CASES])
def test_port_matches_ncnn(model_id: str, image: tuple[str, int, int], size: int) -> None:
    net, desc = models.load_model(model_id)
    x = load_crop(image[0], image[1], image[2], size)
    with torch.inference_mode():
        ours = net(torch.from_numpy(x)[None])[0].numpy()
    reference = NcnnRunner.for_model(model_id, threads=2).run(x)

    side = desc.scale * (size - 2 * desc.crop)
    assert ours.shape == reference.shape == (3, side, side), "descriptor contract: scale·(H − 2·crop)"
    quality = psnr(ours, reference)
    print(f"{model_id}: {quality:.1f} dB, max {np.abs(ours - reference).max() * 255:.4f}/255")
    assert quality >= MIN_PSNR


@pytest.mark.parametrize(
    "model_id", ["WAIFU2X_CUNET_UP2X", "WAIFU2X_CUNET_UP1X_DENOISE0X", "WAIFU2X_ANIME_UP2X"]
)
def test_size_requirements_are_enforced(model_id: str) -> None:
    """The smallest allowed size runs; a smaller one or a side off the multiple is refused, not cropped."""
    net, desc = models.load_model(model_id)
    with torch.inference_mode():
        out = net(torch.zeros(1, 3, desc.min_size, desc.min_size))
        assert out.shape[-1] == desc.scale * (desc.min_size - 2 * desc.crop) >= 1
        with pytest.raises(ValueError):
            net(torch.zeros(1, 3, desc.min_size - desc.size_multiple, desc.min_size))
        if desc.size_multiple > 1:
            with pytest.raises(ValueError):
                net(torch.zeros(1, 3, desc.min_size + 1, desc.min_size))


def test_models_are_loaded_once_and_frozen() -> None:
    first, desc = models.load_model("WAIFU2X_PHOTO_UP2X")
    second, _ = models.load_model("WAIFU2X_PHOTO_UP2X")
    assert first is second and not first.training
    assert not any(p.requires_grad for p in first.parameters())
    assert desc.id == "WAIFU2X_PHOTO_UP2X" and desc.pad >= desc.crop


def test_every_registered_model_has_a_descriptor_that_fits() -> None:
    for model_id in models.model_ids():
        desc = models.descriptor(model_id)
        assert desc.id == model_id and desc.pad >= desc.crop
        assert desc.min_size % desc.size_multiple == 0
        assert models.model_path(model_id).with_suffix(".bin").is_file()
    with pytest.raises(KeyError):
        models.load_model("NO_SUCH_MODEL")
