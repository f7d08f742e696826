"""HTTP handlers of the jobs service: `/api/models` and `/api/jobs`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from shared.enhancements import TYPES, OptionError, get_type
from shared.events import JobState
from shared.http import ApiError, json_response, not_found, parse_uuid, read_json, require_user, send_object
from shared.keys import POOL, STORAGE
from shared.storage import NotFound
from shared.weights import family_availability

from . import lifecycle, store
from .eta import queued as queued_eta
from .eta import with_estimates
from .keys import ALBUMS, SETTINGS
from .output import (
    content_disposition,
    content_type_of,
    download_name,
    has_alpha,
    parse_batch,
    parse_output,
    refuse_jpeg_alpha,
)
from .output import result_key as output_result_key

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
MAX_IMAGE_PIXELS_FOR = {"sr": 16_000_000}  # 4x of 16 MP is 256 MP of output: refuse beyond


def _correlation_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return str(value) if value else None


@routes.get("/api/models")
async def models(request: web.Request) -> web.Response:
    require_user(request)
    items = []
    for t in TYPES.values():
        available, engine, reason = family_availability(t.family, request.app[SETTINGS].weights_dir)
        items.append({
            "type": t.name, "family": t.family, "label": t.label, "description": t.description,
            "options": [o.to_json() for o in t.options], "available": available, "engine": engine,
            "reason": reason,
        })
    return json_response({"items": items})


@routes.post("/api/jobs")
async def create_job(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 200):
        raise ApiError(422, "invalid", "Idempotency-Key must be 1 to 200 characters")
    type_name = body.get("type")
    if not isinstance(type_name, str):
        raise ApiError(422, "invalid", "type is required")
    options = body.get("options", {})
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ApiError(422, "invalid", "options must be an object")
    try:
        kind = get_type(type_name)
        options = kind.validate_options(options)
    except OptionError as exc:
        raise ApiError(422, "invalid_options", str(exc)) from None
    output = parse_output(body.get("output"))
    batch = parse_batch(body.get("batch"))
    image_id = body.get("image_id")
    if not isinstance(image_id, str):
        raise ApiError(422, "invalid", "image_id is required")
    image_uuid = parse_uuid(image_id, "image")
    pool = request.app[POOL]
    if key is not None:
        async with pool.acquire() as conn:
            existing = await store.by_idempotency_key(conn, user_id, key)
        if existing is not None:
            return _replay(existing, image_uuid, type_name, options, output)
    available, _, reason = family_availability(kind.family, request.app[SETTINGS].weights_dir)
    if not available:
        raise ApiError(409, "model_unavailable", f"{kind.label} is not available on this installation: {reason}")
    image = await request.app[ALBUMS].image(image_uuid, request.headers["Authorization"], _correlation_id())
    limit = MAX_IMAGE_PIXELS_FOR.get(type_name)
    if limit and image.width * image.height > limit:
        raise ApiError(422, "image_too_large",
                       f"{kind.label} accepts images up to {limit // 1_000_000} megapixels")
    if output["format"] == "jpeg" and not output.get("flatten") and image.content_type != "image/jpeg":
        try:
            original = await request.app[STORAGE].get(image.storage_key)
        except NotFound:
            original = b""
        if has_alpha(original):
            raise refuse_jpeg_alpha()
    job_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        if key is not None:
            # Concurrent requests with one key (a double click, a client retry) queue here one after the
            # other: the first creates the job, the others find it and answer it.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"renovo.jobs.idempotency.{user_id}.{key}")
            existing = await store.by_idempotency_key(conn, user_id, key)
            if existing is not None:
                return _replay(existing, image_uuid, type_name, options, output)
        row = await lifecycle.create(
            conn, id=job_id, user_id=user_id, image_id=image.id, type=kind.name, family=kind.family,
            options=options, source_key=image.storage_key, result_key=output_result_key(user_id, job_id, output),
            idempotency_key=key, correlation_id=_correlation_id(), output=output, source_name=image.filename,
            album_id=image.album_id, batch_id=batch.id if batch else None, batch_size=batch.size if batch else None,
        )
    log.info("jobs.requested", job_id=str(job_id), type=kind.name)
    return json_response(store.job_json(row), status=202)


def _replay(row: Any, image_id: uuid.UUID, type_name: str, options: dict[str, Any],
            output: dict[str, Any]) -> web.Response:
    job = store.job_json(row)
    asked = {k: v for k, v in job["output"].items() if k != "result_format"}
    if job["image_id"] != str(image_id) or job["type"] != type_name or job["options"] != options or asked != output:
        raise ApiError(409, "idempotency_conflict", "this Idempotency-Key was used for a different request")
    return json_response(job, status=202)


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ApiError(422, "invalid", "updated_since must be an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise ApiError(422, "invalid", "updated_since needs a time zone")
    return parsed


def _cursor(value: str) -> tuple[datetime, uuid.UUID]:
    try:
        stamp, _, ident = value.partition("_")
        return datetime.fromisoformat(stamp), uuid.UUID(ident)
    except ValueError:
        raise ApiError(422, "invalid", "malformed cursor") from None


@routes.get("/api/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    user_id = require_user(request)
    q = request.query
    status = q.get("status")
    if status is not None and status not in store.ACTIVE + store.TERMINAL:
        raise ApiError(422, "invalid", "unknown status")
    try:
        limit = int(q.get("limit", "50"))
    except ValueError:
        raise ApiError(422, "invalid", "limit must be an integer") from None
    if not 1 <= limit <= 200:
        raise ApiError(422, "invalid", "limit must be between 1 and 200")
    image_id = None
    if q.get("image_id"):
        try:
            image_id = uuid.UUID(q["image_id"])
        except ValueError:
            raise ApiError(422, "invalid", "image_id must be a UUID") from None
    updated_since = _timestamp(q["updated_since"]) if q.get("updated_since") else None
    before = _cursor(q["cursor"]) if q.get("cursor") and updated_since is None else None
    async with request.app[POOL].acquire() as conn:
        rows = await store.list_jobs(conn, user_id, image_id=image_id, status=status,
                                     updated_since=updated_since, before=before, limit=limit)
        estimates = await queued_eta(conn, rows)
    next_cursor = None
    if len(rows) == limit and updated_since is None:
        next_cursor = f"{rows[-1]['created_at'].isoformat()}_{rows[-1]['id']}"
    items = with_estimates([store.job_json(r) for r in rows], estimates)
    return json_response({"items": items, "next_cursor": next_cursor})


async def _own_job(request: web.Request, *, for_update: bool = False, conn: Any = None) -> Any:
    user_id = require_user(request)
    job_id = parse_uuid(request.match_info["job_id"], "job")
    if conn is not None:
        row = await store.get(conn, job_id, user_id, for_update=for_update)
    else:
        async with request.app[POOL].acquire() as c:
            row = await store.get(c, job_id, user_id)
    if row is None:
        raise not_found("job")
    return row


@routes.get("/api/jobs/{job_id}")
async def get_job(request: web.Request) -> web.Response:
    row = await _own_job(request)
    if row["status"] != JobState.QUEUED:
        return json_response(store.job_json(row))
    async with request.app[POOL].acquire() as conn:
        estimates = await queued_eta(conn, [row])
    return json_response(with_estimates([store.job_json(row)], estimates)[0])


@routes.post("/api/jobs/{job_id}/cancel")
async def cancel_job(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await _own_job(request, for_update=True, conn=conn)
        if row["status"] in store.TERMINAL:
            if row["status"] == JobState.CANCELLED:
                return json_response(store.job_json(row))
            raise ApiError(409, "not_cancellable", f"the job is already {row['status']}")
        updated = await lifecycle.cancel(conn, row, _correlation_id())
    return json_response(store.job_json(updated or row))


@routes.post("/api/jobs/{job_id}/retry")
async def retry_job(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await _own_job(request, for_update=True, conn=conn)
        if row["status"] not in (JobState.FAILED, JobState.CANCELLED):
            raise ApiError(409, "not_retryable",
                           f"only failed or cancelled jobs can be retried (it is {row['status']})")
        updated = await lifecycle.requeue(conn, row, (JobState.FAILED, JobState.CANCELLED), _correlation_id())
    return json_response(store.job_json(updated or row), status=202)


@routes.get("/api/jobs/{job_id}/result")
async def job_result(request: web.Request) -> web.StreamResponse:
    """The result streamed from storage a chunk at a time (bounded memory), with Content-Length, ETag and ranges."""
    row = await _own_job(request)
    if row["status"] != JobState.COMPLETED:
        raise ApiError(409, "not_ready", f"the job is {row['status']}, not completed")
    key = row["result_key"]
    headers = {
        "Content-Disposition": content_disposition(download_name(row["source_name"], row["type"], key)),
        "Cache-Control": "private, no-cache",
    }
    try:
        return await send_object(request, request.app[STORAGE], key, content_type_of(key), headers)
    except NotFound:
        raise ApiError(410, "gone", "the result is no longer stored") from None
