"""SQL of the albums schema: albums, images (metadata and storage keys), keyset pagination.

Every query takes the caller's user id: a row of another user is simply not there.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

SCHEMA = "albums"

ALBUM_COLUMNS = (
    "a.id, a.name, a.created_at, "
    "(SELECT count(*) FROM albums.images i WHERE i.album_id = a.id) AS image_count"
)
IMAGE_COLUMNS = (
    "id, user_id, album_id, filename, content_type, width, height, size_bytes, storage_key, thumbnail_key, "
    "created_at, taken_at"
)


def album_json(row: asyncpg.Record) -> dict[str, Any]:
    """The album shape of DESIGN.md."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "image_count": int(row["image_count"]),
        "created_at": row["created_at"].isoformat(),
    }


def image_json(row: asyncpg.Record) -> dict[str, Any]:
    """The image shape of DESIGN.md, plus `storage_key`."""
    return {
        "id": str(row["id"]),
        "album_id": str(row["album_id"]) if row["album_id"] is not None else None,
        "filename": row["filename"],
        "width": row["width"],
        "height": row["height"],
        "content_type": row["content_type"],
        "size_bytes": row["size_bytes"],
        "created_at": row["created_at"].isoformat(),
        # From EXIF, the camera's wall-clock time without a zone (as EXIF records it); null when unknown.
        "taken_at": row["taken_at"].isoformat() if row["taken_at"] is not None else None,
        # The jobs service reads the original from storage by this key after checking ownership here.
        "storage_key": row["storage_key"],
    }


# --- keyset cursors -------------------------------------------------------------------------------------


class BadCursor(ValueError):
    pass


