"""Operator commands against the running platform: queue depths, dead letters (list, requeue), a user's jobs."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import asyncpg
import pytest

from services.jobs import admin
from shared.settings import CommonSettings
from tests.conftest import IMAGES
from tests.platform_fixtures import Client

pytestmark = pytest.mark.e2e


async def _dead_count(settings: CommonSettings, queue: str) -> int:
    names = admin._names(settings)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(names.dead_queue(names.prefix + queue), passive=True)
        return q.declaration_result.message_count or 0


async def test_queue_depths_and_dead_letters(user: Client, platform_settings: CommonSettings) -> None:
    depths = {row["queue"].removeprefix(platform_settings.queue_prefix): row
              for row in await admin.queue_depths(platform_settings)}
    assert depths["inference.none"]["consumers"] >= 1
    assert depths["jobs.status"]["consumers"] >= 1
    marker = uuid.uuid4().hex
    connection = await aio_pika.connect(platform_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(platform_settings.exchange)
        await exchange.publish(aio_pika.Message(f"not json {marker}".encode(), type="job.requested.none",
                                                message_id=marker), routing_key="job.requested.none")
    async with asyncio.timeout(10):
        while not any(m["message_id"] == marker for m in
                      await admin.dead_letters(platform_settings, "inference.none", requeue=False, limit=500)):
            await asyncio.sleep(0.2)
    before = await _dead_count(platform_settings, "inference.none")
    assert before >= 1  # peeking left it there
    requeued = await admin.dead_letters(platform_settings, "inference.none", requeue=True, limit=500)
    assert any(m["message_id"] == marker for m in requeued)
    # Republished to the work queue: the worker refuses it again and it comes back to the dead letters.
    async with asyncio.timeout(10):
        while not any(m["message_id"] == marker for m in
                      await admin.dead_letters(platform_settings, "inference.none", requeue=False, limit=500)):
            await asyncio.sleep(0.2)


async def test_user_jobs_list_and_cancel(user: Client, platform_settings: CommonSettings) -> None:
    user_id = uuid.UUID((await (await user.request("GET", "/api/auth/me")).json())["id"])
    assert await admin.user_jobs(platform_settings, user_id, cancel=False) == []


async def _dead_letter_deliveries(settings: CommonSettings, queue: str, message_id: str) -> int:
    """How many times the broker counts this dead letter as delivered (quorum queues: x-delivery-count)."""
    names = admin._names(settings)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(names.dead_queue(names.prefix + queue), passive=True)
        held, count = [], -1
        while (message := await q.get(no_ack=False, fail=False)) is not None:
            held.append(message)
            if message.message_id == message_id:
                count = int(str((message.headers or {}).get("x-delivery-count", 0)))
        for message in held:
            await message.nack(requeue=True)
    return count


async def test_listing_dead_letters_costs_them_no_delivery(user: Client, platform_settings: CommonSettings) -> None:
    marker = uuid.uuid4().hex
    connection = await aio_pika.connect(platform_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(platform_settings.exchange)
        await exchange.publish(aio_pika.Message(f"not json {marker}".encode(), type="job.requested.none",
                                                message_id=marker), routing_key="job.requested.none")
    async with asyncio.timeout(20):
        while await _dead_letter_deliveries(platform_settings, "inference.none", marker) < 0:
            await asyncio.sleep(0.2)
    before = await _dead_letter_deliveries(platform_settings, "inference.none", marker)
    for _ in range(3):
        listed = await admin.dead_letters(platform_settings, "inference.none", requeue=False, limit=500)
        assert any(m["message_id"] == marker for m in listed)
    # Looking is free: an operator can list as often as needed without the broker dropping them.
    assert await _dead_letter_deliveries(platform_settings, "inference.none", marker) == before


async def test_requeueing_a_dead_lettered_request_starts_a_new_attempt_of_its_job(
    user: Client, platform_settings: CommonSettings
) -> None:
    """The dead-lettered request's job was marked failed: requeueing must run it again as a new attempt whose
    result is kept, not recompute the old attempt and throw the result away."""
    from shared.events import JobRequested, make_event

    r = await user.upload(IMAGES / "photo/00003.png")
    image = (await r.json())["images"][0]
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
    job = await r.json()
    async with asyncio.timeout(30):
        while job["status"] not in ("completed", "failed"):
            await asyncio.sleep(0.2)
            job = await (await user.request("GET", f"/api/jobs/{job['id']}")).json()
    conn = await asyncpg.connect(platform_settings.database_url)
    try:
        row = await conn.fetchrow("SELECT user_id, source_key FROM jobs.jobs WHERE id = $1", uuid.UUID(job["id"]))
        job_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO jobs.jobs (id, user_id, image_id, type, family, options, status, source_key, result_key) "
            "VALUES ($1, $2, $3, 'none', 'none', '{}', 'running', $4, $5)",
            job_id, row["user_id"], uuid.UUID(image["id"]), row["source_key"], f"results/{row['user_id']}/{job_id}.png")
    finally:
        await conn.close()
    request = make_event("job.requested.none", JobRequested(
        job_id=job_id, image_id=uuid.UUID(image["id"]), type="none", options={}, attempt=1,
        source_key=row["source_key"], result_key=f"results/{row['user_id']}/{job_id}.png"),
        user_id=row["user_id"], correlation_id="dead")
    names = admin._names(platform_settings)
    connection = await aio_pika.connect(platform_settings.amqp_url)
    async with connection:  # as the broker dead-letters a request that exhausted its deliveries
        channel = await connection.channel()
        dead = await channel.get_exchange(platform_settings.dead_exchange)
        await dead.publish(aio_pika.Message(request.model_dump_json().encode(), message_id=str(request.id),
                                            type=request.type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                           routing_key=names.inference_queue("none"))
    async with asyncio.timeout(20):
        while (await (await user.request("GET", f"/api/jobs/{job_id}")).json())["status"] != "failed":
            await asyncio.sleep(0.2)
    requeued = await admin.dead_letters(platform_settings, "inference.none", requeue=True, limit=500)
    assert any(m["message_id"] == str(request.id) for m in requeued)
    async with asyncio.timeout(30):
        while True:
            final = await (await user.request("GET", f"/api/jobs/{job_id}")).json()
            if final["status"] in ("completed", "failed") and final["attempt"] > 1:
                break
            await asyncio.sleep(0.2)
    assert (final["status"], final["attempt"]) == ("completed", 2)
    # Handled: it left the dead letters (a request whose job moved on would stay, refused with the reason).
    again = await admin.dead_letters(platform_settings, "inference.none", requeue=True, limit=500)
    assert all(m["message_id"] != str(request.id) for m in again)
