"""Images: list and paginate, read, move between albums, rename, delete, fetch original and thumbnail."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from PIL import Image

from shared.keys import STORAGE
from tests.conftest import IMAGES

from ..conftest import User

pytestmark = pytest.mark.integration

TINY = IMAGES / "edge" / "tiny_3x2.jpg"
PNG = IMAGES / "edge" / "tiny_1x1.png"
IMAGE_FIELDS = {"id", "album_id", "filename", "width", "height", "content_type", "size_bytes", "created_at", "taken_at",
                "storage_key"}


async def pages(user: User, query: str, limit: int) -> list[list[str]]:
    """Every page of /api/images?{query}, following next_cursor."""
    out: list[list[str]] = []
    cursor = ""
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        r = await user.call("GET", f"/api/images?{query}&limit={limit}{suffix}")
        assert r.status == 200, await r.text()
        body = await r.json()
        out.append([i["id"] for i in body["items"]])
        if body["next_cursor"] is None:
            return out
        cursor = body["next_cursor"]
        assert len(out) < 50


async def test_list_and_paginate(user: User, other: User) -> None:
    album = await user.album()
    loose = await user.upload_ok([TINY] * 4)
    inside = await user.upload_ok([PNG] * 3, album_id=album["id"])
    await other.upload_ok([TINY])
    newest_first = [i["id"] for i in reversed(loose + inside)]
    r = await user.call("GET", "/api/images")
    body = await r.json()
    assert [i["id"] for i in body["items"]] == newest_first and body["next_cursor"] is None
    assert set(body["items"][0]) == IMAGE_FIELDS
    assert await pages(user, "", 3) == [newest_first[:3], newest_first[3:6], newest_first[6:]]
    assert await pages(user, "", 7) == [newest_first]
    assert await pages(user, f"album_id={album['id']}", 2) == [newest_first[:2], newest_first[2:3]]
    for bad in ("limit=0", "limit=201", "limit=x", "cursor=%21%21", "cursor=bm90LWEtY3Vyc29y"):
        r = await user.call("GET", f"/api/images?{bad}")
        assert r.status == 422, bad
    r = await other.call("GET", "/api/images")
    assert len((await r.json())["items"]) == 1


async def test_get_original_thumbnail(user: User) -> None:
    # Control characters in a quoted filename are refused by aiohttp's header parser; the RFC 5987 form
    # decodes them, a path, and a quote.
    r = await user.upload_raw([("file", 'filename="bad\x01.jpg"', TINY.read_bytes())])
    assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_multipart"
    hostile = "filename*=UTF-8''..%2Fetc%5CGra%22nd%09ma%0A%01%20%201950%20%C3%A9.jpg"
    r = await user.upload_raw([("file", hostile, TINY.read_bytes())])
    assert r.status == 201, await r.text()
    image = (await r.json())["images"][0]
    assert image["filename"] == "Gra_ndma  1950 é.jpg"
    assert (image["width"], image["height"], image["content_type"]) == (3, 2, "image/jpeg")
    assert image["size_bytes"] == TINY.stat().st_size and image["album_id"] is None
    assert image["storage_key"] == f"originals/{user.id}/{image['id']}.jpg"
    r = await user.call("GET", f"/api/images/{image['id']}")
    assert r.status == 200 and await r.json() == image
    r = await user.call("GET", f"/api/images/{image['id']}/original")
    assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert await r.read() == TINY.read_bytes()
    disposition = r.headers["Content-Disposition"]
    assert disposition == (
        "inline; filename=\"Gra_ndma  1950 _.jpg\"; filename*=UTF-8''Gra_ndma%20%201950%20%C3%A9.jpg"
    )
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = await user.call("GET", f"/api/images/{image['id']}/thumbnail")
    assert r.status == 200 and r.headers["Content-Type"] == "image/webp"
    thumb = Image.open(io.BytesIO(await r.read()))
    assert thumb.format == "WEBP" and thumb.size == (3, 2)


async def test_move_between_albums_and_rename(user: User) -> None:
    a, b = await user.album("A"), await user.album("B")
    image = (await user.upload_ok([TINY], album_id=a["id"]))[0]
    assert image["album_id"] == a["id"]
    r = await user.call("PATCH", f"/api/images/{image['id']}", json={"album_id": b["id"]})
    assert r.status == 200 and (await r.json())["album_id"] == b["id"]
    assert await pages(user, f"album_id={a['id']}", 10) == [[]]
    assert await pages(user, f"album_id={b['id']}", 10) == [[image["id"]]]
    change = {"album_id": None, "filename": "../x/new.jpg"}
    r = await user.call("PATCH", f"/api/images/{image['id']}", json=change)
    body = await r.json()
    assert r.status == 200 and body["album_id"] is None and body["filename"] == "new.jpg"
    assert await pages(user, f"album_id={b['id']}", 10) == [[]]
    for bad in ({}, {"filename": ""}, {"filename": 3}, {"album_id": 3}, {"size_bytes": 1}):
        r = await user.call("PATCH", f"/api/images/{image['id']}", json=bad)
        assert r.status == 422, bad
    r = await user.call("PATCH", f"/api/images/{image['id']}", json={"album_id": str(uuid.uuid4())})
    assert r.status == 404


async def test_delete_image(client: Any, user: User) -> None:
    storage = client.server.app[STORAGE]
    image = (await user.upload_ok([TINY]))[0]
    thumb_key = f"thumbs/{user.id}/{image['id']}.webp"
    assert await storage.exists(image["storage_key"]) and await storage.exists(thumb_key)
    assert (await user.call("DELETE", f"/api/images/{image['id']}")).status == 204
    assert not await storage.exists(image["storage_key"]) and not await storage.exists(thumb_key)
    for path in ("", "/original", "/thumbnail"):
        assert (await user.call("GET", f"/api/images/{image['id']}{path}")).status == 404
    assert (await user.call("DELETE", f"/api/images/{image['id']}")).status == 404


async def test_another_users_image_is_not_found(client: Any, user: User, other: User) -> None:
    image = (await user.upload_ok([TINY]))[0]
    album = await other.album()
    for method, path, kwargs in [
        ("GET", f"/api/images/{image['id']}", {}),
        ("GET", f"/api/images/{image['id']}/original", {}),
        ("GET", f"/api/images/{image['id']}/thumbnail", {}),
        ("PATCH", f"/api/images/{image['id']}", {"json": {"filename": "mine.jpg"}}),
        ("PATCH", f"/api/images/{image['id']}", {"json": {"album_id": album["id"]}}),
        ("DELETE", f"/api/images/{image['id']}", {}),
        ("GET", "/api/images/not-a-uuid", {}),
        ("GET", "/api/images/not-a-uuid/original", {}),
        ("GET", "/api/images/not-a-uuid/thumbnail", {}),
        ("PATCH", "/api/images/not-a-uuid", {"json": {"filename": "x.jpg"}}),
        ("DELETE", "/api/images/not-a-uuid", {}),
    ]:
        r = await other.call(method, path, **kwargs)
        assert r.status == 404, (method, path)
        assert (await r.json())["error"]["code"] == "not_found"
    r = await user.call("GET", f"/api/images/{image['id']}")
    assert r.status == 200 and await r.json() == image
    assert await client.server.app[STORAGE].exists(image["storage_key"])
