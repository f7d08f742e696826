"""Real-ESRGAN x4plus and x4plus-anime (RRDBNet, as RealSR): our port against ncnn's runtime on tiny crops."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.inference import models
from services.inference.ncnn_backend import NcnnRunner, upsampling_tail
from tests.inference.models import reference

pytestmark = pytest.mark.models


@pytest.fixture(scope="module", autouse=True)
def _threads() -> Iterator[None]:
    yield from reference.two_threads()


@pytest.mark.parametrize(
    ("model_id", "image"),
    [("REALESRGAN_X4PLUS_UP4X", reference.PHOTO), ("REALESRGAN_X4PLUSANIME_UP4X", reference.ART)],
)
def test_port_matches_ncnn(model_id: str, image: tuple[str, int, int]) -> None:
    reference.assert_port_matches_ncnn(model_id, image, 48)


@pytest.mark.parametrize("model_id", models.model_ids("realesrgan"))
def test_the_ncnn_backend_splits_off_the_upsampling_tail(model_id: str) -> None:
    tail = upsampling_tail(models.model_path(model_id), NcnnRunner.for_model(model_id).output_blob)
    assert tail is not None and (tail.scale, tail.margin) == (4, 3)
