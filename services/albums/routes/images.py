"""HTTP handlers of `/api/images` but the upload (upload.py): list, read, move, rename, delete, and the files:
original, thumbnail, preview."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import asyncpg
import structlog
from aiohttp import web

from shared import outbox
from shared.http import ApiError, json_response, not_found, parse_uuid, read_json, require_user, send_object
from shared.keys import POOL, STORAGE
from shared.storage import NotFound

from .. import events, images, objects, previews, store
from .paging import page_after, page_limit

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


async def _own_image(request: web.Request, user_id: uuid.UUID) -> asyncpg.Record:
    image_id = parse_uuid(request.match_info["id"], "image")
    async with request.app[POOL].acquire() as conn:
        row = await store.get_image(conn, user_id, image_id)
    if row is None:
        raise not_found("image")
    return row


@routes.get("/api/images")
async def list_images(request: web.Request) -> web.Response:
    """The caller's images, or one album's, newest first: `{"items", "next_cursor"}`."""
    user_id = require_user(request)
    limit = page_limit(request)
    after = page_after(request)
    album_id = None
    async with request.app[POOL].acquire() as conn:
        if raw_album := request.query.get("album_id"):
            album_id = parse_uuid(raw_album, "album")
            if await store.get_album(conn, user_id, album_id) is None:
                raise not_found("album")
        rows, next_cursor = await store.list_images(
            conn, user_id, album_id=album_id, after=after, limit=limit
        )
    return json_response({"items": [store.image_json(r) for r in rows], "next_cursor": next_cursor})


@routes.get("/api/images/{id}")
async def get_image(request: web.Request) -> web.Response:
    """One of the caller's images, with its `storage_key` (the jobs service reads it)."""
    user_id = require_user(request)
    return json_response(store.image_json(await _own_image(request, user_id)))


def _changes(body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - {"album_id", "filename"}
    if unknown:
        raise ApiError(422, "invalid", f"unknown field(s): {', '.join(sorted(unknown))}")
    fields: dict[str, Any] = {}
    if "album_id" in body:
        value = body["album_id"]
        if value is None:
            fields["album_id"] = None
        elif isinstance(value, str):
            fields["album_id"] = parse_uuid(value, "album")
        else:
            raise ApiError(422, "invalid", "album_id must be an album id or null")
    if "filename" in body:
        value = body["filename"]
        if not isinstance(value, str) or not value.strip():
            raise ApiError(422, "invalid", "filename must be a non-empty string")
        fields["filename"] = images.clean_filename(value)
    if not fields:
        raise ApiError(422, "invalid", "nothing to change: give album_id and/or filename")
    return fields


@routes.patch("/api/images/{id}")
async def update_image(request: web.Request) -> web.Response:
    """Move the image to another of the caller's albums (or out of any, with null) and/or rename it."""
    user_id = require_user(request)
    image_id = parse_uuid(request.match_info["id"], "image")
    fields = _changes(await read_json(request))
    async with request.app[POOL].acquire() as conn:
        try:
            row = await store.update_image(conn, user_id, image_id, fields)
        except asyncpg.ForeignKeyViolationError:
            # The composite key (album_id, user_id) refuses another user's album as firmly as a missing one.
            raise not_found("album") from None
    if row is None:
        raise not_found("image")
    return json_response(store.image_json(row))


@routes.delete("/api/images/{id}")
async def delete_image(request: web.Request) -> web.Response:
    """Delete the row with its image.deleted event, then its objects → 204."""
    user_id = require_user(request)
    image_id = parse_uuid(request.match_info["id"], "image")
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await store.delete_image(conn, user_id, image_id)
        if row is None:
            raise not_found("image")
        await outbox.add(conn, store.SCHEMA, events.image_deleted(row))
    await objects.remove(request.app[STORAGE], objects.keys_of([row]))
    log.info("albums.image_deleted", image_id=str(image_id))
    return web.Response(status=204)


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """A header value that no filename can break: an ASCII fallback plus the RFC 5987 UTF-8 form."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename) or "image"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _object(request: web.Request, key: str, content_type: str, headers: dict[str, str]) -> web.StreamResponse:
    """The object streamed from storage (bounded memory, Content-Length, ETag, byte ranges)."""
    try:
        return await send_object(request, request.app[STORAGE], key, content_type, headers)
    except NotFound:
        log.error("albums.object_missing", key=key)
        raise not_found("image file") from None


_FILE_HEADERS = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}


@routes.get("/api/images/{id}/original")
async def original(request: web.Request) -> web.StreamResponse:
    """The stored bytes, with the content type identified at upload (never the client's)."""
    user_id = require_user(request)
    row = await _own_image(request, user_id)
    headers = {**_FILE_HEADERS, "Content-Disposition": content_disposition(row["filename"])}
    return await _object(request, row["storage_key"], row["content_type"], headers)


@routes.get("/api/images/{id}/thumbnail")
async def thumbnail(request: web.Request) -> web.StreamResponse:
    """The WebP thumbnail made at upload."""
    user_id = require_user(request)
    row = await _own_image(request, user_id)
    return await _object(request, row["thumbnail_key"], "image/webp", dict(_FILE_HEADERS))


@routes.get("/api/images/{id}/preview")
async def preview(request: web.Request) -> web.Response:
    """The image fitted into 1600 px as WebP (made at upload; made now for images uploaded before)."""
    user_id = require_user(request)
    image_id = parse_uuid(request.match_info["id"], "image")
    try:
        body = await previews.preview_of(request.app, user_id, image_id)
    except NotFound:
        log.error("albums.object_missing", image_id=str(image_id))
        raise not_found("image file") from None
    if body is None:
        raise not_found("image")
    return web.Response(body=body, content_type="image/webp", headers=dict(_FILE_HEADERS))
