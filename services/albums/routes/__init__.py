"""HTTP handlers of the albums service, by resource: `/api/albums` (albums.py), `/api/images` (images.py),
the upload `POST /api/images` (upload.py). Thin: SQL in store.py, decoding in images.py, events in events.py."""

from __future__ import annotations

from aiohttp import web

from . import albums, images, upload

ROUTES: list[web.RouteTableDef] = [albums.routes, upload.routes, images.routes]
"""In the order they are added (the upload's POST before the image routes, as before)."""
