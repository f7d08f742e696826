"""One platform start (every service as a process, nginx in front) shared by all end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.launcher import Platform, free_port
from shared.settings import CommonSettings
from tests.conftest import own_database
from tests.smtp_server import SmtpServer


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server the platform sends its e-mails to (tests/notifier/test_email.py reads them)."""
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def platform_settings(common_settings: CommonSettings) -> Iterator[CommonSettings]:
    """What the shared platform runs with: the run's bus names and secret (tests publish into its exchange and
    sign its tokens), but a database of its own. Its background loops (the mailer, the outbox relays, the stale
    job sweep) would otherwise take rows that tests of a single part insert into the run's database."""
    with own_database("_platform") as url:
        yield common_settings.model_copy(update={"database_url": url})


@pytest.fixture(scope="session")
def platform(platform_settings: CommonSettings, tmp_path_factory: pytest.TempPathFactory,
             smtp_server: SmtpServer) -> Iterator[Platform]:
    settings = platform_settings
    data = tmp_path_factory.mktemp("platform")
    env = {
        "RENOVO_ENV": "test",
        "RENOVO_DATABASE_URL": settings.database_url,
        "RENOVO_AMQP_URL": settings.amqp_url,
        "RENOVO_EXCHANGE": settings.exchange,
        "RENOVO_DEAD_EXCHANGE": settings.dead_exchange,
        "RENOVO_QUEUE_PREFIX": settings.queue_prefix,
        "RENOVO_JWT_SECRET": settings.jwt_secret,
        "RENOVO_STORAGE_PATH": str(data / "storage"),
        "RENOVO_AUTH_BCRYPT_ROUNDS": "4",
        "RENOVO_INFERENCE_THREADS": "2",
        "RENOVO_LOG_FORMAT": "json",
        "RENOVO_SMTP_HOST": "127.0.0.1",
        "RENOVO_SMTP_PORT": str(smtp_server.port),
        "RENOVO_SMTP_STARTTLS": "false",
        "RENOVO_SMTP_FROM": "Renovo <renovo@example.org>",
        "RENOVO_PUBLIC_URL": "https://renovo.example.org",
    }
    ports = {name: free_port() for name in ("auth", "albums", "jobs", "notifier", "inference")}
    p = Platform(data_dir=data, port=free_port(), ports=ports, env=env, log_dir=data / "logs")
    p.start(timeout=90)
    yield p
    p.stop()


class Client:
    """A signed-up user talking to the gateway."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.token: str | None = None
        self.refresh_token: str | None = None
        self.email = f"e2e-{uuid.uuid4().hex[:10]}@example.org"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def signup(self) -> Client:
        r = await self.session.post(f"{self.base}/api/auth/register",
                                    json={"email": self.email, "password": "e2e password 1"})
        assert r.status == 201, await r.text()
        r = await self.session.post(f"{self.base}/api/auth/login",
                                    json={"email": self.email, "password": "e2e password 1"})
        assert r.status == 200, await r.text()
        tokens = await r.json()
        self.token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
        return self

    async def request(self, method: str, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.session.request(method, f"{self.base}{path}", headers=headers, **kwargs)

    async def upload(self, *files: Path | tuple[str, bytes], album_id: str | None = None) -> aiohttp.ClientResponse:
        form = aiohttp.FormData()
        for f in files:
            name, data = (f.name, f.read_bytes()) if isinstance(f, Path) else f
            form.add_field("file", data, filename=name, content_type="application/octet-stream")
        if album_id:
            form.add_field("album_id", album_id)
        return await self.request("POST", "/api/images", data=form)

    async def socket(self) -> aiohttp.ClientWebSocketResponse:
        ws = await self.session.ws_connect(f"{self.base.replace('http', 'ws', 1)}/api/notifications/ws")
        await ws.send_str(json.dumps({"type": "auth", "token": self.token}))
        ready = await ws.receive_json(timeout=5)
        assert ready == {"type": "ready"}
        return ws


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest.fixture
async def user(http: aiohttp.ClientSession, platform: Platform) -> Client:
    return await Client(http, platform.url).signup()


@pytest.fixture
async def other_user(http: aiohttp.ClientSession, platform: Platform) -> Client:
    return await Client(http, platform.url).signup()


async def wait_for(ws: aiohttp.ClientWebSocketResponse, job_id: str, types: set[str],
                   timeout: float = 60) -> list[dict[str, Any]]:
    """Collect this job's messages until one of `types` arrives."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.receive_json()
            if message.get("job_id") == job_id:
                seen.append(message)
                if message["type"] in types:
                    return seen


async def run_real_model_job(user: Client, type_: str, options: dict[str, Any], expected_scale: int
                             ) -> dict[str, Any]:
    """Upload a small real photo crop, run a model job on it through the platform, check the result's size."""
    import io

    from PIL import Image

    from tests.conftest import IMAGES

    crop = Image.open(IMAGES / "anime/renpy_bg_uni_320x180_q25.jpg").convert("RGB").crop((100, 60, 148, 100))
    buffer = io.BytesIO()
    crop.save(buffer, format="PNG")
    r = await user.upload(("crop.png", buffer.getvalue()))
    assert r.status == 201, await r.text()
    image = (await r.json())["images"][0]
    models = {m["type"]: m for m in (await (await user.request("GET", "/api/models")).json())["items"]}
    assert models[type_]["available"], models[type_]
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": type_, "options": options})
    assert r.status == 202, await r.text()
    job = await r.json()
    async with asyncio.timeout(180):
        while job["status"] not in ("completed", "failed", "cancelled"):
            await asyncio.sleep(0.3)
            job = await (await user.request("GET", f"/api/jobs/{job['id']}")).json()
    assert job["status"] == "completed", job
    r = await user.request("GET", f"/api/jobs/{job['id']}/result")
    result = Image.open(io.BytesIO(await r.read()))
    assert result.size == (crop.width * expected_scale, crop.height * expected_scale)
    assert job["engine"] == models[type_]["engine"] or job["engine"].startswith(models[type_]["engine"])
    return job
