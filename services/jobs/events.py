"""What the jobs service publishes and consumes, and its background loops (fair-share releases, sweeps).

Publishes (through its outbox, lifecycle.py): `job.requested.<family>` when a job's turn comes (fair share),
`job.cancelled` (to the workers), `job.updated` (what was recorded, for the notifier), `batch.finished`; and,
best effort after a commit, the `job.updated` of starts and progress, and `job.claimed` answers.
Consumes:
- `job.claim` (workers; `jobs.claims`): may this attempt run? answered on the worker's reply queue.
- `job.started`/`job.progress`/`job.completed`/`job.failed` (workers; `jobs.status`): recorded per attempt.
- `image.deleted` (albums; `jobs.images`): the image's jobs cancelled, their results removed.
- dead-lettered requests (`jobs.dead`): their job marked failed with a reason; dead-lettered status and image
  events (`jobs.dead-events`): applied again, they are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage
from aiohttp import web
from pydantic import ValidationError

from shared.bus import Bus, Delivery, Handler, Outcome
from shared.enhancements import FAMILIES
from shared.events import (
    JOB_STATUS_EVENTS,
    Envelope,
    EventType,
    ImageEvent,
    JobClaim,
    JobClaimed,
    JobRequested,
    JobStatus,
    job_requested,
    make_event,
)
from shared.keys import BUS, POOL, STORAGE
from shared.service import CleanupCtx
from shared.storage import Storage

from . import batches, fairshare, lifecycle
from .settings import Settings

log = structlog.get_logger(__name__)


async def _publish_notices(bus: Bus | None, notices: list[Envelope]) -> None:
    """Starts and progress, published after the commit; best effort (the next one, or the page's catch-up
    with GET /api/jobs?updated_since=, supersedes a lost one), so they cost no outbox round."""
    for notice in notices:
        if bus is None:
            break
        try:
            await bus.publish(notice)
        except Exception as exc:
            log.warning("jobs.notice_not_published", error=repr(exc))


def status_handler(pool: asyncpg.Pool, bus: Bus | None = None) -> Handler:
    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        try:
            status = JobStatus.model_validate(envelope.payload)
        except ValidationError as exc:
            log.error("jobs.bad_status_event", error=str(exc)[:300])
            return Outcome.FAILED
        notices: list[Envelope] | None = [] if bus is not None else None
        async with pool.acquire() as conn, conn.transaction():
            applied = await lifecycle.apply_status(conn, envelope.type, status, notices)
        await _publish_notices(bus, notices or [])
        return Outcome.DONE if applied else Outcome.SKIP

    return handle


def image_deleted_handler(pool: asyncpg.Pool, storage: Storage) -> Handler:
    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        try:
            event = ImageEvent.model_validate(envelope.payload)
        except ValidationError:
            return Outcome.FAILED
        if envelope.user_id is None:
            return Outcome.SKIP
        async with pool.acquire() as conn, conn.transaction():
            keys = await lifecycle.forget_image(conn, envelope.user_id, event.image_id)
        for key in keys:  # after the commit: a crash here leaves an orphan object, never a job without its file
            await storage.delete(key)
        return Outcome.DONE if keys else Outcome.SKIP

    return handle


def claim_handler(pool: asyncpg.Pool, bus: Bus) -> Handler:
    """job.claim: a worker may run an attempt only while it is the job's current, unfinished one. The answer
    goes to the worker's own control queue; so a worker that joins after a cancel never computes it."""

    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        try:
            claim = JobClaim.model_validate(envelope.payload)
        except ValidationError:
            return Outcome.FAILED
        if not delivery.reply_to:
            return Outcome.FAILED
        notices: list[Envelope] = []
        async with pool.acquire() as conn, conn.transaction():
            run, status = await lifecycle.claim(conn, claim.job_id, claim.attempt, claim.worker, notices,
                                                 claim.redelivered)
        answer = JobClaimed(job_id=claim.job_id, attempt=claim.attempt, run=run, status=status)
        await bus.reply(delivery.reply_to, make_event(EventType.JOB_CLAIMED, answer, user_id=envelope.user_id,
                                                      correlation_id=envelope.correlation_id))
        await _publish_notices(bus, notices)
        if not run:
            log.info("jobs.claim_refused", job_id=str(claim.job_id), attempt=claim.attempt, status=status)
        return Outcome.DONE

    return handle


