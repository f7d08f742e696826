"""What the jobs service consumes: the worker's status events and dead-lettered requests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import structlog
from aiohttp import web
from pydantic import ValidationError

from shared.bus import Bus, Delivery, Outcome
from shared.enhancements import FAMILIES
from shared.events import JOB_STATUS_EVENTS, Envelope, EventType, ImageEvent, JobRequested, JobStatus
from shared.service import BUS, POOL, STORAGE
from shared.storage import Storage

from . import lifecycle
from .settings import Settings

log = structlog.get_logger(__name__)


def status_handler(pool: asyncpg.Pool):  # type: ignore[no-untyped-def]
    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        try:
            status = JobStatus.model_validate(envelope.payload)
        except ValidationError as exc:
            log.error("jobs.bad_status_event", error=str(exc)[:300])
            return Outcome.FAILED
        async with pool.acquire() as conn, conn.transaction():
            applied = await lifecycle.apply_status(conn, envelope.type, status)
        return Outcome.DONE if applied else Outcome.SKIP

    return handle


def image_deleted_handler(pool: asyncpg.Pool, storage: Storage):  # type: ignore[no-untyped-def]
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


def dead_request_handler(pool: asyncpg.Pool, delivery_limit: int):  # type: ignore[no-untyped-def]
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


async def _unreadable_dead(message: object) -> Outcome:
    # A dead-lettered body we cannot parse names no job; the copy in renovo.dead.<queue> stays for operators.
    return Outcome.SKIP


def consumers(settings: Settings):  # type: ignore[no-untyped-def]
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        bus: Bus = app[BUS]
        pool = app[POOL]
        names = bus.names
        await bus.consume(names.jobs_status_queue, [str(t) for t in JOB_STATUS_EVENTS], status_handler(pool),
                          prefetch=64)
        await bus.consume(
            names.jobs_dead_queue, [names.inference_queue(f) for f in FAMILIES],
            dead_request_handler(pool, settings.common.delivery_limit), source=names.dead_exchange,
            raw=_unreadable_dead,  # type: ignore[arg-type]
        )
        await bus.consume(names.jobs_images_queue, [EventType.IMAGE_DELETED],
                          image_deleted_handler(pool, app[STORAGE]), prefetch=16)
        sweeper = asyncio.create_task(_sweep(pool, settings))
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper

    return ctx


async def _sweep(pool: asyncpg.Pool, settings: Settings) -> None:
    while True:
        await asyncio.sleep(settings.sweep_interval_seconds)
        try:
            await lifecycle.sweep_stale(pool, settings.stale_after_seconds, settings.max_attempts)
        except Exception as exc:
            log.warning("jobs.sweep_failed", error=repr(exc))
