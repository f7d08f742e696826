"""The job life cycle: requesting, cancelling, retrying, recording what the worker reports, sweeping stale jobs.

Every change and the event announcing it are written in one transaction (the outbox).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import structlog
from prometheus_client import Counter, Histogram

from shared import outbox
from shared.enhancements import TYPES
from shared.events import (
    Envelope,
    EventType,
    JobRequested,
    JobState,
    JobStatus,
    JobUpdated,
    job_requested,
    make_event,
)

from . import batches, fairshare, store
from .store import TERMINAL as TERMINAL_STATUSES

log = structlog.get_logger(__name__)

JOBS_SUBMITTED = Counter("renovo_jobs_submitted_total", "Jobs accepted", ["type"])
JOBS_FINISHED = Counter("renovo_jobs_finished_total", "Jobs that ended, by outcome", ["type", "outcome"])
JOB_DURATION = Histogram(
    "renovo_job_duration_seconds", "Job time from request to its end", ["type"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
QUEUE_WAIT = Histogram(
    "renovo_job_queue_wait_seconds", "Job time from request to a worker starting it", ["type"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
DUPLICATE_CLAIMS = Counter("renovo_jobs_duplicate_claims_total",
                           "Second copies of a running attempt's request, refused (another worker runs it)")
STALE_REQUEUED = Counter("renovo_jobs_stale_requeued_total", "Running jobs found silent and requeued or failed")


def initialise_metrics() -> None:
    """Create every label set now, so dashboards see zeros instead of missing series."""
    for name in TYPES:
        JOBS_SUBMITTED.labels(name)
        JOB_DURATION.labels(name)
        QUEUE_WAIT.labels(name)
        for outcome in TERMINAL_STATUSES:
            JOBS_FINISHED.labels(name, outcome)


def _requested_event(row: asyncpg.Record, correlation_id: str | None) -> Any:
    payload = JobRequested(
        job_id=row["id"], image_id=row["image_id"], type=row["type"], options=store.job_json(row)["options"],
        attempt=row["attempt"], source_key=row["source_key"], result_key=row["result_key"],
        output=store.job_json(row)["output"],
    )
    return make_event(job_requested(row["family"]), payload, user_id=row["user_id"], correlation_id=correlation_id)


def _status_event(row: asyncpg.Record, type_: str, correlation_id: str | None, **extra: Any) -> Any:
    payload = JobStatus(job_id=row["id"], image_id=row["image_id"], attempt=row["attempt"], status=row["status"],
                        progress=float(row["progress"]), **extra)
    return make_event(type_, payload, user_id=row["user_id"], correlation_id=correlation_id)


def request_of(row: asyncpg.Record) -> Any:
    return _requested_event(row, row["correlation_id"])


def announcement(row: asyncpg.Record, change: str, **extra: Any) -> Envelope:
    """`job.updated`: what was recorded, for the owner's pages (the notifier forwards it as `change`)."""
    payload = JobUpdated(job_id=row["id"], image_id=row["image_id"], attempt=row["attempt"], status=row["status"],
                         progress=float(row["progress"]), engine=row["engine"], error=row["error"], change=change,
                         **extra)
    return make_event(EventType.JOB_UPDATED, payload, user_id=row["user_id"], correlation_id=row["correlation_id"])


async def announce(conn: asyncpg.Connection, row: asyncpg.Record, change: str, **extra: Any) -> None:
    """Announce an ending (or any change that must not be missed) through the outbox, in the transaction."""
    await outbox.add(conn, store.SCHEMA, announcement(row, change, **extra))


async def release_next(conn: asyncpg.Connection, row: asyncpg.Record) -> int:
    """Fair share: a slot of this user and family may have freed up; release their next held jobs."""
    return await fairshare.release(conn, row["user_id"], row["family"], request_of)


async def create(conn: asyncpg.Connection, **fields: Any) -> asyncpg.Record:
    """Insert a queued job, held until its owner's turn (released now when the owner has room; the release
    writes its `job.requested.<family>` to the outbox). The caller holds the transaction."""
    row = await store.insert_job(conn, status=JobState.QUEUED, **fields)
    await release_next(conn, row)
    JOBS_SUBMITTED.labels(row["type"]).inc()
    return row


