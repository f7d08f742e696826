"""A database of its own with the jobs schema, for tests of the jobs service's SQL (real PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from services.jobs.app import MIGRATIONS
from shared import db
from shared.settings import CommonSettings
from tests.conftest import ADMIN_DSN, RUN_ID, _dsn


@pytest.fixture(scope="session")
def jobs_database() -> Iterator[str]:
    name = f"renovo_{RUN_ID}_jobs"

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    yield _dsn(name)
    asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def jobs_pool(jobs_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(CommonSettings(env="test", database_url=jobs_database), max_size=12)
    await db.migrate(pool, "jobs", MIGRATIONS)
    yield pool
    await pool.close()
