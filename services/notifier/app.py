"""The notifier: pushes job events over WebSocket to every open socket of the job's owner, and e-mails owners
who are away when their batch finishes."""

from __future__ import annotations

import uuid
from pathlib import Path

from aiohttp import WSCloseCode, web

from shared import openapi, service
from shared.http import base_app

from . import away, events
from .hub import Hub
from .keys import HUB, SETTINGS
from .openapi import SPEC
from .routes import routes
from .settings import Settings
from .store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


async def _close_sockets(app: web.Application) -> None:
    # Going away: clients reconnect (to another replica) and catch up with GET /api/jobs?updated_since=.
    for ws in app[HUB].all():
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def create_app(settings: Settings) -> web.Application:
    app = base_app(settings.common.jwt_secret)
    app[SETTINGS] = settings
    app[HUB] = Hub()
    # One name per process for its own queues and its presence row (random unless the deployment names it).
    instance = settings.instance or uuid.uuid4().hex[:8]
    app.cleanup_ctx.append(service.database(settings.common, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(service.bus(settings.common))
    app.cleanup_ctx.append(events.socket_events(instance))
    app.cleanup_ctx.append(away.mail(instance))
    app.cleanup_ctx.append(events.mail_events())
    app.on_shutdown.append(_close_sockets)
    app.add_routes([openapi.route(SPEC)])
    app.add_routes(routes)
    return app
