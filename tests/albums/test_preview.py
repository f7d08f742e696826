"""The preview size: made after upload, served by GET /api/images/{id}/preview, made on request for images
uploaded before it existed, owner only, removed with the image."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import pytest
from PIL import Image

from services.albums.objects import preview_key
from shared.keys import STORAGE

from .conftest import User

pytestmark = pytest.mark.integration


def jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    im = Image.new("RGB", (width, height))
    # Left half red, right half blue: orientation can be checked on the result.
    im.paste((200, 20, 20), (0, 0, width // 2, height))
    im.paste((20, 20, 200), (width // 2, 0, width, height))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


async def wait_exists(storage: Any, key: str, timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.05)):
        if await storage.exists(key):
            return True
        await asyncio.sleep(0.05)
    return False


async def get_preview(user: User, image_id: str) -> Image.Image:
    r = await user.call("GET", f"/api/images/{image_id}/preview")
    assert r.status == 200, await r.text()
    assert r.headers["Content-Type"] == "image/webp"
    assert "private" in r.headers["Cache-Control"]
    return Image.open(io.BytesIO(await r.read()))


async def test_a_preview_is_made_at_upload_and_fits_1600_px(client: Any, user: User) -> None:
    [image] = await user.upload_ok([("wide.jpg", jpeg(2400, 1200))])
    storage = client.server.app[STORAGE]
    # Made after the upload answered, without anyone asking for it.
    assert await wait_exists(storage, preview_key(user.id, uuid.UUID(image["id"])))
    preview = await get_preview(user, image["id"])
    assert preview.format == "WEBP"
    assert preview.size == (1600, 800)


async def test_small_images_are_not_enlarged_and_orientation_is_applied(client: Any, user: User) -> None:
    # Stored 600x300 with "rotate 90° clockwise": shown 300x600, red on top.
    [image] = await user.upload_ok([("turned.jpg", jpeg(600, 300, orientation=6))])
    preview = await get_preview(user, image["id"])
    assert preview.size == (image["width"], image["height"]) == (300, 600)
    top = preview.convert("RGB").getpixel((150, 100))
    assert isinstance(top, tuple) and top[0] > 150 and top[2] < 100


async def test_an_image_that_fits_the_thumbnail_is_its_own_preview(client: Any, user: User) -> None:
    [image] = await user.upload_ok([("small.jpg", jpeg(300, 200))])
    r = await user.call("GET", f"/api/images/{image['id']}/thumbnail")
    thumbnail = await r.read()
    r = await user.call("GET", f"/api/images/{image['id']}/preview")
    assert r.status == 200 and r.headers["Content-Type"] == "image/webp"
    assert await r.read() == thumbnail
    await asyncio.sleep(0.2)
    assert not await client.server.app[STORAGE].exists(preview_key(user.id, uuid.UUID(image["id"])))


async def test_images_uploaded_before_previews_get_one_on_request(client: Any, user: User) -> None:
    [image] = await user.upload_ok([("old.jpg", jpeg(2000, 1500))])
    storage = client.server.app[STORAGE]
    key = preview_key(user.id, uuid.UUID(image["id"]))
    assert await wait_exists(storage, key)
    await storage.delete(key)  # as if uploaded before this existed
    # Several pages asking at once: one decode, the same answer.
    answers = await asyncio.gather(*(user.call("GET", f"/api/images/{image['id']}/preview") for _ in range(3)))
    assert [r.status for r in answers] == [200, 200, 200]
    bodies = {await r.read() for r in answers}
    assert len(bodies) == 1
    assert Image.open(io.BytesIO(bodies.pop())).size == (1600, 1200)
    assert await storage.exists(key)


async def test_only_the_owner_sees_a_preview_and_it_goes_with_the_image(client: Any, user: User, other: User) -> None:
    [image] = await user.upload_ok([("mine.jpg", jpeg(1800, 900))])
    r = await other.call("GET", f"/api/images/{image['id']}/preview")
    assert r.status == 404
    assert (await r.json())["error"]["code"] == "not_found"
    r = await user.call("GET", "/api/images/not-a-uuid/preview")
    assert r.status in (400, 404)
    assert "error" in await r.json()
    storage = client.server.app[STORAGE]
    key = preview_key(user.id, uuid.UUID(image["id"]))
    await get_preview(user, image["id"])
    assert await storage.exists(key)
    r = await user.call("DELETE", f"/api/images/{image['id']}")
    assert r.status == 204
    assert not await storage.exists(key)
    r = await user.call("GET", f"/api/images/{image['id']}/preview")
    assert r.status == 404
