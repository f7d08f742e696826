"""What the per-family model tests share: our PyTorch port against ncnn's own CPU runtime on one tiny crop.

Whole images on both sides (CUNet's SE blocks pool over the whole input, so only whole-image runs compare).
Required: ≥ 50 dB PSNR over the whole output (measured 85–120+ dB, float noise), and the descriptor's size
contract: output side = scale·(input side − 2·crop).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from services.inference import models
from services.inference.ncnn_backend import NcnnRunner
from tests.inference.helpers import load_crop, psnr

MIN_PSNR = 50.0
PHOTO = ("photo/OST_009.png", 200, 180)
ART = ("anime/renpy_eileen_happy.png", 150, 90)


def two_threads() -> Iterator[None]:
    """Module fixture body: two torch threads (as the machine has), the model cache emptied afterwards (the
    RRDBNets hold 67 MB each)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)
    models.clear_cache()


def assert_port_matches_ncnn(model_id: str, image: tuple[str, int, int], size: int) -> None:
    pytest.importorskip("ncnn")
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
