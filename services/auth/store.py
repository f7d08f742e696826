"""SQL of the auth schema."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

SCHEMA = "auth"

USER_COLUMNS = "id, email, display_name, preferences, created_at"


def user_json(row: asyncpg.Record) -> dict[str, Any]:
    prefs = row["preferences"]
    return {
        "id": str(row["id"]),
        "email": row["email"],
        "display_name": row["display_name"],
        "preferences": json.loads(prefs) if isinstance(prefs, str) else prefs,
        "created_at": row["created_at"].isoformat(),
    }


async def insert_user(
    conn: asyncpg.Connection, user_id: uuid.UUID, email: str, password_hash: str, display_name: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"INSERT INTO auth.users (id, email, password_hash, display_name, preferences) "
        f"VALUES ($1, $2, $3, $4, '{{\"notifications\": true, \"notify_email\": false}}'::jsonb) "
        f"ON CONFLICT DO NOTHING RETURNING {USER_COLUMNS}",
        user_id, email, password_hash, display_name,
    )


async def user_by_email(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {USER_COLUMNS}, password_hash FROM auth.users WHERE lower(email) = lower($1)", email
    )


async def user_by_id(conn: asyncpg.Connection, user_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {USER_COLUMNS}, password_hash FROM auth.users WHERE id = $1", user_id)


async def update_user(conn: asyncpg.Connection, user_id: uuid.UUID, fields: dict[str, Any]) -> asyncpg.Record:
    sets, values = [], []
    for i, (name, value) in enumerate(fields.items(), start=2):
        if name == "preferences":
            sets.append(f"preferences = preferences || ${i}::jsonb")
            values.append(json.dumps(value))
        else:
            sets.append(f"{name} = ${i}")
            values.append(value)
    row = await conn.fetchrow(
        f"UPDATE auth.users SET {', '.join(sets)}, updated_at = now() WHERE id = $1 RETURNING {USER_COLUMNS}",
        user_id, *values,
    )
    assert row is not None
    return row


async def insert_refresh(
    conn: asyncpg.Connection, user_id: uuid.UUID, family_id: uuid.UUID, token_hash: bytes, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO auth.refresh_tokens (id, user_id, family_id, token_hash, expires_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        uuid.uuid4(), user_id, family_id, token_hash, expires_at,
    )


async def claim_refresh(conn: asyncpg.Connection, token_hash: bytes) -> asyncpg.Record | None:
    """Lock the token's row for rotation (in the caller's transaction)."""
    return await conn.fetchrow(
        "SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM auth.refresh_tokens "
        "WHERE token_hash = $1 FOR UPDATE",
        token_hash,
    )


async def mark_used(conn: asyncpg.Connection, token_id: uuid.UUID) -> None:
    await conn.execute("UPDATE auth.refresh_tokens SET used_at = now() WHERE id = $1", token_id)


async def revoke_family(conn: asyncpg.Connection, family_id: uuid.UUID) -> bool:
    """Revoke the session's tokens; False when it had none left to revoke."""
    status = await conn.execute(
        "UPDATE auth.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL", family_id
    )
    return status != "UPDATE 0"


async def session_active(conn: asyncpg.Connection, family_id: uuid.UUID) -> bool:
    """Whether the session (refresh-token family) still has a token that is neither revoked nor expired."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM auth.refresh_tokens WHERE family_id = $1 AND revoked_at IS NULL "
        "AND expires_at > now())",
        family_id,
    ))


async def revoke_user(conn: asyncpg.Connection, user_id: uuid.UUID, keep_family: uuid.UUID | None = None) -> None:
    await conn.execute(
        "UPDATE auth.refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL "
        "AND family_id IS DISTINCT FROM $2",
        user_id, keep_family,
    )


# --- throttle of password checks (throttle.py) -----------------------------------------------------------


async def address_known(conn: asyncpg.Connection, email: str, address: str, days: int) -> bool:
    """Whether the account logged in from this address within `days`."""
    return bool(await conn.fetchval(
        "SELECT true FROM auth.known_addresses WHERE email = $1 AND address = $2 "
        "AND seen_at > now() - make_interval(days => $3)",
        email, address, days,
    ))


async def lock_throttle_keys(conn: asyncpg.Connection, names: list[str]) -> list[asyncpg.Record]:
    """Create the keys not there yet and lock them all, in key order (the caller's transaction): `key, failures,
    blocked_until, updated_at` and the transaction's `now`."""
    await conn.execute(
        "INSERT INTO auth.login_throttle (key) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT DO NOTHING", names
    )
    return list(await conn.fetch(
        "SELECT key, failures, blocked_until, updated_at, now() AS now FROM auth.login_throttle "
        "WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE",
        names,
    ))


async def set_throttle(conn: asyncpg.Connection, key: str, failures: int, blocked_until: datetime | None,
                       at: datetime) -> None:
    await conn.execute(
        "UPDATE auth.login_throttle SET failures = $2, blocked_until = $3, updated_at = $4 WHERE key = $1",
        key, failures, blocked_until, at,
    )


async def refund_throttle(conn: asyncpg.Connection, key: str, free: int) -> None:
    """One failure less on the key; its wait ends once it is back within its `free` failures."""
    await conn.execute(
        "UPDATE auth.login_throttle SET failures = greatest(failures - 1, 0), "
        "blocked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE blocked_until END "
        "WHERE key = $1",
        key, free,
    )


async def forget_throttle(conn: asyncpg.Connection, key: str) -> None:
    await conn.execute("DELETE FROM auth.login_throttle WHERE key = $1", key)


async def remember_address(conn: asyncpg.Connection, email: str, address: str) -> None:
    await conn.execute(
        "INSERT INTO auth.known_addresses (email, address) VALUES ($1, $2) "
        "ON CONFLICT (email, address) DO UPDATE SET seen_at = now()",
        email, address,
    )


async def log_failure(conn: asyncpg.Connection, email: str, address: str) -> None:
    await conn.execute("INSERT INTO auth.login_failures (email, address) VALUES ($1, $2)", email, address)


async def prune(conn: asyncpg.Connection, *, refresh_grace: float, failure_window: float, failure_retention: float,
                known_address: float) -> dict[str, int]:
    """Delete what no longer matters (ages in seconds): expired refresh tokens (and revoked ones past their
    expiry) after `refresh_grace`, throttle keys idle for `failure_window`, failures past `failure_retention`,
    addresses not seen for `known_address`. The rows deleted, by table."""
    counts = {}
    for name, sql, arg in (
        ("refresh_tokens", "DELETE FROM auth.refresh_tokens WHERE expires_at < now() - make_interval(secs => $1)",
         refresh_grace),
        ("login_throttle", "DELETE FROM auth.login_throttle WHERE updated_at < now() - make_interval(secs => $1) "
         "AND (blocked_until IS NULL OR blocked_until < now())", failure_window),
        ("login_failures", "DELETE FROM auth.login_failures WHERE at < now() - make_interval(secs => $1)",
         failure_retention),
        ("known_addresses", "DELETE FROM auth.known_addresses WHERE seen_at < now() - make_interval(secs => $1)",
         known_address),
    ):
        status = await conn.execute(sql, arg)
        counts[name] = int(status.split()[-1])
    return counts


def expiry(ttl: int) -> datetime:
    from shared.events import now

    return now() + timedelta(seconds=ttl)
