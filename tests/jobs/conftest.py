"""A database of its own with the jobs schema, for tests of the jobs service's SQL (real PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from services.jobs.app import MIGRATIONS
from shared import db
from shared.settings import CommonSettings
from tests.conftest import own_database


@pytest.fixture(scope="session")
def jobs_database() -> Iterator[str]:
    with own_database("_jobs") as url:
        yield url


@pytest.fixture
async def jobs_pool(jobs_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(CommonSettings(env="test", database_url=jobs_database), max_size=12)
    await db.migrate(pool, "jobs", MIGRATIONS)
    yield pool
    await pool.close()
