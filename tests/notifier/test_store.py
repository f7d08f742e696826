"""The notifier's copy of users (store.py): `user.updated` events may arrive out of order and after a
redelivered `user.registered`; the newest version wins and a registration never undoes an update."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.notifier import store
from shared import db
from shared.settings import CommonSettings

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notifier" / "migrations"


@pytest.fixture
async def pool(common_settings: CommonSettings) -> Any:
    pool = await db.create_pool(common_settings)
    await db.migrate(pool, store.SCHEMA, MIGRATIONS)
    yield pool
    await pool.close()


async def test_the_newest_update_wins_whatever_the_order(pool: Any) -> None:
    user = uuid.uuid4()
    early = datetime.now(UTC)
    late = early + timedelta(seconds=1)
    async with pool.acquire() as conn:
        assert await store.recipient(conn, user) is None
        await store.add_recipient(conn, user, "a@example.org")
        row = await store.recipient(conn, user)
        assert row is not None and row["email"] == "a@example.org" and row["notify_email"] is False
        await store.update_recipient(conn, user, "b@example.org", "Bea", True, late)
        await store.update_recipient(conn, user, "old@example.org", "Old", False, early)  # arrives last
        await store.add_recipient(conn, user, "a@example.org")  # a redelivered registration
        row = await store.recipient(conn, user)
    assert row is not None
    assert (row["email"], row["display_name"], row["notify_email"]) == ("b@example.org", "Bea", True)
