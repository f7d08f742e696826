"""Uploads: every edge file, size and pixel limits, mixed batches, bad multipart, nothing half-written."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from PIL import Image

from services.albums import store
from shared.settings import CommonSettings
from tests.conftest import IMAGES

from ..conftest import MAX_FILES, User

pytestmark = pytest.mark.integration

EDGE = IMAGES / "edge"
TINY = EDGE / "tiny_3x2.jpg"


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares a size in its header but carries no pixels: all that Image.open reads."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def encoded(image: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def stored_files(common_settings: CommonSettings, user: User) -> list[Path]:
    root = Path(common_settings.storage_path)
    return [p for d in ("originals", "thumbs") for p in (root / d / str(user.id)).glob("*")]


def rgba(image: Image.Image, x: int, y: int) -> tuple[int, int, int, int]:
    pixel = image.convert("RGBA").getpixel((x, y))
    assert isinstance(pixel, tuple)
    r, g, b, a = pixel
    return int(r), int(g), int(b), int(a)


async def thumbnail_of(user: User, image: dict[str, Any]) -> Image.Image:
    r = await user.call("GET", f"/api/images/{image['id']}/thumbnail")
    assert r.status == 200 and r.headers["Content-Type"] == "image/webp"
    thumb = Image.open(io.BytesIO(await r.read()))
    thumb.load()
    return thumb


@pytest.mark.parametrize(
    ("name", "size", "content_type", "animated"),
    [
        ("large_4000x3000_smooth_noise.jpg", (4000, 3000), "image/jpeg", False),
        ("exif_orientation6.jpg", (48, 64), "image/jpeg", False),
        ("cmyk.jpg", (64, 48), "image/jpeg", False),
        ("palette_transparent.png", (48, 48), "image/png", False),
        ("tiny_1x1.png", (1, 1), "image/png", False),
        ("tiny_3x2.jpg", (3, 2), "image/jpeg", False),
        ("animated_3frames.gif", (40, 30), "image/gif", True),
    ],
)
async def test_accepted_edge_files(
    user: User, name: str, size: tuple[int, int], content_type: str, animated: bool
) -> None:
    image = (await user.upload_ok([EDGE / name]))[0]
    assert (image["width"], image["height"]) == size and image["content_type"] == content_type
    thumb = await thumbnail_of(user, image)
    assert max(thumb.size) <= 512
    # Displayed orientation and aspect carried into the thumbnail.
    assert (thumb.width >= thumb.height) == (size[0] >= size[1])
    if name == "exif_orientation6.jpg":
        # The red top-left marker of the stored pixels is at the top-right once turned 90° clockwise.
        red, green, blue, _ = rgba(thumb, thumb.width - 3, 2)
        assert red > 150 and green < 100 and blue < 100
    if name == "palette_transparent.png":
        assert thumb.mode == "RGBA" and rgba(thumb, 24, 2)[3] == 0
    if name == "cmyk.jpg":
        assert thumb.mode == "RGB"
    r = await user.call("GET", f"/api/images/{image['id']}/original")
    assert await r.read() == (EDGE / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("fake.png", 415, "unsupported_format"),
        ("truncated.jpg", 422, "corrupt_image"),
        ("bomb_30000x30000.png", 422, "too_many_pixels"),
    ],
)
async def test_refused_edge_files(
    common_settings: CommonSettings, user: User, name: str, status: int, code: str
) -> None:
    started = time.monotonic()
    r = await user.upload([EDGE / name], content_type="image/png")
    assert time.monotonic() - started < 2.0
    assert r.status == status
    error = (await r.json())["error"]
    assert error["code"] == code and name in error["message"]
    assert stored_files(common_settings, user) == []
    assert (await (await user.call("GET", "/api/images")).json())["items"] == []


async def test_real_format_wins_over_name_and_type(user: User) -> None:
    png_named_jpg = ("photo.jpg", (EDGE / "tiny_1x1.png").read_bytes())
    jpeg_named_gif = ("anim.gif", TINY.read_bytes())
    r = await user.upload([png_named_jpg, jpeg_named_gif], content_type="image/gif")
    images = (await r.json())["images"]
    assert [i["content_type"] for i in images] == ["image/png", "image/jpeg"]
    assert [i["storage_key"].rsplit(".", 1)[1] for i in images] == ["png", "jpg"]
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    r = await user.upload([("picture.jpg", svg)], content_type="image/jpeg")
    assert r.status == 415


async def test_other_formats_and_modes(user: User) -> None:
    gradient = Image.linear_gradient("L").resize((64, 32))
    sixteen_bit = Image.new("I;16", (40, 20))
    sixteen_bit.putdata([40000] * 800)
    files = [
        ("a.webp", encoded(gradient.convert("RGB"), "WEBP")),
        ("a.bmp", encoded(gradient.convert("RGB"), "BMP")),
        ("a.tiff", encoded(gradient, "TIFF")),
        ("la.png", encoded(gradient.convert("LA"), "PNG")),
        ("grey16.png", encoded(sixteen_bit, "PNG")),
    ]
    images = await user.upload_ok(files)
    types = [i["content_type"] for i in images]
    assert types == ["image/webp", "image/bmp", "image/tiff", "image/png", "image/png"]
    thumb = await thumbnail_of(user, images[4])
    # 16-bit 40000/65535 is scaled to ~156 of 255, not clipped to white.
    grey = thumb.convert("L").getpixel((5, 5))
    assert isinstance(grey, int) and 140 < grey < 170


@pytest.mark.parametrize(("width", "height"), [(10_000, 5_001), (20_000, 10_000)])
async def test_too_many_pixels_refused_from_the_header(user: User, width: int, height: int) -> None:
    # 50.01 Mpixel passes Pillow's own check; 200 Mpixel trips its DecompressionBombWarning.
    started = time.monotonic()
    r = await user.upload([("huge.png", png_header(width, height))])
    assert time.monotonic() - started < 1.0
    assert r.status == 422 and (await r.json())["error"]["code"] == "too_many_pixels"


async def test_empty_and_oversized_files(user: User) -> None:
    r = await user.upload([("empty.jpg", b"")])
    assert r.status == 422 and (await r.json())["error"]["code"] == "empty_file"
    # 50 MB + 1 byte that starts like a real JPEG: refused by its size, without being kept.
    big = TINY.read_bytes() + b"\0" * (50 * 1024 * 1024 + 1 - TINY.stat().st_size)
    r = await user.upload([("big.jpg", big)])
    assert r.status == 413 and (await r.json())["error"]["code"] == "too_large"
    # Between two good files, the big one is listed as refused and the others are stored.
    r = await user.upload([TINY, ("big.jpg", big), EDGE / "tiny_1x1.png"])
    assert r.status == 201
    body = await r.json()
    assert [i["filename"] for i in body["images"]] == ["tiny_3x2.jpg", "tiny_1x1.png"]
    assert [(x["filename"], x["error"]["code"]) for x in body["rejected"]] == [("big.jpg", "too_large")]
    assert (await user.call("GET", "/api/albums")).status == 200  # still up


async def test_mixed_upload(user: User) -> None:
    album = await user.album()
    files: list[Path | tuple[str, bytes]] = [
        TINY, EDGE / "fake.png", EDGE / "truncated.jpg", ("empty", b""), EDGE / "cmyk.jpg"
    ]
    r = await user.upload(files, album_id=album["id"])
    assert r.status == 201
    body = await r.json()
    assert [i["filename"] for i in body["images"]] == ["tiny_3x2.jpg", "cmyk.jpg"]
    assert all(i["album_id"] == album["id"] for i in body["images"])
    assert [(x["filename"], x["error"]["code"]) for x in body["rejected"]] == [
        ("fake.png", "unsupported_format"), ("truncated.jpg", "corrupt_image"), ("empty", "empty_file"),
    ]
    assert all(x["error"]["message"] for x in body["rejected"])
    # All refused: the first reason that is not the size.
    r = await user.upload([EDGE / "truncated.jpg", EDGE / "fake.png"])
    assert r.status == 422 and (await r.json())["error"]["code"] == "corrupt_image"


async def test_bad_requests(common_settings: CommonSettings, user: User) -> None:
    r = await user.call("POST", "/api/images", json={"file": "x"})
    assert r.status == 415
    no_boundary = {"Content-Type": "multipart/form-data"}
    r = await user.call("POST", "/api/images", data=b"--x--\r\n", headers=no_boundary)
    assert r.status == 400
    # Cut short: no closing boundary.
    cut_short = b'--bb\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    cut_short += TINY.read_bytes()
    r = await user.call("POST", "/api/images", data=cut_short,
                        headers={"Content-Type": "multipart/form-data; boundary=bb"})
    assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_multipart"
    r = await user.upload_raw([])
    assert r.status == 422 and (await r.json())["error"]["code"] == "no_files"
    r = await user.upload_raw([("file", 'filename="a.jpg"', TINY.read_bytes()), ("comment", "", b"hello")])
    assert r.status == 422 and (await r.json())["error"]["code"] == "invalid"
    r = await user.upload([TINY] * (MAX_FILES + 1))
    assert r.status == 413 and (await r.json())["error"]["code"] == "too_many_files"
    r = await user.upload([TINY], album_id="not-an-id")
    assert r.status == 404
    file_part = ("file", 'filename="a.jpg"', TINY.read_bytes())
    r = await user.upload_raw([("album_id", "", b"x" * 1000), file_part])
    assert r.status == 404
    # A file part without a filename is still a file; an empty album_id is no album.
    r = await user.upload_raw([("album_id", "", b""), ("file", "", TINY.read_bytes())])
    assert r.status == 201 and (await r.json())["images"][0]["filename"] == "image.jpg"
    assert len(stored_files(common_settings, user)) == 2


async def test_album_id_after_the_files(user: User) -> None:
    album = await user.album()
    file_part = ("file", 'filename="a.jpg"', TINY.read_bytes())
    r = await user.upload_raw([file_part, ("album_id", "", album["id"].encode())])
    assert r.status == 201 and (await r.json())["images"][0]["album_id"] == album["id"]


async def test_database_failure_leaves_nothing(
    common_settings: CommonSettings, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store.insert_image
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise asyncpg.PostgresConnectionError("connection lost")
        return await real(*args, **kwargs)

    monkeypatch.setattr(store, "insert_image", flaky)
    r = await user.upload([TINY, TINY])
    assert r.status == 503 and (await r.json())["error"]["code"] == "unavailable"
    assert stored_files(common_settings, user) == []
    assert (await (await user.call("GET", "/api/images")).json())["items"] == []
    monkeypatch.setattr(store, "insert_image", real)
    assert len(await user.upload_ok([TINY])) == 1
