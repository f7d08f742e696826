"""Open sockets by user, the forwarding of job events to the job owner's sockets (and no one else's), and the
end of sockets whose session ended (`session.revoked`) or whose access token expired.

A send that does not finish within `send_timeout` seconds (a client that stopped reading) drops that socket
instead of holding up the event for everyone else.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import Counter, Gauge

from shared.bus import Delivery, Outcome
from shared.events import Envelope, EventType, SessionRevoked
from shared.tokens import AccessClaims

log = structlog.get_logger(__name__)

OPEN_SOCKETS = Gauge("renovo_notifier_open_sockets", "Authenticated WebSocket connections")
MESSAGES_SENT = Counter("renovo_notifier_messages_sent_total", "Messages pushed to sockets", ["type"])
for _type in (EventType.JOB_STARTED, EventType.JOB_PROGRESS, EventType.JOB_COMPLETED, EventType.JOB_FAILED,
              EventType.JOB_CANCELLED):
    MESSAGES_SENT.labels(_type)
SOCKETS_CLOSED = Counter("renovo_notifier_sockets_closed_total",
                         "Sockets the server closed, by reason", ["reason"])
for _reason in ("slow", "session_ended", "token_expired"):
    SOCKETS_CLOSED.labels(_reason)
FORWARDED_FIELDS = ("job_id", "image_id", "status", "progress", "error", "engine", "eta_seconds")


class CloseCode(IntEnum):
    """The notifier's own close codes (applications' live in 4000–4999)."""

    UNAUTHORIZED = 4401
    """No valid token, the token expired, or its session ended: the client logs in again."""
    TOO_MANY_SOCKETS = 4429


async def _within(operation: Awaitable[Any], seconds: float) -> bool:
    """Whether `operation` succeeds within `seconds`. Unlike wait_for, does not wait for a cancellation that a
    blocked write may never acknowledge; the caller cuts the connection instead, which ends the operation."""
    task = asyncio.ensure_future(operation)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return False
    return not task.cancelled() and task.exception() is None


@dataclass
class Socket:
    """One authenticated socket and what its token says."""

    ws: web.WebSocketResponse
    user_id: uuid.UUID
    session_id: uuid.UUID | None = None
    expires_at: float = float("inf")
    transport: asyncio.Transport | None = None
    ending: asyncio.Future[tuple[int, str]] | None = None
    """Set by `drop`: the socket's own handler closes it with this code and reason (a proper close handshake,
    which a close from another task while the handler waits for a message would cut short)."""
    finished: asyncio.Event | None = None
    """Set by the socket's handler when it has returned."""


