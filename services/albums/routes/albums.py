"""HTTP handlers of `/api/albums`: thin, SQL in store.py."""

from __future__ import annotations

import unicodedata
from typing import Any

import structlog
from aiohttp import web

from shared import outbox
from shared.http import ApiError, json_response, not_found, parse_uuid, read_json, require_user
from shared.keys import POOL, STORAGE

from .. import events, objects, store
from .paging import page_after, page_limit

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

MAX_NAME = 200


def album_name(body: dict[str, Any]) -> str:
    """The `name` of a request body: 1 to 200 characters, no control characters."""
    unknown = set(body) - {"name"}
    if unknown:
        raise ApiError(422, "invalid", f"unknown field(s): {', '.join(sorted(unknown))}")
    name = body.get("name")
    if not isinstance(name, str):
        raise ApiError(422, "invalid", "name is required")
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C").strip()
    if not name or len(name) > MAX_NAME:
        raise ApiError(422, "invalid", f"name must be 1 to {MAX_NAME} characters")
    return name


def flag(request: web.Request, name: str) -> bool:
    """A boolean query parameter (`true`/`1`/`false`/`0`, default false); anything else is 422."""
    value = request.query.get(name, "false").lower()
    if value not in ("true", "1", "false", "0"):
        raise ApiError(422, "invalid", f"{name} must be true or false")
    return value in ("true", "1")


@routes.get("/api/albums")
async def list_albums(request: web.Request) -> web.Response:
    """The caller's albums, newest first, each with its image count: `{"items", "next_cursor"}`, `limit` (1 to
    200, default 50) at a time; `cursor` is the previous page's `next_cursor`."""
    user_id = require_user(request)
    limit = page_limit(request)
    after = page_after(request)
    async with request.app[POOL].acquire() as conn:
        rows, next_cursor = await store.list_albums(conn, user_id, after=after, limit=limit)
    return json_response({"items": [store.album_json(r) for r in rows], "next_cursor": next_cursor})


@routes.post("/api/albums")
async def create_album(request: web.Request) -> web.Response:
    """`{name}` → 201 album, and album.created."""
    user_id = require_user(request)
    name = album_name(await read_json(request))
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await store.insert_album(conn, user_id, name)
        await outbox.add(conn, store.SCHEMA, events.album_created(user_id, row))
    log.info("albums.album_created", album_id=str(row["id"]))
    return json_response(store.album_json(row), status=201)


@routes.get("/api/albums/{id}")
async def get_album(request: web.Request) -> web.Response:
    """One of the caller's albums."""
    user_id = require_user(request)
    album_id = parse_uuid(request.match_info["id"], "album")
    async with request.app[POOL].acquire() as conn:
        row = await store.get_album(conn, user_id, album_id)
    if row is None:
        raise not_found("album")
    return json_response(store.album_json(row))


@routes.patch("/api/albums/{id}")
async def rename_album(request: web.Request) -> web.Response:
    """`{name}` → the renamed album."""
    user_id = require_user(request)
    album_id = parse_uuid(request.match_info["id"], "album")
    name = album_name(await read_json(request))
    async with request.app[POOL].acquire() as conn:
        row = await store.rename_album(conn, user_id, album_id, name)
    if row is None:
        raise not_found("album")
    return json_response(store.album_json(row))


@routes.delete("/api/albums/{id}")
async def delete_album(request: web.Request) -> web.Response:
    """Delete the album; its images stay (out of any album) unless `?with_images=true`."""
    user_id = require_user(request)
    album_id = parse_uuid(request.match_info["id"], "album")
    with_images = flag(request, "with_images")
    async with request.app[POOL].acquire() as conn, conn.transaction():
        # Locked first, so that an upload into it either commits before us or finds it gone.
        if await store.get_album(conn, user_id, album_id, lock=True) is None:
            raise not_found("album")
        removed = await store.delete_album_images(conn, user_id, album_id) if with_images else []
        await store.delete_album(conn, user_id, album_id)
        await outbox.add(
            conn, store.SCHEMA,
            events.album_deleted(user_id, album_id, with_images=with_images),
            *(events.image_deleted(r) for r in removed),
        )
    # Objects go after the commit: a crash in between leaves orphans, never rows without objects.
    await objects.remove(request.app[STORAGE], objects.keys_of(removed))
    log.info("albums.album_deleted", album_id=str(album_id), images_deleted=len(removed))
    return web.Response(status=204)
