"""The inference worker process: the worker itself plus a small HTTP server for health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from shared import service
from shared.http import base_app
from shared.keys import BUS, STORAGE
from shared.service import CleanupCtx

from . import metrics
from .keys import WORKER
from .registry import Registry
from .settings import Settings
from .worker import Worker


def check_device(settings: Settings) -> None:
    """Resolve the device and the backend once, at start: a worker that cannot use them refuses to start
    (RuntimeError/ValueError with the reason) instead of reporting ready and crashing every job."""
    settings.resolved_backend()  # ncnn with a CUDA device is refused
    if set(settings.families) - {"none"}:
        from .device import register_device_user, resolve_device

        resolve_device(settings.device)
        for _ in range(max(1, settings.concurrency)):  # each model thread budgets its share of the memory
            register_device_user(settings.device)


def _worker(settings: Settings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        metrics.initialise(settings.families, settings.device)
        registry = Registry(families=settings.families, backend=settings.resolved_backend(),
                            threads=settings.threads or None, weights_dir=settings.weights_dir)
        worker = Worker(settings, app[BUS], app[STORAGE], registry)
        await worker.start()
        app[WORKER] = worker
        yield
        await worker.stop()

    return ctx


def create_app(settings: Settings) -> web.Application:
    check_device(settings)
    app = base_app(settings.common.jwt_secret)
    app.cleanup_ctx.append(service.bus(settings.common))
    app.cleanup_ctx.append(service.storage(settings.common))
    app.cleanup_ctx.append(_worker(settings))
    return app
