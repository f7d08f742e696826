"""What every HTTP service shares: JSON errors, auth, request metrics, correlation ids, health routes."""

from __future__ import annotations

import ipaddress
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from .db import UNAVAILABLE_ERRORS
from .keys import JWT_SECRET, READY_CHECKS
from .storage import Storage, StorageError
from .tokens import AccessClaims, TokenError, verify_access_token

log = structlog.get_logger(__name__)

HTTP_REQUESTS = Counter(
    "renovo_http_requests_total", "HTTP requests by route template, method and status", ["route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "renovo_http_request_duration_seconds",
    "HTTP request duration by route template",
    ["route", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_JSON_BYTES = 64 * 1024


class ApiError(web.HTTPException):
    """An error answered as `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        super().__init__(
            text=json.dumps({"error": {"code": code, "message": message}}),
            content_type="application/json",
            headers=headers,
        )
        self.code = code


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def unavailable(what: str) -> ApiError:
    return ApiError(503, "unavailable", f"{what} is unavailable, try again shortly", {"Retry-After": "2"})


def correlation_id() -> str | None:
    """The correlation id of the request being served (bound by `observe`), for the events it causes."""
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return str(value) if value is not None else None


def _route_name(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Correlation id, request metrics, JSON errors for everything (never an HTML error page or a 500 body)."""
    correlation_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
    start = time.perf_counter()
    route = _route_name(request)
    status = 500
    try:
        try:
            response = await handler(request)
        except ApiError:
            raise
        except web.HTTPException as exc:
            if exc.status_code < 400:
                raise
            code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
            raise ApiError(exc.status_code, code, exc.reason) from None
        except UNAVAILABLE_ERRORS as exc:
            log.warning("http.dependency_unavailable", route=route, error=repr(exc))
            raise unavailable("the database") from None
        except StorageError as exc:
            log.warning("http.storage_unavailable", route=route, error=repr(exc))
            raise unavailable("the image storage") from None
        except Exception:
            log.exception("http.unhandled", route=route, method=request.method)
            raise ApiError(500, "internal", "internal error") from None
        status = response.status
        response.headers["X-Request-Id"] = correlation_id
        return response
    except ApiError as exc:
        status = exc.status_code
        exc.headers["X-Request-Id"] = correlation_id
        raise
    finally:
        elapsed = time.perf_counter() - start
        HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
        HTTP_DURATION.labels(route, request.method).observe(elapsed)
        structlog.contextvars.unbind_contextvars("correlation_id")


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_user(request: web.Request) -> uuid.UUID:
    """The authenticated user of the request, or 401."""
    return require_claims(request).user_id


def require_claims(request: web.Request) -> AccessClaims:
    """The verified claims of the request's access token (user, session, expiry), or 401."""
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "unauthorized", "missing bearer token", {"WWW-Authenticate": "Bearer"})
    try:
        claims = verify_access_token(request.app[JWT_SECRET], token)
    except TokenError as exc:
        raise ApiError(401, "unauthorized", str(exc), {"WWW-Authenticate": "Bearer"}) from None
    structlog.contextvars.bind_contextvars(user_id=str(claims.user_id))
    return claims


@lru_cache(maxsize=16)
def trusted_networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`RENOVO_TRUSTED_PROXIES`: comma-separated addresses or networks."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def client_address(request: web.Request, trusted: str) -> str:
    """The client's address: the `X-Real-IP` header when the request comes from a trusted proxy (`trusted`, as
    in RENOVO_TRUSTED_PROXIES), else the peer's own address, whatever headers it sends."""
    peer = request.remote or "unknown"
    peer_ip = _ip(peer)
    if peer_ip is not None and any(peer_ip in net for net in trusted_networks(trusted)):
        real = _ip(request.headers.get("X-Real-IP"))
        if real is not None:
            return str(real)
    return peer


async def read_json(request: web.Request, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The request's JSON object body, with a size limit and clear 4xx errors."""
    # StreamReader.read(n) returns what has arrived, up to n: collect until the limit or the end.
    buffer = bytearray()
    while len(buffer) <= limit:
        chunk = await request.content.read(limit + 1 - len(buffer))
        if not chunk:
            break
        buffer += chunk
    raw = bytes(buffer)
    if len(raw) > limit:
        await _discard(request)
        raise ApiError(413, "too_large", f"JSON body over {limit} bytes")
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        raise ApiError(400, "invalid_json", "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "body must be a JSON object")
    return body


async def _discard(request: web.Request, cap: int = 16 * 1024**2) -> None:
    """Read and drop the rest of a refused body (up to `cap`), so the client receives our 413 instead of a
    connection reset while it is still sending."""
    seen = 0
    while seen < cap:
        chunk = await request.content.readany()
        if not chunk:
            return
        seen += len(chunk)


def parse_uuid(value: str | None, what: str = "id") -> uuid.UUID:
    """A UUID from a path or query value; a malformed one is simply not found (404), like another user's."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        raise not_found(what) from None


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end) of a single `Range: bytes=…` request; None to send everything. Raises 416."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or another unit: the whole object (RFC 9110 allows ignoring Range)
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ApiError(416, "range_not_satisfiable", f"the object has {size} bytes",
                       {"Content-Range": f"bytes */{size}"})
    return start, end


async def send_object(request: web.Request, storage: Storage, key: str, content_type: str,
                      headers: Mapping[str, str] | None = None) -> web.StreamResponse:
    """Stream a stored object a chunk at a time, with Content-Length, ETag (If-None-Match → 304) and single byte
    ranges (If-Range honoured). Raises storage.NotFound before anything is sent."""
    info = await storage.stat(key)
    base = {**(headers or {}), "ETag": info.etag, "Accept-Ranges": "bytes"}
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and (if_none_match.strip() == "*" or info.etag in [t.strip() for t in if_none_match.split(",")]):
        return web.Response(status=304, headers=base)
    wanted = None
    if_range = request.headers.get("If-Range")
    if if_range is None or if_range.strip() == info.etag:
        wanted = _byte_range(request.headers.get("Range"), info.size)
    start, end = wanted or (0, info.size - 1)
    response = web.StreamResponse(status=206 if wanted else 200, headers=base)
    response.content_type = content_type
    response.content_length = max(0, end - start + 1)
    if wanted:
        response.headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
    if request.method == "HEAD" or info.size == 0:
        await response.prepare(request)
        await response.write_eof()
        return response
    stream = await storage.open(key, start, end)
    try:
        await response.prepare(request)
        async for chunk in stream.chunks:
            await response.write(chunk)
    except StorageError as exc:
        # Too late for a 503: cut the connection, so the client sees a short body, not a complete-looking one.
        log.warning("http.storage_failed_mid_stream", key=key, error=repr(exc))
        if request.transport is not None:
            request.transport.abort()
        return response
    finally:
        await stream.chunks.aclose()
    await response.write_eof()
    return response


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks = request.app[READY_CHECKS]
    results: dict[str, str] = {}
    ok = True
    for name, check in checks.items():
        try:
            await check()
            results[name] = "ok"
        except Exception as exc:
            ok = False
            results[name] = f"unavailable: {type(exc).__name__}: {exc}"[:300]
    return web.json_response({"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def base_app(jwt_secret: str, *, client_max_size: int = 1024**2) -> web.Application:
    """An application with the shared middleware and the health and metrics routes."""
    app = web.Application(middlewares=[observe], client_max_size=client_max_size)
    app[JWT_SECRET] = jwt_secret
    app[READY_CHECKS] = {}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app
