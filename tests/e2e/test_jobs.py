"""The jobs API through the gateway: validation, idempotency, failure with a reason, retry, catch-up."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import pytest

from services.launcher import Platform
from shared.settings import CommonSettings
from tests.conftest import IMAGES
from tests.platform_fixtures import Client, wait_for

pytestmark = pytest.mark.e2e


async def _image(user: Client, path: str = "photo/00003.png") -> dict[str, Any]:
    r = await user.upload(IMAGES / path)
    assert r.status == 201, await r.text()
    return (await r.json())["images"][0]


async def _settled(user: Client, job_id: str, timeout: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            job = await (await user.request("GET", f"/api/jobs/{job_id}")).json()
            if job["status"] in ("completed", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.05)


async def test_validation(user: Client) -> None:
    image = await _image(user)
    cases = [
        ({"image_id": image["id"], "type": "nonsense"}, 422, "invalid_options"),
        ({"image_id": image["id"], "type": "sr2d", "options": {"noise": 7}}, 422, "invalid_options"),
        ({"image_id": image["id"], "type": "sr", "options": {"scale": "4"}}, 422, "invalid_options"),
        ({"image_id": image["id"], "type": "sr", "options": {"colour": True}}, 422, "invalid_options"),
        ({"image_id": image["id"], "type": "none", "options": []}, 422, "invalid"),
        ({"type": "none"}, 422, "invalid"),
        ({"image_id": str(uuid.uuid4()), "type": "none"}, 404, "not_found"),
        ({"image_id": "../../etc/passwd", "type": "none"}, 404, "not_found"),
    ]
    for body, status, code in cases:
        r = await user.request("POST", "/api/jobs", json=body)
        assert r.status == status, (body, await r.text())
        assert (await r.json())["error"]["code"] == code, body
    r = await user.request("POST", "/api/jobs", data="[1,2", headers={"Content-Type": "application/json"})
    assert r.status == 400
    r = await user.request("GET", "/api/jobs?status=exploded")
    assert r.status == 422


async def test_idempotency_conflict(user: Client) -> None:
    image = await _image(user)
    key = str(uuid.uuid4())
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"},
                           headers={"Idempotency-Key": key})
    assert r.status == 202
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "sr2d"},
                           headers={"Idempotency-Key": key})
    assert r.status == 409 and (await r.json())["error"]["code"] == "idempotency_conflict"


async def test_unreadable_original_fails_with_reason_then_retry(user: Client, platform: Platform) -> None:
    image = await _image(user)
    ws = await user.socket()
    # Damage the stored original behind the service's back: the worker must fail the job, not loop.
    stored = next((platform.data_dir / "storage" / "originals").rglob(f"{image['id']}.*"))
    stored.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
    job = await r.json()
    messages = await wait_for(ws, job["id"], {"job.completed", "job.failed"})
    assert messages[-1]["type"] == "job.failed" and messages[-1]["error"]
    settled = await _settled(user, job["id"])
    assert settled["status"] == "failed"
    assert "damaged" in settled["error"] or "recognised" in settled["error"]
    r = await user.request("GET", f"/api/jobs/{job['id']}/result")
    assert r.status == 409
    # Retry: a new attempt runs (and fails again for the same reason), the job is not stuck.
    r = await user.request("POST", f"/api/jobs/{job['id']}/retry")
    assert r.status == 202 and (await r.json())["attempt"] == 2
    settled = await _settled(user, job["id"])
    assert settled["status"] == "failed" and settled["attempt"] == 2
    r = await user.request("POST", f"/api/jobs/{job['id']}/cancel")
    assert r.status == 409
    await ws.close()


async def test_list_filters_and_catch_up(user: Client) -> None:
    first, second = await _image(user), await _image(user, "edge/tiny_3x2.jpg")
    since = datetime.now(UTC).isoformat()
    jobs = []
    for image in (first, second, first):
        r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
        jobs.append(await r.json())
    for job in jobs:
        assert (await _settled(user, job["id"]))["status"] == "completed"
    r = await user.request("GET", f"/api/jobs?image_id={first['id']}")
    assert {j["id"] for j in (await r.json())["items"]} == {jobs[0]["id"], jobs[2]["id"]}
    r = await user.request("GET", "/api/jobs", params={"updated_since": since})
    caught_up = (await r.json())["items"]
    assert {j["id"] for j in caught_up} >= {j["id"] for j in jobs}
    assert all(j["status"] == "completed" for j in caught_up if j["id"] in {x["id"] for x in jobs})
    r = await user.request("GET", "/api/jobs?limit=2")
    page = await r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    r = await user.request("GET", "/api/jobs", params={"limit": "2", "cursor": page["next_cursor"]})
    assert not {j["id"] for j in (await r.json())["items"]} & {j["id"] for j in page["items"]}


async def test_cancel_queued_job(user: Client, platform_settings: CommonSettings) -> None:
    """A job cancelled before a worker takes it ends cancelled, and the worker skips it."""
    image = await _image(user)
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
    job = await r.json()
    r = await user.request("POST", f"/api/jobs/{job['id']}/cancel")
    assert r.status in (200, 409)
    body = await r.json()
    if r.status == 200:
        assert body["status"] == "cancelled"
        settled = await _settled(user, job["id"])
        await asyncio.sleep(0.5)  # a late completion must not resurrect it
        again = await (await user.request("GET", f"/api/jobs/{job['id']}")).json()
        assert settled["status"] == again["status"] == "cancelled"


@pytest.mark.faults
async def test_poison_request_is_dead_lettered_and_job_failed(
    user: Client, platform_settings: CommonSettings
) -> None:
    """A request that crashes the worker every time ends dead-lettered after the delivery limit, its job
    failed with a reason, and the queue keeps flowing."""
    from shared.events import JobRequested, Names, make_event

    names = Names(platform_settings.exchange, platform_settings.dead_exchange, platform_settings.queue_prefix)
    user_id = uuid.UUID((await (await user.request("GET", "/api/auth/me")).json())["id"])
    job_id, image_id = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(platform_settings.database_url)
    try:
        await conn.execute(
            "INSERT INTO jobs.jobs (id, user_id, image_id, type, family, options, status, source_key, result_key) "
            "VALUES ($1, $2, $3, 'none', 'none', '{}', 'queued', 'x', 'x')", job_id, user_id, image_id)
    finally:
        await conn.close()
    # A storage key no backend accepts makes the worker raise an unexpected error on every delivery.
    event = make_event("job.requested.none", JobRequested(
        job_id=job_id, image_id=image_id, type="none", options={}, attempt=1,
        source_key="originals/../../escape", result_key="results/x/y.png"), user_id=user_id, correlation_id="poison")
    connection = await aio_pika.connect(platform_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(platform_settings.exchange)
        await exchange.publish(aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.id),
                                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                               routing_key="job.requested.none")
        await exchange.publish(aio_pika.Message(b"{not json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                               routing_key="job.requested.none")
        async with asyncio.timeout(90):  # each delivery backs off longer than the one before
            while True:
                r = await user.request("GET", f"/api/jobs/{job_id}")
                job = await r.json()
                if job["status"] == "failed":
                    break
                await asyncio.sleep(0.2)
        assert "failed 5 times" in job["error"] or "set aside" in job["error"]
        dead = await channel.declare_queue(names.dead_queue(names.inference_queue("none")), passive=True)
        # The crash and the unparseable one, kept for operators.
        assert (dead.declaration_result.message_count or 0) >= 2
    # The queue keeps flowing.
    image = await _image(user)
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
    assert (await _settled(user, (await r.json())["id"]))["status"] == "completed"


async def test_deleting_an_image_deletes_its_jobs_and_results(user: Client, platform: Platform) -> None:
    image = await _image(user)
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
    job = await r.json()
    assert (await _settled(user, job["id"]))["status"] == "completed"
    results = list((platform.data_dir / "storage" / "results").rglob(f"{job['id']}.png"))
    assert results
    r = await user.request("DELETE", f"/api/images/{image['id']}")
    assert r.status == 204
    async with asyncio.timeout(15):
        while (await user.request("GET", f"/api/jobs/{job['id']}")).status != 404:
            await asyncio.sleep(0.1)
    assert not results[0].exists()


async def _user_id(user: Client) -> uuid.UUID:
    return uuid.UUID((await (await user.request("GET", "/api/auth/me")).json())["id"])


async def _publish(settings: CommonSettings, type_: str, payload: dict[str, Any], user_id: uuid.UUID) -> None:
    """Publish an event as a worker would (straight to the exchange)."""
    from shared.events import Envelope

    event = Envelope(type=type_, user_id=user_id, correlation_id="test", payload=payload)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(settings.exchange)
        await exchange.publish(aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.id),
                                                type=type_, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                               routing_key=type_)


async def test_concurrent_requests_with_one_idempotency_key_answer_one_job(user: Client) -> None:
    """A double click on a slow network, a client's retry: every answer is the same job, none a 5xx."""
    image = await _image(user)
    key = str(uuid.uuid4())
    responses = await asyncio.gather(*(
        user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"},
                     headers={"Idempotency-Key": key}) for _ in range(6)))
    assert [r.status for r in responses] == [202] * 6
    assert len({(await r.json())["id"] for r in responses}) == 1