async def claim(conn: asyncpg.Connection, job_id: uuid.UUID, attempt: int, worker: str, notices: list[Envelope],
                redelivered: bool = False) -> tuple[bool, str | None]:
    """A worker asks to run an attempt: yes while that attempt is the job's current one and not finished
    (recorded as running; its `job.started` announcement is appended to `notices`, for the caller to publish
    after the commit); no when it was cancelled, superseded or has ended, and no for a second copy of a request
    another worker is running (a duplicate publish, an operator's requeue): that worker holds the broker's
    delivery, which the broker gives back (`redelivered`) if the worker dies, and that copy may take over."""
    row = await store.get(conn, job_id, for_update=True)
    if row is None:
        return False, None
    if row["attempt"] != attempt or row["status"] not in store.ACTIVE:
        return False, str(row["status"])
    if row["status"] == JobState.RUNNING and not redelivered:
        holder = await conn.fetchval("SELECT claimed_by FROM jobs.jobs WHERE id = $1", job_id)
        if holder not in (None, worker):
            DUPLICATE_CLAIMS.inc()
            return False, str(row["status"])
    first = row["status"] == JobState.QUEUED
    updated = await conn.fetchrow(
        f"UPDATE jobs.jobs SET status = 'running', started_at = coalesce(started_at, clock_timestamp()), "
        f"heartbeat_at = clock_timestamp(), updated_at = clock_timestamp(), claimed_by = $2, "
        f"released_at = coalesce(released_at, clock_timestamp()) WHERE id = $1 RETURNING {store.COLUMNS}",
        job_id, worker,
    )
    assert updated is not None
    if first:
        if updated["started_at"] is not None:
            waited = (updated["started_at"] - updated["requested_at"]).total_seconds()
            QUEUE_WAIT.labels(updated["type"]).observe(waited)
        notices.append(announcement(updated, EventType.JOB_STARTED))
    return True, JobState.RUNNING


async def cancel(conn: asyncpg.Connection, row: asyncpg.Record, correlation_id: str | None) -> asyncpg.Record | None:
    updated = await store.transition(conn, row["id"], attempt=None, allowed_from=store.ACTIVE,
                                     status=JobState.CANCELLED)
    if updated is not None:
        await outbox.add(conn, store.SCHEMA, _status_event(updated, EventType.JOB_CANCELLED, correlation_id))
        await announce(conn, updated, EventType.JOB_CANCELLED)
        _finished(updated)
        await batches.after_terminal(conn, updated)
        await release_next(conn, updated)
    return updated


async def requeue(conn: asyncpg.Connection, row: asyncpg.Record, allowed_from: tuple[str, ...],
                  correlation_id: str | None) -> asyncpg.Record | None:
    """Start a new attempt (retry of a failed/cancelled job, or a stale running one)."""
    # A new attempt restarts the clock (requested_at) so queue-wait and duration measure this attempt.
    updated = await conn.fetchrow(
        f"UPDATE jobs.jobs SET status = 'queued', attempt = attempt + 1, progress = 0, error = NULL, "
        f"engine = NULL, notes = NULL, started_at = NULL, finished_at = NULL, requested_at = clock_timestamp(), "
        f"released_at = NULL, heartbeat_at = NULL, claimed_by = NULL, "
        f"updated_at = clock_timestamp() WHERE id = $1 AND attempt = $2 AND status = ANY($3::text[]) "
        f"RETURNING {store.COLUMNS}",
        row["id"], row["attempt"], list(allowed_from),
    )
    if updated is not None:
        # The new attempt waits for its owner's turn like a new job (now, when the owner has room).
        await release_next(conn, updated)
    return updated


def _finished(row: asyncpg.Record) -> None:
    JOBS_FINISHED.labels(row["type"], row["status"]).inc()
    if row["finished_at"] is not None:
        JOB_DURATION.labels(row["type"]).observe((row["finished_at"] - row["requested_at"]).total_seconds())


async def apply_status(conn: asyncpg.Connection, type_: str, status: JobStatus,
                       notices: list[Envelope] | None = None) -> bool:
    """Record one worker event; False when it no longer applies (duplicate, stale attempt, job ended).

    Endings are announced through the outbox; a start or a rise of progress is appended to `notices` (for the
    caller to publish after the commit: a lost one is superseded by the next), or to the outbox without it."""
    job_id, attempt = status.job_id, status.attempt
    if type_ == EventType.JOB_PROGRESS:
        eta = status.eta_seconds if status.eta_seconds is None else min(max(status.eta_seconds, 0.0), 1e7)
        # A heartbeat of the current attempt is accepted whatever its progress (a redelivered attempt starts
        # again at 0): it proves the attempt alive. Only a rise of the progress is announced.
        moved = await store.set_progress(conn, job_id, attempt, min(max(status.progress or 0.0, 0.0), 1.0), eta)
        if moved is None:
            return False
        if moved:
            row = await store.get(conn, job_id)
            if row is not None:
                await _notice(conn, notices, announcement(row, EventType.JOB_PROGRESS, eta_seconds=eta))
        return True
    if type_ == EventType.JOB_STARTED:
        row = await store.transition(conn, job_id, attempt=attempt, allowed_from=(JobState.QUEUED,),
                                     status=JobState.RUNNING, engine=status.engine)
        if row is not None and row["started_at"] is not None:
            QUEUE_WAIT.labels(row["type"]).observe((row["started_at"] - row["requested_at"]).total_seconds())
            await _notice(conn, notices, announcement(row, EventType.JOB_STARTED))
        return row is not None
    if type_ == EventType.JOB_COMPLETED:
        row = await store.transition(
            conn, job_id, attempt=attempt, allowed_from=store.ACTIVE, status=JobState.COMPLETED, progress=1.0,
            engine=status.engine, result_width=status.width, result_height=status.height, eta_seconds=None,
            notes=[note[:500] for note in (status.notes or [])[:20]] or None, **_reported_key(job_id, status),
        )
    elif type_ == EventType.JOB_FAILED:
        row = await store.transition(conn, job_id, attempt=attempt, allowed_from=store.ACTIVE, status=JobState.FAILED,
                                     error=(status.error or "failed")[:1000], engine=status.engine)
    else:
        return False
    if row is not None:
        _finished(row)
        await batches.after_terminal(conn, row)
        await announce(conn, row, type_)
        await release_next(conn, row)
        log.info("jobs.finished", job_id=str(job_id), status=row["status"], type=row["type"])
    return row is not None


