"""PostgreSQL access: a pool per service and numbered SQL migrations applied under an advisory lock."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import structlog

from .settings import CommonSettings

log = structlog.get_logger(__name__)

MIGRATION_NAME = re.compile(r"^(\d+)_[\w-]+\.sql$")

# Errors that mean "the database is not reachable right now" (answered with 503, retried by consumers).
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


async def create_pool(settings: CommonSettings, *, max_size: int | None = None) -> asyncpg.Pool:
    """A pool that fails fast: a short connect timeout, so requests answer 503 instead of hanging."""
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=1,
        max_size=max_size or settings.db_pool_max,
        timeout=3.0,
        command_timeout=settings.db_command_timeout,
        max_inactive_connection_lifetime=60.0,
    )
    assert pool is not None
    return pool


async def migrate(pool: asyncpg.Pool, schema: str, directory: Path) -> list[str]:
    """Apply `directory`'s `NNN_name.sql` files not yet applied to `schema`, in order, each in a transaction.

    Several replicas may start at once: a session advisory lock per schema serialises them.
    """
    files = sorted(
        (int(m.group(1)), p) for p in directory.iterdir() if (m := MIGRATION_NAME.match(p.name)) is not None
    )
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"renovo.migrate.{schema}")
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations ('
                "version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch(f'SELECT version FROM "{schema}".schema_migrations')}
            for version, path in files:
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(f'SET LOCAL search_path TO "{schema}", public')
                    await conn.execute(path.read_text())
                    await conn.execute(
                        f'INSERT INTO "{schema}".schema_migrations (version, name) VALUES ($1, $2)',
                        version,
                        path.name,
                    )
                applied.append(path.name)
                log.info("db.migration_applied", schema=schema, migration=path.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"renovo.migrate.{schema}")
    return applied


async def ping(pool: asyncpg.Pool) -> None:
    async with pool.acquire(timeout=2.0) as conn:
        await conn.fetchval("SELECT 1", timeout=2.0)
