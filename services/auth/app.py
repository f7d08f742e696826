"""The auth service: users, login, rotating refresh tokens."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from shared import openapi, service
from shared.http import base_app

from .openapi import SPEC
from .routes import SETTINGS, routes
from .settings import Settings
from .store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings) -> web.Application:
    app = base_app(settings.common.jwt_secret)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(service.database(settings.common, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(service.bus(settings.common))
    app.cleanup_ctx.append(service.relay(SCHEMA))
    app.add_routes([openapi.route(SPEC)])
    app.add_routes(routes)
    return app
