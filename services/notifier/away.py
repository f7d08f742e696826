"""E-mail when away: a finished job (or a whole batch) is announced by e-mail to an owner who asked for it
(`preferences.notify_email`) and has no page open on any notifier replica.

The notifier keeps its own copy of addresses and preferences (from `user.registered`, `user.updated`; see
events.py) and takes `batch.finished` from the jobs service. The decision waits one presence interval (see
presence.py), then queues the message in the mail outbox (mailer.py); sending happens apart from any event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import structlog
from aiohttp import web
from pydantic import ValidationError

from shared.bus import Delivery, Handler, Outcome
from shared.enhancements import TYPES
from shared.events import BatchFinished, Envelope, JobState
from shared.keys import POOL
from shared.service import CleanupCtx

from . import presence, store
from .keys import HUB, MAILER, SETTINGS
from .mailer import EMAILS, Mailer

log = structlog.get_logger(__name__)


def compose(batch: BatchFinished, public_url: str, name: str | None) -> tuple[str, str] | None:
    """Subject and body, or None when there is nothing to announce (every job was cancelled)."""
    done = [j for j in batch.jobs if j.get("status") == JobState.COMPLETED]
    failed = [j for j in batch.jobs if j.get("status") == JobState.FAILED]
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


def batch_handler(pool: asyncpg.Pool, mailer: Mailer, public_url: str, wait: float = presence.INTERVAL * 1.5,
                  ttl: float = presence.TTL) -> Handler:
    """`batch.finished`: e-mail the owner when they asked for it and, after `wait` seconds, have no page open."""

    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        if envelope.user_id is None:
            return Outcome.SKIP
        try:
            batch = BatchFinished.model_validate(envelope.payload)
        except ValidationError:
            return Outcome.SKIP
        async with pool.acquire() as conn:
            recipient = await store.recipient(conn, envelope.user_id)
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
            if await store.is_online(conn, envelope.user_id, ttl):
                EMAILS.labels("skipped_online").inc()
                log.info("notifier.mail_skipped_online", batch_id=str(batch.batch_id))
                return Outcome.SKIP
            await mailer.enqueue(conn, envelope.id, envelope.user_id, recipient["email"], *message)
        return Outcome.DONE

    return handle


def mail(instance: str) -> CleanupCtx:
    """Cleanup context: this replica's presence and the mailer (after the bus and the database contexts; the
    consumers that need them follow, events.mail_events)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool = app[POOL]
        present = presence.Presence(pool, instance, app[HUB].users, presence.INTERVAL, presence.TTL)
        await present.start()
        mailer = Mailer(pool, app[SETTINGS].common)
        app[MAILER] = mailer
        await mailer.start()
        yield
        await mailer.stop()
        await present.stop()

    return ctx
