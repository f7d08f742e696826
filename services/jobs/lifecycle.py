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
from shared.events import EventType, JobRequested, JobStatus, job_requested, make_event

from . import store
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
    )
    return make_event(job_requested(row["family"]), payload, user_id=row["user_id"], correlation_id=correlation_id)


def _status_event(row: asyncpg.Record, type_: str, correlation_id: str | None, **extra: Any) -> Any:
    payload = JobStatus(job_id=row["id"], image_id=row["image_id"], attempt=row["attempt"], status=row["status"],
                        progress=float(row["progress"]), **extra)
    return make_event(type_, payload, user_id=row["user_id"], correlation_id=correlation_id)


async def create(conn: asyncpg.Connection, **fields: Any) -> asyncpg.Record:
    """Insert a queued job and its `job.requested.<family>` event (caller holds the transaction)."""
    row = await store.insert_job(conn, status="queued", **fields)
    await outbox.add(conn, store.SCHEMA, _requested_event(row, fields.get("correlation_id")))
    JOBS_SUBMITTED.labels(row["type"]).inc()
    return row


async def cancel(conn: asyncpg.Connection, row: asyncpg.Record, correlation_id: str | None) -> asyncpg.Record | None:
    updated = await store.transition(conn, row["id"], attempt=None, allowed_from=store.ACTIVE, status="cancelled")
    if updated is not None:
        await outbox.add(conn, store.SCHEMA, _status_event(updated, EventType.JOB_CANCELLED, correlation_id))
        _finished(updated)
    return updated


async def requeue(conn: asyncpg.Connection, row: asyncpg.Record, allowed_from: tuple[str, ...],
                  correlation_id: str | None) -> asyncpg.Record | None:
    """Start a new attempt (retry of a failed/cancelled job, or a stale running one)."""
    # A new attempt restarts the clock (requested_at) so queue-wait and duration measure this attempt.
    updated = await conn.fetchrow(
        f"UPDATE jobs.jobs SET status = 'queued', attempt = attempt + 1, progress = 0, error = NULL, "
        f"engine = NULL, started_at = NULL, finished_at = NULL, requested_at = clock_timestamp(), "
        f"updated_at = clock_timestamp() WHERE id = $1 AND attempt = $2 AND status = ANY($3::text[]) "
        f"RETURNING {store.COLUMNS}",
        row["id"], row["attempt"], list(allowed_from),
    )
    if updated is not None:
        await outbox.add(conn, store.SCHEMA, _requested_event(updated, correlation_id))
    return updated


def _finished(row: asyncpg.Record) -> None:
    JOBS_FINISHED.labels(row["type"], row["status"]).inc()
    if row["finished_at"] is not None:
        JOB_DURATION.labels(row["type"]).observe((row["finished_at"] - row["requested_at"]).total_seconds())


async def apply_status(conn: asyncpg.Connection, type_: str, status: JobStatus) -> bool:
    """Record one worker event; False when it no longer applies (duplicate, stale attempt, job ended)."""
    job_id, attempt = status.job_id, status.attempt
    if type_ == EventType.JOB_PROGRESS:
        return await store.set_progress(conn, job_id, attempt, min(max(status.progress or 0.0, 0.0), 1.0))
    if type_ == EventType.JOB_STARTED:
        row = await store.transition(conn, job_id, attempt=attempt, allowed_from=("queued",), status="running",
                                     engine=status.engine)
        if row is not None and row["started_at"] is not None:
            QUEUE_WAIT.labels(row["type"]).observe((row["started_at"] - row["requested_at"]).total_seconds())
        return row is not None
    if type_ == EventType.JOB_COMPLETED:
        row = await store.transition(
            conn, job_id, attempt=attempt, allowed_from=store.ACTIVE, status="completed", progress=1.0,
            engine=status.engine, result_width=status.width, result_height=status.height,
        )
    elif type_ == EventType.JOB_FAILED:
        row = await store.transition(conn, job_id, attempt=attempt, allowed_from=store.ACTIVE, status="failed",
                                     error=(status.error or "failed")[:1000], engine=status.engine)
    else:
        return False
    if row is not None:
        _finished(row)
        log.info("jobs.finished", job_id=str(job_id), status=row["status"], type=row["type"])
    return row is not None


async def fail_dead_lettered(conn: asyncpg.Connection, job_id: uuid.UUID, attempt: int, reason: str) -> bool:
    row = await store.transition(conn, job_id, attempt=attempt, allowed_from=store.ACTIVE, status="failed",
                                 error=reason)
    if row is None:
        return False
    await outbox.add(conn, store.SCHEMA, _status_event(row, EventType.JOB_FAILED, row["correlation_id"],
                                                       error=reason))
    _finished(row)
    return True


async def forget_image(conn: asyncpg.Connection, user_id: uuid.UUID, image_id: uuid.UUID) -> list[str]:
    """Cancel and delete the jobs of a deleted image; returns the result keys to remove after the commit."""
    rows = await conn.fetch(f"SELECT {store.COLUMNS} FROM jobs.jobs WHERE user_id = $1 AND image_id = $2 FOR UPDATE",
                            user_id, image_id)
    for row in rows:
        if row["status"] in store.ACTIVE:
            await cancel(conn, row, row["correlation_id"])
    await conn.execute("DELETE FROM jobs.jobs WHERE user_id = $1 AND image_id = $2", user_id, image_id)
    return [row["result_key"] for row in rows]


async def sweep_stale(pool: asyncpg.Pool, stale_after: float, max_attempts: int) -> int:
    """Requeue running jobs that went silent (their worker died without the broker noticing), or fail them."""
    handled = 0
    async with pool.acquire() as conn, conn.transaction():
        for row in await store.stale_running(conn, stale_after):
            STALE_REQUEUED.inc()
            handled += 1
            if row["attempt"] < max_attempts:
                await requeue(conn, row, ("running",), row["correlation_id"])
                log.warning("jobs.stale_requeued", job_id=str(row["id"]), attempt=row["attempt"])
            else:
                await fail_dead_lettered(conn, row["id"], row["attempt"],
                                         f"the worker stopped responding {max_attempts} times; giving up")
    return handled
