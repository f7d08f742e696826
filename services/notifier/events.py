"""What the notifier consumes; it publishes nothing.

- `job.updated` (jobs service) → the job owner's sockets, as the message it stands for (`recorded`, hub.py);
  a queue per process, `notifier.<instance>`, exclusive: every replica sees every job event and serves its own
  sockets.
- `session.revoked` (auth) → the sockets of the ended sessions are closed (hub.py); `notifier.<instance>.sessions`.
- `user.registered`, `user.updated` (auth) → the notifier's copy of addresses and e-mail preferences
  (`notifier.users`, shared by the replicas: each message goes to one of them).
- `batch.finished` (jobs service) → an e-mail to an owner who is away (away.py; `notifier.mail`, shared), only
  where SMTP is set up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web
from pydantic import ValidationError

from shared.bus import Delivery, Handler, Outcome
from shared.events import Envelope, EventType, JobUpdated, UserRegistered, UserUpdated
from shared.keys import BUS, POOL
from shared.service import CleanupCtx

from . import away, store
from .keys import HUB, MAILER, SETTINGS


def recorded(forward: Handler) -> Handler:
    """Forward what the jobs service recorded (`job.updated`), as the socket message it stands for
    (job.started, job.progress, …). Never the workers' own reports: a page must not show a state the jobs
    service refused (a completion after a cancel)."""

    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        try:
            update = JobUpdated.model_validate(envelope.payload)
        except ValidationError:
            return Outcome.SKIP
        payload = update.model_dump(mode="json", exclude={"change"})
        return await forward(envelope.model_copy(update={"type": update.change, "payload": payload}), delivery)

    return handle


def users_handler(pool: asyncpg.Pool) -> Handler:
    """`user.registered` and `user.updated`: keep the notifier's copy of the address and the e-mail preference."""

    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        if envelope.user_id is None:
            return Outcome.SKIP
        try:
            if envelope.type == EventType.USER_UPDATED:
                update = UserUpdated.model_validate(envelope.payload)
                notify = update.preferences.get("notify_email") is True
                async with pool.acquire() as conn:
                    await store.update_recipient(conn, envelope.user_id, update.email, update.display_name, notify,
                                                 envelope.occurred_at)
            else:
                registered = UserRegistered.model_validate(envelope.payload)
                async with pool.acquire() as conn:
                    await store.add_recipient(conn, envelope.user_id, registered.email)
        except ValidationError:
            return Outcome.SKIP
        return Outcome.DONE

    return handle


def socket_events(instance: str) -> CleanupCtx:
    """Cleanup context: this process's own queues of job events and of ended sessions, for its sockets."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        bus, hub = app[BUS], app[HUB]
        await bus.consume(bus.names.notifier_queue(instance), [EventType.JOB_UPDATED], recorded(hub.handle),
                          prefetch=256, exclusive=True)
        await bus.consume(bus.names.notifier_queue(f"{instance}.sessions"), [EventType.SESSION_REVOKED],
                          hub.handle_session, prefetch=64, exclusive=True)
        yield

    return ctx


def mail_events() -> CleanupCtx:
    """Cleanup context: the shared queues of users and of finished batches (after away.mail, which starts the
    mailer and the presence they need)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool, bus, mailer = app[POOL], app[BUS], app[MAILER]
        await bus.consume(bus.names.notifier_users_queue, [EventType.USER_REGISTERED, EventType.USER_UPDATED],
                          users_handler(pool), prefetch=32)
        if mailer.enabled:
            await bus.consume(bus.names.notifier_mail_queue, [EventType.BATCH_FINISHED],
                              away.batch_handler(pool, mailer, app[SETTINGS].common.public_url), prefetch=32)
        yield

    return ctx
