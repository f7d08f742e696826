"""Waifu2x CUNet (x2, x1 denoise) and UpConv7 (anime, photo): every shipped model against ncnn's runtime on a
96² crop, and the size requirements of their descriptors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from services.inference import models
from tests.inference.models import reference

pytestmark = pytest.mark.models

CASES = [(m, reference.PHOTO if "_PHOTO_" in m else reference.ART) for m in models.model_ids("waifu2x")]


@pytest.fixture(scope="module", autouse=True)
def _threads() -> Iterator[None]:
    yield from reference.two_threads()


@pytest.mark.parametrize(("model_id", "image"), CASES, ids=[c[0] for c in CASES])
def test_port_matches_ncnn(model_id: str, image: tuple[str, int, int]) -> None:
    reference.assert_port_matches_ncnn(model_id, image, 96)


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
