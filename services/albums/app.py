"""The albums service: albums, image uploads (originals and thumbnails in storage), image metadata."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from shared import openapi, service
from shared.http import base_app

from . import previews
from .keys import DECODE_SLOTS, SETTINGS
from .openapi import SPEC
from .routes import ROUTES
from .settings import Settings
from .store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings) -> web.Application:
    """The albums application: routes, database (schema `albums`), storage, bus and outbox relay."""
    # Uploads are streamed part by part (request.multipart()), which client_max_size does not limit; the
    # per-file cap is settings.max_file_bytes. Every other body is JSON, limited by read_json.
    app = base_app(settings.common.jwt_secret)
    app[SETTINGS] = settings
    app[DECODE_SLOTS] = asyncio.Semaphore(settings.decode_concurrency)
    app.cleanup_ctx.append(service.database(settings.common, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(service.storage(settings.common))
    app.cleanup_ctx.append(service.bus(settings.common))
    app.cleanup_ctx.append(service.relay(SCHEMA))
    app.add_routes([openapi.route(SPEC)])
    for table in ROUTES:
        app.add_routes(table)
    previews.install(app)
    return app
