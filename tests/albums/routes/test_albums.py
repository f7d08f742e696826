"""Albums: create, list, rename, delete (with and without images), events, ownership and auth."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from shared.keys import STORAGE
from shared.settings import CommonSettings
from tests.conftest import IMAGES

from ..conftest import User

pytestmark = pytest.mark.integration

TINY = IMAGES / "edge" / "tiny_3x2.jpg"


@pytest.fixture
async def events(common_settings: CommonSettings) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A temporary queue bound to the run's exchange for every album and image event."""
    connection = await aio_pika.connect(common_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            common_settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "album.*")
        await queue.bind(exchange, "image.*")
        yield queue


async def collect(queue: aio_pika.abc.AbstractQueue, user: User, count: int, timeout: float = 5) -> list[Any]:
    """The first `count` events of `user` on the queue (other tests' events are skipped)."""
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        message = await queue.get(fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        await message.ack()
        body = json.loads(message.body)
        assert message.message_id == body["id"]
        if body["user_id"] == str(user.id):
            found.append(body)
    assert len(found) == count, found
    return found


async def test_create_list_rename(user: User, other: User) -> None:
    r = await user.call("GET", "/api/albums")
    assert r.status == 200 and await r.json() == {"items": [], "next_cursor": None}
    first = await user.album("  Summer 1962 ")
    assert first["name"] == "Summer 1962" and first["image_count"] == 0
    second = await user.album("Winter")
    await user.upload_ok([TINY, TINY], album_id=second["id"])
    r = await user.call("GET", "/api/albums")
    body = await r.json()
    assert [a["name"] for a in body["items"]] == ["Winter", "Summer 1962"] and body["next_cursor"] is None
    assert [a["image_count"] for a in body["items"]] == [2, 0]
    assert set(body["items"][0]) == {"id", "name", "image_count", "created_at"}
    r = await user.call("PATCH", f"/api/albums/{first['id']}", json={"name": "Summer 1963"})
    assert r.status == 200 and (await r.json())["name"] == "Summer 1963"
    r = await user.call("GET", f"/api/albums/{second['id']}")
    assert r.status == 200 and (await r.json())["image_count"] == 2
    # The other user sees none of it.
    r = await other.call("GET", "/api/albums")
    assert (await r.json())["items"] == []


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": 5}, {"name": "x" * 201},
                                  {"name": "ok", "colour": "red"}])
async def test_invalid_names(user: User, body: dict[str, Any]) -> None:
    r = await user.call("POST", "/api/albums", json=body)
    assert r.status == 422 and (await r.json())["error"]["code"] == "invalid"


