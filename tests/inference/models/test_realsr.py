"""RealSR DF2K x4 (RRDBNet): our port against ncnn's runtime, and the ncnn backend's split run against ncnn's
whole run (the upsampling tail in pieces must not change the output)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.inference import models
from services.inference.ncnn_backend import NcnnRunner, UpsamplingTail, upsampling_tail
from tests.inference.helpers import load_crop
from tests.inference.models import reference

pytestmark = pytest.mark.models
MODEL_ID = "REALSR_DF2K_UP4X"


@pytest.fixture(scope="module", autouse=True)
def _threads() -> Iterator[None]:
    yield from reference.two_threads()


def test_port_matches_ncnn() -> None:
    # RRDBNet costs ~1 s per 64² run on two idle cores: the crop stays small.
    reference.assert_port_matches_ncnn(MODEL_ID, reference.PHOTO, 48)


def test_the_upsampling_tail_is_found_in_the_graph() -> None:
    runner = NcnnRunner.for_model(MODEL_ID)
    # Interp ×2, conv, Interp ×2, three convs: 0.5 + 0.75 trunk pixels of reach, plus one for safety.
    assert upsampling_tail(models.model_path(MODEL_ID), runner.output_blob) == UpsamplingTail("1878", 4, 3)


def test_the_split_run_gives_ncnns_whole_output() -> None:
    """Pieces of 16 trunk pixels (several seams, a ragged last piece) against one whole extract."""
    pytest.importorskip("ncnn")
    runner = NcnnRunner.for_model(MODEL_ID, threads=2)
    tail = upsampling_tail(models.model_path(MODEL_ID), runner.output_blob)
    assert tail is not None
    x = load_crop(*reference.PHOTO, 36, 44)
    whole = runner.run(x)
    split = runner.run_split(x, tail, side=16)
    assert split.shape == whole.shape == (3, 144, 176)
    assert np.abs(split - whole).max() <= 1e-4  # measured 4.6e-6: float reordering only


def test_graphs_that_are_not_a_local_tail_are_run_whole(tmp_path: Path) -> None:
    """Bilinear upsampling or a wider convolution after the first Interp: no split (it would change pixels
    or need an unknown margin); CUNet and UpConv7 have no Interp at all."""
    for model_id in ("WAIFU2X_CUNET_UP2X", "WAIFU2X_PHOTO_UP2X"):
        assert upsampling_tail(models.model_path(model_id), "Eltwise4") is None
    head = "7767517\n4 4\nInput in 0 1 data\nConvolution c0 1 1 data f 0=8 1=3 4=1 5=1 6=216\n"
    cases = {
        "Interp up 1 1 f u 0=2 1=2.0 2=2.0\nConvolution c1 1 1 u output 0=3 1=3 4=1 5=1 6=216\n": None,
        "Interp up 1 1 f u 0=1 1=2.0 2=2.0\nConvolution c1 1 1 u output 0=3 1=3 3=2 4=1 5=1 6=216\n": None,
        "Interp up 1 1 f u 0=1 1=2.0 2=2.0\nConvolution c1 1 1 u output 0=3 1=5 4=2 5=1 6=600\n":
            UpsamplingTail("f", 2, 2),  # a 5×5 at 2×: one trunk pixel of reach, plus one
    }
    for body, expected in cases.items():
        path = tmp_path / "net.param"
        path.write_text(head + body)
        assert upsampling_tail(path, "output") == expected
