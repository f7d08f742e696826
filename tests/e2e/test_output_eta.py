"""Results people keep, through the gateway: the output format asked for (or `auto`), the download's name and
media type, EXIF and ICC kept, JPEG refusing alpha unless flattened, and `eta_seconds` on the job and on the
socket's job.progress."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import aio_pika
import asyncpg
import numpy as np
import pytest
from PIL import Image, ImageCms

from services.jobs import eta
from shared.events import EventType, JobStatus, make_event
from shared.settings import CommonSettings
from tests.platform_fixtures import Client, wait_for

pytestmark = pytest.mark.e2e

SRGB = bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
DATE = "2018:06:01 12:34:56"


def _photo_jpeg() -> bytes:
    y, x = np.mgrid[0:48, 0:64]
    pixels = np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: the result is upright, 48 wide and 64 high
    exif[0x0132] = DATE
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92, exif=exif, icc_profile=SRGB)
    return out.getvalue()


def _alpha_png() -> bytes:
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (32, 1))
    out = io.BytesIO()
    Image.fromarray(rgba).save(out, "PNG")
    return out.getvalue()


async def _upload(user: Client, name: str, data: bytes) -> dict[str, Any]:
    r = await user.upload((name, data))
    assert r.status == 201, await r.text()
    return dict((await r.json())["images"][0])


async def _run(user: Client, image_id: str, **body: Any) -> dict[str, Any]:
    r = await user.request("POST", "/api/jobs", json={"image_id": image_id, "type": "none", **body})
    assert r.status == 202, await r.text()
    job = dict(await r.json())
    async with asyncio.timeout(60):
        while job["status"] not in ("completed", "failed", "cancelled"):
            await asyncio.sleep(0.1)
            job = dict(await (await user.request("GET", f"/api/jobs/{job['id']}")).json())
    return job


@pytest.mark.parametrize(("output", "media", "ext"), [
    ({"format": "webp", "quality": 80}, "image/webp", "webp"),
    ({"format": "png"}, "image/png", "png"),
    ({"format": "jpeg", "quality": 70}, "image/jpeg", "jpg"),
    (None, "image/jpeg", "jpg"),  # auto: a JPEG original gives JPEG q95
])
async def test_result_format_name_and_metadata(user: Client, output: dict[str, Any] | None, media: str,
                                               ext: str) -> None:
    image = await _upload(user, "garden-2019.jpg", _photo_jpeg())
    job = await _run(user, image["id"], **({"output": output} if output else {}))
    assert job["status"] == "completed", job
    assert job["output"]["result_format"] == {"jpg": "jpeg"}.get(ext, ext) and job["eta_seconds"] is None
    r = await user.request("GET", f"/api/jobs/{job['id']}/result")
    assert r.status == 200 and r.headers["Content-Type"] == media
    disposition = r.headers["Content-Disposition"]
    assert f'filename="garden-2019_none.{ext}"' in disposition
    assert f"filename*=UTF-8''garden-2019_none.{ext}" in disposition
    result = Image.open(io.BytesIO(await r.read()))
    assert result.size == (48, 64)
    assert result.getexif().get(0x0132) == DATE and result.getexif().get(0x0112, 1) == 1
    assert result.info.get("icc_profile") == SRGB


async def test_auto_keeps_png_for_alpha_and_jpeg_refuses_it(user: Client) -> None:
    image = await _upload(user, "sprite.png", _alpha_png())
    job = await _run(user, image["id"], output={"format": "auto"})
    r = await user.request("GET", f"/api/jobs/{job['id']}/result")
    assert r.headers["Content-Type"] == "image/png" and 'sprite_none.png' in r.headers["Content-Disposition"]
    assert Image.open(io.BytesIO(await r.read())).mode == "RGBA"
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none",
                                                      "output": {"format": "jpeg"}})
    assert r.status == 422
    error = (await r.json())["error"]
    assert error["code"] == "alpha_not_supported" and "flatten" in error["message"]
    job = await _run(user, image["id"], output={"format": "jpeg", "flatten": True})
    assert job["status"] == "completed" and job["output"] == {"format": "jpeg", "flatten": True,
                                                              "result_format": "jpeg"}
    r = await user.request("GET", f"/api/jobs/{job['id']}/result")
    flat = Image.open(io.BytesIO(await r.read()))
    pixel = flat.getpixel((0, 16))
    assert flat.mode == "RGB" and isinstance(pixel, tuple) and pixel[1] > 200  # transparent laid on white


async def test_bad_output_is_refused(user: Client) -> None:
    image = await _upload(user, "a.jpg", _photo_jpeg())
    for output in ({"format": "gif"}, {"quality": 0}, {"quality": 101}, {"quality": "high"}, {"quality": True},
                   {"format": "png", "colour": "red"}, {"flatten": "yes"}, "png", [1]):
        r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none", "output": output})
        assert r.status == 422, output
        assert (await r.json())["error"]["code"] == "invalid_output"


async def test_eta_on_the_job_and_the_socket(user: Client, platform_settings: CommonSettings) -> None:
    """The jobs service records the worker's estimate and the notifier forwards it (the worker's side is in
    tests/inference/test_eta.py)."""
    user_id = uuid.UUID((await (await user.request("GET", "/api/auth/me")).json())["id"])
    job_id, image_id = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(platform_settings.database_url)
    try:
        # A job a worker is running (no request is published, so no real worker takes it).
        await conn.execute(
            "INSERT INTO jobs.jobs (id, user_id, image_id, type, family, options, status, source_key, result_key) "
            "VALUES ($1, $2, $3, 'sr', 'realsr', '{}', 'running', 'x', 'x')", job_id, user_id, image_id)
    finally:
        await conn.close()
    ws = await user.socket()
    event = make_event(EventType.JOB_PROGRESS, JobStatus(job_id=job_id, image_id=image_id, attempt=1,
                                                         status="running", progress=0.25, eta_seconds=93.5),
                       user_id=user_id, correlation_id="eta")
    connection = await aio_pika.connect(platform_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(platform_settings.exchange)
        await exchange.publish(aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.id)),
                               routing_key=EventType.JOB_PROGRESS)
    [message] = await wait_for(ws, str(job_id), {"job.progress"})
    assert message["eta_seconds"] == 93.5 and message["progress"] == 0.25
    job = await (await user.request("GET", f"/api/jobs/{job_id}")).json()
    assert job["eta_seconds"] == 93.5
    await ws.close()
    await user.request("POST", f"/api/jobs/{job_id}/cancel")
    job = await (await user.request("GET", f"/api/jobs/{job_id}")).json()
    assert job["status"] == "cancelled" and job["eta_seconds"] is None


async def test_queued_jobs_estimate_from_their_place_in_the_line(user: Client,
                                                                  platform_settings: CommonSettings) -> None:
    """Held jobs (not yet released to a worker) are estimated from the owner's jobs ahead of them and how long
    recent jobs of the type took; with no history there is nothing to say."""
    user_id = uuid.UUID((await (await user.request("GET", "/api/auth/me")).json())["id"])
    kind = "restore_scratch"  # a type no other test of this run completes
    queued = [uuid.uuid4() for _ in range(6)]
    conn = await asyncpg.connect(platform_settings.database_url)
    try:
        for job_id in queued:  # marked released (so fair share leaves them be) but no request is published
            await conn.execute(
                "INSERT INTO jobs.jobs (id, user_id, image_id, type, family, options, status, source_key, "
                "result_key, requested_at, released_at) VALUES ($1, $2, $3, $4, 'bopb', '{}', 'queued', 'x', 'x', "
                "clock_timestamp(), clock_timestamp())", job_id, user_id, uuid.uuid4(), kind)
        # Other tests of this run may have completed jobs of the type: only with none is there nothing to go by.
        history = await conn.fetchval("SELECT count(*) FROM jobs.jobs WHERE type = $1 AND status = 'completed' "
                                      "AND started_at IS NOT NULL", kind)
        first = await (await user.request("GET", f"/api/jobs/{queued[0]}")).json()
        assert first["status"] == "queued"
        if history == 0:
            assert first["eta_seconds"] is None  # nothing to go by yet
        # Finished jobs of the type (anyone's), enough to fill the recent window: 50 s is their median.
        for seconds in (40, 60, *[50] * eta.RECENT):
            await conn.execute(
                "INSERT INTO jobs.jobs (id, user_id, image_id, type, family, options, status, source_key, "
                "result_key, started_at, finished_at) VALUES ($1, $2, $3, $4, 'bopb', '{}', 'completed', 'x', "
                "'x', clock_timestamp() - make_interval(secs => $5), clock_timestamp())",
                uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), kind, float(seconds))
        estimates = [(await (await user.request("GET", f"/api/jobs/{j}")).json())["eta_seconds"] for j in queued]
        assert estimates[0] == 50.0  # first in line: one job's time
        assert estimates == sorted(estimates) and estimates[-1] > estimates[0]  # further back, longer
        listed = await (await user.request("GET", "/api/jobs?status=queued&limit=200")).json()
        assert {i["id"]: i["eta_seconds"] for i in listed["items"]}[str(queued[-1])] == estimates[-1]
    finally:
        await conn.execute("DELETE FROM jobs.jobs WHERE id = ANY($1::uuid[])", queued)
        await conn.close()


async def test_idempotency_key_covers_the_output(user: Client) -> None:
    image = await _upload(user, "a.jpg", _photo_jpeg())
    body = {"image_id": image["id"], "type": "none", "output": {"format": "webp", "quality": 70}}
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await (await user.request("POST", "/api/jobs", json=body, headers=key)).json()
    again = await user.request("POST", "/api/jobs", json=body, headers=key)
    assert again.status == 202 and (await again.json())["id"] == first["id"]
    other = await user.request("POST", "/api/jobs", json={**body, "output": {"format": "png"}}, headers=key)
    assert other.status == 409 and (await other.json())["error"]["code"] == "idempotency_conflict"
