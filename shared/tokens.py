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


def issue_access_token(secret: str, user_id: uuid.UUID, ttl: int) -> str:
    now = int(time.time())
    claims = {"sub": str(user_id), "iat": now, "exp": now + ttl, "iss": ISSUER, "typ": "access",
              "jti": secrets.token_hex(8)}
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
        return AccessClaims(uuid.UUID(claims["sub"]), int(claims["exp"]))
    except (ValueError, TypeError):
        raise TokenError("invalid token") from None


def new_refresh_token() -> str:
    return "rt_" + secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
