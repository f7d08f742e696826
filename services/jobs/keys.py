"""The application keys the jobs service sets in `create_app` (shared ones: shared/keys.py)."""

from __future__ import annotations

from aiohttp import web

from .albums_client import AlbumsClient
from .settings import Settings

SETTINGS = web.AppKey("jobs_settings", Settings)
ALBUMS = web.AppKey("jobs_albums", AlbumsClient)
"""The client that asks the albums service whether an image is the caller's."""
