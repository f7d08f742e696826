"""Steps 1-4 of the platform, through the gateway, as a new user would go (real services, nginx, broker)."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from typing import Any

import pytest
from PIL import Image

from tests.conftest import IMAGES
from tests.platform_fixtures import Client, wait_for

pytestmark = pytest.mark.e2e


async def test_journey_register_upload_enhance_notify(user: Client, other_user: Client) -> None:
    # 1. account
    r = await user.request("GET", "/api/auth/me")
    assert r.status == 200 and (await r.json())["email"] == user.email
    # 2. albums and images
    r = await user.request("POST", "/api/albums", json={"name": "Grandparents"})
    assert r.status == 201
    album = await r.json()
    r = await user.request("PATCH", f"/api/albums/{album['id']}", json={"name": "Grandparents 1950s"})
    assert r.status == 200 and (await r.json())["name"] == "Grandparents 1950s"
    r = await user.upload(IMAGES / "edge/exif_orientation6.jpg", IMAGES / "photo/00003.png",
                          album_id=album["id"])
    assert r.status == 201, await r.text()
    uploaded = (await r.json())["images"]
    assert len(uploaded) == 2
    rotated = next(i for i in uploaded if i["filename"] == "exif_orientation6.jpg")
    assert (rotated["width"], rotated["height"]) == (48, 64)
    r = await user.request("GET", f"/api/images?album_id={album['id']}")
    assert {i["id"] for i in (await r.json())["items"]} == {i["id"] for i in uploaded}
    r = await user.request("GET", f"/api/images/{rotated['id']}/thumbnail")
    assert r.status == 200 and r.headers["Content-Type"] == "image/webp"
    # 3. models and a job, requested right after the upload's answer
    r = await user.request("GET", "/api/models")
    models = {m["type"]: m for m in (await r.json())["items"]}
    assert set(models) == {"none", "sr", "restore", "restore_scratch", "sr2d"}
    assert models["none"]["available"] is True
    ws = await user.socket()
    spy = await other_user.socket()
    key = str(uuid.uuid4())
    r = await user.request("POST", "/api/jobs", json={"image_id": rotated["id"], "type": "none"},
                           headers={"Idempotency-Key": key})
    assert r.status == 202, await r.text()
    job = await r.json()
    assert job["status"] == "queued"
    r = await user.request("POST", "/api/jobs", json={"image_id": rotated["id"], "type": "none"},
                           headers={"Idempotency-Key": key})
    assert r.status == 202 and (await r.json())["id"] == job["id"]
    # 4. the worker runs it; the owner's socket hears about it, the other user's does not
    messages = await wait_for(ws, job["id"], {"job.completed", "job.failed"}, timeout=30)
    assert messages[-1]["type"] == "job.completed", messages
    assert messages[-1]["status"] == "completed"
    with pytest.raises(TimeoutError):
        await spy.receive_json(timeout=1.0)
    for _ in range(50):
        r = await user.request("GET", f"/api/jobs/{job['id']}")
        current = await r.json()
        if current["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    assert current["status"] == "completed" and current["engine"] == "identity"
    r = await user.request("GET", f"/api/jobs/{job['id']}/result")
    # output auto (the default): a JPEG original gives a JPEG result, named after the original.
    assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert 'filename="exif_orientation6_none.jpg"' in r.headers["Content-Disposition"]
    result = Image.open(io.BytesIO(await r.read()))
    assert result.size == (48, 64)  # EXIF orientation applied
    # another user sees none of it
    for path in (f"/api/jobs/{job['id']}", f"/api/jobs/{job['id']}/result", f"/api/images/{rotated['id']}",
                 f"/api/images/{rotated['id']}/original"):
        r = await other_user.request("GET", path)
        assert r.status == 404, path
    r = await other_user.request("POST", "/api/jobs", json={"image_id": rotated["id"], "type": "none"})
    assert r.status == 404
    r = await other_user.request("GET", "/api/jobs")
    assert (await r.json())["items"] == []
    await ws.close()
    await spy.close()


async def test_corrupt_upload_never_becomes_a_redelivery_loop(user: Client) -> None:
    r = await user.upload(IMAGES / "edge/fake.png")
    assert r.status in (415, 422)
    assert "error" in await r.json()


async def test_gateway_hides_internal_routes(user: Client) -> None:
    for path in ("/metrics", "/healthz", "/readyz", "/api/nothing"):
        r = await user.request("GET", path)
        assert r.status == 404, path
        assert "error" in await r.json()


async def test_correlation_id_follows_a_job_through_every_service(user: Client, platform: Any) -> None:
    r = await user.upload(IMAGES / "edge/tiny_3x2.jpg")
    image = (await r.json())["images"][0]
    ws = await user.socket()
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
    correlation_id = r.headers["X-Request-Id"]
    job = await r.json()
    await wait_for(ws, job["id"], {"job.completed"})
    await ws.close()
    await asyncio.sleep(0.5)  # let the log lines reach the files
    for service in ("jobs", "inference", "notifier"):
        lines = [json.loads(line) for line in (platform.log_dir / f"{service}.log").read_text().splitlines()
                 if job["id"] in line and line.startswith("{")]
        assert lines, f"{service} logged nothing about the job"
        assert all(line.get("correlation_id") == correlation_id for line in lines), (service, lines)
