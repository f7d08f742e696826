"""Hostile files through the gateway: every file of ../shared/images/edge and our own nasty ones end as a
clear 4xx (or are accepted as the harmless picture they also are) — never a 5xx — and the service stays up.
Plus a property-based fuzz of the upload decoder."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from services.albums.images import Rejected, process
from tests.conftest import IMAGES
from tests.platform_fixtures import Client

pytestmark = pytest.mark.security


def _png(width: int = 8, height: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_with_chunk(kind: bytes, data: bytes) -> bytes:
    png = _png()
    return png[:33] + _chunk(kind, data) + png[33:]  # after IHDR


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * 20_000_000)
    return out.getvalue()


def _jpeg_with_huge_exif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(out, format="JPEG")
    jpeg = out.getvalue()
    junk = b"Exif\0\0" + b"MM\0*\0\0\0\x08" + b"\xff" * 65_000
    segment = b"\xff\xe1" + struct.pack(">H", len(junk) + 2) + junk
    return jpeg[:2] + segment * 40 + jpeg[2:]  # 2.6 MB of EXIF around a 16x16 picture


HOSTILE: dict[str, bytes] = {
    "empty.png": b"",
    "zip-bomb.png": _zip_bomb(),
    "script.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>',
    "page.png": b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>",
    "polyglot-png-html.png": _png() + b"<html><script>alert(1)</script></html>",
    "polyglot-gif-js.gif": b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00;*/=alert(1);//" + b"\0" * 20,
    "ztxt-bomb.png": _png_with_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * 50_000_000, 9)),
    "iccp-bomb.png": _png_with_chunk(b"iCCP", b"icc\0\0" + zlib.compress(b"\0" * 50_000_000, 9)),
    "huge-exif.jpg": _jpeg_with_huge_exif(),
    "header-only.png": _png()[:40],
    "ELF.png": b"\x7fELF" + b"\0" * 200,
    "pdf.jpg": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
}


@pytest.mark.parametrize("path", sorted((IMAGES / "edge").iterdir()), ids=lambda p: p.name)
async def test_edge_files(path: object, user: Client) -> None:
    r = await user.upload(path)  # type: ignore[arg-type]
    assert r.status < 500, await r.text()
    body = await r.json()
    if r.status == 201:
        for image in body["images"]:
            thumb = await user.request("GET", f"/api/images/{image['id']}/thumbnail")
            assert thumb.status == 200
    else:
        assert body["error"]["code"] and body["error"]["message"]
    assert (await user.request("GET", "/api/images")).status == 200  # still up


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_files(name: str, user: Client) -> None:
    r = await user.upload((name, HOSTILE[name]))
    assert r.status < 500, (name, await r.text())
    body = await r.json()
    if r.status == 201:
        image = body["images"][0]
        # Accepted only as the real picture it also is, served as an image type, never as HTML/SVG.
        assert image["content_type"] in ("image/png", "image/jpeg", "image/gif")
        original = await user.request("GET", f"/api/images/{image['id']}/original")
        assert original.headers["Content-Type"].startswith("image/")
        assert original.headers.get("X-Content-Type-Options") == "nosniff"
    else:
        assert 400 <= r.status < 500 and body["error"]["message"]
    assert (await user.request("GET", "/api/images")).status == 200


async def test_mixed_batch_keeps_the_good_files(user: Client) -> None:
    r = await user.upload(("good.png", _png()), ("bad.svg", HOSTILE["script.svg"]), ("empty.jpg", b""))
    assert r.status == 201
    body = await r.json()
    assert [i["filename"] for i in body["images"]] == ["good.png"]
    assert sorted(x["filename"] for x in body["rejected"]) == ["bad.svg", "empty.jpg"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=4096), st.integers(min_value=0, max_value=4000), st.binary(max_size=16))
def test_decoder_fuzz(noise: bytes, cut: int, insert: bytes) -> None:
    """Random bytes and mutated real images: the decoder refuses with Rejected or accepts; nothing else."""
    base = _png(24, 16)
    mutated = base[:cut] + insert + base[cut + len(insert):] if cut < len(base) else base + noise
    for data in (noise, mutated):
        try:
            result = process(data, max_pixels=50_000_000)
        except Rejected as exc:
            assert 400 <= exc.status < 500 and exc.message
        else:
            assert result.width > 0 and result.height > 0 and result.thumbnail
