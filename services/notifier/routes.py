"""The WebSocket endpoint. The client authenticates with a header or its first message (browsers cannot
set headers, and tokens must not go into URLs, which end up in logs)."""

from __future__ import annotations

import asyncio
import json
import uuid

import structlog
from aiohttp import WSMsgType, web

from shared.http import JWT_SECRET, bearer_token
from shared.tokens import TokenError, verify_access_token

from .hub import Hub
from .settings import Settings

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
HUB = web.AppKey("hub", Hub)
SETTINGS = web.AppKey("settings", Settings)

UNAUTHORIZED = 4401  # application close codes live in 4000-4999


async def _first_message_token(ws: web.WebSocketResponse, timeout: float) -> str | None:
    try:
        message = await ws.receive(timeout=timeout)
    except TimeoutError:
        return None
    if message.type != WSMsgType.TEXT or len(message.data) > 8192:
        return None
    try:
        body = json.loads(message.data)
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("type") == "auth" and isinstance(body.get("token"), str):
        return str(body["token"])
    return None


@routes.get("/api/notifications/ws")
async def notifications(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=16384)
    await ws.prepare(request)
    token = bearer_token(request) or await _first_message_token(ws, settings.auth_timeout)
    user_id: uuid.UUID | None = None
    if token is not None:
        try:
            user_id = verify_access_token(request.app[JWT_SECRET], token).user_id
        except TokenError as exc:
            await ws.send_json({"type": "error", "error": {"code": "unauthorized", "message": str(exc)}})
    if user_id is None:
        await ws.close(code=UNAUTHORIZED, message=b"unauthorized")
        return ws
    hub = request.app[HUB]
    if hub.count(user_id) >= settings.max_sockets_per_user:
        await ws.send_json({"type": "error", "error": {"code": "too_many_sockets", "message": "too many tabs"}})
        await ws.close(code=4429, message=b"too many sockets")
        return ws
    hub.add(user_id, ws)
    try:
        await ws.send_json({"type": "ready"})
        async for message in ws:
            # Clients may ping with {"type": "ping"}; everything else is ignored.
            if message.type == WSMsgType.TEXT and message.data[:64].find('"ping"') >= 0:
                await ws.send_json({"type": "pong"})
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.remove(user_id, ws)
    return ws
