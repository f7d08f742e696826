"""The event bus on RabbitMQ (aio-pika): topology, confirmed publishing, and consumers that return outcomes.

Handlers never touch the channel: they return an `Outcome` and this module decides ack, requeue or
dead-letter. Connections are robust (they reconnect and restore their queues and consumers by themselves).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from prometheus_client import Counter
from pydantic import ValidationError

from .db import UNAVAILABLE_ERRORS
from .events import Envelope, Names
from .settings import CommonSettings

log = structlog.get_logger(__name__)

EVENTS_PUBLISHED = Counter("renovo_events_published_total", "Events published with a broker confirm", ["type"])
EVENTS_CONSUMED = Counter(
    "renovo_events_consumed_total", "Events handled by a consumer, by outcome", ["queue", "outcome"]
)
EVENTS_HELD = Counter(
    "renovo_events_held_total",
    "Handler runs that found a dependency (database, broker, storage) away and were retried in place",
    ["queue"],
)
EVENTS_UNROUTABLE = Counter(
    "renovo_events_unroutable_total", "Mandatory publishes the broker returned (no queue bound)", ["type"]
)


class Unroutable(Exception):
    """A mandatory publish found no queue bound to its routing key; the broker returned it."""


class Outcome(enum.Enum):
    DONE = "done"
    """Handled: acknowledge."""
    SKIP = "skip"
    """Already handled or irrelevant (a duplicate): acknowledge."""
    FAILED = "failed"
    """Can never succeed: dead-letter it now."""
    RETRY = "retry"
    """A transient failure: requeue after a back-off that grows with each delivery; the queue's delivery
    limit dead-letters it eventually. (A handler that raises one of `UNAVAILABLE_ERRORS` is not even
    requeued: the bus runs it again in place, so an outage costs no delivery.)"""


@dataclass(frozen=True)
class Delivery:
    """What a handler may know about the delivery besides the event."""

    queue: str
    delivery_count: int
    redelivered: bool
    headers: dict[str, Any]
    reply_to: str | None = None
    """Where the sender wants its answer (`Bus.reply`), for request-reply events such as job.claim."""


Handler = Callable[[Envelope, Delivery], Awaitable[Outcome]]


def _delivery_count(message: AbstractIncomingMessage) -> int:
    # Quorum queues count earlier deliveries in x-delivery-count (absent on the first).
    raw = (message.headers or {}).get("x-delivery-count", 0)
    return int(raw) + 1 if isinstance(raw, int | str) and str(raw).isdigit() else 1


class Bus:
    """One robust connection, a confirming publish channel and any number of consumers."""

    def __init__(self, settings: CommonSettings, *, retry_delay: float = 0.5, max_retry_delay: float = 10.0,
                 hold_limit: float = 600.0) -> None:
        self.settings = settings
        self.names = Names(settings.exchange, settings.dead_exchange, settings.queue_prefix)
        self.retry_delay = retry_delay
        """First back-off before a RETRY is requeued; doubled with every delivery up to `max_retry_delay`."""
        self.max_retry_delay = max_retry_delay
        self.hold_limit = hold_limit
        """How long a message whose handler finds a dependency away is retried in place before it is requeued."""
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._consume_channels: list[AbstractChannel] = []
        self._consumers: list[tuple[str, AbstractQueue, str]] = []

    async def connect(self, timeout: float = 10.0) -> None:
        self._connection = await aio_pika.connect_robust(self.settings.amqp_url, timeout=timeout)
        # on_return_raises: a mandatory message the broker cannot route raises instead of vanishing.
        self._publish_channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self._declare_exchanges(self._publish_channel)

    async def _declare_exchanges(self, channel: AbstractChannel) -> AbstractExchange:
        await channel.declare_exchange(self.names.dead_exchange, aio_pika.ExchangeType.DIRECT, durable=True)
        return await channel.declare_exchange(self.names.exchange, aio_pika.ExchangeType.TOPIC, durable=True)

    @property
    def is_connected(self) -> bool:
        # A robust connection stays open (not closed) while it reconnects; `connected` tells the truth.
        return (
            self._connection is not None
            and not self._connection.is_closed
            and self._connection.connected.is_set()
        )

    async def close(self) -> None:
        for channel in self._consume_channels:
            if not channel.is_closed:
                await channel.close()
        if self._connection is not None:
            await self._connection.close()

    def _message(self, envelope: Envelope, body: bytes | None, reply_to: str | None) -> aio_pika.Message:
        return aio_pika.Message(
            body if body is not None else envelope.model_dump_json().encode(),
            message_id=str(envelope.id),
            correlation_id=envelope.correlation_id,
            type=envelope.type,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=envelope.occurred_at,
            reply_to=reply_to,
        )

    async def publish(self, envelope: Envelope, *, body: bytes | None = None, mandatory: bool = False,
                      reply_to: str | None = None) -> None:
        """Publish persistently and wait for the broker's confirm (raises if it is refused or unreachable).

        With `mandatory`, a message no queue is bound for raises `Unroutable` instead of being dropped.
        """
        if self._exchange is None:
            raise RuntimeError("bus not connected")
        try:
            await self._exchange.publish(self._message(envelope, body, reply_to), routing_key=envelope.type,
                                         mandatory=mandatory, timeout=10)
        except aiormq.exceptions.PublishError as exc:
            EVENTS_UNROUTABLE.labels(envelope.type).inc()
            raise Unroutable(f"no queue is bound for {envelope.type}") from exc
        EVENTS_PUBLISHED.labels(envelope.type).inc()

    async def reply(self, queue: str, envelope: Envelope) -> None:
        """Send an answer straight to one queue (the default exchange), e.g. a worker's control queue."""
        if self._publish_channel is None:
            raise RuntimeError("bus not connected")
        message = self._message(envelope, None, None)
        message.delivery_mode = aio_pika.DeliveryMode.NOT_PERSISTENT
        await self._publish_channel.default_exchange.publish(message, routing_key=queue, timeout=10)
        EVENTS_PUBLISHED.labels(envelope.type).inc()

    async def declare_queue(
        self,
        channel: AbstractChannel,
        name: str,
        bindings: Iterable[str],
        *,
        exclusive: bool = False,
        source: str | None = None,
    ) -> AbstractQueue:
        """A durable quorum queue with a delivery limit and its dead-letter queue, or an exclusive one.

        Bindings are to the events exchange, or to `source` (e.g. the dead-letter exchange).
        """
        exchange = await self._declare_exchanges(channel)
        if source is not None:
            exchange = await channel.get_exchange(source)
        if exclusive:
            queue = await channel.declare_queue(name, exclusive=True, auto_delete=True)
        else:
            dead_queue = await self._declare_dead_queue(channel, self.names.dead_queue(name))
            dead_exchange = await channel.get_exchange(self.names.dead_exchange)
            await dead_queue.bind(dead_exchange, routing_key=name)
            queue = await channel.declare_queue(
                name,
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-delivery-limit": self.settings.delivery_limit,
                    "x-dead-letter-exchange": self.names.dead_exchange,
                    "x-dead-letter-routing-key": name,
                },
            )
        for key in bindings:
            await queue.bind(exchange, routing_key=key)
        return queue

    async def declare(self, name: str, bindings: Iterable[str]) -> None:
        """Declare a durable work queue (and its dead-letter queue) without consuming it, so that what is
        published for it is kept until its consumer comes."""
        if self._connection is None:
            raise RuntimeError("bus not connected")
        channel = await self._connection.channel()
        try:
            await self.declare_queue(channel, name, bindings)
        finally:
            await channel.close()

    async def _declare_dead_queue(self, channel: AbstractChannel, name: str) -> AbstractQueue:
        """Dead letters are kept for operators in a durable classic queue: listing them (get, then put back)
        costs no delivery budget there, where a quorum queue would count each look as a delivery. A queue
        that already exists is kept as it is (installations from before keep their quorum queue)."""
        assert self._connection is not None
        # Declared on a channel of its own: an existing quorum queue refuses the classic declaration, and that
        # refusal closes the channel it was made on.
        probe = await self._connection.channel()
        try:
            await probe.declare_queue(name, durable=True)
        except aio_pika.exceptions.ChannelPreconditionFailed:
            log.info("bus.dead_queue_kept", queue=name)
        finally:
            if not probe.is_closed:
                await probe.close()
        return await channel.declare_queue(name, passive=True)

    async def consume(
        self,
        name: str,
        bindings: Iterable[str],
        handler: Handler,
        *,
        prefetch: int = 16,
        exclusive: bool = False,
        source: str | None = None,
        raw: Callable[[AbstractIncomingMessage], Awaitable[Outcome]] | None = None,
        retry_in_place: bool = True,
    ) -> AbstractQueue:
        """Declare `name`, bind it and call `handler` for every message; returns the queue.

        `retry_in_place`: run the handler again (with back-off) while it raises `UNAVAILABLE_ERRORS`, instead
        of requeueing. Right for quick idempotent handlers; not for long work (a worker's job).
        """
        if self._connection is None:
            raise RuntimeError("bus not connected")
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        self._consume_channels.append(channel)
        queue = await self.declare_queue(channel, name, bindings, exclusive=exclusive, source=source)
        for outcome in Outcome:
            EVENTS_CONSUMED.labels(name.removeprefix(self.settings.queue_prefix), outcome.value)
        EVENTS_HELD.labels(name.removeprefix(self.settings.queue_prefix))

        async def on_message(message: AbstractIncomingMessage) -> None:
            outcome = await self._dispatch(name, message, handler, raw, retry_in_place)
            EVENTS_CONSUMED.labels(name.removeprefix(self.settings.queue_prefix), outcome.value).inc()
            try:
                if outcome in (Outcome.DONE, Outcome.SKIP):
                    await message.ack()
                elif outcome is Outcome.FAILED:
                    await message.reject(requeue=False)
                else:
                    # Back off before handing it back, longer with each delivery, so that a failure that
                    # lasts a few seconds does not burn the whole delivery limit at once.
                    await asyncio.sleep(self.retry_backoff(_delivery_count(message)))
                    await message.nack(requeue=True)
            except Exception as exc:  # the channel closed under us: the broker redelivers
                log.warning("bus.settle_failed", queue=name, error=str(exc))

        tag = await queue.consume(on_message)
        self._consumers.append((name, queue, tag))
        return queue

    def retry_backoff(self, delivery_count: int) -> float:
        return float(min(self.retry_delay * 2 ** max(delivery_count - 1, 0), self.max_retry_delay))

    async def stop_consuming(self, names: Iterable[str]) -> None:
        """Cancel the consumers of these queues: no new deliveries; those in progress finish and settle."""
        wanted = set(names)
        for name, queue, tag in list(self._consumers):
            if name in wanted:
                try:
                    await queue.cancel(tag)
                except Exception as exc:
                    log.warning("bus.cancel_consumer_failed", queue=name, error=repr(exc))
                self._consumers.remove((name, queue, tag))

    async def _dispatch(
        self,
        name: str,
        message: AbstractIncomingMessage,
        handler: Handler,
        raw: Callable[[AbstractIncomingMessage], Awaitable[Outcome]] | None,
        retry_in_place: bool = True,
    ) -> Outcome:
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValidationError as exc:
            log.error("bus.unparseable_message", queue=name, error=str(exc)[:300])
            return await raw(message) if raw is not None else Outcome.FAILED
        delivery = Delivery(name, _delivery_count(message), bool(message.redelivered), dict(message.headers or {}),
                            reply_to=message.reply_to)
        with structlog.contextvars.bound_contextvars(
            correlation_id=envelope.correlation_id, event_type=envelope.type
        ):
            held_since = time.monotonic()
            pause = self.retry_delay
            while True:
                try:
                    return await handler(envelope, delivery)
                except UNAVAILABLE_ERRORS as exc:
                    # A dependency is away (an outage, a restart): the event would succeed a moment later.
                    # Keep it and run the handler again here; requeueing would spend a delivery per try.
                    if not retry_in_place or time.monotonic() - held_since > self.hold_limit:
                        log.warning("bus.held_too_long", queue=name, error=repr(exc))
                        return Outcome.RETRY
                    EVENTS_HELD.labels(name.removeprefix(self.settings.queue_prefix)).inc()
                    log.info("bus.dependency_away", queue=name, error=repr(exc), retry_in=pause)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, self.max_retry_delay)
                except Exception:
                    log.exception("bus.handler_crashed", queue=name, delivery_count=delivery.delivery_count)
                    return Outcome.RETRY
