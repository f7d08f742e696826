"""The auth service: users, login, rotating refresh tokens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from aiohttp import web
from prometheus_client import Counter

from shared import openapi, service
from shared.http import base_app
from shared.keys import POOL
from shared.service import CleanupCtx

from . import throttle
from .keys import SETTINGS
from .openapi import SPEC
from .passwords import dummy_hash
from .routes import routes
from .settings import Settings
from .store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger(__name__)
PRUNED = Counter("renovo_auth_pruned_rows_total", "Rows deleted by the housekeeping task", ["table"])
for _table in ("refresh_tokens", "login_throttle", "login_failures", "known_addresses"):
    PRUNED.labels(_table)


def _housekeeping(settings: Settings) -> CleanupCtx:
    """Warm the dummy hash (so the first unknown-account login is not slower), then prune every interval."""

    async def loop(app: web.Application) -> None:
        while True:
            try:
                async with app[POOL].acquire() as conn:
                    counts = await throttle.prune(conn, settings)
                for table, count in counts.items():
                    PRUNED.labels(table).inc(count)
                if any(counts.values()):
                    log.info("auth.pruned", **counts)
            except Exception as exc:  # the database may be away for a while: try again next time
                log.warning("auth.prune_failed", error=repr(exc))
            await asyncio.sleep(settings.prune_interval_seconds)

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await asyncio.to_thread(dummy_hash, settings.bcrypt_rounds)
        task = asyncio.create_task(loop(app))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


def create_app(settings: Settings) -> web.Application:
    app = base_app(settings.common.jwt_secret)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(service.database(settings.common, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(service.bus(settings.common))
    app.cleanup_ctx.append(service.relay(SCHEMA))
    app.cleanup_ctx.append(_housekeeping(settings))
    app.add_routes([openapi.route(SPEC)])
    app.add_routes(routes)
    return app
