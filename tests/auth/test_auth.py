"""The auth service against the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import jwt
import pytest

from services.auth.app import create_app
from services.auth.settings import Settings
from shared.settings import CommonSettings
from shared.tokens import issue_access_token

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(aiohttp_client: Any, common_settings: CommonSettings) -> Any:
    settings = Settings(common=common_settings, bcrypt_rounds=4, max_failures_per_account=3)
    return await aiohttp_client(create_app(settings))


def email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.org"


async def register(client: Any, address: str, password: str = "correct horse battery") -> Any:
    return await client.post("/api/auth/register", json={"email": address, "password": password})


async def login(client: Any, address: str, password: str = "correct horse battery") -> Any:
    return await client.post("/api/auth/login", json={"email": address, "password": password})


async def test_register_login_me(client: Any) -> None:
    address = email()
    r = await register(client, address)
    assert r.status == 201
    user = await r.json()
    assert user["email"] == address and user["display_name"] == address.split("@")[0]
    r = await login(client, address.upper())
    assert r.status == 200
    tokens = await r.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
    r = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status == 200
    assert (await r.json())["id"] == user["id"]


async def test_duplicate_and_weak(client: Any) -> None:
    address = email()
    assert (await register(client, address)).status == 201
    r = await register(client, address.upper())
    assert r.status == 409 and (await r.json())["error"]["code"] == "email_taken"
    r = await register(client, email(), "short")
    assert r.status == 422 and (await r.json())["error"]["code"] == "weak_password"
    r = await client.post("/api/auth/register", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_json"


async def test_password_stored_hashed_and_long_passwords_count(client: Any, pg: Any) -> None:
    address = email()
    long_a = "a-very-long-passphrase-" * 4 + "A"
    long_b = "a-very-long-passphrase-" * 4 + "B"  # same first 72 bytes
    assert (await register(client, address, long_a)).status == 201
    stored = await pg.fetchval("SELECT password_hash FROM auth.users WHERE email = $1", address)
    assert stored.startswith("$2b$") and long_a not in stored
    assert (await login(client, address, long_b)).status == 401
    assert (await login(client, address, long_a)).status == 200


async def test_refresh_rotates_and_reuse_revokes_family(client: Any) -> None:
    address = email()
    await register(client, address)
    first = await (await login(client, address)).json()
    r = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status == 200
    second = await r.json()
    assert second["refresh_token"] != first["refresh_token"]
    # The old token again: refused, and the family (including the new token) is revoked.
    r = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status == 401
    r = await client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status == 401


async def test_logout_revokes(client: Any) -> None:
    address = email()
    await register(client, address)
    tokens = await (await login(client, address)).json()
    assert (await client.post("/api/auth/logout", json={"refresh_token": tokens["refresh_token"]})).status == 204
    r = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 401


async def test_bad_tokens(client: Any, common_settings: CommonSettings) -> None:
    address = email()
    user = await (await register(client, address)).json()
    tokens = await (await login(client, address)).json()
    uid = uuid.UUID(user["id"])
    expired = jwt.encode(
        {"sub": user["id"], "iss": "renovo", "typ": "access", "exp": int(time.time()) - 5},
        common_settings.jwt_secret, algorithm="HS256",
    )
    bad = [
        None,
        "Bearer",
        "Bearer not-a-jwt",
        f"Bearer {expired}",
        f"Bearer {issue_access_token('another-secret-' + 'y' * 32, uid, 60)}",
        f"Bearer {tokens['refresh_token']}",
        f"Bearer {tokens['access_token'][:-3]}abc",
    ]
    for header in bad:
        r = await client.get("/api/auth/me", headers={"Authorization": header} if header else {})
        assert r.status == 401, header
        assert (await r.json())["error"]["code"] == "unauthorized"


async def test_login_throttled_per_account(client: Any) -> None:
    address = email()
    await register(client, address)
    for _ in range(3):
        assert (await login(client, address, "wrong password!")).status == 401
    r = await login(client, address)  # even the right password is refused while throttled
    assert r.status == 429 and (await r.json())["error"]["code"] == "too_many_attempts"
    assert 1 <= int(r.headers["Retry-After"]) <= 2  # a short back-off, not a 15-minute lock
    await asyncio.sleep(int(r.headers["Retry-After"]))
    assert (await login(client, address)).status == 200
    # Another account from the same address still works.
    other = email()
    await register(client, other)
    assert (await login(client, other)).status == 200


async def test_update_me(client: Any) -> None:
    address = email()
    await register(client, address)
    tokens = await (await login(client, address)).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    r = await client.patch("/api/auth/me", json={"display_name": "Grandma", "preferences": {"notifications": False}},
                           headers=auth)
    assert r.status == 200
    body = await r.json()
    assert body["display_name"] == "Grandma" and body["preferences"]["notifications"] is False
    r = await client.patch("/api/auth/me", json={"password": "new password 123", "current_password": "nope"},
                           headers=auth)
    assert r.status == 403
    r = await client.patch("/api/auth/me", json={"password": "new password 123",
                                                 "current_password": "correct horse battery"}, headers=auth)
    assert r.status == 200
    # The session that changed the password goes on; the new password logs in.
    r = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 200
    assert (await login(client, address, "new password 123")).status == 200


async def test_user_registered_is_published(client: Any, common_settings: CommonSettings) -> None:
    import aio_pika

    connection = await aio_pika.connect(common_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(common_settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "user.registered")
        address = email()
        await register(client, address)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            message = await queue.get(fail=False)
            if message is not None:
                await message.ack()
                import json

                body = json.loads(message.body)
                if body["payload"]["email"] == address:
                    assert body["type"] == "user.registered" and message.message_id == body["id"]
                    return
            await asyncio.sleep(0.05)
        pytest.fail("user.registered never published")


async def test_display_name_with_control_characters_is_refused(client: Any) -> None:
    address = email()
    await register(client, address)
    tokens = await (await login(client, address)).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    for name in ("nul\x00byte", "bell\x07", "lone \ud800 surrogate"):
        r = await client.patch("/api/auth/me", data=json.dumps({"display_name": name}),
                               headers={**auth, "Content-Type": "application/json"})
        assert r.status == 422, name
        assert (await r.json())["error"]["code"] == "invalid"
