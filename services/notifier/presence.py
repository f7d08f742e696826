"""Which users have a page open on any notifier replica, kept in the notifier's schema.

Each replica knows only its own sockets. Every `interval` seconds it writes what changed (users with sockets
on it, and a heartbeat of the instance); a replica that stops heartbeating (crashed) stops counting after
`ttl` seconds, and one that shuts down cleanly removes its rows at once. The e-mail decision asks
`store.is_online` after waiting one interval, so a page opened or closed just before a job ended is seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

import asyncpg
import structlog

from . import store

log = structlog.get_logger(__name__)

INTERVAL = 2.0
"""Seconds between a replica's writes of its presence."""
TTL = 30.0
"""Seconds after which a replica that stopped heartbeating no longer counts."""


class Presence:
    def __init__(self, pool: asyncpg.Pool, instance: str, counts: Callable[[], dict[uuid.UUID, int]],
                 interval: float = INTERVAL, ttl: float = TTL) -> None:
        self.pool = pool
        self.instance = instance
        self.counts = counts
        self.interval = interval
        self.ttl = ttl
        self._written: dict[uuid.UUID, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.sync()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            async with self.pool.acquire() as conn:
                await store.remove_instance(conn, self.instance)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sync()
            except Exception as exc:  # the database is away: try again next round
                log.warning("notifier.presence_sync_failed", error=repr(exc))

    async def sync(self) -> None:
        """Write this replica's heartbeat and the users whose socket count changed."""
        now = {u: n for u, n in self.counts().items() if n > 0}
        changed = {u: n for u, n in now.items() if self._written.get(u) != n}
        gone = [u for u in self._written if u not in now]
        async with self.pool.acquire() as conn, conn.transaction():
            # Replicas that died without saying so are forgotten long after they stopped counting.
            await store.write_presence(conn, self.instance, changed, gone, dead_after=self.ttl * 10)
        self._written = now

