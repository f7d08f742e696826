"""The mailer (mailer.py): the e-mail outbox sent over SMTP by a background loop, with retries and a give-up,
against a real SMTP server (aiosmtpd, tests/smtp_server.py) that refuses on request."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from services.launcher import free_port
from services.notifier.mailer import EMAILS, Mailer
from shared import db
from shared.settings import CommonSettings
from tests.smtp_server import SmtpServer

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notifier" / "migrations"


@pytest.fixture
async def notifier_pool(common_settings: CommonSettings) -> Any:
    pool = await db.create_pool(common_settings)
    await db.migrate(pool, "notifier", MIGRATIONS)
    yield pool
    await pool.close()


def _count(outcome: str) -> float:
    return float(EMAILS.labels(outcome)._value.get())


@pytest.mark.integration
async def test_a_refused_send_is_retried_with_back_off_then_given_up(notifier_pool: Any,
                                                                     common_settings: CommonSettings) -> None:
    server = SmtpServer(free_port()).start()
    try:
        settings = common_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": server.port,
                                                       "smtp_starttls": False})
        mailer = Mailer(notifier_pool, settings, max_attempts=3, base_delay=0.2, poll=0.05, timeout=5)
        await mailer.start()
        try:
            # Two refusals, then it goes through: delivered once.
            server.inbox.refuse = 2
            async with notifier_pool.acquire() as conn:
                await mailer.enqueue(conn, uuid.uuid4(), uuid.uuid4(), "a@example.org", "Ready", "body")
            [message] = await asyncio.to_thread(server.inbox.wait_for, "a@example.org", 1, 20)
            assert message["Subject"] == "Ready" and server.inbox.refused == 2
            # Always refused: given up after max_attempts, logged and counted; nothing is sent.
            failed_before = _count("failed")
            server.inbox.refuse = 100
            event = uuid.uuid4()
            async with notifier_pool.acquire() as conn:
                await mailer.enqueue(conn, event, uuid.uuid4(), "b@example.org", "Ready", "body")
                # The same event again (a redelivery) queues nothing more.
                assert not await mailer.enqueue(conn, event, uuid.uuid4(), "b@example.org", "Ready", "body")
            async with asyncio.timeout(20):
                while _count("failed") == failed_before:
                    await asyncio.sleep(0.1)
            async with notifier_pool.acquire() as conn:
                row = await conn.fetchrow("SELECT attempts, failed_at, last_error FROM notifier.mail_outbox "
                                          "WHERE event_id = $1", event)
            assert row["attempts"] == 3 and row["failed_at"] is not None and "451" in row["last_error"]
            assert server.inbox.to("b@example.org") == []
        finally:
            await mailer.stop()
    finally:
        server.stop()