def encode_cursor(created_at: datetime, image_id: uuid.UUID) -> str:
    """An opaque cursor for the page after the image (created_at, id)."""
    raw = f"{created_at.isoformat()}|{image_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) position in a cursor; raises BadCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, image_id = raw.partition("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return created_at, uuid.UUID(image_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None


# --- albums ---------------------------------------------------------------------------------------------


async def list_albums(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> tuple[list[asyncpg.Record], str | None]:
    """One page of the user's albums, newest first, and the cursor of the next page (None on the last)."""
    args: list[Any] = [user_id, limit + 1]
    where = "a.user_id = $1"
    if after is not None:
        args.extend(after)
        where += " AND (a.created_at, a.id) < ($3, $4)"
    rows = await conn.fetch(
        f"SELECT {ALBUM_COLUMNS} FROM albums.albums a WHERE {where} "
        "ORDER BY a.created_at DESC, a.id DESC LIMIT $2",
        *args,
    )
    if len(rows) <= limit:
        return list(rows), None
    last = rows[limit - 1]
    return list(rows[:limit]), encode_cursor(last["created_at"], last["id"])


async def get_album(
    conn: asyncpg.Connection, user_id: uuid.UUID, album_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    """The user's album (locked for update with `lock`), or None."""
    return await conn.fetchrow(
        f"SELECT {ALBUM_COLUMNS} FROM albums.albums a WHERE a.id = $1 AND a.user_id = $2"
        + (" FOR UPDATE OF a" if lock else ""),
        album_id, user_id,
    )


async def insert_album(conn: asyncpg.Connection, user_id: uuid.UUID, name: str) -> asyncpg.Record:
    """A new, empty album."""
    row = await conn.fetchrow(
        "INSERT INTO albums.albums (id, user_id, name) VALUES ($1, $2, $3) RETURNING id, name, created_at, "
        "0 AS image_count",
        uuid.uuid4(), user_id, name,
    )
    assert row is not None
    return row


async def rename_album(
    conn: asyncpg.Connection, user_id: uuid.UUID, album_id: uuid.UUID, name: str
) -> asyncpg.Record | None:
    """The renamed album, or None if the user has no such album."""
    updated = await conn.fetchval(
        "UPDATE albums.albums SET name = $3, updated_at = clock_timestamp() WHERE id = $1 AND user_id = $2 "
        "RETURNING id",
        album_id, user_id, name,
    )
    return None if updated is None else await get_album(conn, user_id, album_id)


async def delete_album(conn: asyncpg.Connection, user_id: uuid.UUID, album_id: uuid.UUID) -> None:
    """Delete the album; its remaining images stay, out of any album (the foreign key sets album_id null)."""
    await conn.execute("DELETE FROM albums.albums WHERE id = $1 AND user_id = $2", album_id, user_id)


async def delete_album_images(
    conn: asyncpg.Connection, user_id: uuid.UUID, album_id: uuid.UUID
) -> list[asyncpg.Record]:
    """Delete the album's images; returns the deleted rows (for events and object removal)."""
    return await conn.fetch(
        f"DELETE FROM albums.images WHERE album_id = $1 AND user_id = $2 RETURNING {IMAGE_COLUMNS}",
        album_id, user_id,
    )


# --- images ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewImage:
    id: uuid.UUID
    filename: str
    content_type: str
    width: int
    height: int
    size_bytes: int
    storage_key: str
    thumbnail_key: str
    taken_at: datetime | None = None


async def insert_image(
    conn: asyncpg.Connection, user_id: uuid.UUID, album_id: uuid.UUID | None, image: NewImage
) -> asyncpg.Record:
    """Insert one image; raises asyncpg.ForeignKeyViolationError if the album is gone (or not the user's)."""
    row = await conn.fetchrow(
        "INSERT INTO albums.images (id, user_id, album_id, filename, content_type, width, height, "
        "size_bytes, storage_key, thumbnail_key, taken_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        f"RETURNING {IMAGE_COLUMNS}",
        image.id, user_id, album_id, image.filename, image.content_type, image.width, image.height,
        image.size_bytes, image.storage_key, image.thumbnail_key, image.taken_at,
    )
    assert row is not None
    return row


async def get_image(
    conn: asyncpg.Connection, user_id: uuid.UUID, image_id: uuid.UUID
) -> asyncpg.Record | None:
    """The user's image, or None."""
    return await conn.fetchrow(
        f"SELECT {IMAGE_COLUMNS} FROM albums.images WHERE id = $1 AND user_id = $2", image_id, user_id
    )


async def list_images(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    *,
    album_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[asyncpg.Record], str | None]:
    """One page, newest first, and the cursor of the next page (None on the last)."""
    where = ["user_id = $1"]
    args: list[Any] = [user_id]
    if album_id is not None:
        args.append(album_id)
        where.append(f"album_id = ${len(args)}")
    if after is not None:
        args.extend(after)
        where.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit + 1)
    rows = await conn.fetch(
        f"SELECT {IMAGE_COLUMNS} FROM albums.images WHERE {' AND '.join(where)} "
        f"ORDER BY created_at DESC, id DESC LIMIT ${len(args)}",
        *args,
    )
    if len(rows) <= limit:
        return list(rows), None
    last = rows[limit - 1]
    return list(rows[:limit]), encode_cursor(last["created_at"], last["id"])


async def update_image(
    conn: asyncpg.Connection, user_id: uuid.UUID, image_id: uuid.UUID, fields: dict[str, Any]
) -> asyncpg.Record | None:
    """Set `album_id` and/or `filename`; raises ForeignKeyViolationError if the album is not the user's."""
    sets, values = [], []
    for i, (name, value) in enumerate(fields.items(), start=3):
        assert name in ("album_id", "filename")
        sets.append(f"{name} = ${i}")
        values.append(value)
    return await conn.fetchrow(
        f"UPDATE albums.images SET {', '.join(sets)}, updated_at = clock_timestamp() "
        f"WHERE id = $1 AND user_id = $2 RETURNING {IMAGE_COLUMNS}",
        image_id, user_id, *values,
    )


async def delete_image(
    conn: asyncpg.Connection, user_id: uuid.UUID, image_id: uuid.UUID
) -> asyncpg.Record | None:
    """Delete the user's image; returns the deleted row, or None."""
    return await conn.fetchrow(
        f"DELETE FROM albums.images WHERE id = $1 AND user_id = $2 RETURNING {IMAGE_COLUMNS}",
        image_id, user_id,
    )
