"""Access tokens (short-lived JWT, HS256) and refresh tokens (random, stored only as a hash)."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
ISSUER = "renovo"


class TokenError(Exception):
    """Missing, expired, tampered or wrong-kind token."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    expires_at: int
    session_id: uuid.UUID | None = None
    """The session (refresh-token family) the token was issued to; None for tokens minted outside a session."""
    issued_at: int = 0


def issue_access_token(secret: str, user_id: uuid.UUID, ttl: int, session_id: uuid.UUID | None = None) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": str(user_id), "iat": now, "exp": now + ttl, "iss": ISSUER, "typ": "access",
                                 "jti": secrets.token_hex(8)}
    if session_id is not None:
        claims["sid"] = str(session_id)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_access_token(secret: str, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "iss"]}
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.PyJWTError:
        raise TokenError("invalid token") from None
    if claims.get("typ") != "access":
        raise TokenError("not an access token")
    try:
        sid = claims.get("sid")
        return AccessClaims(uuid.UUID(claims["sub"]), int(claims["exp"]),
                            uuid.UUID(sid) if sid is not None else None, int(claims.get("iat") or 0))
    except (ValueError, TypeError, AttributeError):
        raise TokenError("invalid token") from None


def new_refresh_token() -> str:
    return "rt_" + secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
