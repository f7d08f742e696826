"""Which users have a page open on any notifier replica, kept in the notifier's schema.

Each replica knows only its own sockets. Every `interval` seconds it writes what changed (users with sockets
on it, and a heartbeat of the instance); a replica that stops heartbeating (crashed) stops counting after
`ttl` seconds, and one that shuts down cleanly removes its rows at once. The mailer asks `is_online` after
waiting one interval, so a page opened or closed just before a job ended is seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

import asyncpg
import structlog

log = structlog.get_logger(__name__)


class Presence:
    def __init__(self, pool: asyncpg.Pool, instance: str, counts: Callable[[], dict[uuid.UUID, int]],
                 interval: float = 2.0, ttl: float = 30.0) -> None:
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
                await conn.execute("DELETE FROM notifier.instances WHERE instance = $1", self.instance)

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
            await conn.execute(
                "INSERT INTO notifier.instances (instance) VALUES ($1) "
                "ON CONFLICT (instance) DO UPDATE SET seen_at = clock_timestamp()", self.instance)
            if gone:
                await conn.execute("DELETE FROM notifier.presence WHERE instance = $1 AND user_id = ANY($2::uuid[])",
                                   self.instance, gone)
            if changed:
                await conn.executemany(
                    "INSERT INTO notifier.presence (instance, user_id, sockets) VALUES ($1, $2, $3) "
                    "ON CONFLICT (user_id, instance) DO UPDATE SET sockets = excluded.sockets",
                    [(self.instance, u, n) for u, n in changed.items()])
            # Replicas that died without saying so.
            await conn.execute("DELETE FROM notifier.instances WHERE seen_at < clock_timestamp() - "
                               "make_interval(secs => $1)", self.ttl * 10)
        self._written = now


async def is_online(conn: asyncpg.Connection, user_id: uuid.UUID, ttl: float) -> bool:
    """Whether the user has an open page on a replica that was alive within `ttl` seconds."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM notifier.presence p JOIN notifier.instances i USING (instance) "
        "WHERE p.user_id = $1 AND p.sockets > 0 AND i.seen_at > clock_timestamp() - make_interval(secs => $2))",
        user_id, ttl))
