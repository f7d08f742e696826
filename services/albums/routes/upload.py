"""`POST /api/images`: a streamed multipart upload of one or many files, optionally into an album.

Each file part is spooled to a temporary file with a hard cap (a request holds at most a chunk or two in
memory, however many arrive at once), then read back, identified and decoded in a worker thread under the
decode semaphore (so at most `decode_concurrency` files are in memory per process), and its original (copied
from the spool file) and thumbnail are stored; then one transaction inserts every accepted row with its
`image.uploaded` event. If anything fails before that commit, the stored objects are deleted again: nothing
is half-written. Files that are refused are listed in `rejected`; if every file is refused, the answer is
the error itself.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import IO, Any

import asyncpg
import structlog
from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import Counter, Histogram

from shared import outbox
from shared.http import ApiError, json_response, not_found, parse_uuid, require_user
from shared.keys import POOL, STORAGE

from .. import events, images, objects, store
from ..keys import DECODE_SLOTS, SETTINGS
from ..settings import Settings

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

UPLOADS = Counter(
    "renovo_uploads_total", "Uploaded files by outcome: accepted, failed, or the refusal code", ["outcome"]
)
UPLOAD_BYTES = Histogram(
    "renovo_upload_bytes",
    "Size of accepted uploaded files",
    buckets=(10e3, 100e3, 500e3, 1e6, 2.5e6, 5e6, 10e6, 25e6, 50e6, 100e6),
)
PROCESS_SECONDS = Histogram(
    "renovo_image_process_seconds",
    "Time to identify, decode and thumbnail one uploaded file",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

CHUNK = 256 * 1024
MAX_FIELD = 100
"""Bytes of a non-file form field (album_id)."""


@dataclass
class Batch:
    """What one upload request has done so far."""

    user_id: uuid.UUID
    album_id: uuid.UUID | None = None
    album_given: bool = False
    files: int = 0
    stored: list[store.NewImage] = field(default_factory=list)
    """Objects written, rows not yet: deleted again unless the transaction commits."""
    rejected: list[tuple[str, images.Rejected]] = field(default_factory=list)


async def _read_capped(part: BodyPartReader, cap: int) -> bytes | None:
    """The part's bytes, or None when it is over `cap` (the rest is read and thrown away, never kept)."""
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > cap:
                chunks.clear()
                while await part.read_chunk(CHUNK):
                    pass
                return None
            chunks.append(chunk)
    except (ValueError, HttpProcessingError) as exc:
        raise ApiError(400, "invalid_multipart", f"malformed multipart body: {exc}"[:200]) from None
    return b"".join(chunks)


