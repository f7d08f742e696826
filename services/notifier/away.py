"""E-mail when away: a finished job (or a whole batch) is announced by e-mail to an owner who asked for it
(`preferences.notify_email`) and has no page open on any notifier replica.

Two durable queues shared by the replicas (each message goes to one of them): `notifier.users` keeps the
notifier's copy of addresses and preferences (`user.registered`, `user.updated` from auth), `notifier.mail`
takes `batch.finished` from the jobs service. The decision waits one presence interval (see presence.py),
then queues the message in the mail outbox (mailer.py); sending happens apart from any event.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from aiohttp import web
from pydantic import ValidationError

from shared import service
from shared.bus import Delivery, Outcome
from shared.enhancements import TYPES
from shared.events import BatchFinished, Envelope, EventType, UserRegistered, UserUpdated

from .mailer import EMAILS, Mailer
from .presence import Presence, is_online

log = structlog.get_logger(__name__)
MAILER = web.AppKey("mailer", Mailer)


def compose(batch: BatchFinished, public_url: str, name: str | None) -> tuple[str, str] | None:
    """Subject and body, or None when there is nothing to announce (every job was cancelled)."""
    done = [j for j in batch.jobs if j.get("status") == "completed"]
    failed = [j for j in batch.jobs if j.get("status") == "failed"]
    if not done and not failed:
        return None
    base = public_url.rstrip("/")
    images = list(dict.fromkeys(str(j["image_id"]) for j in batch.jobs))
    if batch.album_id is not None and len(images) > 1:
        link = f"{base}/albums/{batch.album_id}"
    else:
        link = f"{base}/images/{(done or failed)[0]['image_id']}"
    if len(batch.jobs) == 1:
        job = batch.jobs[0]
        label = TYPES[job["type"]].label if job.get("type") in TYPES else str(job.get("type"))
        subject = f"Your image is ready ({label})" if done else f"Your image could not be processed ({label})"
    else:
        subject = f"{len(done)} of {len(batch.jobs)} results are ready"
    lines = [f"Hello {name}," if name else "Hello,", ""]
    if len(batch.jobs) == 1:
        lines.append("Renovo has finished your image." if done else "Renovo could not process your image.")
    else:
        lines.append(f"Renovo has finished the batch you started: {len(done)} ready"
                     + (f", {len(failed)} failed" if failed else "") + ".")
    lines += ["", f"See it here: {link}", "",
              "You get this e-mail because \"E-mail me when my images are ready\" is on in your Renovo settings",
              f"and no Renovo page was open. Turn it off at {base}/settings."]
    return subject, "\n".join(lines) + "\n"


def users_handler(pool: asyncpg.Pool):  # type: ignore[no-untyped-def]
    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        if envelope.user_id is None:
            return Outcome.SKIP
        try:
            if envelope.type == EventType.USER_UPDATED:
                update = UserUpdated.model_validate(envelope.payload)
                notify = update.preferences.get("notify_email") is True
                # Events may arrive out of order: the newest version wins.
                sql = ("INSERT INTO notifier.recipients AS r (user_id, email, display_name, notify_email, version) "
                       "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, "
                       "display_name = excluded.display_name, notify_email = excluded.notify_email, "
                       "version = excluded.version WHERE r.version <= excluded.version")
                args: tuple[Any, ...] = (envelope.user_id, update.email, update.display_name, notify,
                                         envelope.occurred_at)
            else:
                registered = UserRegistered.model_validate(envelope.payload)
                sql = ("INSERT INTO notifier.recipients (user_id, email) VALUES ($1, $2) "
                       "ON CONFLICT (user_id) DO NOTHING")
                args = (envelope.user_id, registered.email)
        except ValidationError:
            return Outcome.SKIP
        async with pool.acquire() as conn:
            await conn.execute(sql, *args)
        return Outcome.DONE

    return handle


def batch_handler(pool: asyncpg.Pool, mailer: Mailer, public_url: str, wait: float, ttl: float):  # type: ignore[no-untyped-def]
    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        if envelope.user_id is None:
            return Outcome.SKIP
        try:
            batch = BatchFinished.model_validate(envelope.payload)
        except ValidationError:
            return Outcome.SKIP
        async with pool.acquire() as conn:
            recipient = await conn.fetchrow("SELECT email, display_name, notify_email FROM notifier.recipients "
                                            "WHERE user_id = $1", envelope.user_id)
        if recipient is None or not recipient["notify_email"]:
            EMAILS.labels("skipped_off").inc()
            return Outcome.SKIP
        message = compose(batch, public_url, recipient["display_name"])
        if message is None:
            return Outcome.SKIP
        # Let every replica's presence catch up with a page opened or closed just before the batch ended (an old
        # message, from a backlog, has waited long enough already).
        age = (datetime.now(UTC) - envelope.occurred_at).total_seconds()
        await asyncio.sleep(min(wait, max(0.0, wait - age)))
        async with pool.acquire() as conn:
            if await is_online(conn, envelope.user_id, ttl):
                EMAILS.labels("skipped_online").inc()
                log.info("notifier.mail_skipped_online", batch_id=str(batch.batch_id))
                return Outcome.SKIP
            await mailer.enqueue(conn, envelope.id, envelope.user_id, recipient["email"], *message)
        return Outcome.DONE

    return handle


def email(presence_interval: float = 2.0, presence_ttl: float = 30.0):  # type: ignore[no-untyped-def]
    """The cleanup context that runs presence, the two e-mail consumers and the mailer (after the bus and the
    database contexts)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        from .routes import HUB, SETTINGS

        settings = app[SETTINGS].common
        pool, bus, hub = app[service.POOL], app[service.BUS], app[HUB]
        instance = app[SETTINGS].instance or uuid.uuid4().hex[:8]
        presence = Presence(pool, instance, hub.users, presence_interval, presence_ttl)
        await presence.start()
        mailer = Mailer(pool, settings)
        app[MAILER] = mailer
        await mailer.start()
        await bus.consume(bus.names.notifier_users_queue, [EventType.USER_REGISTERED, EventType.USER_UPDATED],
                          users_handler(pool), prefetch=32)
        if mailer.enabled:
            await bus.consume(bus.names.notifier_mail_queue, [EventType.BATCH_FINISHED],
                              batch_handler(pool, mailer, settings.public_url, presence_interval * 1.5,
                                            presence_ttl), prefetch=32)
        yield
        await mailer.stop()
        await presence.stop()

    return ctx