def dead_event_handler(pool: asyncpg.Pool, storage: Storage) -> Handler:
    """Status and image events that were dead-lettered are applied again (they are idempotent): a longer
    outage than the bus rides out in place must not leave a job running or a result behind."""
    status = status_handler(pool)
    image = image_deleted_handler(pool, storage)

    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        if envelope.type == EventType.IMAGE_DELETED:
            outcome = await image(envelope, delivery)
        elif envelope.type in JOB_STATUS_EVENTS:
            outcome = await status(envelope, delivery)
        else:
            return Outcome.SKIP
        log.warning("jobs.dead_event_applied", type=envelope.type, outcome=outcome.value)
        # A permanent failure stays in renovo.dead.<queue> for operators (and its alert).
        return Outcome.SKIP if outcome is Outcome.FAILED else outcome

    return handle


def dead_request_handler(pool: asyncpg.Pool, delivery_limit: int) -> Handler:
    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        try:
            request = JobRequested.model_validate(envelope.payload)
        except ValidationError:
            log.error("jobs.dead_request_unreadable", event_id=str(envelope.id))
            return Outcome.SKIP
        reason = (
            f"processing failed {delivery_limit} times in a row (the worker crashed or timed out); "
            "the request was set aside for an operator"
        )
        async with pool.acquire() as conn, conn.transaction():
            failed = await lifecycle.fail_dead_lettered(conn, request.job_id, request.attempt, reason)
        log.warning("jobs.dead_lettered", job_id=str(request.job_id), marked_failed=failed)
        return Outcome.DONE if failed else Outcome.SKIP

    return handle


async def _unreadable_dead(message: AbstractIncomingMessage) -> Outcome:
    # A dead-lettered body we cannot parse names no job; the copy in renovo.dead.<queue> stays for operators.
    return Outcome.SKIP


def consumers(settings: Settings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        bus: Bus = app[BUS]
        pool = app[POOL]
        names = bus.names
        fairshare.configure(settings.in_flight_per_user, settings.in_flight_per_user_by_family,
                            settings.in_flight_alone)
        # Every family's work queue exists before the first request is published, whether or not a worker of
        # that family ever ran: a request is never confirmed by the broker and then dropped.
        for family in FAMILIES:
            await bus.declare(names.inference_queue(family), [job_requested(family)])
        await bus.consume(names.jobs_claims_queue, [EventType.JOB_CLAIM], claim_handler(pool, bus), prefetch=64)
        await bus.consume(names.jobs_status_queue, [str(t) for t in JOB_STATUS_EVENTS], status_handler(pool, bus),
                          prefetch=64)
        await bus.consume(
            names.jobs_dead_queue, [names.inference_queue(f) for f in FAMILIES],
            dead_request_handler(pool, settings.common.delivery_limit), source=names.dead_exchange,
            raw=_unreadable_dead,
        )
        await bus.consume(names.jobs_images_queue, [EventType.IMAGE_DELETED],
                          image_deleted_handler(pool, app[STORAGE]), prefetch=16)
        await bus.consume(names.jobs_dead_events_queue, [names.jobs_status_queue, names.jobs_images_queue],
                          dead_event_handler(pool, app[STORAGE]), prefetch=16, source=names.dead_exchange)
        loops = [asyncio.create_task(_sweep(pool, settings)), asyncio.create_task(_release(pool, settings))]
        yield
        for task in loops:
            task.cancel()
        for task in loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return ctx


async def _release(pool: asyncpg.Pool, settings: Settings) -> None:
    """The fair-share safety net: releases normally follow each change in its transaction; this gives every
    waiting user their turn after anything that slipped (a crash between, a changed setting)."""
    while True:
        await asyncio.sleep(settings.release_interval_seconds)
        try:
            await fairshare.release_all(pool, lifecycle.request_of)
            await fairshare.update_gauges(pool)
        except Exception as exc:
            log.warning("jobs.release_failed", error=repr(exc))


async def _sweep(pool: asyncpg.Pool, settings: Settings) -> None:
    while True:
        await asyncio.sleep(settings.sweep_interval_seconds)
        try:
            await lifecycle.sweep_stale(pool, settings.stale_after_seconds, settings.max_attempts)
            await lifecycle.sweep_unclaimed(pool, settings.unclaimed_after_seconds)
            await batches.sweep_overdue(pool, settings.batch_overdue_seconds)
        except Exception as exc:
            log.warning("jobs.sweep_failed", error=repr(exc))
