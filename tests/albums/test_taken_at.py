"""When a photo was taken: read from its EXIF at upload, shown on every image answer, null when unknown."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.conftest import IMAGES

from .conftest import User

pytestmark = pytest.mark.integration

EXIF_IFD, DATE_TIME_ORIGINAL, DATE_TIME_DIGITIZED, DATE_TIME = 0x8769, 0x9003, 0x9004, 0x0132


def jpeg(dates: dict[tuple[int | None, int], str]) -> bytes:
    """A small JPEG whose EXIF holds `dates` ({(ifd or None for IFD0, tag): value})."""
    exif = Image.Exif()
    for (ifd, tag), value in dates.items():
        (exif.get_ifd(ifd) if ifd is not None else exif)[tag] = value
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (120, 90, 60)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


async def taken_at(user: User, data: bytes, name: str = "photo.jpg") -> Any:
    [image] = await user.upload_ok([(name, data)])
    fetched = await (await user.call("GET", f"/api/images/{image['id']}")).json()
    assert fetched["taken_at"] == image["taken_at"]
    return image["taken_at"]


async def test_the_original_date_is_read_from_exif(user: User) -> None:
    data = jpeg({(EXIF_IFD, DATE_TIME_ORIGINAL): "2019:05:04 14:03:07",
                 (EXIF_IFD, DATE_TIME_DIGITIZED): "2020:01:01 00:00:00", (None, DATE_TIME): "2021:02:02 10:00:00"})
    assert await taken_at(user, data) == "2019-05-04T14:03:07"  # the moment of the shot, not of a later edit


async def test_other_dates_stand_in_when_the_original_is_missing(user: User) -> None:
    assert await taken_at(user, jpeg({(EXIF_IFD, DATE_TIME_DIGITIZED): "1998:12:24 18:30:00"})) == "1998-12-24T18:30:00"
    assert await taken_at(user, jpeg({(None, DATE_TIME): "1975:07:14 09:15:00"})) == "1975-07-14T09:15:00"


@pytest.mark.parametrize("value", ["0000:00:00 00:00:00", "    :  :     :  :  ", "yesterday", "2019:13:45 25:61:00",
                                   "1066:10:14 09:00:00"])
async def test_a_blank_or_impossible_date_is_no_date(user: User, value: str) -> None:
    assert await taken_at(user, jpeg({(EXIF_IFD, DATE_TIME_ORIGINAL): value})) is None


async def test_pictures_without_exif_have_no_date(user: User) -> None:
    assert await taken_at(user, (IMAGES / "edge" / "tiny_1x1.png").read_bytes(), "tiny.png") is None
    listed = await (await user.call("GET", "/api/images?limit=50")).json()
    assert all("taken_at" in item for item in listed["items"])
