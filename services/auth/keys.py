"""The application keys the auth service sets in `create_app` (shared ones: shared/keys.py)."""

from __future__ import annotations

from aiohttp import web

from .settings import Settings

SETTINGS = web.AppKey("settings", Settings)
