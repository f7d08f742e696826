"""Open sockets by user, and the forwarding of job events to the job owner's sockets (and no one else's)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import Counter, Gauge

from shared.bus import Delivery, Outcome
from shared.events import Envelope

log = structlog.get_logger(__name__)

OPEN_SOCKETS = Gauge("renovo_notifier_open_sockets", "Authenticated WebSocket connections")
MESSAGES_SENT = Counter("renovo_notifier_messages_sent_total", "Messages pushed to sockets", ["type"])
for _type in ("job.started", "job.progress", "job.completed", "job.failed", "job.cancelled"):
    MESSAGES_SENT.labels(_type)
FORWARDED_FIELDS = ("job_id", "image_id", "status", "progress", "error", "engine")


class Hub:
    def __init__(self) -> None:
        self._sockets: dict[uuid.UUID, set[web.WebSocketResponse]] = defaultdict(set)

    def add(self, user_id: uuid.UUID, ws: web.WebSocketResponse) -> None:
        self._sockets[user_id].add(ws)
        OPEN_SOCKETS.inc()

    def remove(self, user_id: uuid.UUID, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(user_id)
        if sockets and ws in sockets:
            sockets.discard(ws)
            OPEN_SOCKETS.dec()
            if not sockets:
                del self._sockets[user_id]

    def count(self, user_id: uuid.UUID) -> int:
        return len(self._sockets.get(user_id, ()))

    def all(self) -> list[web.WebSocketResponse]:
        return [ws for sockets in self._sockets.values() for ws in sockets]

    async def handle(self, envelope: Envelope, delivery: Delivery) -> Outcome:
        """Forward one job event. Best effort: a socket that is gone catches up with GET /api/jobs."""
        if envelope.user_id is None:
            return Outcome.SKIP
        sockets = list(self._sockets.get(envelope.user_id, ()))
        if not sockets:
            return Outcome.SKIP
        message: dict[str, Any] = {"type": envelope.type}
        message.update({k: envelope.payload[k] for k in FORWARDED_FIELDS if envelope.payload.get(k) is not None})
        message["updated_at"] = envelope.occurred_at.isoformat()
        results = await asyncio.gather(*(ws.send_json(message) for ws in sockets if not ws.closed),
                                       return_exceptions=True)
        sent = sum(1 for r in results if not isinstance(r, BaseException))
        MESSAGES_SENT.labels(envelope.type).inc(sent)
        if envelope.type != "job.progress":
            log.info("notifier.forwarded", type=envelope.type, job_id=message.get("job_id"), sockets=sent)
        return Outcome.DONE
