"""`batch.finished`: announced (through the outbox) when the last job of a batch ends, or a job requested alone.

Jobs of one batch end in different transactions, possibly at the same moment; a transaction-scoped advisory
lock on the batch serialises the "is anything left?" question, so exactly the last one to commit sees none
left. A batch whose jobs are retried and end again is announced again (its owner has new results to see).

A batch that never reaches its `size` (some of its requests were refused, or the client stopped asking) is
announced by `sweep_overdue` once its jobs have all ended and none was added for `OVERDUE_SECONDS`.
"""

from __future__ import annotations

import asyncpg

from shared import outbox
from shared.events import BatchFinished, EventType, make_event

from . import store

MAX_LISTED = 1000
OVERDUE_SECONDS = 300.0


async def after_terminal(conn: asyncpg.Connection, row: asyncpg.Record, *, overdue: bool = False) -> bool:
    """Call in the transaction that moved `row` to a terminal status; True when `batch.finished` was written.
    `overdue`: announce even though fewer jobs than the batch's size exist (see sweep_overdue)."""
    batch_id = row["batch_id"]
    if batch_id is None:
        jobs = [row]
    else:
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"renovo.batch.{row['user_id']}.{batch_id}")
        counts = await conn.fetchrow(
            "SELECT count(*) AS total, count(*) FILTER (WHERE status = ANY($3::text[])) AS active "
            "FROM jobs.jobs WHERE user_id = $1 AND batch_id = $2",
            row["user_id"], batch_id, list(store.ACTIVE),
        )
        assert counts is not None
        if counts["active"] or (counts["total"] < (row["batch_size"] or 1) and not overdue):
            return False
        jobs = list(await conn.fetch(
            "SELECT id, image_id, type, status, album_id FROM jobs.jobs WHERE user_id = $1 AND batch_id = $2 "
            "ORDER BY created_at, id LIMIT $3",
            row["user_id"], batch_id, MAX_LISTED,
        ))
        await conn.execute(
            "INSERT INTO jobs.batch_announcements (user_id, batch_id) VALUES ($1, $2) ON CONFLICT (user_id, batch_id) "
            "DO UPDATE SET announced_at = clock_timestamp()", row["user_id"], batch_id)
    albums = {j["album_id"] for j in jobs}
    payload = BatchFinished(
        batch_id=batch_id,
        album_id=next(iter(albums)) if len(albums) == 1 else None,
        jobs=[{"job_id": str(j["id"]), "image_id": str(j["image_id"]), "type": j["type"], "status": j["status"]}
              for j in jobs],
    )
    await outbox.add(conn, store.SCHEMA, make_event(EventType.BATCH_FINISHED, payload, user_id=row["user_id"],
                                                    correlation_id=row["correlation_id"]))
    return True


async def sweep_overdue(pool: asyncpg.Pool, overdue_seconds: float = OVERDUE_SECONDS, limit: int = 100) -> int:
    """Announce batches short of their size whose jobs have all ended and that got no new job for a while (each
    once, until a job of it ends again)."""
    async with pool.acquire() as conn:
        candidates = await conn.fetch(
            "SELECT j.user_id, j.batch_id FROM jobs.jobs j WHERE j.batch_id IS NOT NULL "
            "GROUP BY j.user_id, j.batch_id "
            "HAVING count(*) < max(j.batch_size) AND bool_and(j.status <> ALL($1::text[])) "
            "AND max(j.created_at) < clock_timestamp() - make_interval(secs => $2) "
            "AND NOT EXISTS (SELECT 1 FROM jobs.batch_announcements a WHERE a.user_id = j.user_id "
            "  AND a.batch_id = j.batch_id AND a.announced_at >= max(j.finished_at)) "
            "LIMIT $3",
            list(store.ACTIVE), overdue_seconds, limit)
    announced = 0
    for candidate in candidates:
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT {store.COLUMNS} FROM jobs.jobs WHERE user_id = $1 AND batch_id = $2 "
                "ORDER BY finished_at DESC NULLS LAST LIMIT 1", candidate["user_id"], candidate["batch_id"])
            if row is not None and await after_terminal(conn, row, overdue=True):
                announced += 1
    return announced