async def test_retry_after_cancel_runs_the_new_attempt(user: Client) -> None:
    """Cancel a job that is waiting for its turn (or already running), press Retry: the new attempt runs."""
    image = await _image(user, "edge/large_4000x3000_smooth_noise.jpg")
    jobs = []
    for _ in range(10):  # more than one user's share: the last ones wait in the jobs service
        r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
        jobs.append(await r.json())
    last = jobs[-1]
    r = await user.request("POST", f"/api/jobs/{last['id']}/cancel")
    assert r.status == 200 and (await r.json())["status"] == "cancelled"
    r = await user.request("POST", f"/api/jobs/{last['id']}/retry")
    assert r.status == 202 and (await r.json())["attempt"] == 2
    settled = await _settled(user, last["id"], timeout=120)
    assert settled["status"] == "completed" and settled["attempt"] == 2
    for job in jobs[:-1]:
        assert (await _settled(user, job["id"], timeout=120))["status"] == "completed"


async def test_the_page_never_sees_a_state_the_jobs_service_refused(
    user: Client, platform_settings: CommonSettings
) -> None:
    """A worker's `job.completed` for a job cancelled meanwhile is refused by the jobs service; the owner's
    socket must not announce it either (and the download must agree with what the socket said)."""
    image = await _image(user)
    ws = await user.socket()
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
    job = await r.json()
    r = await user.request("POST", f"/api/jobs/{job['id']}/cancel")
    if r.status == 409:  # the worker was faster than the cancel: nothing to race
        pytest.skip("the job completed before the cancel")
    await wait_for(ws, job["id"], {"job.cancelled"}, timeout=20)
    await _publish(platform_settings, "job.completed", {
        "job_id": job["id"], "image_id": image["id"], "attempt": 1, "status": "completed", "progress": 1.0,
        "width": 8, "height": 8, "result_key": f"results/x/{job['id']}.png"}, await _user_id(user))
    seen: list[dict[str, Any]] = []
    with pytest.raises(TimeoutError):
        seen = await wait_for(ws, job["id"], {"job.completed"}, timeout=3)
    assert not seen
    assert (await _settled(user, job["id"]))["status"] == "cancelled"
    await ws.close()


