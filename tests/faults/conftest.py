"""A platform of its own for fault tests (they kill and cut things), reaching PostgreSQL and RabbitMQ through
proxies the tests can cut."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from services.launcher import Platform, free_port
from shared.settings import CommonSettings
from tests.conftest import ADMIN_DSN, RUN_ID, _dsn

from .proxy import CuttableProxy


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
    pg = CuttableProxy("127.0.0.1", 5432).start()
    amqp = CuttableProxy("127.0.0.1", 5672).start()
    data = tmp_path_factory.mktemp("faults")
    env = {
        "RENOVO_ENV": "test",
        "RENOVO_DATABASE_URL": _dsn(database).replace(":5432/", f":{pg.port}/"),
        "RENOVO_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{amqp.port}/",
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