class Hub:
    def __init__(self, send_timeout: float = 5.0, remember_seconds: float = 3600.0) -> None:
        self.send_timeout = send_timeout
        self.remember_seconds = remember_seconds
        """How long ended sessions are remembered, to refuse their (still unexpired) access tokens."""
        self._sockets: dict[uuid.UUID, dict[web.WebSocketResponse, Socket]] = defaultdict(dict)
        self._ended_sessions: dict[uuid.UUID, float] = {}
        self._ended_users: dict[uuid.UUID, tuple[float, uuid.UUID | None, float]] = {}
        """user → (time of a password change, the session kept, forget at)."""

    # --- sockets ---------------------------------------------------------------------------------------------

    def add(self, user_id: uuid.UUID, ws: web.WebSocketResponse, claims: AccessClaims | None = None,
            transport: asyncio.Transport | None = None) -> Socket:
        socket = Socket(ws, user_id, transport=transport, ending=asyncio.get_running_loop().create_future(),
                        finished=asyncio.Event())
        if claims is not None:
            socket.session_id, socket.expires_at = claims.session_id, float(claims.expires_at)
        self._sockets[user_id][ws] = socket
        OPEN_SOCKETS.inc()
        return socket

    def reauthenticate(self, ws: web.WebSocketResponse, claims: AccessClaims) -> Socket | None:
        """A fresh token on an open socket: its new expiry (same user only)."""
        socket = self._sockets.get(claims.user_id, {}).get(ws)
        if socket is not None:
            socket.session_id, socket.expires_at = claims.session_id, float(claims.expires_at)
        return socket

    def remove(self, user_id: uuid.UUID, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(user_id)
        if sockets and ws in sockets:
            del sockets[ws]
            OPEN_SOCKETS.dec()
            if not sockets:
                del self._sockets[user_id]

    def users(self) -> dict[uuid.UUID, int]:
        """Open sockets per user (for presence across replicas, see presence.py)."""
        return {user_id: len(sockets) for user_id, sockets in self._sockets.items() if sockets}

    def count(self, user_id: uuid.UUID) -> int:
        return len(self._sockets.get(user_id, ()))

    def all(self) -> list[web.WebSocketResponse]:
        return [ws for sockets in self._sockets.values() for ws in sockets]

    async def drop(self, socket: Socket, code: int, reason: str, message: str) -> None:
        """Close a socket from the server side without waiting on a client that does not read."""
        self.remove(socket.user_id, socket.ws)
        SOCKETS_CLOSED.labels(reason).inc()
        if socket.ending is not None and socket.finished is not None:
            if not socket.ending.done():
                socket.ending.set_result((code, message))
            closed = await _within(socket.finished.wait(), 5.0)
        else:
            closed = await _within(socket.ws.close(code=code, message=message.encode()[:120]), 3.0)
        if not closed:
            self._abort(socket)

    async def drop_expired(self, socket: Socket) -> None:
        """Its token expired (the handler closes it)."""
        self.remove(socket.user_id, socket.ws)
        SOCKETS_CLOSED.labels("token_expired").inc()

    @staticmethod
    def _abort(socket: Socket) -> None:
        if socket.transport is not None:
            socket.transport.abort()

    # --- sessions --------------------------------------------------------------------------------------------

    def _forget_old(self) -> None:
        now = time.monotonic()
        for sid in [s for s, until in self._ended_sessions.items() if until < now]:
            del self._ended_sessions[sid]
        for uid in [u for u, (_, _, until) in self._ended_users.items() if until < now]:
            del self._ended_users[uid]

    def session_ended(self, claims: AccessClaims) -> bool:
        """Whether the token belongs to a session this process has seen end (its socket must not open)."""
        if claims.session_id is not None and claims.session_id in self._ended_sessions:
            return True
        ended = self._ended_users.get(claims.user_id)
        if ended is None:
            return False
        at, keep, _ = ended
        return claims.issued_at < int(at) and (claims.session_id is None or claims.session_id != keep)

    async def handle_session(self, envelope: Envelope, delivery: Delivery) -> Outcome:
        """`session.revoked`: close the sockets of the ended sessions, and refuse their tokens from now on."""
        if envelope.type != EventType.SESSION_REVOKED or envelope.user_id is None:
            return Outcome.SKIP
        event = SessionRevoked.model_validate(envelope.payload)
        self._forget_old()
        until = time.monotonic() + self.remember_seconds
        if event.all_sessions:
            self._ended_users[envelope.user_id] = (envelope.occurred_at.timestamp(), event.keep_session_id, until)
        for sid in event.session_ids:
            self._ended_sessions[sid] = until

        def ends(s: Socket) -> bool:
            if event.all_sessions:
                return s.session_id is None or s.session_id != event.keep_session_id
            return s.session_id in event.session_ids

        ended = [s for s in self._sockets.get(envelope.user_id, {}).values() if ends(s)]
        for socket in ended:
            await _within(socket.ws.send_json(
                {"type": "error", "error": {"code": "session_ended", "message": "this session has ended"}}
            ), 2.0)
            await self.drop(socket, CloseCode.UNAUTHORIZED, "session_ended", "session ended")
        log.info("notifier.sessions_ended", reason=event.reason, sockets=len(ended))
        return Outcome.DONE

    # --- job events ------------------------------------------------------------------------------------------

    async def _send(self, socket: Socket, message: dict[str, Any]) -> bool:
        if socket.ws.closed:
            return False
        if await _within(socket.ws.send_json(message), self.send_timeout):
            return True
        if not socket.ws.closed and self._sockets.get(socket.user_id, {}).get(socket.ws) is socket:
            log.warning("notifier.slow_socket_dropped", user_id=str(socket.user_id))
            self.remove(socket.user_id, socket.ws)
            SOCKETS_CLOSED.labels("slow").inc()
            self._abort(socket)  # its send is stuck behind a full buffer: closing politely would be too
        return False

    async def handle(self, envelope: Envelope, delivery: Delivery) -> Outcome:
        """Forward one job event. Best effort: a socket that is gone catches up with GET /api/jobs."""
        if envelope.user_id is None:
            return Outcome.SKIP
        sockets = list(self._sockets.get(envelope.user_id, {}).values())
        if not sockets:
            return Outcome.SKIP
        message: dict[str, Any] = {"type": envelope.type}
        message.update({k: envelope.payload[k] for k in FORWARDED_FIELDS if envelope.payload.get(k) is not None})
        message["updated_at"] = envelope.occurred_at.isoformat()
        results = await asyncio.gather(*(self._send(s, message) for s in sockets))
        sent = sum(results)
        MESSAGES_SENT.labels(envelope.type).inc(sent)
        if envelope.type != EventType.JOB_PROGRESS:
            log.info("notifier.forwarded", type=envelope.type, job_id=message.get("job_id"), sockets=sent)
        return Outcome.DONE
