"""The bus against the real RabbitMQ: what each handler outcome does to the message, back-off and retries in
place, publisher confirms, mandatory publishing, request and reply. (Its fixtures serve test_outbox.py too.)"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from shared.bus import Bus, Delivery, Outcome, Unroutable
from shared.events import Envelope
from shared.settings import CommonSettings
from tests.conftest import AMQP_URL, RUN_ID

pytestmark = pytest.mark.integration


class Recorder:
    """A handler that records what it saw and answers what it is told."""

    def __init__(self, answer: Any = Outcome.DONE) -> None:
        self.answer = answer
        self.seen: list[tuple[Envelope, Delivery]] = []
        self.arrived = asyncio.Event()

    async def __call__(self, envelope: Envelope, delivery: Delivery) -> Outcome:
        self.seen.append((envelope, delivery))
        self.arrived.set()
        answer = self.answer(envelope, delivery) if callable(self.answer) else self.answer
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def wait_for(self, count: int, timeout: float = 20) -> None:
        async with asyncio.timeout(timeout):
            while len(self.seen) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def bus_settings(common_settings: CommonSettings) -> AsyncIterator[CommonSettings]:
    run = f"{RUN_ID}b{secrets.token_hex(3)}"
    settings = common_settings.model_copy(update={
        "exchange": f"{run}.events", "dead_exchange": f"{run}.dead", "queue_prefix": f"{run}.", "delivery_limit": 2,
    })
    yield settings
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for name in list(DECLARED.pop(run, [])):
            try:
                await channel.queue_delete(name)
            except Exception:
                channel = await connection.channel()
        for exchange in (settings.exchange, settings.dead_exchange):
            try:
                await channel.exchange_delete(exchange)
            except Exception:
                channel = await connection.channel()


DECLARED: dict[str, list[str]] = {}


def remember(settings: CommonSettings, *queues: str) -> list[str]:
    """Queues (with their dead-letter queues) to delete after the test."""
    run = settings.queue_prefix.rstrip(".")
    bus_names = Bus(settings).names
    names = [n for q in queues for n in (q, bus_names.dead_queue(q))]
    DECLARED.setdefault(run, []).extend(names)
    return names


@pytest.fixture
async def bus(bus_settings: CommonSettings) -> AsyncIterator[Bus]:
    b = Bus(bus_settings, retry_delay=0.05, max_retry_delay=0.4)
    await b.connect()
    yield b
    await b.close()


async def depth(settings: CommonSettings, queue: str) -> int | None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return None
        return declared.declaration_result.message_count or 0


def event(type_: str = "test.thing", **payload: object) -> Envelope:
    return Envelope(type=type_, payload=dict(payload))


async def test_outcomes_ack_skip_or_dead_letter(bus: Bus, bus_settings: CommonSettings) -> None:
    queue, dead = remember(bus_settings, bus.names.prefix + "outcomes")
    answers = {"done": Outcome.DONE, "skip": Outcome.SKIP, "failed": Outcome.FAILED}
    handler = Recorder(lambda e, d: answers[e.payload["answer"]])
    await bus.consume(queue, ["test.outcome"], handler)
    for answer in answers:
        await bus.publish(event("test.outcome", answer=answer))
    await handler.wait_for(3)
    await asyncio.sleep(0.5)  # nothing comes back
    assert sorted(e.payload["answer"] for e, _ in handler.seen) == ["done", "failed", "skip"]
    assert await depth(bus_settings, dead) == 1  # only the permanent failure, kept for operators
    assert await depth(bus_settings, queue) == 0


async def test_retry_is_requeued_with_growing_back_off_until_the_delivery_limit(
    bus: Bus, bus_settings: CommonSettings
) -> None:
    queue, dead = remember(bus_settings, bus.names.prefix + "retries")
    handler = Recorder(Outcome.RETRY)
    await bus.consume(queue, ["test.retry"], handler)
    await bus.publish(event("test.retry"))
    await handler.wait_for(bus_settings.delivery_limit + 1)
    async with asyncio.timeout(10):
        while await depth(bus_settings, dead) != 1:
            await asyncio.sleep(0.1)
    assert [d.delivery_count for _, d in handler.seen] == list(range(1, bus_settings.delivery_limit + 2))
    assert bus.retry_backoff(1) < bus.retry_backoff(2) < bus.retry_backoff(3) <= bus.max_retry_delay


async def test_a_dependency_outage_is_ridden_out_in_place_without_spending_deliveries(
    bus: Bus, bus_settings: CommonSettings
) -> None:
    queue, dead = remember(bus_settings, bus.names.prefix + "outage")
    calls: list[int] = []

    def answer(envelope: Envelope, delivery: Delivery) -> object:
        calls.append(delivery.delivery_count)
        # The database answers again after a few tries: more tries than the delivery limit allows.
        return ConnectionRefusedError("database away") if len(calls) <= 4 else Outcome.DONE

    handler = Recorder(answer)
    await bus.consume(queue, ["test.outage"], handler)
    await bus.publish(event("test.outage"))
    await handler.wait_for(5)
    await asyncio.sleep(0.3)
    assert calls == [1, 1, 1, 1, 1]  # the same delivery all along
    assert await depth(bus_settings, dead) == 0 and await depth(bus_settings, queue) == 0


async def test_publish_returns_once_the_broker_holds_the_message(bus: Bus, bus_settings: CommonSettings) -> None:
    (queue, _) = remember(bus_settings, bus.names.prefix + "confirms")
    await bus.declare(queue, ["test.kept"])
    for _ in range(20):
        await bus.publish(event("test.kept"))
    assert await depth(bus_settings, queue) == 20


async def test_mandatory_publish_without_a_queue_raises_instead_of_vanishing(
    bus: Bus, bus_settings: CommonSettings
) -> None:
    with pytest.raises(Unroutable):
        await bus.publish(event("test.nobody-listens"), mandatory=True)
    await bus.publish(event("test.nobody-listens"))  # not mandatory: dropped by design (no one needs it)
    (queue, _) = remember(bus_settings, bus.names.prefix + "late")
    await bus.declare(queue, ["test.nobody-listens"])
    await bus.publish(event("test.nobody-listens"), mandatory=True)
    assert await depth(bus_settings, queue) == 1


async def test_request_and_reply(bus: Bus, bus_settings: CommonSettings) -> None:
    (queue, _) = remember(bus_settings, bus.names.prefix + "requests")
    reply_queue = bus.names.prefix + f"replies.{uuid.uuid4().hex[:6]}"
    replies = Recorder()
    await bus.consume(reply_queue, [], replies, exclusive=True)

    async def answer(envelope: Envelope, delivery: Delivery) -> Outcome:
        assert delivery.reply_to is not None
        await bus.reply(delivery.reply_to, event("test.answer", to=str(envelope.id)))
        return Outcome.DONE

    await bus.consume(queue, ["test.question"], answer)
    question = event("test.question")
    await bus.publish(question, mandatory=True, reply_to=reply_queue)
    await replies.wait_for(1)
    assert replies.seen[0][0].payload == {"to": str(question.id)}
