"""Fixtures shared by the whole suite: each test run gets its own database and its own bus names.

Tests talk to the real PostgreSQL and RabbitMQ on 127.0.0.1 (override with RENOVO_TEST_DATABASE_URL /
RENOVO_TEST_AMQP_URL). Nothing here mocks them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from shared.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT.parent / "shared").resolve()
IMAGES = SHARED / "images"

ADMIN_DSN = os.environ.get("RENOVO_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("RENOVO_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
RUN_ID = f"t{os.getpid()}{secrets.token_hex(3)}"

pytest_plugins = ["tests.platform_fixtures"]


def _dsn(database: str) -> str:
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def run_id() -> str:
    return RUN_ID


@contextlib.contextmanager
def own_database(suffix: str = "") -> Iterator[str]:
    """A database of this test run (`renovo_<run><suffix>`), created empty and dropped afterwards: its URL."""
    name = f"renovo_{RUN_ID}{suffix}"

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    try:
        yield _dsn(name)
    finally:
        asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def test_database() -> Iterator[str]:
    """A database of this test run, dropped at the end."""
    with own_database() as url:
        yield url


@pytest.fixture(scope="session")
def common_settings(test_database: str, tmp_path_factory: pytest.TempPathFactory) -> CommonSettings:
    return CommonSettings(
        env="test",
        database_url=test_database,
        amqp_url=AMQP_URL,
        exchange=f"{RUN_ID}.events",
        dead_exchange=f"{RUN_ID}.dead",
        queue_prefix=f"{RUN_ID}.",
        storage_path=tmp_path_factory.mktemp("storage"),
        jwt_secret="test-secret-" + "x" * 32,
        log_format="console",
    )




async def delete_bus_names(exchange: str, dead_exchange: str, prefix: str) -> None:
    """Delete a run's durable queues and exchanges, so the broker doesn't fill up across runs."""
    import aio_pika

    from shared.enhancements import FAMILIES
    from shared.events import Names

    try:
        connection = await aio_pika.connect(AMQP_URL, timeout=5)
    except Exception:
        return
    async with connection:
        channel = await connection.channel()
        names = Names(exchange, dead_exchange, prefix)
        queues = [names.inference_queue(f) for f in FAMILIES] + [names.jobs_status_queue, names.jobs_dead_queue,
                                                                  names.jobs_images_queue, names.jobs_claims_queue,
                                                                  names.jobs_dead_events_queue]
        queues += [names.notifier_mail_queue, names.notifier_users_queue]  # the notifier's shared e-mail queues
        for q in queues + [names.dead_queue(q) for q in queues]:
            try:
                await channel.queue_delete(q)
            except Exception:
                channel = await connection.channel()
        for ex in (names.exchange, names.dead_exchange):
            try:
                await channel.exchange_delete(ex)
            except Exception:
                channel = await connection.channel()


@pytest.fixture(scope="session", autouse=True)
def _cleanup_bus() -> Iterator[None]:
    yield
    asyncio.run(delete_bus_names(f"{RUN_ID}.events", f"{RUN_ID}.dead", f"{RUN_ID}."))


def http_get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except Exception:
        return 0


@pytest.fixture
async def pg(test_database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(test_database)
    yield conn
    await conn.close()
