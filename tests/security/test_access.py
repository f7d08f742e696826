"""Authorization through the gateway: every protected route refuses every kind of bad token, and another
user's ids answer 404 on every route. Also SQL metacharacters, traversal, malformed bodies, WebSocket auth,
and the gateway's security headers."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import aiohttp
import jwt
import pytest

from services.launcher import Platform
from shared.settings import CommonSettings
from shared.tokens import issue_access_token
from tests.conftest import IMAGES
from tests.platform_fixtures import Client

pytestmark = pytest.mark.security

# (method, path template, JSON body) of every route that needs a user.
PROTECTED = [
    ("GET", "/api/auth/me", None),
    ("PATCH", "/api/auth/me", {"display_name": "x"}),
    ("GET", "/api/albums", None),
    ("POST", "/api/albums", {"name": "x"}),
    ("GET", "/api/albums/{album}", None),
    ("PATCH", "/api/albums/{album}", {"name": "y"}),
    ("DELETE", "/api/albums/{album}", None),
    ("GET", "/api/images", None),
    ("POST", "/api/images", None),
    ("GET", "/api/images/{image}", None),
    ("PATCH", "/api/images/{image}", {"filename": "z.png"}),
    ("DELETE", "/api/images/{image}", None),
    ("GET", "/api/images/{image}/original", None),
    ("GET", "/api/images/{image}/thumbnail", None),
    ("GET", "/api/models", None),
    ("GET", "/api/jobs", None),
    ("POST", "/api/jobs", {"image_id": "{image}", "type": "none"}),
    ("GET", "/api/jobs/{job}", None),
    ("POST", "/api/jobs/{job}/cancel", None),
    ("POST", "/api/jobs/{job}/retry", None),
    ("GET", "/api/jobs/{job}/result", None),
]
OWNED = [route for route in PROTECTED if "{" in route[1] or (route[2] and "{image}" in json.dumps(route[2]))]


async def _owned_things(owner: Client) -> dict[str, str]:
    r = await owner.request("POST", "/api/albums", json={"name": "mine"})
    album = (await r.json())["id"]
    r = await owner.upload(IMAGES / "edge/tiny_3x2.jpg", album_id=album)
    image = (await r.json())["images"][0]["id"]
    r = await owner.request("POST", "/api/jobs", json={"image_id": image, "type": "none"})
    return {"album": album, "image": image, "job": (await r.json())["id"]}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    text = json.dumps(value)
    for key, ident in ids.items():
        text = text.replace("{" + key + "}", ident)
    return json.loads(text)


async def _bad_tokens(user: Client, secret: str) -> dict[str, str | None]:
    claims = jwt.decode(user.token or "", options={"verify_signature": False})
    uid = uuid.UUID(claims["sub"])
    r = await user.session.post(f"{user.base}/api/auth/login", json={"email": user.email, "password": "e2e password 1"})
    revoked = (await r.json())["refresh_token"]
    await user.session.post(f"{user.base}/api/auth/logout", json={"refresh_token": revoked})
    return {
        "none": None,
        "garbage": "Bearer not-a-token",
        "expired": "Bearer " + jwt.encode({"sub": str(uid), "iss": "renovo", "typ": "access",
                                           "exp": int(time.time()) - 10}, secret, algorithm="HS256"),
        "other key": "Bearer " + issue_access_token("another-secret-" + "k" * 32, uid, 600),
        "alg none": "Bearer " + jwt.encode({"sub": str(uid), "iss": "renovo", "typ": "access",
                                            "exp": int(time.time()) + 600}, "", algorithm="none"),
        "refresh as access": f"Bearer {user.refresh_token}",
        "revoked refresh": f"Bearer {revoked}",
        "basic": "Basic dXNlcjpwYXNz",
    }


async def test_every_route_refuses_bad_tokens(user: Client, common_settings: CommonSettings) -> None:
    ids = await _owned_things(user)
    for label, header in (await _bad_tokens(user, common_settings.jwt_secret)).items():
        for method, template, body in PROTECTED:
            path = _fill(template, ids)
            headers = {"Authorization": header} if header else {}
            r = await user.session.request(method, f"{user.base}{path}", headers=headers,
                                           json=_fill(body, ids) if body else None)
            assert r.status == 401, (label, method, path, r.status)
            assert (await r.json())["error"]["code"] in ("unauthorized", "invalid_token"), (label, path)


async def test_another_users_ids_are_not_found_everywhere(user: Client, other_user: Client) -> None:
    ids = await _owned_things(user)
    for method, template, body in OWNED:
        path = _fill(template, ids)
        r = await other_user.request(method, path, json=_fill(body, ids) if body else None)
        assert r.status == 404, (method, path, r.status, await r.text())
    # And nothing changed for the owner.
    r = await user.request("GET", f"/api/images/{ids['image']}")
    assert r.status == 200
    r = await user.request("GET", f"/api/albums/{ids['album']}")
    assert r.status == 200 and (await r.json())["name"] == "mine"
    r = await user.request("GET", f"/api/jobs/{ids['job']}")
    assert r.status == 200


async def test_sql_metacharacters_and_traversal_are_plain_text(user: Client) -> None:
    nasty = ["'; DROP TABLE albums.albums; --", "\" OR 1=1 --", "%' OR '1'='1", "$1", "\\x00", "../../etc/passwd",
             "<script>alert(1)</script>", "𝕽𝖊𝖓𝖔𝖛𝖔 ✓"]
    for text in nasty:
        r = await user.request("POST", "/api/albums", json={"name": text})
        assert r.status in (201, 422), text
        if r.status == 201:
            album = await r.json()
            r = await user.request("GET", f"/api/albums/{album['id']}")
            assert (await r.json())["name"] == text.strip() or r.status == 200
        r = await user.request("GET", "/api/images", params={"album_id": text})
        assert r.status in (404, 422), text
        r = await user.request("GET", "/api/jobs", params={"status": text})
        assert r.status == 422, text
    r = await user.upload(("../../../etc/passwd.png", (IMAGES / "edge/tiny_3x2.jpg").read_bytes()))
    assert r.status == 201
    image = (await r.json())["images"][0]
    assert "/" not in image["filename"] and ".." not in image["filename"].split("/")
    r = await user.request("GET", f"/api/images/{image['id']}/original")
    assert r.status == 200
    assert "/" not in r.headers.get("Content-Disposition", "").split("filename")[-1].strip('="')
    r = await user.request("GET", "/api/albums")
    assert r.status == 200  # the tables are still there


async def test_malformed_and_oversized_json(user: Client) -> None:
    for path in ("/api/albums", "/api/jobs", "/api/auth/login", "/api/auth/register"):
        for body in (b"{", b"[]", b"null", b"\xff\xfe", b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
            r = await user.request("POST", path, data=body, headers={"Content-Type": "application/json"})
            assert 400 <= r.status < 500, (path, body[:20], r.status)
            assert "error" in await r.json()
        r = await user.request("POST", path, data=b'{"name": "' + b"a" * 2_000_000 + b'"}',
                               headers={"Content-Type": "application/json"})
        assert r.status == 413, (path, r.status)


async def test_websocket_without_or_with_bad_token_is_closed(platform: Platform, user: Client) -> None:
    url = platform.url.replace("http", "ws", 1) + "/api/notifications/ws"
    async with aiohttp.ClientSession() as session:
        for first in (None, "hello", json.dumps({"type": "auth", "token": "nope"}),
                      json.dumps({"type": "auth", "token": user.refresh_token})):
            ws = await session.ws_connect(url)
            if first is not None:
                await ws.send_str(first)
            message = await ws.receive(timeout=10)
            while message.type == aiohttp.WSMsgType.TEXT:
                assert json.loads(message.data)["type"] == "error"
                message = await ws.receive(timeout=10)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 4401, first
            await ws.close()


async def test_gateway_security_headers(platform: Platform, user: Client) -> None:
    for path in ("/", "/api/albums"):
        r = await user.request("GET", path)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


def test_bcrypt_default_cost_and_72_byte_limit() -> None:
    import bcrypt

    from services.auth.passwords import _prehash
    from services.auth.settings import Settings

    assert Settings().bcrypt_rounds == 12  # about a quarter second per hash here (see the note)
    long_a, long_b = "x" * 80 + "a", "x" * 80 + "b"
    assert _prehash(long_a) != _prehash(long_b) and len(_prehash(long_a)) <= 72
    hashed = bcrypt.hashpw(_prehash(long_a), bcrypt.gensalt(4))
    assert not bcrypt.checkpw(_prehash(long_b), hashed)
