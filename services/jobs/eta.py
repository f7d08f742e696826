"""Time left for jobs still waiting in their owner's line (the worker estimates running jobs itself).

A queued job waits for the owner's jobs of the same family asked for before it (fair share releases them in
order, `limit` at a time); each takes about the median time recent completed jobs of that type took. Before
any job of the type has completed there is nothing to go by, and the estimate stays None. Other users' work
shares the workers too, so this is a lower bound people can read as "at least about".
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import asyncpg

from shared.events import JobState

from . import fairshare, store

RECENT = 20


async def queued(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> dict[uuid.UUID, float]:
    """Estimates for the queued ones among `rows` (one query)."""
    ids = [r["id"] for r in rows if r["status"] == JobState.QUEUED]
    if not ids:
        return {}
    found = await conn.fetch(
        "SELECT q.id, q.family, "
        "(SELECT count(*) FROM jobs.jobs j WHERE j.user_id = q.user_id AND j.family = q.family "
        " AND j.status = ANY($2::text[]) AND (j.requested_at, j.id) < (q.requested_at, q.id)) AS ahead, "
        "(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FROM ("
        "  SELECT extract(epoch FROM c.finished_at - c.started_at) AS seconds FROM jobs.jobs c "
        "  WHERE c.type = q.type AND c.status = 'completed' AND c.started_at IS NOT NULL "
        "  ORDER BY c.finished_at DESC LIMIT $3) recent) AS per_job "
        "FROM jobs.jobs q WHERE q.id = ANY($1::uuid[])",
        ids, list(store.ACTIVE), RECENT)
    estimates = {}
    for row in found:
        if row["per_job"] is None:
            continue
        rounds = math.floor(int(row["ahead"]) / fairshare.LIMITS.limit(row["family"])) + 1
        estimates[row["id"]] = round(rounds * float(row["per_job"]), 1)
    return estimates


def with_estimates(items: list[dict[str, Any]], estimates: dict[uuid.UUID, float]) -> list[dict[str, Any]]:
    for item in items:
        if item["status"] == JobState.QUEUED and item["eta_seconds"] is None:
            item["eta_seconds"] = estimates.get(uuid.UUID(item["id"]))
    return items