async def test_oversized_and_broken_json(user: User) -> None:
    r = await user.call("POST", "/api/albums", data=b'{"name": "' + b"x" * 70_000 + b'"}',
                        headers={"Content-Type": "application/json"})
    assert r.status == 413 and (await r.json())["error"]["code"] == "too_large"
    r = await user.call("POST", "/api/albums", data=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_json"


async def test_delete_keeps_images(user: User, events: Any) -> None:
    album = await user.album()
    images = await user.upload_ok([TINY], album_id=album["id"])
    r = await user.call("DELETE", f"/api/albums/{album['id']}")
    assert r.status == 204
    r = await user.call("GET", f"/api/images/{images[0]['id']}")
    assert r.status == 200 and (await r.json())["album_id"] is None
    r = await user.call("GET", f"/api/images/{images[0]['id']}/original")
    assert r.status == 200
    assert (await user.call("GET", f"/api/albums/{album['id']}")).status == 404
    assert (await user.call("DELETE", f"/api/albums/{album['id']}")).status == 404
    got = {e["type"]: e for e in await collect(events, user, 3)}
    assert set(got) == {"album.created", "image.uploaded", "album.deleted"}
    assert got["album.created"]["payload"] == {"album_id": album["id"], "name": "Holidays"}
    assert got["album.deleted"]["payload"] == {"album_id": album["id"], "with_images": False}
    assert got["image.uploaded"]["payload"]["image_id"] == images[0]["id"]


async def test_delete_with_images(client: Any, user: User, events: Any) -> None:
    storage = client.server.app[STORAGE]
    album = await user.album()
    inside = await user.upload_ok([TINY, TINY], album_id=album["id"])
    outside = await user.upload_ok([TINY])
    keys = [f"originals/{user.id}/{i['id']}.jpg" for i in inside]
    keys += [f"thumbs/{user.id}/{i['id']}.webp" for i in inside]
    assert all([await storage.exists(k) for k in keys])
    r = await user.call("DELETE", f"/api/albums/{album['id']}?with_images=true")
    assert r.status == 204
    for image in inside:
        assert (await user.call("GET", f"/api/images/{image['id']}")).status == 404
    assert not any([await storage.exists(k) for k in keys])
    assert (await user.call("GET", f"/api/images/{outside[0]['id']}")).status == 200
    got = await collect(events, user, 7)
    assert sorted(e["type"] for e in got) == ["album.created", "album.deleted"] + ["image.deleted"] * 2 + [
        "image.uploaded"] * 3
    deleted = [e["payload"] for e in got if e["type"] == "image.deleted"]
    assert {p["image_id"] for p in deleted} == {i["id"] for i in inside}
    assert {p["storage_key"] for p in deleted} == {f"originals/{user.id}/{i['id']}.jpg" for i in inside}
    r = await user.call("DELETE", f"/api/albums/{uuid.uuid4()}?with_images=maybe")
    assert r.status == 422


async def test_another_users_album_is_not_found(user: User, other: User) -> None:
    album = await user.album()
    mine = await other.album("mine")
    image = (await other.upload_ok([TINY]))[0]
    for method, path, kwargs in [
        ("GET", f"/api/albums/{album['id']}", {}),
        ("PATCH", f"/api/albums/{album['id']}", {"json": {"name": "stolen"}}),
        ("DELETE", f"/api/albums/{album['id']}", {}),
        ("DELETE", f"/api/albums/{album['id']}?with_images=true", {}),
        ("GET", f"/api/images?album_id={album['id']}", {}),
        ("PATCH", f"/api/images/{image['id']}", {"json": {"album_id": album["id"]}}),
        ("GET", "/api/albums/not-a-uuid", {}),
        ("PATCH", "/api/albums/not-a-uuid", {"json": {"name": "x"}}),
        ("DELETE", "/api/albums/not-a-uuid", {}),
        ("GET", "/api/images?album_id=not-a-uuid", {}),
    ]:
        r = await other.call(method, path, **kwargs)
        assert r.status == 404, (method, path)
        assert (await r.json())["error"]["code"] == "not_found"
    r = await other.upload([TINY], album_id=album["id"])
    assert r.status == 404
    # Untouched.
    r = await user.call("GET", f"/api/albums/{album['id']}")
    assert (await r.json())["name"] == "Holidays"
    assert (await other.call("GET", f"/api/albums/{mine['id']}")).status == 200


async def test_every_route_needs_a_token(client: Any) -> None:
    some = uuid.uuid4()
    for method, path in [
        ("GET", "/api/albums"), ("POST", "/api/albums"), ("PATCH", f"/api/albums/{some}"),
        ("DELETE", f"/api/albums/{some}"), ("GET", "/api/images"), ("POST", "/api/images"),
        ("GET", f"/api/images/{some}"), ("PATCH", f"/api/images/{some}"), ("DELETE", f"/api/images/{some}"),
        ("GET", f"/api/images/{some}/original"), ("GET", f"/api/images/{some}/thumbnail"),
    ]:
        for headers in ({}, {"Authorization": "Bearer nonsense"}):
            r = await client.request(method, path, headers=headers)
            assert r.status == 401, (method, path)
            assert (await r.json())["error"]["code"] == "unauthorized"


async def test_health_and_metrics(client: Any, user: User) -> None:
    assert (await client.get("/healthz")).status == 200
    r = await client.get("/readyz")
    assert r.status == 200 and set((await r.json())["checks"]) == {"database", "broker", "storage"}
    await user.upload([TINY, ("fake.png", b"not an image")])
    text = await (await client.get("/metrics")).text()
    assert 'renovo_uploads_total{outcome="accepted"}' in text
    assert 'renovo_uploads_total{outcome="unsupported_format"}' in text
    assert "renovo_upload_bytes_bucket" in text