async def _notice(conn: asyncpg.Connection, notices: list[Envelope] | None, event: Envelope) -> None:
    if notices is None:
        await outbox.add(conn, store.SCHEMA, event)
    else:
        notices.append(event)


def _reported_key(job_id: uuid.UUID, status: JobStatus) -> dict[str, Any]:
    """The key the worker stored the result under (its extension follows the format it wrote); only a key of
    this job's own `results/<user>/<job>.<ext>` form is taken."""
    key = status.result_key
    if key and key.startswith("results/") and key.rsplit("/", 1)[-1].rsplit(".", 1)[0] == str(job_id):
        return {"result_key": key}
    return {}


async def fail_dead_lettered(conn: asyncpg.Connection, job_id: uuid.UUID, attempt: int, reason: str) -> bool:
    row = await store.transition(conn, job_id, attempt=attempt, allowed_from=store.ACTIVE, status=JobState.FAILED,
                                 error=reason)
    if row is None:
        return False
    await outbox.add(conn, store.SCHEMA, _status_event(row, EventType.JOB_FAILED, row["correlation_id"],
                                                       error=reason))
    await announce(conn, row, EventType.JOB_FAILED)
    _finished(row)
    await batches.after_terminal(conn, row)
    await release_next(conn, row)
    return True


async def forget_image(conn: asyncpg.Connection, user_id: uuid.UUID, image_id: uuid.UUID) -> list[str]:
    """Cancel and delete the jobs of a deleted image; returns the result keys to remove after the commit."""
    rows = await conn.fetch(f"SELECT {store.COLUMNS} FROM jobs.jobs WHERE user_id = $1 AND image_id = $2 FOR UPDATE",
                            user_id, image_id)
    for row in rows:
        if row["status"] in store.ACTIVE:
            await cancel(conn, row, row["correlation_id"])
    await conn.execute("DELETE FROM jobs.jobs WHERE user_id = $1 AND image_id = $2", user_id, image_id)
    for family in sorted({row["family"] for row in rows}):
        await fairshare.release(conn, user_id, family, request_of)
    return [row["result_key"] for row in rows]


async def sweep_stale(pool: asyncpg.Pool, stale_after: float, max_attempts: int) -> int:
    """Requeue running jobs that went silent (their worker died without the broker noticing), or fail them."""
    handled = 0
    async with pool.acquire() as conn, conn.transaction():
        for row in await store.stale_running(conn, stale_after):
            STALE_REQUEUED.inc()
            handled += 1
            if row["attempt"] < max_attempts:
                await requeue(conn, row, (JobState.RUNNING,), row["correlation_id"])
                log.warning("jobs.stale_requeued", job_id=str(row["id"]), attempt=row["attempt"])
            else:
                await fail_dead_lettered(conn, row["id"], row["attempt"],
                                         f"the worker stopped responding {max_attempts} times; giving up")
    return handled


async def sweep_unclaimed(pool: asyncpg.Pool, unclaimed_after: float) -> int:
    """Released requests no worker claimed for a long time were lost on the way (a purged or deleted queue):
    they would hold their owner's fair share forever. Each gets a new attempt (the old request, should it
    still arrive, is refused at its claim, so nothing runs twice)."""
    handled = 0
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            f"SELECT {store.COLUMNS} FROM jobs.jobs WHERE status = 'queued' AND released_at IS NOT NULL "
            "AND released_at < clock_timestamp() - make_interval(secs => $1) ORDER BY released_at LIMIT 100 "
            "FOR UPDATE SKIP LOCKED", unclaimed_after)
        for row in rows:
            if await requeue(conn, row, (JobState.QUEUED,), row["correlation_id"]) is not None:
                STALE_REQUEUED.inc()
                handled += 1
                log.warning("jobs.unclaimed_requeued", job_id=str(row["id"]), attempt=row["attempt"])
    return handled
