"""Transactional outbox: events written in the same transaction as the change, published by a relay.

Each producing service has `<schema>.outbox` (see its first migration). `add` inserts the event and
NOTIFYs the relay, which publishes with broker confirms, in the order the events were written, and deletes
what was confirmed. Several replicas can run relays at once: `FOR UPDATE SKIP LOCKED` gives each row to one
of them. Events that must reach a consumer (requests to the workers) are published `mandatory`: one the broker
cannot route stays in the outbox, counted and logged, until its queue exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
import structlog
from prometheus_client import Gauge

from .bus import Bus
from .db import UNAVAILABLE_ERRORS
from .events import JOB_REQUESTED_PREFIX, Envelope

log = structlog.get_logger(__name__)

OUTBOX_BACKLOG = Gauge("renovo_outbox_backlog", "Events written but not yet published")
OUTBOX_OLDEST = Gauge("renovo_outbox_oldest_age_seconds", "Age of the oldest unpublished event")



def must_route(event_type: str) -> bool:
    """Events nobody may miss: a request for a worker must land in its queue or stay in the outbox."""
    return event_type.startswith(JOB_REQUESTED_PREFIX)


def channel_name(schema: str) -> str:
    return f"{schema}_outbox"


async def add(conn: asyncpg.Connection, schema: str, *events: Envelope) -> None:
    """Write events to the outbox inside the caller's transaction."""
    await conn.executemany(
        f'INSERT INTO "{schema}".outbox (id, type, body) VALUES ($1, $2, $3)',
        [(e.id, e.type, e.model_dump_json()) for e in events],
    )
    await conn.execute(f"NOTIFY {channel_name(schema)}")


class Relay:
    """Publishes a schema's outbox: woken by NOTIFY, with a periodic sweep as a safety net."""

    def __init__(self, pool: asyncpg.Pool, bus: Bus, schema: str, *, batch: int = 200) -> None:
        self.pool = pool
        self.bus = bus
        self.schema = schema
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._stats_at = 0.0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.schema}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._drop_listener()

    def wake(self) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        # Held before add_listener: stop() may cancel us during it, and _drop_listener must release it.
        self._listener = await self.pool.acquire()
        await self._listener.add_listener(channel_name(self.schema), self._on_notify)

    def _on_notify(self, *args: object) -> None:
        self._wake.set()

    async def _drop_listener(self) -> None:
        if self._listener is not None:
            conn, self._listener = self._listener, None
            with contextlib.suppress(Exception):
                await conn.remove_listener(channel_name(self.schema), self._on_notify)
            with contextlib.suppress(Exception):
                await self.pool.release(conn)

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            try:
                await self._listen()
                while await self.flush() >= self.batch:
                    pass
                await self._update_stats()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Database or broker away: keep the rows, try again later; nothing is lost.
                if not isinstance(exc, UNAVAILABLE_ERRORS):
                    log.warning("outbox.flush_failed", schema=self.schema, error=repr(exc))
                await self._drop_listener()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that arrives as the
            # event is set (a NOTIFY at shutdown), and stop() then waits for this task forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            self._wake.clear()

    async def flush(self) -> int:
        """Publish one batch; returns how many events were published."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f'SELECT id, type, body FROM "{self.schema}".outbox ORDER BY created_at '
                "LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch,
            )
            if not rows:
                return 0
            # Publish concurrently on the confirming channel (frames leave in this order, so the broker sees
            # the events in the order they were written); each await returns once the broker confirmed.
            results = await asyncio.gather(
                *(self.bus.publish(Envelope.model_validate_json(r["body"]), body=r["body"].encode(),
                                   mandatory=must_route(r["type"])) for r in rows),
                return_exceptions=True,
            )
            published = [r["id"] for r, result in zip(rows, results, strict=True) if result is None]
            failed = [(r, result) for r, result in zip(rows, results, strict=True) if result is not None]
            await conn.execute(f'DELETE FROM "{self.schema}".outbox WHERE id = ANY($1::uuid[])', published)
        if failed:
            row, error = failed[0]
            if not isinstance(error, Exception):
                raise error
            log.warning("outbox.publish_failed", schema=self.schema, failed=len(failed), type=row["type"],
                        error=repr(error))
            if len(failed) == len(rows):
                raise error
        return len(published)

    async def _update_stats(self) -> None:
        if time.monotonic() - self._stats_at < 2.0:
            return
        self._stats_at = time.monotonic()
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                f'SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age FROM "{self.schema}".outbox'
            )
        OUTBOX_BACKLOG.set(row["n"] if row else 0)
        OUTBOX_OLDEST.set(float(row["age"]) if row and row["age"] is not None else 0.0)


async def seen(conn: asyncpg.Connection, schema: str, event_id: object) -> bool:
    """Record an event id in the schema's inbox (in the caller's transaction); True if it was already there."""
    inserted = await conn.fetchval(
        f'INSERT INTO "{schema}".inbox (event_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING true', event_id
    )
    return inserted is None
