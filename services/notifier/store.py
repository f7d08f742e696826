"""SQL of the notifier schema: recipients (its copy of users' addresses and e-mail preference), presence (which
users have a page open on which replica) and the mail outbox (migrations/001_mail.sql)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

SCHEMA = "notifier"

# --- recipients ------------------------------------------------------------------------------------------


async def update_recipient(conn: asyncpg.Connection, user_id: uuid.UUID, email: str, display_name: str | None,
                           notify_email: bool, version: datetime) -> None:
    """The user's address, name and preference as of `version`; events may arrive out of order: the newest
    version wins."""
    await conn.execute(
        "INSERT INTO notifier.recipients AS r (user_id, email, display_name, notify_email, version) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, "
        "display_name = excluded.display_name, notify_email = excluded.notify_email, "
        "version = excluded.version WHERE r.version <= excluded.version",
        user_id, email, display_name, notify_email, version)


async def add_recipient(conn: asyncpg.Connection, user_id: uuid.UUID, email: str) -> None:
    """A new user's address (e-mail off); nothing when an update already arrived."""
    await conn.execute(
        "INSERT INTO notifier.recipients (user_id, email) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
        user_id, email)


async def recipient(conn: asyncpg.Connection, user_id: uuid.UUID) -> asyncpg.Record | None:
    """`email, display_name, notify_email` of the user, or None when the notifier has not heard of them."""
    return await conn.fetchrow(
        "SELECT email, display_name, notify_email FROM notifier.recipients WHERE user_id = $1", user_id)


# --- presence --------------------------------------------------------------------------------------------


async def write_presence(conn: asyncpg.Connection, instance: str, changed: dict[uuid.UUID, int],
                         gone: list[uuid.UUID], dead_after: float) -> None:
    """One replica's heartbeat and the users whose socket count changed on it (in the caller's transaction);
    replicas silent for `dead_after` seconds (crashed) are removed with their users."""
    await conn.execute(
        "INSERT INTO notifier.instances (instance) VALUES ($1) "
        "ON CONFLICT (instance) DO UPDATE SET seen_at = clock_timestamp()", instance)
    if gone:
        await conn.execute("DELETE FROM notifier.presence WHERE instance = $1 AND user_id = ANY($2::uuid[])",
                           instance, gone)
    if changed:
        await conn.executemany(
            "INSERT INTO notifier.presence (instance, user_id, sockets) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id, instance) DO UPDATE SET sockets = excluded.sockets",
            [(instance, u, n) for u, n in changed.items()])
    await conn.execute("DELETE FROM notifier.instances WHERE seen_at < clock_timestamp() - "
                       "make_interval(secs => $1)", dead_after)


async def remove_instance(conn: asyncpg.Connection, instance: str) -> None:
    """A replica shutting down: its users no longer count (presence rows go by cascade)."""
    await conn.execute("DELETE FROM notifier.instances WHERE instance = $1", instance)


async def is_online(conn: asyncpg.Connection, user_id: uuid.UUID, ttl: float) -> bool:
    """Whether the user has an open page on a replica that was alive within `ttl` seconds."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM notifier.presence p JOIN notifier.instances i USING (instance) "
        "WHERE p.user_id = $1 AND p.sockets > 0 AND i.seen_at > clock_timestamp() - make_interval(secs => $2))",
        user_id, ttl))


# --- mail outbox -----------------------------------------------------------------------------------------


async def enqueue_mail(conn: asyncpg.Connection, event_id: uuid.UUID, user_id: uuid.UUID, to: str, subject: str,
                       body: str) -> bool:
    """Queue one message, once per event; False when the event had queued it already."""
    status = await conn.execute(
        "INSERT INTO notifier.mail_outbox (id, event_id, user_id, to_address, subject, body) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
        uuid.uuid4(), event_id, user_id, to, subject, body)
    return str(status).endswith(" 1")


async def lease_due_mail(conn: asyncpg.Connection, limit: int, lease_seconds: float) -> list[asyncpg.Record]:
    """Up to `limit` due messages, counted as one more attempt and hidden from other replicas for
    `lease_seconds` (`id, to_address, subject, body, attempts`)."""
    return list(await conn.fetch(
        "UPDATE notifier.mail_outbox SET attempts = attempts + 1, "
        "next_at = clock_timestamp() + make_interval(secs => $2) WHERE id IN ("
        "SELECT id FROM notifier.mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL "
        "AND next_at <= clock_timestamp() ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, to_address, subject, body, attempts",
        limit, lease_seconds))


async def mail_sent(conn: asyncpg.Connection, mail_id: uuid.UUID) -> None:
    await conn.execute("UPDATE notifier.mail_outbox SET sent_at = clock_timestamp(), last_error = NULL "
                       "WHERE id = $1", mail_id)


async def mail_retry(conn: asyncpg.Connection, mail_id: uuid.UUID, delay: float, error: str) -> None:
    await conn.execute("UPDATE notifier.mail_outbox SET next_at = clock_timestamp() + "
                       "make_interval(secs => $2), last_error = $3 WHERE id = $1", mail_id, delay, error)


async def mail_failed(conn: asyncpg.Connection, mail_id: uuid.UUID, error: str) -> None:
    """Given up: never tried again."""
    await conn.execute("UPDATE notifier.mail_outbox SET failed_at = clock_timestamp(), last_error = $2 "
                       "WHERE id = $1", mail_id, error)
