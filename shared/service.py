"""Lifecycle pieces every service assembles in `create_app`: database, bus, outbox relay, storage.

Each is an aiohttp cleanup context: opened at start-up, closed at shutdown in reverse order, so that a
SIGTERM finishes in-flight requests, then stops consumers and relays, then closes connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from . import db
from .bus import Bus
from .keys import BUS, POOL, READY_CHECKS, RELAY, STORAGE
from .outbox import Relay
from .settings import CommonSettings
from .storage import open_storage

log = structlog.get_logger(__name__)

__all__ = ["CleanupCtx", "bound_malloc", "bus", "database", "relay", "run", "storage"]

CleanupCtx = Callable[[web.Application], AsyncIterator[None]]


def database(settings: CommonSettings, schema: str, migrations: Path) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool = await db.create_pool(settings)
        await db.migrate(pool, schema, migrations)
        app[POOL] = pool
        app[READY_CHECKS]["database"] = lambda: db.ping(pool)
        yield
        await asyncio.wait_for(pool.close(), timeout=10)

    return ctx


def bus(settings: CommonSettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        b = Bus(settings)
        await b.connect()
        app[BUS] = b

        async def check() -> None:
            if not b.is_connected:
                raise ConnectionError("broker connection lost")

        app[READY_CHECKS]["broker"] = check
        yield
        await b.close()

    return ctx


def relay(schema: str) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        r = Relay(app[POOL], app[BUS], schema)
        await r.start()
        app[RELAY] = r
        yield
        await r.stop()

    return ctx


def storage(settings: CommonSettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        s = await open_storage(settings)
        app[STORAGE] = s
        app[READY_CHECKS]["storage"] = s.check
        yield
        await s.close()

    return ctx


def bound_malloc(mmap_threshold: int = 1024 * 1024) -> None:
    """glibc only: serve allocations over `mmap_threshold` (uploads, images, results) from mmap, so that their
    memory goes back to the system when freed. By default glibc raises the threshold after the first large free
    and keeps later large buffers in per-thread arenas: a process that decodes in worker threads then grows by
    tens of MB per thread and never shrinks."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(-3, mmap_threshold)  # M_MMAP_THRESHOLD (also turns the dynamic threshold off)
    except (OSError, AttributeError):
        return


def run(app: web.Application, host: str, port: int, **kwargs: Any) -> None:
    """Serve until SIGINT/SIGTERM, then finish in-flight requests (up to 30 s) and close resources."""
    bound_malloc()
    log.info("service.listening", host=host, port=port)
    web.run_app(app, host=host, port=port, shutdown_timeout=30, access_log=None, print=None,
                handler_cancellation=False, **kwargs)
