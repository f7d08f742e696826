"""Presence across notifier replicas (PostgreSQL): a page open on any replica counts; a replica that shuts
down or stops heartbeating stops counting."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from services.notifier.presence import Presence
from services.notifier.store import is_online
from shared import db
from shared.settings import CommonSettings

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notifier" / "migrations"


@pytest.fixture
async def pool(common_settings: CommonSettings) -> Any:
    pool = await db.create_pool(common_settings)
    await db.migrate(pool, "notifier", MIGRATIONS)
    yield pool
    await pool.close()


async def test_a_page_on_any_replica_counts(pool: Any) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    sockets_a: dict[uuid.UUID, int] = {alice: 1}
    sockets_b: dict[uuid.UUID, int] = {}
    a = Presence(pool, f"a-{uuid.uuid4().hex[:6]}", lambda: sockets_a, interval=3600)
    b = Presence(pool, f"b-{uuid.uuid4().hex[:6]}", lambda: sockets_b, interval=3600)
    await a.start()
    await b.start()
    try:
        async with pool.acquire() as conn:
            assert await is_online(conn, alice, ttl=30) and not await is_online(conn, bob, ttl=30)
            # Alice closes her page on replica a and opens one on b.
            sockets_a.clear()
            sockets_b[alice] = 2
            await a.sync()
            await b.sync()
            assert await is_online(conn, alice, ttl=30)
            sockets_b.clear()
            await b.sync()
            assert not await is_online(conn, alice, ttl=30)
            # A replica that stopped heartbeating (crashed) no longer counts after the ttl.
            sockets_a[bob] = 1
            await a.sync()
            assert await is_online(conn, bob, ttl=30)
            await conn.execute("UPDATE notifier.instances SET seen_at = seen_at - interval '1 minute' "
                               "WHERE instance = $1", a.instance)
            assert not await is_online(conn, bob, ttl=30)
            await a.sync()
            assert await is_online(conn, bob, ttl=30)
        # A replica shutting down takes its pages with it.
        await a.stop()
        async with pool.acquire() as conn:
            assert not await is_online(conn, bob, ttl=30)
    finally:
        await a.stop()
        await b.stop()
