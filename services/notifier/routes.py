"""The WebSocket endpoint. The client authenticates with a header or its first message (browsers cannot
set headers, and tokens must not go into URLs, which end up in logs)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from shared.http import bearer_token
from shared.keys import JWT_SECRET
from shared.tokens import AccessClaims, TokenError, verify_access_token

from .hub import CloseCode
from .keys import HUB, SETTINGS

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


async def _first_message_token(ws: web.WebSocketResponse, timeout: float) -> str | None:
    try:
        message = await ws.receive(timeout=timeout)
    except TimeoutError:
        return None
    if message.type != WSMsgType.TEXT:
        return None
    return _auth_message(message.data)


def _auth_message(data: str) -> str | None:
    """The token of an `{"type": "auth", "token": …}` message, or None for any other message."""
    if len(data) > 8192:
        return None
    try:
        body = json.loads(data)
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("type") == "auth" and isinstance(body.get("token"), str):
        return str(body["token"])
    return None


async def _refuse(ws: web.WebSocketResponse, code: str, message: str) -> None:
    await ws.send_json({"type": "error", "error": {"code": code, "message": message}})
    await ws.close(code=CloseCode.UNAUTHORIZED, message=message.encode()[:120])


def _claims(request: web.Request, token: str) -> AccessClaims:
    claims = verify_access_token(request.app[JWT_SECRET], token)
    if request.app[HUB].session_ended(claims):
        raise TokenError("this session has ended")
    return claims


@routes.get("/api/notifications/ws")
async def notifications(request: web.Request) -> web.StreamResponse:
    """Authenticate (header or first message), then push. The socket lives as long as its access token: the
    client sends `{"type": "auth", "token": …}` with a fresh token before it expires to keep it open (the
    server answers `{"type": "ready"}` again); otherwise it is closed with 4401 when the token expires, and
    at once when its session ends (logout, password change elsewhere, stolen refresh token)."""
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=16384)
    await ws.prepare(request)
    token = bearer_token(request) or await _first_message_token(ws, settings.auth_timeout)
    claims: AccessClaims | None = None
    if token is not None:
        try:
            claims = _claims(request, token)
        except TokenError as exc:
            await ws.send_json({"type": "error", "error": {"code": "unauthorized", "message": str(exc)}})
    if claims is None:
        await ws.close(code=CloseCode.UNAUTHORIZED, message=b"unauthorized")
        return ws
    user_id = claims.user_id
    hub = request.app[HUB]
    if hub.count(user_id) >= settings.max_sockets_per_user:
        await ws.send_json({"type": "error", "error": {"code": "too_many_sockets", "message": "too many tabs"}})
        await ws.close(code=CloseCode.TOO_MANY_SOCKETS, message=b"too many sockets")
        return ws
    transport = request.transport if isinstance(request.transport, asyncio.Transport) else None
    socket = hub.add(user_id, ws, claims, transport)
    assert socket.ending is not None
    try:
        await ws.send_json({"type": "ready"})
        while not ws.closed:
            receive = asyncio.ensure_future(ws.receive())
            left = claims.expires_at - time.time()
            waiters: set[asyncio.Future[Any]] = {receive, socket.ending}
            done, _ = await asyncio.wait(waiters, timeout=max(0.0, left), return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                await asyncio.gather(receive, return_exceptions=True)
                if socket.ending.done():  # the session ended, or the hub drops the socket
                    code, reason = socket.ending.result()
                else:
                    await ws.send_json({"type": "error", "error": {"code": "token_expired",
                                                                   "message": "access token expired"}})
                    code, reason = CloseCode.UNAUTHORIZED, "token expired"
                    await hub.drop_expired(socket)
                # Closed here, with no receive pending: aiohttp then waits for the client's close reply.
                await ws.close(code=code, message=reason.encode()[:120])
                break
            message = receive.result()
            if message.type != WSMsgType.TEXT:
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                continue
            fresh = _auth_message(message.data)
            if fresh is not None:
                try:
                    renewed = _claims(request, fresh)
                    if renewed.user_id != user_id:
                        raise TokenError("a socket stays with its user")
                except TokenError as exc:
                    await _refuse(ws, "unauthorized", str(exc))
                    break
                claims = renewed
                if hub.reauthenticate(ws, claims) is None:
                    break  # dropped meanwhile
                await ws.send_json({"type": "ready"})
            elif message.data[:64].find('"ping"') >= 0:
                # Clients may ping with {"type": "ping"}; everything else is ignored.
                await ws.send_json({"type": "pong"})
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.remove(user_id, ws)
        if socket.finished is not None:
            socket.finished.set()
    return ws

