"""The notifier: pushes job events over WebSocket to every open socket of the job's owner."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, web

from shared import openapi, service
from shared.http import base_app

from .hub import Hub
from .openapi import SPEC
from .routes import HUB, SETTINGS, routes
from .settings import Settings


def _consumer(settings: Settings):  # type: ignore[no-untyped-def]
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        bus = app[service.BUS]
        instance = settings.instance or uuid.uuid4().hex[:8]
        # An exclusive queue per process: every replica sees every job event and serves its own sockets.
        await bus.consume(bus.names.notifier_queue(instance), ["job.*"], app[HUB].handle, prefetch=256,
                          exclusive=True)
        yield

    return ctx


async def _close_sockets(app: web.Application) -> None:
    # Going away: clients reconnect (to another replica) and catch up with GET /api/jobs?updated_since=.
    for ws in app[HUB].all():
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def create_app(settings: Settings) -> web.Application:
    app = base_app(settings.common.jwt_secret)
    app[SETTINGS] = settings
    app[HUB] = Hub()
    app.cleanup_ctx.append(service.bus(settings.common))
    app.cleanup_ctx.append(_consumer(settings))
    app.on_shutdown.append(_close_sockets)
    app.add_routes([openapi.route(SPEC)])
    app.add_routes(routes)
    return app
