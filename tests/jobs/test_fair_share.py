"""Fair share, claims and liveness in the jobs service's own SQL, against a real PostgreSQL: what is released to
the broker (the `job.requested.<family>` events in the outbox), to whom, how many, and never twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from services.jobs import fairshare, lifecycle, store
from shared.events import EventType, JobState, JobStatus

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _limits() -> Iterator[None]:
    fairshare.configure(2, {}, 8)
    yield
    fairshare.configure(2, {}, 8)


async def _create(pool: asyncpg.Pool, user: uuid.UUID, family: str = "none", type_: str = "none") -> uuid.UUID:
    job_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await lifecycle.create(conn, id=job_id, user_id=user, image_id=uuid.uuid4(), type=type_, family=family,
                               options={}, source_key=f"originals/{user}/x.png",
                               result_key=f"results/{user}/{job_id}.png", correlation_id="test")
    return job_id


async def _requests(pool: asyncpg.Pool, user: uuid.UUID) -> list[dict[str, Any]]:
    """The requests released for this user's jobs, in the order the relay would publish them."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT type, body FROM jobs.outbox WHERE type LIKE 'job.requested.%' "
                                "ORDER BY created_at")
    bodies = [json.loads(r["body"]) for r in rows]
    return [b["payload"] for b in bodies if b["user_id"] == str(user)]


async def _in_flight(pool: asyncpg.Pool, user: uuid.UUID) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(
            "SELECT count(*) FROM jobs.jobs WHERE user_id = $1 AND status IN ('queued', 'running') "
            "AND released_at IS NOT NULL", user))


async def _finish(pool: asyncpg.Pool, job_id: uuid.UUID, attempt: int = 1) -> bool:
    async with pool.acquire() as conn, conn.transaction():
        row = await store.get(conn, job_id)
        assert row is not None
        return await lifecycle.apply_status(conn, EventType.JOB_COMPLETED, JobStatus(
            job_id=job_id, image_id=row["image_id"], attempt=attempt, status="completed", width=1, height=1))


async def test_another_users_job_is_released_at_once_behind_a_flood(jobs_pool: asyncpg.Pool) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    flood = [await _create(jobs_pool, a) for _ in range(60)]
    # Alone, A may keep the workers busy (in_flight_alone), not more: the rest waits in PostgreSQL.
    assert len(await _requests(jobs_pool, a)) == 8
    single = await _create(jobs_pool, b)
    assert [r["job_id"] for r in await _requests(jobs_pool, b)] == [str(single)]
    # While B has work, A's share shrinks back to the bound as A's jobs end: nothing new for A until then.
    released = [uuid.UUID(r["job_id"]) for r in await _requests(jobs_pool, a)]
    for job_id in released[:6]:
        assert await _finish(jobs_pool, job_id)
    assert len(await _requests(jobs_pool, a)) == 8 and await _in_flight(jobs_pool, a) == 2
    assert await _finish(jobs_pool, released[6])
    # One ended, the next one released, in the order they were requested.
    requests = await _requests(jobs_pool, a)
    assert len(requests) == 9 and requests[-1]["job_id"] == str(flood[8])
    assert await _in_flight(jobs_pool, a) == 2


async def test_concurrent_releases_keep_the_bound_and_release_each_job_once(jobs_pool: asyncpg.Pool) -> None:
    a, other = uuid.uuid4(), uuid.uuid4()
    await _create(jobs_pool, other, family="waifu2x", type_="sr2d")  # someone else is active: A gets the bound
    async with jobs_pool.acquire() as conn:
        for _ in range(40):
            job_id = uuid.uuid4()
            await store.insert_job(conn, id=job_id, user_id=a, image_id=uuid.uuid4(), type="sr2d", family="waifu2x",
                                   options={}, status="queued", source_key="k", result_key=f"results/{a}/{job_id}.png")

    async def one() -> int:
        async with jobs_pool.acquire() as conn, conn.transaction():
            return await fairshare.release(conn, a, "waifu2x", lifecycle.request_of)

    # As several jobs replicas would, at once.
    assert sum(await asyncio.gather(*(one() for _ in range(10)))) == 2
    await fairshare.release_all(jobs_pool, lifecycle.request_of)
    requests = await _requests(jobs_pool, a)
    assert len(requests) == 2 and len({r["job_id"] for r in requests}) == 2
    assert await _in_flight(jobs_pool, a) == 2


async def test_cancel_while_held_then_retry_is_a_new_attempt_that_is_released(jobs_pool: asyncpg.Pool) -> None:
    a, other = uuid.uuid4(), uuid.uuid4()
    await _create(jobs_pool, other, family="realsr", type_="sr")
    ids = [await _create(jobs_pool, a, "realsr", "sr") for _ in range(3)]
    held = ids[2]  # two in flight (the bound, someone else being active); this one waits for its turn
    async with jobs_pool.acquire() as conn, conn.transaction():
        row = await store.get(conn, held, for_update=True)
        assert row is not None
        cancelled = await lifecycle.cancel(conn, row, "test")
    assert cancelled is not None and cancelled["status"] == JobState.CANCELLED
    # Its turn never comes: a cancelled job is not released, even when room frees up.
    assert await _finish(jobs_pool, ids[0])
    await fairshare.release_all(jobs_pool, lifecycle.request_of)
    assert held not in {uuid.UUID(r["job_id"]) for r in await _requests(jobs_pool, a)}
    async with jobs_pool.acquire() as conn, conn.transaction():
        row = await store.get(conn, held, for_update=True)
        assert row is not None
        retried = await lifecycle.requeue(conn, row, ("failed", "cancelled"), "test")
    assert retried is not None and retried["attempt"] == 2
    assert {(r["job_id"], r["attempt"]) for r in await _requests(jobs_pool, a)} >= {(str(held), 2)}


