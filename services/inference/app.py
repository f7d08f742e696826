"""The inference worker process: the worker itself plus a small HTTP server for health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from shared import service
from shared.http import base_app

from . import metrics
from .registry import Registry
from .settings import Settings
from .worker import Worker

WORKER = web.AppKey("worker", Worker)


def _worker(settings: Settings):  # type: ignore[no-untyped-def]
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        metrics.initialise(settings.families, settings.device)
        registry = Registry(families=settings.families, backend=settings.resolved_backend(),
                            threads=settings.threads or None)
        worker = Worker(settings, app[service.BUS], app[service.STORAGE], registry)
        await worker.start()
        app[WORKER] = worker
        yield
        await worker.stop()

    return ctx


def create_app(settings: Settings) -> web.Application:
    app = base_app(settings.common.jwt_secret)
    app.cleanup_ctx.append(service.bus(settings.common))
    app.cleanup_ctx.append(service.storage(settings.common))
    app.cleanup_ctx.append(_worker(settings))
    return app
