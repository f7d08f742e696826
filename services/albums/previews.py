"""Preview size: a WebP that fits in 1600 px, for the image page and the compare view (the web app never has to
decode a 50-megapixel original to show it on a screen).

Made right after an upload is committed (in the background, one at a time and under the same decode slots as
uploads, so the upload answer does not wait for it and uploads keep a slot), and on the first request for images
uploaded before previews existed or whose background job did not finish (`GET /api/images/{id}/preview`, in
routes/images.py). Stored
at `previews/<user>/<image>.webp`; removed with the image (objects.keys_of). An image that fits in the thumbnail
square has no separate preview: its thumbnail is already the whole picture, and is answered instead.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from PIL import Image
from prometheus_client import Counter, Histogram

from shared.http import require_user
from shared.keys import POOL, STORAGE
from shared.storage import NotFound

from . import images, store
from .keys import DECODE_SLOTS, PREVIEW_BACKGROUND_SLOT, PREVIEW_TASKS, PREVIEWS_MAKING, SETTINGS
from .objects import preview_key

log = structlog.get_logger(__name__)

PREVIEW_SIZE = 1600
PREVIEW_QUALITY = 82

PREVIEWS = Counter("renovo_albums_previews_total", "Previews made, by when", ["when"])
PREVIEW_SECONDS = Histogram(
    "renovo_albums_preview_seconds", "Time to decode an original and make its preview",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def make_preview(data: bytes, size: int = PREVIEW_SIZE, quality: int = PREVIEW_QUALITY) -> bytes:
    """The first frame, orientation applied, fitted into `size`×`size` (never enlarged), as WebP."""
    with Image.open(io.BytesIO(data), formats=images._OPEN_FORMATS) as im:
        if im.format in ("JPEG", "MPO"):
            im.draft(im.mode, (size, size))
        im.load()
        orientation = images._orientation(im)
        out = images._displayable(im)
        if out is im:
            out = im.copy()
    out.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if orientation in images._TRANSPOSE:
        out = out.transpose(images._TRANSPOSE[orientation])
    buffer = io.BytesIO()
    out.save(buffer, "WEBP", quality=quality, method=2)
    return buffer.getvalue()


async def _row(app: web.Application, user_id: uuid.UUID, image_id: uuid.UUID) -> Any:
    async with app[POOL].acquire() as conn:
        return await store.get_image(conn, user_id, image_id)


def _fits_thumbnail(app: web.Application, row: Any) -> bool:
    return bool(max(row["width"], row["height"]) <= app[SETTINGS].thumbnail_size)


async def _make(app: web.Application, user_id: uuid.UUID, image_id: uuid.UUID, storage_key: str, when: str) -> bytes:
    """Decode the original, store its preview and answer it; one at a time per image."""
    making = app[PREVIEWS_MAKING]
    running = making.get(image_id)
    if running is not None:
        return await asyncio.shield(running)
    future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    making[image_id] = future
    try:
        storage = app[STORAGE]
        started = time.perf_counter()
        async with app[DECODE_SLOTS]:
            # Read under the semaphore: a batch of uploads must not hold every original in memory at once.
            original = await storage.get(storage_key)
            body = await asyncio.to_thread(make_preview, original)
            del original
        PREVIEW_SECONDS.observe(time.perf_counter() - started)
        key = preview_key(user_id, image_id)
        await storage.put(key, body, "image/webp")
        # Deleted while the preview was being made: do not leave it behind.
        if await _row(app, user_id, image_id) is None:
            await storage.delete(key)
        PREVIEWS.labels(when).inc()
        future.set_result(body)
        return body
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: nobody else may be waiting
        raise
    finally:
        making.pop(image_id, None)


async def preview_of(app: web.Application, user_id: uuid.UUID, image_id: uuid.UUID) -> bytes | None:
    """The image's preview as WebP (its thumbnail when the image fits the thumbnail square; made now when
    missing), or None when the caller has no such image. Raises storage.NotFound when an object is missing."""
    row = await _row(app, user_id, image_id)
    if row is None:
        return None
    storage = app[STORAGE]
    if _fits_thumbnail(app, row):
        return await storage.get(row["thumbnail_key"])
    try:
        return await storage.get(preview_key(user_id, image_id))
    except NotFound:
        return await _make(app, user_id, image_id, row["storage_key"], "on_request")


async def _after_upload(app: web.Application, user_id: uuid.UUID, image_ids: list[uuid.UUID]) -> None:
    for image_id in image_ids:
        try:
            row = await _row(app, user_id, image_id)
            if row is None or _fits_thumbnail(app, row):
                continue
            async with app[PREVIEW_BACKGROUND_SLOT]:
                await _make(app, user_id, image_id, row["storage_key"], "upload")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the preview is made on request instead
            log.warning("albums.preview_failed", image_id=str(image_id), error=repr(exc))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def previews_after_upload(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After a committed upload (201), make the new images' previews in the background."""
    response = await handler(request)
    if request.method == "POST" and request.path == "/api/images" and response.status == 201:
        body: Any = getattr(response, "body", None)
        try:
            ids = [uuid.UUID(i["id"]) for i in json.loads(bytes(body))["images"]]
        except (TypeError, ValueError, KeyError):
            return response
        if ids:
            task = asyncio.create_task(_after_upload(request.app, require_user(request), ids))
            tasks = request.app[PREVIEW_TASKS]
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    return response


async def _cleanup(app: web.Application) -> AsyncIterator[None]:
    yield
    tasks = app[PREVIEW_TASKS]
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def install(app: web.Application) -> None:
    """The after-upload middleware and the shutdown of background work."""
    app[PREVIEW_TASKS] = set()
    app[PREVIEWS_MAKING] = {}
    app[PREVIEW_BACKGROUND_SLOT] = asyncio.Semaphore(1)
    app.middlewares.append(previews_after_upload)
    app.cleanup_ctx.append(_cleanup)
