"""The outbox relay against the real PostgreSQL and RabbitMQ: order, confirms, several relays at once, and a
request that cannot be routed yet staying in the outbox."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared import db, outbox
from shared.bus import Bus, Outcome
from shared.events import Envelope
from shared.settings import CommonSettings

# The bus fixtures live with the bus's tests.
from .test_bus import Recorder, bus, bus_settings, depth, remember  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture
async def schema(common_settings: CommonSettings) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    name = f"outbox_{secrets.token_hex(4)}"
    pool = await db.create_pool(common_settings, max_size=6)
    async with pool.acquire() as conn:
        await conn.execute(f'CREATE SCHEMA "{name}"')
        await conn.execute(f'CREATE TABLE "{name}".outbox (id uuid PRIMARY KEY, type text NOT NULL, '
                           "body text NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp())")
    yield pool, name
    async with pool.acquire() as conn:
        await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    await pool.close()


async def _write(pool: asyncpg.Pool, schema: str, *events: Envelope) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, schema, *events)


async def _left(pool: asyncpg.Pool, schema: str) -> list[str]:
    async with pool.acquire() as conn:
        return [r["type"] for r in await conn.fetch(f'SELECT type FROM "{schema}".outbox ORDER BY created_at')]


async def test_relay_publishes_in_the_order_written_and_deletes_what_was_confirmed(
    bus: Bus, bus_settings: CommonSettings, schema: tuple[asyncpg.Pool, str]  # noqa: F811 (fixtures)
) -> None:
    pool, name = schema
    (queue, _) = remember(bus_settings, bus.names.prefix + "ordered")
    handler = Recorder(Outcome.DONE)
    await bus.consume(queue, ["test.ordered"], handler, prefetch=1)
    events = [Envelope(type="test.ordered", payload={"n": i}) for i in range(120)]
    for start in range(0, 120, 40):  # three transactions, as three requests would write them
        await _write(pool, name, *events[start:start + 40])
    relay = outbox.Relay(pool, bus, name, batch=50)
    await relay.start()
    try:
        await handler.wait_for(120)
        assert [e.payload["n"] for e, _ in handler.seen] == list(range(120))
        async with asyncio.timeout(5):
            while await _left(pool, name):
                await asyncio.sleep(0.05)
    finally:
        await relay.stop()


async def test_two_relays_publish_each_event_once(
    bus: Bus, bus_settings: CommonSettings, schema: tuple[asyncpg.Pool, str]  # noqa: F811 (fixtures)
) -> None:
    pool, name = schema
    (queue, _) = remember(bus_settings, bus.names.prefix + "once")
    handler = Recorder(Outcome.DONE)
    await bus.consume(queue, ["test.once"], handler)
    relays = [outbox.Relay(pool, bus, name, batch=20) for _ in range(2)]
    for relay in relays:
        await relay.start()
    try:
        for _ in range(10):
            await _write(pool, name, *(Envelope(type="test.once") for _ in range(20)))
        await handler.wait_for(200)
        await asyncio.sleep(0.5)
        ids = [e.id for e, _ in handler.seen]
        assert len(ids) == len(set(ids)) == 200
    finally:
        for relay in relays:
            await relay.stop()


async def test_a_request_nobody_can_take_yet_stays_in_the_outbox(
    bus: Bus, bus_settings: CommonSettings, schema: tuple[asyncpg.Pool, str]  # noqa: F811 (fixtures)
) -> None:
    """A request for a family whose queue does not exist yet is not confirmed-and-dropped: it stays (the
    others go on) and leaves as soon as its queue exists."""
    pool, name = schema
    (other, _) = remember(bus_settings, bus.names.prefix + "others")
    await bus.declare(other, ["image.deleted"])
    relay = outbox.Relay(pool, bus, name)
    await relay.start()
    try:
        await _write(pool, name, Envelope(type="job.requested.waifu2x"), Envelope(type="image.deleted"))
        async with asyncio.timeout(10):
            while await depth(bus_settings, other) != 1:
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)
        assert await _left(pool, name) == ["job.requested.waifu2x"]
        (work, _) = remember(bus_settings, bus.names.inference_queue("waifu2x"))
        await bus.declare(work, ["job.requested.waifu2x"])
        async with asyncio.timeout(15):
            while await _left(pool, name):
                await asyncio.sleep(0.1)
        assert await depth(bus_settings, work) == 1
    finally:
        await relay.stop()
