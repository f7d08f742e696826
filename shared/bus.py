"""The event bus on RabbitMQ (aio-pika): topology, confirmed publishing, and consumers that return outcomes.

Handlers never touch the channel: they return an `Outcome` and this module decides ack, requeue or
dead-letter. Connections are robust (they reconnect and restore their queues and consumers by themselves).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
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

from .events import Envelope, Names
from .settings import CommonSettings

log = structlog.get_logger(__name__)

EVENTS_PUBLISHED = Counter("renovo_events_published_total", "Events published with a broker confirm", ["type"])
EVENTS_CONSUMED = Counter(
    "renovo_events_consumed_total", "Events handled by a consumer, by outcome", ["queue", "outcome"]
)


class Outcome(enum.Enum):
    DONE = "done"
    """Handled: acknowledge."""
    SKIP = "skip"
    """Already handled or irrelevant (a duplicate): acknowledge."""
    FAILED = "failed"
    """Can never succeed: dead-letter it now."""
    RETRY = "retry"
    """A transient failure: requeue; the queue's delivery limit dead-letters it eventually."""


@dataclass(frozen=True)
class Delivery:
    """What a handler may know about the delivery besides the event."""

    queue: str
    delivery_count: int
    redelivered: bool
    headers: dict[str, Any]


Handler = Callable[[Envelope, Delivery], Awaitable[Outcome]]


def _delivery_count(message: AbstractIncomingMessage) -> int:
    # Quorum queues count earlier deliveries in x-delivery-count (absent on the first).
    raw = (message.headers or {}).get("x-delivery-count", 0)
    return int(raw) + 1 if isinstance(raw, int | str) and str(raw).isdigit() else 1


class Bus:
    """One robust connection, a confirming publish channel and any number of consumers."""

    def __init__(self, settings: CommonSettings, *, retry_delay: float = 0.5) -> None:
        self.settings = settings
        self.names = Names(settings.exchange, settings.dead_exchange, settings.queue_prefix)
        self.retry_delay = retry_delay
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._consume_channels: list[AbstractChannel] = []
        self._consumers: list[tuple[str, AbstractQueue, str]] = []

    async def connect(self, timeout: float = 10.0) -> None:
        self._connection = await aio_pika.connect_robust(self.settings.amqp_url, timeout=timeout)
        self._publish_channel = await self._connection.channel(publisher_confirms=True)
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

    async def publish(self, envelope: Envelope, *, body: bytes | None = None) -> None:
        """Publish persistently and wait for the broker's confirm (raises if it is refused or unreachable)."""
        if self._exchange is None:
            raise RuntimeError("bus not connected")
        message = aio_pika.Message(
            body if body is not None else envelope.model_dump_json().encode(),
            message_id=str(envelope.id),
            correlation_id=envelope.correlation_id,
            type=envelope.type,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=envelope.occurred_at,
        )
        await self._exchange.publish(message, routing_key=envelope.type, timeout=10)
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
            dead = self.names.dead_queue(name)
            dead_exchange = await channel.get_exchange(self.names.dead_exchange)
            dead_queue = await channel.declare_queue(
                dead, durable=True, arguments={"x-queue-type": "quorum"}
            )
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
    ) -> AbstractQueue:
        """Declare `name`, bind it and call `handler` for every message; returns the queue."""
        if self._connection is None:
            raise RuntimeError("bus not connected")
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        self._consume_channels.append(channel)
        queue = await self.declare_queue(channel, name, bindings, exclusive=exclusive, source=source)
        for outcome in Outcome:
            EVENTS_CONSUMED.labels(name.removeprefix(self.settings.queue_prefix), outcome.value)

        async def on_message(message: AbstractIncomingMessage) -> None:
            outcome = await self._dispatch(name, message, handler, raw)
            EVENTS_CONSUMED.labels(name.removeprefix(self.settings.queue_prefix), outcome.value).inc()
            try:
                if outcome in (Outcome.DONE, Outcome.SKIP):
                    await message.ack()
                elif outcome is Outcome.FAILED:
                    await message.reject(requeue=False)
                else:
                    await asyncio.sleep(self.retry_delay)
                    await message.nack(requeue=True)
            except Exception as exc:  # the channel closed under us: the broker redelivers
                log.warning("bus.settle_failed", queue=name, error=str(exc))

        tag = await queue.consume(on_message)
        self._consumers.append((name, queue, tag))
        return queue

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
    ) -> Outcome:
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValidationError as exc:
            log.error("bus.unparseable_message", queue=name, error=str(exc)[:300])
            return await raw(message) if raw is not None else Outcome.FAILED
        delivery = Delivery(name, _delivery_count(message), bool(message.redelivered), dict(message.headers or {}))
        with structlog.contextvars.bound_contextvars(
            correlation_id=envelope.correlation_id, event_type=envelope.type
        ):
            try:
                return await handler(envelope, delivery)
            except Exception:
                log.exception("bus.handler_crashed", queue=name, delivery_count=delivery.delivery_count)
                return Outcome.RETRY
