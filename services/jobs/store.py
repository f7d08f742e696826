"""SQL of the jobs schema. Status changes are guarded transitions, so a repeated event cannot apply twice."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from shared.events import ACTIVE_STATES, TERMINAL_STATES, JobState

SCHEMA = "jobs"
COLUMNS = (
    "id, user_id, image_id, type, family, options, status, progress, engine, error, attempt, source_key, "
    "result_key, result_width, result_height, idempotency_key, correlation_id, created_at, requested_at, updated_at, "
    "started_at, finished_at, output, eta_seconds, source_name, album_id, batch_id, batch_size, notes"
)
ACTIVE = ACTIVE_STATES
TERMINAL = TERMINAL_STATES


def job_json(row: asyncpg.Record) -> dict[str, Any]:
    options = row["options"]
    return {
        "id": str(row["id"]),
        "image_id": str(row["image_id"]),
        "type": row["type"],
        "options": json.loads(options) if isinstance(options, str) else options,
        "status": row["status"],
        "progress": round(float(row["progress"]), 4),
        "engine": row["engine"],
        "error": row["error"],
        "attempt": row["attempt"],
        "result": {"width": row["result_width"], "height": row["result_height"]}
        if row["status"] == JobState.COMPLETED else None,
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "started_at": row["started_at"].isoformat() if row["started_at"] else None,
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        "output": _output_json(row),
        "eta_seconds": round(float(row["eta_seconds"]), 1)
        if row["eta_seconds"] is not None and row["status"] == JobState.RUNNING else None,
        "batch_id": str(row["batch_id"]) if row["batch_id"] else None,
        "notes": list(row["notes"] or []) if row["status"] == JobState.COMPLETED else [],
    }


def _output_json(row: asyncpg.Record) -> dict[str, Any]:
    output = row["output"]
    spec = dict(json.loads(output) if isinstance(output, str) else output or {"format": "auto"})
    if row["status"] == JobState.COMPLETED:
        # What `auto` became: the stored result's format.
        spec["result_format"] = {"jpg": "jpeg"}.get(ext := row["result_key"].rsplit(".", 1)[-1], ext)
    return spec


async def insert_job(conn: asyncpg.Connection, **fields: Any) -> asyncpg.Record:
    fields["options"] = json.dumps(fields["options"])
    if "output" in fields:
        fields["output"] = json.dumps(fields["output"])
    names = list(fields)
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO jobs.jobs ({', '.join(names)}) VALUES ({placeholders}) RETURNING {COLUMNS}",
        *fields.values(),
    )
    assert row is not None
    return row


async def by_idempotency_key(conn: asyncpg.Connection, user_id: uuid.UUID, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM jobs.jobs WHERE user_id = $1 AND idempotency_key = $2", user_id, key
    )


async def get(conn: asyncpg.Connection, job_id: uuid.UUID, user_id: uuid.UUID | None = None,
              *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    if user_id is None:
        return await conn.fetchrow(f"SELECT {COLUMNS} FROM jobs.jobs WHERE id = $1{lock}", job_id)
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM jobs.jobs WHERE id = $1 AND user_id = $2{lock}",
                               job_id, user_id)


async def list_jobs(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    *,
    image_id: uuid.UUID | None,
    status: str | None,
    updated_since: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    where: list[str] = ["user_id = $1"]
    args: list[Any] = [user_id]

    def add(clause: str, value: Any) -> None:
        args.append(value)
        where.append(clause.format(f"${len(args)}"))

    if image_id is not None:
        add("image_id = {}", image_id)
    if status is not None:
        add("status = {}", status)
    if updated_since is not None:
        # Catch-up after a lost socket: everything changed since, oldest change first.
        add("updated_at > {}", updated_since)
        order = "updated_at ASC, id ASC"
    else:
        order = "created_at DESC, id DESC"
    if before is not None:
        args.extend(before)
        where.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    return list(await conn.fetch(
        f"SELECT {COLUMNS} FROM jobs.jobs WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ${len(args)}", *args
    ))


async def transition(
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    *,
    attempt: int | None,
    allowed_from: tuple[str, ...],
    status: str,
    **fields: Any,
) -> asyncpg.Record | None:
    """Move a job to `status` if it is in `allowed_from` (and on `attempt`); None when it does not apply."""
    sets = ["status = $2", "updated_at = clock_timestamp()"]
    args: list[Any] = [job_id, status]
    for name, value in fields.items():
        args.append(value)
        sets.append(f"{name} = ${len(args)}")
    if status == JobState.RUNNING:
        sets.append("started_at = coalesce(started_at, clock_timestamp())")
    if status in TERMINAL:
        sets.append("finished_at = clock_timestamp()")
    args.append(list(allowed_from))
    cond = f"id = $1 AND status = ANY(${len(args)}::text[])"
    if attempt is not None:
        args.append(attempt)
        cond += f" AND attempt = ${len(args)}"
    return await conn.fetchrow(f"UPDATE jobs.jobs SET {', '.join(sets)} WHERE {cond} RETURNING {COLUMNS}", *args)


async def set_progress(conn: asyncpg.Connection, job_id: uuid.UUID, attempt: int, progress: float,
                       eta_seconds: float | None = None) -> bool | None:
    """Record a progress report or heartbeat of the job's current attempt: any value proves the attempt alive
    (a redelivered attempt starts again at 0), the stored progress only grows. None when it does not apply
    (another attempt, or the job ended); else whether the progress rose."""
    previous = await conn.fetchval(
        "SELECT progress FROM jobs.jobs WHERE id = $1 AND attempt = $2 AND status IN ('queued', 'running') "
        "FOR UPDATE", job_id, attempt,
    )
    if previous is None:
        return None
    await conn.execute(
        "UPDATE jobs.jobs SET progress = greatest(progress, $3), eta_seconds = $4, "
        "updated_at = clock_timestamp(), heartbeat_at = clock_timestamp(), "
        "status = 'running', started_at = coalesce(started_at, clock_timestamp()) WHERE id = $1 AND attempt = $2",
        job_id, attempt, progress, eta_seconds,
    )
    return progress > float(previous)


async def stale_running(conn: asyncpg.Connection, older_than_seconds: float, limit: int = 100) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"SELECT {COLUMNS} FROM jobs.jobs WHERE status = 'running' "
        "AND updated_at < clock_timestamp() - make_interval(secs => $1) ORDER BY updated_at LIMIT $2 "
        "FOR UPDATE SKIP LOCKED",
        older_than_seconds, limit,
    ))
