"""The jobs service: validates and records jobs, requests them from the workers, records what they report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from shared import openapi, service
from shared.http import base_app
from shared.service import CleanupCtx

from . import lifecycle
from .albums_client import AlbumsClient
from .events import consumers
from .keys import ALBUMS, SETTINGS
from .openapi import SPEC
from .routes import routes
from .settings import Settings
from .store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def _albums_client(settings: Settings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        client = AlbumsClient(settings.albums_url)
        await client.start()
        app[ALBUMS] = client
        yield
        await client.close()

    return ctx


def create_app(settings: Settings) -> web.Application:
    lifecycle.initialise_metrics()
    app = base_app(settings.common.jwt_secret)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(service.database(settings.common, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(service.bus(settings.common))
    app.cleanup_ctx.append(service.relay(SCHEMA))
    app.cleanup_ctx.append(service.storage(settings.common))
    app.cleanup_ctx.append(_albums_client(settings))
    app.cleanup_ctx.append(consumers(settings))
    app.add_routes([openapi.route(SPEC)])
    app.add_routes(routes)
    return app