async def _spool_capped(part: BodyPartReader, cap: int, directory: str | None) -> tuple[IO[bytes], int] | None:
    """The part's bytes in a temporary file (memory up to one chunk, then disk) and their size, or None when over
    `cap` (the rest is read and thrown away, never kept)."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=CHUNK, dir=directory)  # noqa: SIM115 (returned)
    size = 0
    try:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > cap:
                spool.close()
                while await part.read_chunk(CHUNK):
                    pass
                return None
            if size > CHUNK:
                await asyncio.to_thread(spool.write, chunk)
            else:
                spool.write(chunk)
    except (ValueError, HttpProcessingError) as exc:
        spool.close()
        raise ApiError(400, "invalid_multipart", f"malformed multipart body: {exc}"[:200]) from None
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size


def _process(spool: IO[bytes], settings: Settings) -> images.Processed:
    """Identify, decode and thumbnail the spooled file (in a worker thread, under the decode semaphore)."""
    spool.seek(0)
    data = spool.read()
    spool.seek(0)
    try:
        return images.process(data, max_pixels=settings.max_pixels, thumbnail_size=settings.thumbnail_size,
                              quality=settings.thumbnail_quality)
    finally:
        del data


async def _next_part(reader: MultipartReader) -> BodyPartReader | None:
    try:
        part = await reader.next()
    except (ValueError, RuntimeError, LookupError, HttpProcessingError) as exc:
        raise ApiError(400, "invalid_multipart", f"malformed multipart body: {exc}"[:200]) from None
    if part is not None and not isinstance(part, BodyPartReader):
        raise ApiError(422, "invalid", "nested multipart parts are not accepted")
    return part


async def _album_part(request: web.Request, batch: Batch, part: BodyPartReader) -> None:
    if batch.album_given:
        raise ApiError(422, "invalid", "album_id given twice")
    raw = await _read_capped(part, MAX_FIELD)
    if raw is None:
        raise not_found("album")
    value = raw.decode("utf-8", "replace").strip()
    batch.album_given = True
    if not value:
        return
    batch.album_id = parse_uuid(value, "album")
    # Checked now to fail before reading any file; the insert's foreign key checks again at commit.
    async with request.app[POOL].acquire() as conn:
        if await store.get_album(conn, batch.user_id, batch.album_id) is None:
            raise not_found("album")


async def _file_part(request: web.Request, batch: Batch, part: BodyPartReader) -> None:
    settings = request.app[SETTINGS]
    batch.files += 1
    if batch.files > settings.max_files:
        raise ApiError(413, "too_many_files", f"at most {settings.max_files} files per upload")
    name = images.clean_filename(part.filename)
    spooled = await _spool_capped(part, settings.max_file_bytes, settings.upload_spool_dir)
    if spooled is None:
        exc = images.too_large(settings.max_file_bytes)
        UPLOADS.labels(exc.code).inc()
        log.info("albums.upload_rejected", code=exc.code, size=None)
        batch.rejected.append((name, exc))
        return
    spool, size = spooled
    with spool:
        try:
            started = time.perf_counter()
            async with request.app[DECODE_SLOTS]:
                # The file's bytes are in memory only here, under the semaphore.
                processed = await asyncio.to_thread(_process, spool, settings)
            PROCESS_SECONDS.observe(time.perf_counter() - started)
        except images.Rejected as raised:
            # Kept in batch.rejected until the answer: a copy, as the exception's traceback and context hold
            # the frames that hold the file's bytes.
            exc = images.Rejected(raised.status, raised.code, raised.message)
            del raised
            UPLOADS.labels(exc.code).inc()
            log.info("albums.upload_rejected", code=exc.code, size=size)
            batch.rejected.append((name, exc))
            return
        image_id = uuid.uuid4()
        new = store.NewImage(
            id=image_id,
            filename=images.clean_filename(part.filename, processed.extension),
            content_type=processed.content_type,
            width=processed.width,
            height=processed.height,
            size_bytes=size,
            storage_key=objects.original_key(batch.user_id, image_id, processed.extension),
            thumbnail_key=objects.thumbnail_key(batch.user_id, image_id),
            taken_at=processed.taken_at,
        )
        # Listed before the writes, so that a failure between them still cleans up both.
        batch.stored.append(new)
        storage = request.app[STORAGE]
        await storage.put_file(new.storage_key, spool, new.content_type)
        await storage.put(new.thumbnail_key, processed.thumbnail, "image/webp")


async def _read_upload(request: web.Request, batch: Batch) -> None:
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "expected multipart/form-data with file parts")
    try:
        reader = await request.multipart()
    except (ValueError, KeyError, AssertionError):
        raise ApiError(400, "invalid_multipart", "multipart body without a valid boundary") from None
    while (part := await _next_part(reader)) is not None:
        if part.name == "file":
            await _file_part(request, batch, part)
        elif part.name == "album_id":
            await _album_part(request, batch, part)
        else:
            raise ApiError(422, "invalid", f"unexpected form field {str(part.name)[:50]!r}")


def _all_refused(batch: Batch) -> ApiError:
    if not batch.rejected:
        return ApiError(422, "no_files", "the upload has no file parts")
    if all(r.code == "too_large" for _, r in batch.rejected):
        first = batch.rejected[0][1]
        return ApiError(413, "too_large", first.message)
    name, first = next((n, r) for n, r in batch.rejected if r.code != "too_large")
    return ApiError(first.status, first.code, f"{name}: {first.message}")


async def _commit(request: web.Request, batch: Batch) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = []
    async with request.app[POOL].acquire() as conn, conn.transaction():
        try:
            for new in batch.stored:
                rows.append(await store.insert_image(conn, batch.user_id, batch.album_id, new))
        except asyncpg.ForeignKeyViolationError:
            raise not_found("album") from None  # deleted while the files were arriving
        await outbox.add(conn, store.SCHEMA, *(events.image_uploaded(r) for r in rows))
    return rows


def _rejected_json(batch: Batch) -> list[dict[str, Any]]:
    return [
        {"filename": name, "error": {"code": r.code, "message": r.message}} for name, r in batch.rejected
    ]


@routes.post("/api/images")
async def upload(request: web.Request) -> web.Response:
    """Multipart: one or more `file` parts and an optional `album_id` part (the caller's album, else 404)."""
    batch = Batch(user_id=require_user(request))
    committed = False
    try:
        await _read_upload(request, batch)
        if not batch.stored:
            raise _all_refused(batch)
        rows = await _commit(request, batch)
        committed = True
    finally:
        if not committed and batch.stored:
            UPLOADS.labels("failed").inc(len(batch.stored))
            keys = [key for new in batch.stored for key in (new.storage_key, new.thumbnail_key)]
            await asyncio.shield(objects.remove(request.app[STORAGE], keys))
    UPLOADS.labels("accepted").inc(len(rows))
    for row in rows:
        UPLOAD_BYTES.observe(row["size_bytes"])
    log.info("albums.uploaded", accepted=len(rows), rejected=len(batch.rejected))
    body = {"images": [store.image_json(r) for r in rows], "rejected": _rejected_json(batch)}
    return json_response(body, status=201)
