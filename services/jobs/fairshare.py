"""Fair share (DESIGN.md): requested jobs wait in PostgreSQL and are released to the broker per user in turn.

While other users have work in a family, each user has at most `limit(family)` jobs of it in flight
(released to the broker, queued there or running); the next one is released when one of them completes, fails
or is cancelled. The broker queue of a family therefore holds at most a few jobs of each active user, in the
order they were released: a user's 500-image album and another user's single photo alternate instead of
queueing one behind the other. A user alone with a family may have up to `alone` in flight, so that one
person's batch still keeps every worker busy; as soon as someone else asks, the first user's share shrinks
back to the bound as their jobs finish.

The state is the `released_at` column, nothing in memory: a restarted jobs service loses and duplicates
nothing. Releases of one user and family are serialised by a transaction-scoped advisory lock (so that the
bound holds with several jobs replicas), and the held rows are taken `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import structlog
from prometheus_client import Counter, Gauge

from shared import outbox
from shared.enhancements import FAMILIES
from shared.events import Envelope

from . import store

log = structlog.get_logger(__name__)

RELEASED = Counter("renovo_jobs_released_total", "Jobs released to the broker by the fair-share dispatcher",
                   ["family"])
HELD = Gauge("renovo_jobs_held", "Jobs waiting in the jobs service for their owner's turn", ["family"])
IN_FLIGHT = Gauge("renovo_jobs_in_flight", "Jobs released to the broker and not yet finished", ["family"])
USERS_WAITING = Gauge("renovo_jobs_users_waiting", "Users with jobs held for their turn", ["family"])
LARGEST_BACKLOG = Gauge("renovo_jobs_user_backlog_max", "The largest number of jobs one user has held",
                        ["family"])
OLDEST_HELD = Gauge("renovo_jobs_held_oldest_age_seconds", "Age of the oldest held job", ["family"])


@dataclass
class Limits:
    """Jobs in flight per user and family (settings `in_flight_per_user`, `in_flight_per_user_by_family`)."""

    default: int = 2
    by_family: dict[str, int] = field(default_factory=dict)
    alone: int = 2

    def limit(self, family: str) -> int:
        return max(1, self.by_family.get(family, self.default))


LIMITS = Limits()


def configure(default: int, by_family: dict[str, int], alone: int) -> None:
    """Set the bounds once at start-up (the jobs service's consumers, the admin command)."""
    LIMITS.default = default
    LIMITS.by_family = dict(by_family)
    LIMITS.alone = alone
    for family in FAMILIES:
        for gauge in (HELD, IN_FLIGHT, USERS_WAITING, LARGEST_BACKLOG, OLDEST_HELD):
            gauge.labels(family)
        RELEASED.labels(family)


Announce = Callable[[asyncpg.Record], Envelope]


async def release(conn: asyncpg.Connection, user_id: uuid.UUID, family: str, request: Announce) -> int:
    """Release this user's next held jobs of `family` while the bound allows (caller holds the transaction);
    each gets its `job.requested.<family>` in the outbox. Returns how many were released."""
    # Most endings leave nothing to release: ask that first, without the lock. (A job being inserted now is
    # released by its own transaction's call.)
    if not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM jobs.jobs WHERE user_id = $1 AND family = $2 AND status = 'queued' "
        "AND released_at IS NULL)", user_id, family,
    ):
        return 0
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"renovo.jobs.release.{user_id}.{family}")
    in_flight = await conn.fetchval(
        "SELECT count(*) FROM jobs.jobs WHERE user_id = $1 AND family = $2 "
        "AND status IN ('queued', 'running') AND released_at IS NOT NULL",
        user_id, family,
    )
    bound = LIMITS.limit(family)
    if LIMITS.alone > bound and int(in_flight) < LIMITS.alone:
        others = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM jobs.jobs WHERE family = $2 AND user_id <> $1 "
            "AND status IN ('queued', 'running'))",
            user_id, family,
        )
        if not others:
            bound = LIMITS.alone
    room = bound - int(in_flight)
    if room <= 0:
        return 0
    rows = await conn.fetch(
        f"UPDATE jobs.jobs SET released_at = clock_timestamp() WHERE id IN ("
        "SELECT id FROM jobs.jobs WHERE user_id = $1 AND family = $2 AND status = 'queued' "
        "AND released_at IS NULL ORDER BY requested_at, id LIMIT $3 FOR UPDATE SKIP LOCKED"
        f") RETURNING {store.COLUMNS}",
        user_id, family, room,
    )
    if not rows:
        return 0
    ordered = sorted(rows, key=lambda r: (r["requested_at"], r["id"]))
    await outbox.add(conn, store.SCHEMA, *(request(r) for r in ordered))
    RELEASED.labels(family).inc(len(ordered))
    return len(ordered)


async def release_all(pool: asyncpg.Pool, request: Announce, limit: int = 1000) -> int:
    """The safety net (run periodically): give every waiting user and family its turn. Round robin: the users
    whose oldest held job is oldest go first, one transaction each."""
    async with pool.acquire() as conn:
        pairs = await conn.fetch(
            "SELECT user_id, family FROM jobs.jobs WHERE status = 'queued' AND released_at IS NULL "
            "GROUP BY user_id, family ORDER BY min(requested_at) LIMIT $1",
            limit,
        )
    released = 0
    for pair in pairs:
        async with pool.acquire() as conn, conn.transaction():
            released += await release(conn, pair["user_id"], pair["family"], request)
    return released


async def update_gauges(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT family, count(*) FILTER (WHERE released_at IS NULL) AS held, "
            "count(*) FILTER (WHERE released_at IS NOT NULL) AS in_flight, "
            "count(DISTINCT user_id) FILTER (WHERE released_at IS NULL) AS users, "
            "extract(epoch FROM clock_timestamp() - min(requested_at) FILTER (WHERE released_at IS NULL)) AS oldest "
            "FROM jobs.jobs WHERE status IN ('queued', 'running') GROUP BY family"
        )
        largest = await conn.fetch(
            "SELECT family, max(n) AS n FROM (SELECT family, user_id, count(*) AS n FROM jobs.jobs "
            "WHERE status = 'queued' AND released_at IS NULL GROUP BY family, user_id) per_user GROUP BY family"
        )
    by_family = {r["family"]: r for r in rows}
    most = {r["family"]: int(r["n"]) for r in largest}
    for family in FAMILIES:
        row = by_family.get(family)
        HELD.labels(family).set(row["held"] if row else 0)
        IN_FLIGHT.labels(family).set(row["in_flight"] if row else 0)
        USERS_WAITING.labels(family).set(row["users"] if row else 0)
        OLDEST_HELD.labels(family).set(float(row["oldest"]) if row and row["oldest"] is not None else 0.0)
        LARGEST_BACKLOG.labels(family).set(most.get(family, 0))