async def test_claims_answer_only_the_current_unfinished_attempt(jobs_pool: asyncpg.Pool) -> None:
    a = uuid.uuid4()
    job_id = await _create(jobs_pool, a)

    async def claim(attempt: int) -> tuple[bool, str | None]:
        async with jobs_pool.acquire() as conn, conn.transaction():
            return await lifecycle.claim(conn, job_id, attempt, "w1", [])

    assert await claim(1) == (True, "running")
    assert await claim(1) == (True, "running")  # a redelivery of the same attempt may go on
    async with jobs_pool.acquire() as conn, conn.transaction():
        row = await store.get(conn, job_id, for_update=True)
        assert row is not None
        await lifecycle.cancel(conn, row, "test")
    assert await claim(1) == (False, "cancelled")  # a worker that joins after the cancel does not compute it
    async with jobs_pool.acquire() as conn, conn.transaction():
        row = await store.get(conn, job_id, for_update=True)
        assert row is not None
        await lifecycle.requeue(conn, row, ("cancelled",), "test")
    assert await claim(1) == (False, "queued")
    assert await claim(2) == (True, "running")
    assert await _finish(jobs_pool, job_id, attempt=2)
    assert await claim(2) == (False, "completed")


async def test_a_second_copy_of_a_running_attempt_is_not_run_by_another_worker(jobs_pool: asyncpg.Pool) -> None:
    """A request published twice (an operator's requeue, a relay that published before it could mark the row)
    while w1 runs it: w2 must not compute it too. The broker's own redelivery of w1's message (w1 died) may."""
    job_id = await _create(jobs_pool, uuid.uuid4())

    async def claim(worker: str, redelivered: bool = False) -> tuple[bool, str | None]:
        async with jobs_pool.acquire() as conn, conn.transaction():
            return await lifecycle.claim(conn, job_id, 1, worker, [], redelivered)

    assert await claim("w1") == (True, "running")
    assert await claim("w2") == (False, "running")  # the copy: w1 runs it
    assert await claim("w1") == (True, "running")  # w1 asking again (its answer was lost) goes on
    assert await claim("w2", redelivered=True) == (True, "running")  # w1 died: the broker gave its delivery back
    assert await claim("w1") == (False, "running")  # now w2 holds it
    assert await _finish(jobs_pool, job_id)
    assert await claim("w2", redelivered=True) == (False, "completed")


async def test_heartbeats_count_per_attempt_whatever_the_progress(jobs_pool: asyncpg.Pool) -> None:
    a = uuid.uuid4()
    job_id = await _create(jobs_pool, a)

    async def report(attempt: int, progress: float) -> tuple[bool, Any]:
        async with jobs_pool.acquire() as conn, conn.transaction():
            applied = await lifecycle.apply_status(conn, EventType.JOB_PROGRESS, JobStatus(
                job_id=job_id, image_id=uuid.uuid4(), attempt=attempt, status="running", progress=progress))
            row = await conn.fetchrow("SELECT progress, heartbeat_at FROM jobs.jobs WHERE id = $1", job_id)
        return applied, row

    applied, before = await report(1, 0.6)
    assert applied and before["progress"] == pytest.approx(0.6)
    # The attempt was redelivered and starts again at 0: its heartbeat still proves it alive.
    applied, after = await report(1, 0.0)
    assert applied and after["heartbeat_at"] > before["heartbeat_at"]
    assert after["progress"] == pytest.approx(0.6)  # what the owner sees never goes back
    applied, _ = await report(2, 0.9)  # an attempt that does not exist
    assert not applied


async def test_a_request_lost_on_the_way_does_not_hold_its_owners_share_forever(jobs_pool: asyncpg.Pool) -> None:
    a = uuid.uuid4()
    job_id = await _create(jobs_pool, a, "bopb", "restore")
    async with jobs_pool.acquire() as conn:  # released a day ago, never claimed: its message is gone
        await conn.execute("UPDATE jobs.jobs SET released_at = now() - interval '1 day' WHERE id = $1", job_id)
    assert await lifecycle.sweep_unclaimed(jobs_pool, 3600) >= 1
    requests = [(r["job_id"], r["attempt"]) for r in await _requests(jobs_pool, a)]
    assert requests == [(str(job_id), 1), (str(job_id), 2)]
    async with jobs_pool.acquire() as conn, conn.transaction():  # the old request, should it arrive, is refused
        assert await lifecycle.claim(conn, job_id, 1, "w", []) == (False, "queued")


async def test_a_results_notes_are_kept_with_the_job_and_a_new_attempt_starts_without_them(
    jobs_pool: asyncpg.Pool,
) -> None:
    """job.completed's notes ("not a photo: lines kept") are what the owner reads beside the result."""
    job_id = await _create(jobs_pool, uuid.uuid4(), family="bopb", type_="restore_scratch")
    async with jobs_pool.acquire() as conn, conn.transaction():
        assert await lifecycle.claim(conn, job_id, 1, "w", []) == (True, "running")
        row = await store.get(conn, job_id)
        assert row is not None
        note = "Not a photo (line art): lines kept, nothing inpainted."
        assert await lifecycle.apply_status(conn, EventType.JOB_COMPLETED, JobStatus(
            job_id=job_id, image_id=row["image_id"], attempt=1, status="completed", width=1, height=1,
            notes=[note]))
        row = await store.get(conn, job_id, for_update=True)
        assert row is not None
        assert store.job_json(row)["notes"] == [note]
        requeued = await lifecycle.requeue(conn, row, ("completed",), "test")
        assert requeued is not None and store.job_json(requeued)["notes"] == []
