"""Sessions against the running platform (OWASP ASVS V3): logout, a password change and a stolen refresh token
end the affected sessions and their open WebSockets within seconds; a socket lives no longer than its access
token unless the client re-authenticates on it; a password change keeps the session that made it. And the
notifier drops a socket that stops reading instead of waiting for it."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from typing import Any

import aiohttp
import jwt
import pytest

from shared.settings import CommonSettings
from shared.tokens import issue_access_token
from tests.platform_fixtures import Client

pytestmark = pytest.mark.security

PASSWORD = "e2e password 1"


async def _session(user: Client) -> dict[str, Any]:
    """Another login of the same user: a second session with its own tokens."""
    r = await user.session.post(f"{user.base}/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert r.status == 200
    return dict(await r.json())


async def _socket(user: Client, token: str) -> aiohttp.ClientWebSocketResponse:
    ws = await user.session.ws_connect(f"{user.base.replace('http', 'ws', 1)}/api/notifications/ws")
    await ws.send_str(json.dumps({"type": "auth", "token": token}))
    assert await ws.receive_json(timeout=5) == {"type": "ready"}
    return ws


async def _closed_within(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> int | None:
    """The close code if the server closes the socket within `seconds`, else None."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = await ws.receive()
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    return ws.close_code
    except TimeoutError:
        return None


async def _alive(ws: aiohttp.ClientWebSocketResponse) -> bool:
    await ws.send_str(json.dumps({"type": "ping"}))
    try:
        while True:
            message = await ws.receive(timeout=3)
            if message.type != aiohttp.WSMsgType.TEXT:
                return False
            if json.loads(message.data).get("type") == "pong":
                return True
    except TimeoutError:
        return False


async def test_logout_closes_the_sessions_sockets_and_refuses_its_token(user: Client) -> None:
    tokens = await _session(user)
    ws = await _socket(user, tokens["access_token"])
    other = await _socket(user, user.token or "")  # the fixture's own session: not logged out
    r = await user.session.post(f"{user.base}/api/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 204
    assert await _closed_within(ws, 5) == 4401
    assert await _alive(other)
    # The logged-out session's access token opens no new socket and no longer reads the account.
    late = await user.session.ws_connect(f"{user.base.replace('http', 'ws', 1)}/api/notifications/ws")
    await late.send_str(json.dumps({"type": "auth", "token": tokens["access_token"]}))
    assert await _closed_within(late, 5) == 4401
    r = await user.session.get(f"{user.base}/api/auth/me",
                               headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status == 401
    await other.close()


async def test_password_change_ends_other_sessions_and_keeps_its_own(user: Client) -> None:
    mine = await _session(user)
    theirs = await _session(user)
    my_ws = await _socket(user, mine["access_token"])
    their_ws = await _socket(user, theirs["access_token"])
    r = await user.session.patch(f"{user.base}/api/auth/me",
                                 json={"password": "a new password 2", "current_password": PASSWORD},
                                 headers={"Authorization": f"Bearer {mine['access_token']}"})
    assert r.status == 200, await r.text()
    assert await _closed_within(their_ws, 5) == 4401
    assert await _alive(my_ws)
    r = await user.session.post(f"{user.base}/api/auth/refresh", json={"refresh_token": theirs["refresh_token"]})
    assert r.status == 401
    r = await user.session.post(f"{user.base}/api/auth/refresh", json={"refresh_token": mine["refresh_token"]})
    assert r.status == 200, await r.text()
    await my_ws.close()


async def test_refresh_token_reuse_closes_the_familys_sockets(user: Client) -> None:
    tokens = await _session(user)
    r = await user.session.post(f"{user.base}/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 200
    rotated = await r.json()
    ws = await _socket(user, rotated["access_token"])
    # The old refresh token again (a thief's copy): the whole session ends, its socket too.
    r = await user.session.post(f"{user.base}/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 401
    assert await _closed_within(ws, 5) == 4401


async def test_socket_closes_when_its_token_expires_unless_reauthenticated(
    user: Client, common_settings: CommonSettings
) -> None:
    uid = uuid.UUID(jwt.decode(user.token or "", options={"verify_signature": False})["sub"])
    short = issue_access_token(common_settings.jwt_secret, uid, 3)
    lapsing = await _socket(user, short)
    renewed = await _socket(user, short)
    await asyncio.sleep(1)
    await renewed.send_str(json.dumps({"type": "auth", "token": issue_access_token(common_settings.jwt_secret,
                                                                                    uid, 600)}))
    assert await renewed.receive_json(timeout=3) == {"type": "ready"}
    assert await _closed_within(lapsing, 6) == 4401
    assert await _alive(renewed)
    # Re-authenticating as someone else is refused and ends the socket.
    stranger = issue_access_token(common_settings.jwt_secret, uuid.uuid4(), 600)
    await renewed.send_str(json.dumps({"type": "auth", "token": stranger}))
    assert await _closed_within(renewed, 5) == 4401


def _raw_socket_that_never_reads(port: int, token: str) -> socket.socket:
    """A WebSocket handshake over a plain TCP socket with a tiny receive buffer, which then reads nothing."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    raw.sendall((
        "GET /api/notifications/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += raw.recv(1024)
    assert answer.startswith(b"HTTP/1.1 101"), answer[:200]
    return raw


async def test_a_socket_that_stops_reading_is_dropped_not_waited_for(
    aiohttp_server: Any, common_settings: CommonSettings
) -> None:
    """A notifier process with a client that stopped reading: events for it are not held up for long, the socket
    is dropped, and the events of other users keep flowing."""
    from services.notifier.app import create_app
    from services.notifier.keys import HUB
    from services.notifier.settings import Settings
    from shared.bus import Delivery
    from shared.events import Envelope

    app = create_app(Settings(common=common_settings))
    server = await aiohttp_server(app)
    hub = app[HUB]
    slow_user, other_user = uuid.uuid4(), uuid.uuid4()
    raw = await asyncio.to_thread(_raw_socket_that_never_reads, server.port,
                                  issue_access_token(common_settings.jwt_secret, slow_user, 600))
    async with aiohttp.ClientSession() as session:
        other = await session.ws_connect(f"http://127.0.0.1:{server.port}/api/notifications/ws",
                                         headers={"Authorization": "Bearer " + issue_access_token(
                                             common_settings.jwt_secret, other_user, 600)})
        assert await other.receive_json(timeout=5) == {"type": "ready"}
        for _ in range(50):
            if hub.count(slow_user):
                break
            await asyncio.sleep(0.05)
        delivery = Delivery(queue="test", delivery_count=1, redelivered=False, headers={})
        big = {"job_id": str(uuid.uuid4()), "image_id": str(uuid.uuid4()), "status": "running", "error": "x" * 65536}
        started = time.monotonic()
        for _ in range(300):  # ~20 MB for a client that reads nothing
            envelope = Envelope(type="job.progress", user_id=slow_user, payload=big)
            await asyncio.wait_for(hub.handle(envelope, delivery), timeout=30)
            if hub.count(slow_user) == 0:
                break
        assert hub.count(slow_user) == 0, "the slow socket was never dropped"
        assert time.monotonic() - started < 20
        job = str(uuid.uuid4())
        await asyncio.wait_for(hub.handle(Envelope(type="job.completed", user_id=other_user, payload={
            "job_id": job, "image_id": str(uuid.uuid4()), "status": "completed"}), delivery), timeout=5)
        message = await other.receive_json(timeout=5)
        assert message["job_id"] == job
        await other.close()
    raw.close()
