"""Resources against the running platform (OWASP ASVS V12/V13 resource limits): downloads stream from storage
with bounded memory, Content-Length, ETag and ranges; uploads are bounded in memory across concurrent
requests; every list is paginated; a storage outage answers 503 with a clear message and /readyz names the
storage; the Kubernetes ingress keeps the gateway's login rate limit."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from services.launcher import ROOT, Platform
from tests.conftest import IMAGES
from tests.platform_fixtures import Client

from .conftest import PeakMemory, start_service

pytestmark = pytest.mark.security

MB = 1024 * 1024


async def _completed_job(user: Client) -> dict[str, Any]:
    r = await user.upload(IMAGES / "edge/tiny_3x2.jpg")
    assert r.status == 201, await r.text()
    image = (await r.json())["images"][0]
    r = await user.request("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
    assert r.status == 202, await r.text()
    job = await r.json()
    async with asyncio.timeout(120):
        while job["status"] not in ("completed", "failed", "cancelled"):
            await asyncio.sleep(0.3)
            job = await (await user.request("GET", f"/api/jobs/{job['id']}")).json()
    assert job["status"] == "completed", job
    return dict(job)


def _result_file(platform: Platform, user: Client, job: dict[str, Any]) -> Path:
    folder = platform.data_dir / "storage" / "results"
    found = [p for p in folder.rglob("*") if p.is_file() and job["id"] in p.name]
    assert len(found) == 1, found
    return found[0]


async def test_a_large_result_streams_with_bounded_memory(platform: Platform, user: Client) -> None:
    """A 256 MB result (a 4x result of a large photo is hundreds of MB) is sent a chunk at a time: the jobs
    service's memory barely moves, and the client gets Content-Length, an ETag and byte ranges."""
    job = await _completed_job(user)
    path = _result_file(platform, user, job)
    size = 256 * MB
    block = os.urandom(MB)
    with open(path, "wb") as f:  # replaced in place with a large file of the same name
        for i in range(size // MB):
            f.write(block[i % 7:] + block[: i % 7])
    pid = platform.processes["jobs"].pid
    with PeakMemory(pid) as memory:
        r = await user.request("GET", f"/api/jobs/{job['id']}/result")
        assert r.status == 200
        received = 0
        async for chunk in r.content.iter_chunked(MB):
            received += len(chunk)
    print(f"jobs service resident memory while sending a {size // MB} MB result: baseline "
          f"{memory.baseline / MB:.0f} MB, peak {memory.peak / MB:.0f} MB, growth {memory.growth / MB:.0f} MB")
    assert received == size
    assert int(r.headers["Content-Length"]) == size
    etag = r.headers["ETag"]
    assert memory.growth < size / 4, memory.growth
    # Ranges: a resumed download gets the rest, byte for byte.
    with open(path, "rb") as f:
        f.seek(size - 1000)
        tail = f.read()
    r = await user.request("GET", f"/api/jobs/{job['id']}/result", headers={"Range": f"bytes={size - 1000}-"})
    assert r.status == 206 and await r.read() == tail
    assert r.headers["Content-Range"] == f"bytes {size - 1000}-{size - 1}/{size}"
    r = await user.request("GET", f"/api/jobs/{job['id']}/result", headers={"If-None-Match": etag})
    assert r.status == 304
    path.unlink()


async def test_originals_and_thumbnails_have_etags_and_ranges(user: Client) -> None:
    original = (IMAGES / "edge/tiny_3x2.jpg").read_bytes()
    r = await user.upload(IMAGES / "edge/tiny_3x2.jpg")
    image = (await r.json())["images"][0]
    for route in ("original", "thumbnail"):
        r = await user.request("GET", f"/api/images/{image['id']}/{route}")
        body = await r.read()
        assert r.status == 200 and int(r.headers["Content-Length"]) == len(body) and r.headers["ETag"]
        if route == "original":
            assert body == original
        r2 = await user.request("GET", f"/api/images/{image['id']}/{route}", headers={"Range": "bytes=2-11"})
        assert r2.status == 206 and await r2.read() == body[2:12]
        r3 = await user.request("GET", f"/api/images/{image['id']}/{route}",
                                headers={"If-None-Match": r.headers["ETag"]})
        assert r3.status == 304
        r4 = await user.request("GET", f"/api/images/{image['id']}/{route}",
                                headers={"Range": f"bytes={len(body) + 10}-"})
        assert r4.status == 416 and r4.headers["Content-Range"] == f"bytes */{len(body)}"


async def test_parallel_uploads_are_bounded_in_memory(platform: Platform, user: Client) -> None:
    """Twelve 24 MB uploads at once: each waits for a decode slot with its file spooled to disk, not in memory.
    (Files that are not images: what is measured is the buffering before the decode, not the decode.)"""
    data = os.urandom(24 * MB)
    pid = platform.processes["albums"].pid
    with PeakMemory(pid) as memory:
        results = await asyncio.gather(*(user.upload((f"scan{i}.png", data)) for i in range(12)))
        answers = [(r.status, (await r.json())["error"]["code"]) for r in results]
    print(f"albums resident memory during 12 parallel uploads of {len(data) / MB:.0f} MB: baseline "
          f"{memory.baseline / MB:.0f} MB, peak {memory.peak / MB:.0f} MB, growth {memory.growth / MB:.0f} MB")
    assert all(status == 415 for status, _ in answers), answers
    # Two files at a time are read back for their decode (decode_concurrency); twelve buffered files would not
    # fit under this.
    assert memory.growth < 6 * len(data), memory.growth


async def test_album_list_is_paginated(user: Client) -> None:
    for i in range(5):
        assert (await user.request("POST", "/api/albums", json={"name": f"album {i}"})).status == 201
    r = await user.request("GET", "/api/albums", params={"limit": "2"})
    page = await r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    seen = [a["name"] for a in page["items"]]
    while page["next_cursor"]:
        page = await (await user.request("GET", "/api/albums", params={"limit": "2",
                                                                         "cursor": page["next_cursor"]})).json()
        seen += [a["name"] for a in page["items"]]
    assert seen == [f"album {i}" for i in reversed(range(5))]
    r = await user.request("GET", "/api/albums", params={"limit": "100000"})
    assert r.status == 422
    r = await user.request("GET", "/api/albums", params={"cursor": "not-a-cursor"})
    assert r.status == 422


@pytest.fixture(scope="module")
def albums_without_storage(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An albums process whose S3 endpoint is down (nothing listens there)."""
    yield from start_service(platform, "albums", {
        "RENOVO_STORAGE_BACKEND": "s3", "RENOVO_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "RENOVO_S3_ACCESS_KEY": "test", "RENOVO_S3_SECRET_KEY": "test-secret",
    }, tmp_path_factory.mktemp("albums-s3-down"))


async def test_storage_outage_is_a_clear_503(albums_without_storage: Any, user: Client) -> None:
    base = albums_without_storage.url
    async with aiohttp.ClientSession() as session:
        r = await session.get(f"{base}/readyz")
        body = await r.json()
        assert r.status == 503 and body["status"] == "unavailable"
        assert "S3 bucket 'renovo' at http://127.0.0.1:9" in body["checks"]["storage"], body
        form = aiohttp.FormData()
        form.add_field("file", (IMAGES / "edge/tiny_3x2.jpg").read_bytes(), filename="a.jpg")
        r = await session.post(f"{base}/api/images", data=form, headers=user.headers)
        assert r.status == 503, await r.text()
        error = (await r.json())["error"]
        assert error["code"] == "unavailable" and "storage" in error["message"]
        assert r.headers["Retry-After"]


def test_kubernetes_ingress_applies_the_gateways_login_limit() -> None:
    """Login and registration do not go around the gateway's `limit_req` in Kubernetes: the ingress sends them
    through the gateway, which takes the client address from the ingress only (set_real_ip_from)."""
    docs = [d for d in yaml.safe_load_all((ROOT / "deploy/k8s/ingress.yaml").read_text()) if d]
    routes: dict[str, str] = {}
    for doc in docs:
        for rule in doc["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                routes[path["path"]] = path["backend"]["service"]["name"]
    for login in ("/api/auth/login", "/api/auth/register"):
        matching = max((p for p in routes if login.startswith(p)), key=len)
        assert routes[matching] == "gateway", (login, matching, routes[matching])
    gateway = (ROOT / "deploy/nginx/gateway.conf").read_text()
    assert "include /etc/nginx/renovo/real-ip/*.conf;" in gateway
    manifests = (ROOT / "deploy/k8s/gateway.yaml").read_text()
    assert "set_real_ip_from" in manifests and "real_ip_header" in manifests
