"""The albums service: albums, image uploads (originals and thumbnails in storage), image metadata."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from shared import openapi, service
from shared.http import base_app

from . import previews, routes_albums, routes_images, routes_upload
from .openapi import SPEC
from .settings import SETTINGS, Settings
from .store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings) -> web.Application:
    """The albums application: routes, database (schema `albums`), storage, bus and outbox relay."""
    # Uploads are streamed part by part (request.multipart()), which client_max_size does not limit; the
    # per-file cap is settings.max_file_bytes. Every other body is JSON, limited by read_json.
    app = base_app(settings.common.jwt_secret)
    app[SETTINGS] = settings
    app[routes_upload.DECODE_SLOTS] = asyncio.Semaphore(settings.decode_concurrency)
    app.cleanup_ctx.append(service.database(settings.common, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(service.storage(settings.common))
    app.cleanup_ctx.append(service.bus(settings.common))
    app.cleanup_ctx.append(service.relay(SCHEMA))
    app.add_routes([openapi.route(SPEC)])
    app.add_routes(routes_albums.routes)
    app.add_routes(routes_upload.routes)
    app.add_routes(routes_images.routes)
    previews.install(app)
    return app
