"""The jobs service's reading of `output` and `batch`, and the download name it gives results."""

from __future__ import annotations

import uuid

import pytest

from services.jobs.output import content_disposition, download_name, parse_batch, parse_output
from shared.http import ApiError


def test_output_defaults_and_aliases() -> None:
    assert parse_output(None) == {"format": "auto"}
    assert parse_output({"format": "jpg", "quality": 80}) == {"format": "jpeg", "quality": 80}
    assert parse_output({"format": "webp", "flatten": False}) == {"format": "webp"}


@pytest.mark.parametrize("bad", [{"format": "tiff"}, {"quality": 0}, {"quality": 100.5}, {"flatten": 1}, "png"])
def test_bad_output(bad: object) -> None:
    with pytest.raises(ApiError) as caught:
        parse_output(bad)
    assert caught.value.status == 422


def test_batch() -> None:
    batch_id = uuid.uuid4()
    assert parse_batch({"id": str(batch_id), "size": 12}) is not None
    assert parse_batch(None) is None
    with pytest.raises(ApiError):
        parse_batch({"id": str(batch_id), "size": 10_001})


def test_download_name() -> None:
    key = "results/u/j.webp"
    assert download_name("IMG_0042.JPG", "sr", key) == "IMG_0042_sr.webp"
    assert download_name("archive.tar.gz", "none", key) == "archive.tar_none.webp"
    assert download_name(".hidden", "none", key) == ".hidden_none.webp"
    assert download_name('a"b;c\\d.png', "restore", key) == "a_b_c_d_restore.webp"
    assert download_name(None, "sr2d", key) == "image_sr2d.webp"
    header = content_disposition("Größe 1_sr.jpg")
    assert 'filename="Gr__e 1_sr.jpg"' in header and "filename*=UTF-8''Gr%C3%B6%C3%9Fe%201_sr.jpg" in header
