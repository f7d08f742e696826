"""The e-mail outbox: queued messages sent over SMTP by a background loop, retried with back-off.

Job events never wait for SMTP: the consumer of `batch.finished` only inserts a row here. Every replica runs
the loop; a row is leased (its `next_at` pushed past the send timeout) under `FOR UPDATE SKIP LOCKED`, so one
replica sends it. A failed send is retried after 2, 4, 8 … seconds (capped), and after `max_attempts` it is
given up: logged and counted in `renovo_notifier_emails_total{outcome="failed"}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import ssl
import uuid
from email.message import EmailMessage

import asyncpg
import structlog
from prometheus_client import Counter

from shared.settings import CommonSettings

from . import store

log = structlog.get_logger(__name__)

EMAILS = Counter("renovo_notifier_emails_total", "E-mails by outcome", ["outcome"])
for _outcome in ("queued", "sent", "retried", "failed", "skipped_online", "skipped_off"):
    EMAILS.labels(_outcome)


class Mailer:
    def __init__(self, pool: asyncpg.Pool, settings: CommonSettings, *, max_attempts: int = 6,
                 base_delay: float = 2.0, max_delay: float = 600.0, poll: float = 1.0, timeout: float = 20.0) -> None:
        self.pool = pool
        self.settings = settings
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.poll = poll
        self.timeout = timeout
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_host)

    async def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def enqueue(self, conn: asyncpg.Connection, event_id: uuid.UUID, user_id: uuid.UUID, to: str,
                      subject: str, body: str) -> bool:
        """Queue one message (once per event: a redelivered event queues nothing more)."""
        queued = await store.enqueue_mail(conn, event_id, user_id, to, subject, body)
        if queued:
            EMAILS.labels("queued").inc()
            self._wake.set()
        return queued

    async def _loop(self) -> None:
        while True:
            try:
                while await self.send_due():
                    pass
            except Exception as exc:  # the database is away: the rows wait
                log.warning("notifier.mail_loop_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)
            self._wake.clear()

    async def send_due(self, limit: int = 5) -> int:
        """Send the messages that are due; returns how many were tried."""
        async with self.pool.acquire() as conn:
            rows = await store.lease_due_mail(conn, limit, lease_seconds=self.timeout * 3)
        for row in rows:
            await self._send_one(row)
        return len(rows)

    async def _send_one(self, row: asyncpg.Record) -> None:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._smtp_send, row["to_address"], row["subject"],
                                                     row["body"]), timeout=self.timeout)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            async with self.pool.acquire() as conn:
                if row["attempts"] >= self.max_attempts:
                    await store.mail_failed(conn, row["id"], error)
                    EMAILS.labels("failed").inc()
                    log.error("notifier.mail_failed", mail_id=str(row["id"]), attempts=row["attempts"], error=error)
                else:
                    delay = min(self.max_delay, self.base_delay * 2 ** (row["attempts"] - 1))
                    await store.mail_retry(conn, row["id"], delay, error)
                    EMAILS.labels("retried").inc()
                    log.warning("notifier.mail_retry", mail_id=str(row["id"]), attempts=row["attempts"],
                                retry_in=delay, error=error)
            return
        async with self.pool.acquire() as conn:
            await store.mail_sent(conn, row["id"])
        EMAILS.labels("sent").inc()
        log.info("notifier.mail_sent", mail_id=str(row["id"]), attempts=row["attempts"])

    def _smtp_send(self, to: str, subject: str, body: str) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        assert s.smtp_host
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if s.smtp_starttls:  # required when asked: never fall back to sending the password in clear
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(message)
