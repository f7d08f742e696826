"""`batch.finished`: announced (through the outbox) when the last job of a batch ends, or a job requested alone.

Jobs of one batch end in different transactions, possibly at the same moment; a transaction-scoped advisory
lock on the batch serialises the "is anything left?" question, so exactly the last one to commit sees none
left. A batch whose jobs are retried and end again is announced again (its owner has new results to see).
"""

from __future__ import annotations

import asyncpg

from shared import outbox
from shared.events import BatchFinished, EventType, make_event

from . import store

MAX_LISTED = 1000


async def after_terminal(conn: asyncpg.Connection, row: asyncpg.Record) -> bool:
    """Call in the transaction that moved `row` to a terminal status; True when `batch.finished` was written."""
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
        if counts["active"] or counts["total"] < (row["batch_size"] or 1):
            return False
        jobs = list(await conn.fetch(
            "SELECT id, image_id, type, status, album_id FROM jobs.jobs WHERE user_id = $1 AND batch_id = $2 "
            "ORDER BY created_at, id LIMIT $3",
            row["user_id"], batch_id, MAX_LISTED,
        ))
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
