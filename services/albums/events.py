"""What the albums service publishes (through its outbox): album.created/deleted, image.uploaded/deleted.

It consumes nothing.
"""

from __future__ import annotations

import uuid

import asyncpg

from shared.events import AlbumEvent, Envelope, EventType, ImageEvent, make_event
from shared.http import correlation_id


def album_created(user_id: uuid.UUID, album: asyncpg.Record) -> Envelope:
    """album.created, with the album's name."""
    return make_event(
        EventType.ALBUM_CREATED, AlbumEvent.model_validate({"album_id": album["id"], "name": album["name"]}),
        user_id=user_id, correlation_id=correlation_id(),
    )


def album_deleted(user_id: uuid.UUID, album_id: uuid.UUID, *, with_images: bool) -> Envelope:
    """album.deleted; `with_images` says whether its images went too (each has its image.deleted)."""
    return make_event(
        EventType.ALBUM_DELETED,
        AlbumEvent.model_validate({"album_id": album_id, "with_images": with_images}),
        user_id=user_id, correlation_id=correlation_id(),
    )


def _image_payload(image: asyncpg.Record) -> ImageEvent:
    # The payload's extra fields (allowed by shared.events.Payload) spare consumers a call back here.
    return ImageEvent.model_validate({
        "image_id": image["id"],
        "album_id": image["album_id"],
        "storage_key": image["storage_key"],
        "thumbnail_key": image["thumbnail_key"],
        "content_type": image["content_type"],
        "width": image["width"],
        "height": image["height"],
        "size_bytes": image["size_bytes"],
    })


def image_uploaded(image: asyncpg.Record) -> Envelope:
    """image.uploaded, with the storage keys, format and displayed size."""
    return make_event(
        EventType.IMAGE_UPLOADED, _image_payload(image),
        user_id=image["user_id"], correlation_id=correlation_id(),
    )


def image_deleted(image: asyncpg.Record) -> Envelope:
    """image.deleted, with the storage keys that were removed."""
    return make_event(
        EventType.IMAGE_DELETED, _image_payload(image),
        user_id=image["user_id"], correlation_id=correlation_id(),
    )