async def test_a_redelivered_attempt_is_alive_whatever_its_progress(
    user: Client, platform_settings: CommonSettings
) -> None:
    """A request redelivered with the same attempt starts again at progress 0: its heartbeats must still
    count, or a live worker looks dead and the stale sweep starts another attempt."""
    user_id = await _user_id(user)
    job_id, image_id = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(platform_settings.database_url)
    try:
        # A job some worker is running (attempt 1, 60 % done), as the jobs service recorded it.
        await conn.execute(
            "INSERT INTO jobs.jobs (id, user_id, image_id, type, family, options, status, progress, source_key, "
            "result_key, started_at, updated_at) VALUES ($1, $2, $3, 'none', 'none', '{}', 'running', 0.6, 'x', "
            "'x', now() - interval '1 minute', now() - interval '1 minute')", job_id, user_id, image_id)
        before = await conn.fetchval("SELECT updated_at FROM jobs.jobs WHERE id = $1", job_id)
        await _publish(platform_settings, "job.progress", {
            "job_id": str(job_id), "image_id": str(image_id), "attempt": 1, "status": "running", "progress": 0.0},
            user_id)
        async with asyncio.timeout(10):
            while (await conn.fetchval("SELECT updated_at FROM jobs.jobs WHERE id = $1", job_id)) == before:
                await asyncio.sleep(0.1)
        row = await conn.fetchrow("SELECT status, attempt, progress FROM jobs.jobs WHERE id = $1", job_id)
        assert (row["status"], row["attempt"]) == ("running", 1) and row["progress"] == pytest.approx(0.6)
    finally:
        await conn.execute("DELETE FROM jobs.jobs WHERE id = $1", job_id)
        await conn.close()
