"""A platform of its own for fault tests (they kill and cut things), reaching PostgreSQL and RabbitMQ through
proxies the tests can cut."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import ParseResult, urlparse

import aiohttp
import asyncpg
import pytest

from services.launcher import Platform, free_port
from shared.settings import CommonSettings
from tests.conftest import ADMIN_DSN, AMQP_URL, IMAGES, RUN_ID
from tests.platform_fixtures import Client

from .proxy import CuttableProxy


def _through(url: ParseResult, port: int) -> ParseResult:
    """`url` with its credentials, pointing at the proxy on 127.0.0.1:`port`."""
    credentials = url.netloc.rpartition("@")[0]
    return url._replace(netloc=f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}")


class FaultPlatform(Platform):
    pg_proxy: CuttableProxy
    amqp_proxy: CuttableProxy
    names: tuple[str, str, str]


@pytest.fixture(scope="session")
def fault_platform(common_settings: CommonSettings, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[FaultPlatform]:
    run = f"{RUN_ID}f"
    database = f"renovo_{run}"

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{database}"'))
    # The suite's servers may be private ones on other ports (`make test` on a machine without them).
    pg_url, amqp_url = urlparse(ADMIN_DSN), urlparse(AMQP_URL)
    pg = CuttableProxy(pg_url.hostname or "127.0.0.1", pg_url.port or 5432).start()
    amqp = CuttableProxy(amqp_url.hostname or "127.0.0.1", amqp_url.port or 5672).start()
    data = tmp_path_factory.mktemp("faults")
    env = {
        "RENOVO_ENV": "test",
        "RENOVO_DATABASE_URL": _through(pg_url, pg.port)._replace(path=f"/{database}").geturl(),
        "RENOVO_AMQP_URL": _through(amqp_url, amqp.port).geturl(),
        "RENOVO_EXCHANGE": f"{run}.events",
        "RENOVO_DEAD_EXCHANGE": f"{run}.dead",
        "RENOVO_QUEUE_PREFIX": f"{run}.",
        "RENOVO_JWT_SECRET": common_settings.jwt_secret,
        "RENOVO_STORAGE_PATH": str(data / "storage"),
        "RENOVO_AUTH_BCRYPT_ROUNDS": "4",
        "RENOVO_INFERENCE_FAMILIES": "none",
        "RENOVO_INFERENCE_SHUTDOWN_GRACE": "20",
        "RENOVO_JOBS_STALE_AFTER_SECONDS": "12",
        "RENOVO_INFERENCE_HEARTBEAT_INTERVAL": "2",
        "RENOVO_JOBS_SWEEP_INTERVAL_SECONDS": "1",
        "RENOVO_LOG_FORMAT": "json",
    }
    ports = {name: free_port() for name in ("auth", "albums", "jobs", "notifier", "inference")}
    p = FaultPlatform(data_dir=data, port=free_port(), ports=ports, env=env, log_dir=data / "logs")
    p.pg_proxy, p.amqp_proxy = pg, amqp
    p.names = (f"{run}.events", f"{run}.dead", f"{run}.")
    p.start(timeout=90)
    yield p
    p.stop()
    pg.close()
    amqp.close()
    asyncio.run(sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    from tests.conftest import delete_bus_names

    asyncio.run(delete_bus_names(*p.names))


LARGE = IMAGES / "edge/large_4000x3000_smooth_noise.jpg"


@pytest.fixture
async def client(fault_platform: FaultPlatform) -> AsyncIterator[Client]:
    """A signed-up user of the fault platform."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield await Client(session, fault_platform.url).signup()


async def upload_photo(client: Client, path: Any = None) -> dict[str, Any]:
    r = await client.upload(path or IMAGES / "photo/00003.png")
    assert r.status == 201, await r.text()
    return (await r.json())["images"][0]


async def final_state(client: Client, job_id: str, timeout: float = 90) -> dict[str, Any]:
    """The job once it has ended (completed, failed or cancelled)."""
    async with asyncio.timeout(timeout):
        while True:
            r = await client.request("GET", f"/api/jobs/{job_id}")
            if r.status == 200:
                job = await r.json()
                if job["status"] in ("completed", "failed", "cancelled"):
                    return job
            await asyncio.sleep(0.2)
