"""The application keys the albums service sets in `create_app` (shared ones: shared/keys.py)."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web

from .settings import Settings

SETTINGS = web.AppKey("albums_settings", Settings)
DECODE_SLOTS = web.AppKey("decode_slots", asyncio.Semaphore)
"""Images decoded at once (uploads and previews alike): `settings.decode_concurrency`."""
PREVIEW_TASKS = web.AppKey[set[asyncio.Task[None]]]("albums_preview_tasks")
"""Previews being made in the background after uploads (cancelled at shutdown)."""
PREVIEWS_MAKING = web.AppKey[dict[uuid.UUID, asyncio.Future[bytes]]]("albums_previews_in_progress")
"""Image → the preview being made for it, so that two requests make it once."""
PREVIEW_BACKGROUND_SLOT = web.AppKey("albums_preview_background_slot", asyncio.Semaphore)
"""Background previews are made one at a time, so that uploads keep their decode slots."""
