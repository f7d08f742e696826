"""The query parameters of a paged list (`limit`, `cursor`), read alike by every list route."""

from __future__ import annotations

import uuid
from datetime import datetime

from aiohttp import web

from shared.http import ApiError

from .. import store

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def page_limit(request: web.Request) -> int:
    """`limit`: 1 to 200, default 50; anything else is 422."""
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(422, "invalid", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return limit


def page_after(request: web.Request) -> tuple[datetime, uuid.UUID] | None:
    """Where the page starts: the previous page's `next_cursor`, decoded; None for the first page."""
    cursor = request.query.get("cursor")
    if not cursor:
        return None
    try:
        return store.decode_cursor(cursor)
    except store.BadCursor:
        raise ApiError(422, "invalid", "cursor is not valid") from None
