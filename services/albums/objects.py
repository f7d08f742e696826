"""Storage keys of an image's objects, and their removal once the database no longer points at them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

import asyncpg
import structlog

from shared.storage import Storage

log = structlog.get_logger(__name__)


def original_key(user_id: uuid.UUID, image_id: uuid.UUID, extension: str) -> str:
    """`originals/<user>/<image>.<ext>`: the uploaded bytes, as they came."""
    return f"originals/{user_id}/{image_id}.{extension}"


def thumbnail_key(user_id: uuid.UUID, image_id: uuid.UUID) -> str:
    """`thumbs/<user>/<image>.webp`: the thumbnail made at upload."""
    return f"thumbs/{user_id}/{image_id}.webp"


def preview_key(user_id: uuid.UUID, image_id: uuid.UUID) -> str:
    """`previews/<user>/<image>.webp`: the preview size (services/albums/previews.py); may not exist yet."""
    return f"previews/{user_id}/{image_id}.webp"


def keys_of(rows: Iterable[asyncpg.Record]) -> list[str]:
    """Every key of each image row: original, thumbnail and preview."""
    return [
        key for row in rows
        for key in (row["storage_key"], row["thumbnail_key"], preview_key(row["user_id"], row["id"]))
    ]


async def remove(storage: Storage, keys: Iterable[str]) -> None:
    """Delete objects, best effort: called after the rows are gone, so a failure leaves an orphan, never a
    row without its object. Orphans are logged for a sweep."""
    keys = list(keys)
    results = await asyncio.gather(*(storage.delete(k) for k in keys), return_exceptions=True)
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("albums.object_orphaned", key=key, error=repr(result))
