"""A private platform for benchmarks: its own database and bus names, started and stopped by the bench."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from services.launcher import Platform, free_port

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def bench_platform(extra_env: dict[str, str] | None = None) -> Iterator[Platform]:
    run = f"bench{secrets.token_hex(3)}"
    db = f"renovo_{run}"

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(ADMIN)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{db}"'))
    data = Path(tempfile.mkdtemp(prefix="renovo-bench-"))
    env = {
        "RENOVO_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{db}",
        "RENOVO_EXCHANGE": f"{run}.events", "RENOVO_DEAD_EXCHANGE": f"{run}.dead", "RENOVO_QUEUE_PREFIX": f"{run}.",
        "RENOVO_AUTH_BCRYPT_ROUNDS": "4", "RENOVO_LOG_LEVEL": "WARNING", "RENOVO_LOG_FORMAT": "json",
        **(extra_env or {}),
    }
    ports = {name: free_port() for name in ("auth", "albums", "jobs", "notifier", "inference")}
    platform = Platform(data_dir=data, port=free_port(), ports=ports, env=env, log_dir=data / "logs")
    platform.start(timeout=90)
    try:
        yield platform
    finally:
        platform.stop()
        asyncio.run(sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        asyncio.run(_delete_bus(run))


async def _delete_bus(run: str) -> None:
    """The run's queues and exchanges go with it, so that benchmarks do not fill the broker."""
    import aio_pika

    from shared.enhancements import FAMILIES
    from shared.events import Names

    names = Names(f"{run}.events", f"{run}.dead", f"{run}.")
    queues = [names.inference_queue(f) for f in FAMILIES] + [
        names.jobs_status_queue, names.jobs_dead_queue, names.jobs_images_queue, f"{run}.jobs.claims",
        f"{run}.jobs.dead-events", f"{run}.notifier.mail", f"{run}.notifier.users"]
    try:
        connection = await aio_pika.connect(os.environ.get("RENOVO_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
                                            timeout=10)
    except Exception:
        return
    async with connection:
        channel = await connection.channel()
        for queue in queues + [names.dead_queue(q) for q in queues]:
            try:
                await channel.queue_delete(queue)
            except Exception:
                channel = await connection.channel()
        for exchange in (names.exchange, names.dead_exchange):
            try:
                await channel.exchange_delete(exchange)
            except Exception:
                channel = await connection.channel()
