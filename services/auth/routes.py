"""HTTP handlers of the auth service (`/api/auth/...`): thin, SQL in store.py."""

from __future__ import annotations

import re
import uuid
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import Counter

from shared import outbox
from shared.events import EventType, UserRegistered, make_event
from shared.http import ApiError, json_response, read_json, require_user
from shared.service import POOL
from shared.tokens import hash_refresh_token, issue_access_token, new_refresh_token

from . import store
from .passwords import DUMMY_HASH, WeakPassword, check_strength, hash_password, verify_password
from .settings import Settings

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
SETTINGS = web.AppKey("settings", Settings)

LOGINS = Counter("renovo_auth_logins_total", "Login attempts by outcome", ["outcome"])
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def _email(body: dict[str, Any]) -> str:
    email = body.get("email")
    if not isinstance(email, str) or len(email) > 254 or not EMAIL.match(email.strip()):
        raise ApiError(422, "invalid", "a valid email address is required")
    return email.strip().lower()


def _password(body: dict[str, Any], field: str = "password") -> str:
    password = body.get(field)
    if not isinstance(password, str) or not password:
        raise ApiError(422, "invalid", f"{field} is required")
    return password


def _display_name(value: Any, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise ApiError(422, "invalid", "display_name must be 1 to 100 characters")
    return value.strip()


def _address(request: web.Request) -> str:
    # The gateway sets X-Real-IP; the services are not reachable from outside without it.
    return request.headers.get("X-Real-IP") or request.remote or "unknown"


async def _issue_tokens(request: web.Request, conn: Any, user_id: uuid.UUID, family: uuid.UUID) -> dict[str, Any]:
    settings = request.app[SETTINGS].common
    refresh = new_refresh_token()
    await store.insert_refresh(
        conn, user_id, family, hash_refresh_token(refresh), store.expiry(settings.refresh_token_ttl)
    )
    return {
        "access_token": issue_access_token(settings.jwt_secret, user_id, settings.access_token_ttl),
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl,
    }


@routes.post("/api/auth/register")
async def register(request: web.Request) -> web.Response:
    body = await read_json(request)
    email = _email(body)
    password = _password(body)
    try:
        check_strength(password, email)
    except WeakPassword as exc:
        raise ApiError(422, "weak_password", str(exc)) from None
    display_name = _display_name(body.get("display_name"), email.split("@")[0])
    hashed = await hash_password(password, request.app[SETTINGS].bcrypt_rounds)
    user_id = uuid.uuid4()
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await store.insert_user(conn, user_id, email, hashed, display_name)
        if row is None:
            raise ApiError(409, "email_taken", "an account with this email already exists")
        event = make_event(
            EventType.USER_REGISTERED, UserRegistered(email=email), user_id=user_id,
            correlation_id=structlog.contextvars.get_contextvars().get("correlation_id"),
        )
        await outbox.add(conn, store.SCHEMA, event)
    log.info("auth.registered", user_id=str(user_id))
    return json_response(store.user_json(row), status=201)


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    body = await read_json(request)
    email = body.get("email")
    if not isinstance(email, str) or not email or len(email) > 320:
        raise ApiError(422, "invalid", "email is required")
    password = _password(body)
    address = _address(request)
    pool = request.app[POOL]
    async with pool.acquire() as conn:
        by_email, by_address = await store.recent_failures(conn, email, address, settings.failure_window_seconds)
        if by_email >= settings.max_failures_per_account or by_address >= settings.max_failures_per_address:
            LOGINS.labels("throttled").inc()
            raise ApiError(
                429, "too_many_attempts", "too many failed logins; try again in a few minutes",
                {"Retry-After": str(settings.failure_window_seconds)},
            )
        user = await store.user_by_email(conn, email.strip())
    ok = await verify_password(password, user["password_hash"] if user else DUMMY_HASH)
    if user is None or not ok:
        async with pool.acquire() as conn:
            await store.record_failure(conn, email.strip(), address)
        LOGINS.labels("failed").inc()
        raise ApiError(401, "invalid_credentials", "wrong email or password")
    async with pool.acquire() as conn, conn.transaction():
        await store.clear_failures(conn, email.strip())
        tokens = await _issue_tokens(request, conn, user["id"], uuid.uuid4())
    LOGINS.labels("ok").inc()
    log.info("auth.login", user_id=str(user["id"]))
    return json_response(tokens)


@routes.post("/api/auth/refresh")
async def refresh(request: web.Request) -> web.Response:
    body = await read_json(request)
    token = body.get("refresh_token")
    if not isinstance(token, str) or not token or len(token) > 200:
        raise ApiError(422, "invalid", "refresh_token is required")
    refused: str | None = None
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await store.claim_refresh(conn, hash_refresh_token(token))
        if row is None:
            refused = "unknown refresh token"
        elif row["revoked_at"] is not None:
            refused = "refresh token revoked"
        elif row["used_at"] is not None:
            # A rotated token presented again: it may have been stolen. End the whole session family
            # (committed: the error is raised after the transaction).
            await store.revoke_family(conn, row["family_id"])
            log.warning("auth.refresh_reuse", user_id=str(row["user_id"]))
            refused = "refresh token already used; please log in again"
        elif row["expires_at"] <= store.expiry(0):
            refused = "refresh token expired"
        else:
            await store.mark_used(conn, row["id"])
            tokens = await _issue_tokens(request, conn, row["user_id"], row["family_id"])
    if refused is not None:
        raise ApiError(401, "invalid_token", refused)
    return json_response(tokens)


@routes.post("/api/auth/logout")
async def logout(request: web.Request) -> web.Response:
    body = await read_json(request)
    token = body.get("refresh_token")
    if not isinstance(token, str) or not token or len(token) > 200:
        raise ApiError(422, "invalid", "refresh_token is required")
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await store.claim_refresh(conn, hash_refresh_token(token))
        if row is not None:
            await store.revoke_family(conn, row["family_id"])
    return web.Response(status=204)


@routes.get("/api/auth/me")
async def me(request: web.Request) -> web.Response:
    user_id = require_user(request)
    async with request.app[POOL].acquire() as conn:
        row = await store.user_by_id(conn, user_id)
    if row is None:
        raise ApiError(401, "unauthorized", "account no longer exists")
    return json_response(store.user_json(row))


@routes.patch("/api/auth/me")
async def update_me(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request)
    unknown = set(body) - {"display_name", "password", "current_password", "preferences"}
    if unknown:
        raise ApiError(422, "invalid", f"unknown field(s): {', '.join(sorted(unknown))}")
    fields: dict[str, Any] = {}
    if "display_name" in body:
        fields["display_name"] = _display_name(body["display_name"], "")
    if "preferences" in body:
        prefs = body["preferences"]
        if not isinstance(prefs, dict) or set(prefs) - {"notifications"} or not all(
            isinstance(v, bool) for v in prefs.values()
        ):
            raise ApiError(422, "invalid", "preferences must be {\"notifications\": true|false}")
        fields["preferences"] = prefs
    pool = request.app[POOL]
    if "password" in body:
        new = _password(body)
        current = _password(body, "current_password")
        async with pool.acquire() as conn:
            row = await store.user_by_id(conn, user_id)
        if row is None or not await verify_password(current, row["password_hash"]):
            raise ApiError(403, "invalid_credentials", "current password is wrong")
        try:
            check_strength(new, row["email"])
        except WeakPassword as exc:
            raise ApiError(422, "weak_password", str(exc)) from None
        fields["password_hash"] = await hash_password(new, request.app[SETTINGS].bcrypt_rounds)
    if not fields:
        raise ApiError(422, "invalid", "nothing to change")
    async with pool.acquire() as conn, conn.transaction():
        if await store.user_by_id(conn, user_id) is None:
            raise ApiError(401, "unauthorized", "account no longer exists")
        row = await store.update_user(conn, user_id, fields)
        if "password_hash" in fields:
            # A password change ends every other session.
            await store.revoke_user(conn, user_id)
    return json_response(store.user_json(row))
