"""HTTP handlers of the auth service (`/api/auth/...`): thin, SQL in store.py."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import Counter

from shared import outbox
from shared.events import SessionEndReason
from shared.http import ApiError, client_address, json_response, read_json, require_claims, require_user
from shared.keys import POOL
from shared.tokens import AccessClaims, hash_refresh_token, issue_access_token, new_refresh_token

from . import events, store, throttle
from .keys import SETTINGS
from .passwords import WeakPassword, check_strength, dummy_hash, hash_password, verify_password

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

LOGINS = Counter("renovo_auth_logins_total", "Login attempts by outcome", ["outcome"])
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    """The one form of an address, for registration, lookup, throttling and records alike."""
    return email.strip().lower()


def _email(body: dict[str, Any]) -> str:
    email = body.get("email")
    if not isinstance(email, str) or len(email) > 254 or not EMAIL.match(email.strip()):
        raise ApiError(422, "invalid", "a valid email address is required")
    return normalize_email(email)


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
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        # NUL cannot be stored at all (PostgreSQL text), nor lone surrogates (UTF-8): refused, not a 500.
        raise ApiError(422, "invalid", "display_name must not contain control characters")
    return value.strip()


def _address(request: web.Request) -> str:
    # X-Real-IP only from the proxies named in RENOVO_TRUSTED_PROXIES (the gateway): anyone else's is ignored.
    return client_address(request, request.app[SETTINGS].common.trusted_proxies)


def _throttled(exc: throttle.Throttled) -> ApiError:
    LOGINS.labels("throttled").inc()
    return ApiError(
        429, "too_many_attempts", f"too many failed attempts; try again in {exc.retry_after} seconds",
        {"Retry-After": str(exc.retry_after)},
    )


async def _sessions_revoked(conn: Any, user_id: uuid.UUID, reason: SessionEndReason, *,
                            session_ids: list[uuid.UUID] | None = None, keep: uuid.UUID | None = None) -> None:
    """Tell the notifier (through the outbox, in the caller's transaction) to close the sockets of ended sessions."""
    await outbox.add(conn, store.SCHEMA, events.sessions_revoked(user_id, reason, session_ids=session_ids, keep=keep))
    log.info("auth.sessions_revoked", user_id=str(user_id), reason=reason.value,
             sessions=[str(s) for s in session_ids] if session_ids is not None else "all")


async def _issue_tokens(request: web.Request, conn: Any, user_id: uuid.UUID, family: uuid.UUID) -> dict[str, Any]:
    settings = request.app[SETTINGS].common
    refresh = new_refresh_token()
    await store.insert_refresh(
        conn, user_id, family, hash_refresh_token(refresh), store.expiry(settings.refresh_token_ttl)
    )
    return {
        "access_token": issue_access_token(settings.jwt_secret, user_id, settings.access_token_ttl, family),
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
        await outbox.add(conn, store.SCHEMA, events.user_registered(user_id, email))
    log.info("auth.registered", user_id=str(user_id))
    return json_response(store.user_json(row), status=201)


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    body = await read_json(request)
    raw = body.get("email")
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 320:
        raise ApiError(422, "invalid", "email is required")
    email = normalize_email(raw)
    password = _password(body)
    pool = request.app[POOL]
    # Known and unknown accounts take the same path: one charge, one lookup, one bcrypt check at the same cost
    # and, on failure, one record.
    async with pool.acquire() as conn:
        try:
            attempt = await throttle.charge(conn, settings, email, _address(request))
        except throttle.Throttled as exc:
            raise _throttled(exc) from None
        user = await store.user_by_email(conn, email)
    ok = await verify_password(password, user["password_hash"] if user else dummy_hash(settings.bcrypt_rounds))
    if user is None or not ok:
        async with pool.acquire() as conn:
            await throttle.failed(conn, attempt)
        LOGINS.labels("failed").inc()
        raise ApiError(401, "invalid_credentials", "wrong email or password")
    async with pool.acquire() as conn, conn.transaction():
        await throttle.succeeded(conn, settings, attempt)
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
            await _sessions_revoked(conn, row["user_id"], SessionEndReason.REFRESH_TOKEN_REUSE,
                                    session_ids=[row["family_id"]])
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
        if row is not None and await store.revoke_family(conn, row["family_id"]):
            await _sessions_revoked(conn, row["user_id"], SessionEndReason.LOGOUT, session_ids=[row["family_id"]])
    return web.Response(status=204)


async def _live_claims(request: web.Request, conn: Any) -> AccessClaims:
    """The caller's claims, refused (401) when the token's session has ended (logout, password change, reuse)."""
    claims = require_claims(request)
    if claims.session_id is not None and not await store.session_active(conn, claims.session_id):
        raise ApiError(401, "unauthorized", "this session has ended; please log in again",
                       {"WWW-Authenticate": "Bearer"})
    return claims


@routes.get("/api/auth/me")
async def me(request: web.Request) -> web.Response:
    require_user(request)
    async with request.app[POOL].acquire() as conn:
        user_id = (await _live_claims(request, conn)).user_id
        row = await store.user_by_id(conn, user_id)
    if row is None:
        raise ApiError(401, "unauthorized", "account no longer exists")
    return json_response(_me_json(request, row))


def _me_json(request: web.Request, row: Any) -> dict[str, Any]:
    """The user, and what this installation can do for them (e-mail only where SMTP is configured)."""
    return {**store.user_json(row), "capabilities": {"notify_email": bool(request.app[SETTINGS].common.smtp_host)}}


@routes.patch("/api/auth/me")
async def update_me(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    pool = request.app[POOL]
    require_user(request)
    async with pool.acquire() as conn:
        claims = await _live_claims(request, conn)
    user_id = claims.user_id
    body = await read_json(request)
    unknown = set(body) - {"display_name", "password", "current_password", "preferences"}
    if unknown:
        raise ApiError(422, "invalid", f"unknown field(s): {', '.join(sorted(unknown))}")
    fields: dict[str, Any] = {}
    if "display_name" in body:
        fields["display_name"] = _display_name(body["display_name"], "")
    if "preferences" in body:
        prefs = body["preferences"]
        if not isinstance(prefs, dict) or set(prefs) - {"notifications", "notify_email"} or not all(
            isinstance(v, bool) for v in prefs.values()
        ):
            raise ApiError(422, "invalid", "preferences must be {\"notifications\": true|false, "
                                           "\"notify_email\": true|false}")
        if prefs.get("notify_email") and not settings.common.smtp_host:
            raise ApiError(422, "email_unavailable", "this installation sends no e-mail (no SMTP server is set up)")
        fields["preferences"] = prefs
    if "password" in body:
        new = _password(body)
        current = _password(body, "current_password")
        async with pool.acquire() as conn:
            row = await store.user_by_id(conn, user_id)
            if row is None:
                raise ApiError(401, "unauthorized", "account no longer exists")
            # The same throttle as the login: a stolen access token must not brute-force the password here.
            try:
                attempt = await throttle.charge(conn, settings, normalize_email(row["email"]), _address(request))
            except throttle.Throttled as exc:
                raise _throttled(exc) from None
        if not await verify_password(current, row["password_hash"]):
            async with pool.acquire() as conn:
                await throttle.failed(conn, attempt)
            raise ApiError(403, "invalid_credentials", "current password is wrong")
        async with pool.acquire() as conn:
            await throttle.succeeded(conn, settings, attempt)
        try:
            check_strength(new, row["email"])
        except WeakPassword as exc:
            raise ApiError(422, "weak_password", str(exc)) from None
        fields["password_hash"] = await hash_password(new, settings.bcrypt_rounds)
    if not fields:
        raise ApiError(422, "invalid", "nothing to change")
    async with pool.acquire() as conn, conn.transaction():
        if await store.user_by_id(conn, user_id) is None:
            raise ApiError(401, "unauthorized", "account no longer exists")
        row = await store.update_user(conn, user_id, fields)
        if "password_hash" in fields:
            # A password change ends every other session (and their sockets); the one that made it goes on.
            await store.revoke_user(conn, user_id, keep_family=claims.session_id)
            await _sessions_revoked(conn, user_id, SessionEndReason.PASSWORD_CHANGED, keep=claims.session_id)
        if "preferences" in fields or "display_name" in fields:
            # The notifier keeps a copy of the address and the e-mail preference (it owns no users).
            await outbox.add(conn, store.SCHEMA, events.user_updated(user_id, store.user_json(row)))
    return json_response(_me_json(request, row))
