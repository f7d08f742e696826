"""Faults with the real processes: a worker killed mid-job, the broker and the database away for a while,
graceful shutdown. Every job that was accepted ends exactly once; the services recover by themselves."""

from __future__ import annotations

import asyncio
import io
import signal
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from PIL import Image

from tests.platform_fixtures import Client, wait_for

from .conftest import LARGE, FaultPlatform
from .conftest import final_state as _final
from .conftest import upload_photo as _upload

pytestmark = pytest.mark.faults

async def _job(client: Client, image_id: str) -> dict[str, Any]:
    r = await client.request("POST", "/api/jobs", json={"image_id": image_id, "type": "none"})
    assert r.status == 202, await r.text()
    return await r.json()


async def _result_size(client: Client, job_id: str) -> tuple[int, int]:
    r = await client.request("GET", f"/api/jobs/{job_id}/result")
    assert r.status == 200
    return Image.open(io.BytesIO(await r.read())).size


async def test_worker_killed_mid_job_is_redelivered_and_completes_once(
    client: Client, fault_platform: FaultPlatform
) -> None:
    image = await _upload(client, LARGE)
    ws = await client.socket()
    job = await _job(client, image["id"])
    await wait_for(ws, job["id"], {"job.started"})
    fault_platform.signal("inference", signal.SIGKILL, wait=10)
    r = await client.request("GET", f"/api/jobs/{job['id']}")
    assert (await r.json())["status"] in ("queued", "running")
    fault_platform.start_service("inference")
    final = await _final(client, job["id"])
    assert final["status"] == "completed"
    assert await _result_size(client, job["id"]) == (4000, 3000)
    await asyncio.sleep(2)  # nothing changes it afterwards (no second completion applied)
    again = await (await client.request("GET", f"/api/jobs/{job['id']}")).json()
    assert again["status"] == "completed" and again["updated_at"] == final["updated_at"]
    await ws.close()


async def test_stale_running_job_is_detected_and_requeued(client: Client, fault_platform: FaultPlatform) -> None:
    image = await _upload(client, LARGE)
    ws = await client.socket()
    job = await _job(client, image["id"])
    await wait_for(ws, job["id"], {"job.started"})
    fault_platform.signal("inference", signal.SIGKILL, wait=10)
    # No worker for longer than the stale limit (12 s): the jobs service requeues it as a new attempt.
    async with asyncio.timeout(40):
        while (await (await client.request("GET", f"/api/jobs/{job['id']}")).json())["attempt"] < 2:
            await asyncio.sleep(0.5)
    fault_platform.start_service("inference")
    final = await _final(client, job["id"])
    assert final["status"] == "completed" and final["attempt"] == 2
    await ws.close()


async def test_broker_outage_loses_nothing(client: Client, fault_platform: FaultPlatform) -> None:
    image = await _upload(client)
    since = datetime.now(UTC).isoformat()
    before = [await _job(client, image["id"]) for _ in range(3)]
    fault_platform.amqp_proxy.cut()
    try:
        # Requests are still accepted while the broker is away: the outbox keeps the events.
        during = [await _job(client, image["id"]) for _ in range(3)]
        async with aiohttp.ClientSession() as s:
            r = await s.get(f"http://127.0.0.1:{fault_platform.ports['jobs']}/readyz")
            body = await r.json()
        assert r.status == 503 and "unavailable" in body["checks"]["broker"]
        await asyncio.sleep(3)
    finally:
        fault_platform.amqp_proxy.restore()
    after = [await _job(client, image["id"]) for _ in range(3)]
    jobs = before + during + after
    finals = await asyncio.gather(*(_final(client, j["id"]) for j in jobs))
    assert [f["status"] for f in finals] == ["completed"] * len(jobs)
    # A client whose socket missed events catches up with updated_since.
    r = await client.request("GET", "/api/jobs", params={"updated_since": since, "limit": "200"})
    caught = {j["id"]: j["status"] for j in (await r.json())["items"]}
    assert all(caught.get(j["id"]) == "completed" for j in jobs)


async def test_database_outage_answers_503_and_recovers(client: Client, fault_platform: FaultPlatform) -> None:
    image = await _upload(client)
    job = await _job(client, image["id"])
    fault_platform.pg_proxy.cut()
    try:
        start = time.monotonic()
        r = await client.request("GET", "/api/images")
        assert r.status == 503
        assert (await r.json())["error"]["code"] == "unavailable"
        assert time.monotonic() - start < 8, "must fail fast, not hang"
        r = await client.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
        assert r.status == 503
        async with aiohttp.ClientSession() as s:
            r = await s.get(f"http://127.0.0.1:{fault_platform.ports['albums']}/readyz")
            body = await r.json()
        assert r.status == 503 and "unavailable" in body["checks"]["database"]
        await asyncio.sleep(2)
    finally:
        fault_platform.pg_proxy.restore()
    # Recovery without a restart; the job requested before the outage still completes.
    async with asyncio.timeout(30):
        while (await client.request("GET", "/api/images")).status != 200:
            await asyncio.sleep(0.5)
    assert (await _final(client, job["id"]))["status"] == "completed"
    later = await _job(client, image["id"])
    assert (await _final(client, later["id"]))["status"] == "completed"


async def test_sigterm_worker_finishes_the_job_in_flight(client: Client, fault_platform: FaultPlatform) -> None:
    image = await _upload(client, LARGE)
    ws = await client.socket()
    job = await _job(client, image["id"])
    await wait_for(ws, job["id"], {"job.started"})
    status = fault_platform.signal("inference", signal.SIGTERM, wait=60)
    assert status == 0
    final = await (await client.request("GET", f"/api/jobs/{job['id']}")).json()
    # Finished before exiting (and the completion was confirmed before the ack).
    final = await _final(client, job["id"], timeout=10)
    assert final["status"] == "completed" and final["attempt"] == 1
    fault_platform.start_service("inference")
    await ws.close()


@pytest.mark.parametrize("service", ["jobs", "albums", "auth", "notifier"])
async def test_sigterm_http_service_loses_no_accepted_work(
    service: str, client: Client, fault_platform: FaultPlatform
) -> None:
    image = await _upload(client)
    tasks = [asyncio.create_task(client.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"},
                                                headers={"Idempotency-Key": str(uuid.uuid4())}))
             for _ in range(15)]
    await asyncio.sleep(0.05)
    assert fault_platform.signal(service, signal.SIGTERM, wait=40) == 0
    responses = await asyncio.gather(*tasks, return_exceptions=True)
    fault_platform.start_service(service)
    accepted = []
    for r in responses:
        if isinstance(r, aiohttp.ClientResponse):
            assert r.status in (202, 503), r.status
            if r.status == 202:
                accepted.append(await r.json())
    for job in accepted:
        assert (await _final(client, job["id"]))["status"] == "completed"
