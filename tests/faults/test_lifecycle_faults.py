"""The job life cycle against real processes and outages: requests for a family no worker has run, workers that
join after a cancel, status events during a database outage. The fault platform runs only `none` workers."""

from __future__ import annotations

import asyncio
import signal

import aio_pika
import pytest

from tests.conftest import AMQP_URL
from tests.platform_fixtures import Client, wait_for

from .conftest import LARGE, FaultPlatform
from .conftest import final_state as _final
from .conftest import upload_photo as _upload

pytestmark = pytest.mark.faults

async def _depth(platform: FaultPlatform, queue: str) -> int | None:
    """Messages in one of the platform's queues; None when the queue does not exist."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        try:
            declared = await channel.declare_queue(platform.names[2] + queue, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return None
        return declared.declaration_result.message_count or 0


async def test_a_request_for_a_family_no_worker_has_run_waits_in_its_queue(
    client: Client, fault_platform: FaultPlatform
) -> None:
    """A fresh install or a new family: the request must be kept for the first worker, not confirmed by the
    broker and dropped."""
    models = {m["type"]: m for m in (await (await client.request("GET", "/api/models")).json())["items"]}
    if not models["sr2d"]["available"]:
        pytest.skip("Waifu2x is not installed here")
    image = await _upload(client)
    r = await client.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "sr2d"})
    assert r.status == 202, await r.text()
    job = await r.json()
    async with asyncio.timeout(15):
        while not await _depth(fault_platform, "inference.waifu2x"):
            await asyncio.sleep(0.2)
    assert (await (await client.request("GET", f"/api/jobs/{job['id']}")).json())["status"] == "queued"
    r = await client.request("POST", f"/api/jobs/{job['id']}/cancel")
    assert r.status == 200


async def test_a_worker_that_joins_after_a_cancel_never_computes_the_job(
    client: Client, fault_platform: FaultPlatform
) -> None:
    """KEDA starts a worker after the owner cancelled a job that was already requested: the new worker never
    heard the cancel, and must still not compute it (no result is ever written)."""
    image = await _upload(client)
    assert fault_platform.signal("inference", signal.SIGTERM, wait=60) == 0
    try:
        r = await client.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
        job = await r.json()
        async with asyncio.timeout(15):  # released to the broker, waiting there for a worker
            while not await _depth(fault_platform, "inference.none"):
                await asyncio.sleep(0.1)
        r = await client.request("POST", f"/api/jobs/{job['id']}/cancel")
        assert r.status == 200 and (await r.json())["status"] == "cancelled"
    finally:
        fault_platform.start_service("inference")
    async with asyncio.timeout(30):  # the new worker took the request and settled it
        while await _depth(fault_platform, "inference.none"):
            await asyncio.sleep(0.2)
    later = await client.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
    assert (await _final(client, (await later.json())["id"]))["status"] == "completed"
    assert not list((fault_platform.data_dir / "storage" / "results").rglob(f"{job['id']}.*"))
    assert (await _final(client, job["id"]))["status"] == "cancelled"


async def test_a_database_outage_never_dead_letters_a_status_event(
    client: Client, fault_platform: FaultPlatform
) -> None:
    """The worker completes a job while the jobs service cannot reach PostgreSQL for a few seconds: the
    completion is recorded once the database is back (same attempt), nothing is dead-lettered."""
    image = await _upload(client, LARGE)
    dead_before = await _depth(fault_platform, "renovo.dead.jobs.status") or 0
    ws = await client.socket()
    r = await client.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
    job = await r.json()
    await wait_for(ws, job["id"], {"job.started"})
    fault_platform.pg_proxy.cut()
    try:
        await asyncio.sleep(4)
    finally:
        fault_platform.pg_proxy.restore()
    final = await _final(client, job["id"], timeout=60)
    assert (final["status"], final["attempt"]) == ("completed", 1)
    assert (await _depth(fault_platform, "renovo.dead.jobs.status") or 0) == dead_before
    await ws.close()
