"""E-mail when away: through the whole platform (gateway, auth, jobs, worker, notifier) to a real SMTP server
(aiosmtpd, tests/smtp_server.py) whose inbox the tests read; the preference without SMTP. The mailer's retry and
give-up: test_mailer.py."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from services.auth.app import create_app as auth_app
from services.auth.settings import Settings as AuthSettings
from shared import db
from shared.settings import CommonSettings
from tests.conftest import IMAGES
from tests.platform_fixtures import Client, wait_for
from tests.smtp_server import SmtpServer

PUBLIC = "https://renovo.example.org"


async def _opt_in(user: Client) -> None:
    r = await user.request("GET", "/api/auth/me")
    me = await r.json()
    assert me["capabilities"]["notify_email"] is True and me["preferences"]["notify_email"] is False
    r = await user.request("PATCH", "/api/auth/me", json={"preferences": {"notify_email": True}})
    assert r.status == 200, await r.text()
    assert (await r.json())["preferences"]["notify_email"] is True


async def _image(user: Client, album_id: str | None = None, path: str = "photo/00003.png") -> dict[str, Any]:
    r = await user.upload(IMAGES / path, album_id=album_id)
    assert r.status == 201, await r.text()
    return dict((await r.json())["images"][0])


async def _job(user: Client, image_id: str, **extra: Any) -> dict[str, Any]:
    r = await user.request("POST", "/api/jobs", json={"image_id": image_id, "type": "none", **extra})
    assert r.status == 202, await r.text()
    return dict(await r.json())


async def _settled(user: Client, job_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            job = dict(await (await user.request("GET", f"/api/jobs/{job_id}")).json())
            if job["status"] in ("completed", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.1)


@pytest.mark.e2e
async def test_one_email_with_a_link_when_the_owner_is_away(user: Client, smtp_server: SmtpServer) -> None:
    await _opt_in(user)
    image = await _image(user)
    job = await _job(user, image["id"])
    assert (await _settled(user, job["id"]))["status"] == "completed"
    [message] = await asyncio.to_thread(smtp_server.inbox.wait_for, user.email)
    assert "ready" in message["Subject"] and "renovo@example.org" in message["From"]
    assert f"{PUBLIC}/images/{image['id']}" in message.get_content()


@pytest.mark.e2e
async def test_no_email_while_a_page_is_open(user: Client, smtp_server: SmtpServer) -> None:
    await _opt_in(user)
    ws = await user.socket()
    seen = await _image(user)
    job = await _job(user, seen["id"])
    await wait_for(ws, job["id"], {"job.completed"})
    await asyncio.sleep(4)  # longer than the notifier's presence interval and mail wait
    await ws.close()
    # The barrier: a job finishing after the page closed is e-mailed; the one before it never is.
    away = await _image(user)
    later = await _job(user, away["id"])
    assert (await _settled(user, later["id"]))["status"] == "completed"
    messages = await asyncio.to_thread(smtp_server.inbox.wait_for, user.email)
    await asyncio.sleep(1)
    messages = smtp_server.inbox.to(user.email)
    assert len(messages) == 1
    assert f"/images/{away['id']}" in messages[0].get_content()
    assert seen["id"] not in messages[0].get_content()


@pytest.mark.e2e
async def test_an_album_batch_gives_one_email(user: Client, other_user: Client, smtp_server: SmtpServer) -> None:
    await _opt_in(user)
    r = await user.request("POST", "/api/albums", json={"name": "Holiday"})
    album = await r.json()
    images = [await _image(user, album["id"]) for _ in range(3)]
    batch = {"id": str(uuid.uuid4()), "size": 3}
    jobs = []
    for image in images:
        jobs.append(await _job(user, image["id"], batch=batch))
        await asyncio.sleep(0.5)  # the first jobs end before the last is asked for: still one e-mail
    assert {j["batch_id"] for j in jobs} == {batch["id"]}
    for job in jobs:
        assert (await _settled(user, job["id"]))["status"] == "completed"
    [message] = await asyncio.to_thread(smtp_server.inbox.wait_for, user.email)
    assert "3 of 3" in message["Subject"]
    assert f"{PUBLIC}/albums/{album['id']}" in message.get_content()
    # The barrier: one more single job gives the second e-mail; nothing else arrived for the batch.
    extra = await _job(user, images[0]["id"])
    await _settled(user, extra["id"])
    messages = await asyncio.to_thread(smtp_server.inbox.wait_for, user.email, 2)
    await asyncio.sleep(1)
    assert len(smtp_server.inbox.to(user.email)) == 2 and "3 of 3" not in messages[1]["Subject"]
    # Another user reusing the batch id is a batch of their own; and without the preference, no e-mail.
    image = await _image(other_user)
    other = await _job(other_user, image["id"], batch={"id": batch["id"], "size": 1})
    await _settled(other_user, other["id"])
    await asyncio.sleep(5)
    assert smtp_server.inbox.to(other_user.email) == []


@pytest.mark.e2e
async def test_bad_batch_is_refused(user: Client) -> None:
    image = await _image(user)
    for batch in ({"id": "nope"}, {"id": str(uuid.uuid4()), "size": 0}, {"id": str(uuid.uuid4()), "extra": 1}, 5):
        r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none", "batch": batch})
        assert r.status == 422, batch
        assert (await r.json())["error"]["code"] == "invalid_batch"


@pytest.mark.integration
async def test_preference_is_unavailable_without_smtp(aiohttp_client: Any, common_settings: CommonSettings) -> None:
    client = await aiohttp_client(auth_app(AuthSettings(common=common_settings.model_copy(update={"smtp_host": None}),
                                                        bcrypt_rounds=4)))
    address = f"u{uuid.uuid4().hex[:10]}@example.org"
    await client.post("/api/auth/register", json={"email": address, "password": "correct horse battery"})
    tokens = await (await client.post("/api/auth/login", json={"email": address,
                                                                "password": "correct horse battery"})).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = await (await client.get("/api/auth/me", headers=headers)).json()
    assert me["capabilities"]["notify_email"] is False and me["preferences"]["notify_email"] is False
    r = await client.patch("/api/auth/me", json={"preferences": {"notify_email": True}}, headers=headers)
    assert r.status == 422 and (await r.json())["error"]["code"] == "email_unavailable"
    r = await client.patch("/api/auth/me", json={"preferences": {"notify_email": "yes"}}, headers=headers)
    assert r.status == 422


@pytest.mark.e2e
async def test_a_batch_short_of_its_size_is_announced_once_when_overdue(
        user: Client, smtp_server: SmtpServer, platform_settings: CommonSettings) -> None:
    """Two of a batch of three were created (the third request was refused): no e-mail while the third might
    still come, one e-mail once the batch is overdue, and only one."""
    from services.jobs import batches

    await _opt_in(user)
    user_id = uuid.UUID((await (await user.request("GET", "/api/auth/me")).json())["id"])
    images = [await _image(user) for _ in range(2)]
    batch = {"id": str(uuid.uuid4()), "size": 3}
    jobs = [await _job(user, image["id"], batch=batch) for image in images]
    for job in jobs:
        assert (await _settled(user, job["id"]))["status"] == "completed"
    pool = await db.create_pool(platform_settings)
    try:
        assert await batches.sweep_overdue(pool, overdue_seconds=3600) == 0  # the third may still come
        await asyncio.sleep(4)
        assert smtp_server.inbox.to(user.email) == []
        async with pool.acquire() as conn:  # the batch's last request was made long ago
            await conn.execute("UPDATE jobs.jobs SET created_at = created_at - interval '1 hour' "
                               "WHERE user_id = $1 AND batch_id = $2", user_id, uuid.UUID(str(batch["id"])))
        assert await batches.sweep_overdue(pool, overdue_seconds=600) == 1
        assert await batches.sweep_overdue(pool, overdue_seconds=600) == 0
    finally:
        await pool.close()
    [message] = await asyncio.to_thread(smtp_server.inbox.wait_for, user.email)
    assert "2 of 2" in message["Subject"]
