"""Operator commands against the running platform: queue depths, dead letters (list, requeue), a user's jobs."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import pytest

from services.jobs import admin
from shared.settings import CommonSettings
from tests.platform_fixtures import Client

pytestmark = pytest.mark.e2e


async def _dead_count(settings: CommonSettings, queue: str) -> int:
    names = admin._names(settings)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(names.dead_queue(names.prefix + queue), passive=True)
        return int(q.declaration_result.message_count)


async def test_queue_depths_and_dead_letters(user: Client, common_settings: CommonSettings) -> None:
    depths = {row["queue"].removeprefix(common_settings.queue_prefix): row
              for row in await admin.queue_depths(common_settings)}
    assert depths["inference.none"]["consumers"] >= 1
    assert depths["jobs.status"]["consumers"] >= 1
    marker = uuid.uuid4().hex
    connection = await aio_pika.connect(common_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(common_settings.exchange)
        await exchange.publish(aio_pika.Message(f"not json {marker}".encode(), type="job.requested.none",
                                                message_id=marker), routing_key="job.requested.none")
    async with asyncio.timeout(10):
        while not any(m["message_id"] == marker for m in
                      await admin.dead_letters(common_settings, "inference.none", requeue=False, limit=500)):
            await asyncio.sleep(0.2)
    before = await _dead_count(common_settings, "inference.none")
    assert before >= 1  # peeking left it there
    requeued = await admin.dead_letters(common_settings, "inference.none", requeue=True, limit=500)
    assert any(m["message_id"] == marker for m in requeued)
    # Republished to the work queue: the worker refuses it again and it comes back to the dead letters.
    async with asyncio.timeout(10):
        while not any(m["message_id"] == marker for m in
                      await admin.dead_letters(common_settings, "inference.none", requeue=False, limit=500)):
            await asyncio.sleep(0.2)


async def test_user_jobs_list_and_cancel(user: Client, common_settings: CommonSettings) -> None:
    user_id = uuid.UUID((await (await user.request("GET", "/api/auth/me")).json())["id"])
    assert await admin.user_jobs(common_settings, user_id, cancel=False) == []
