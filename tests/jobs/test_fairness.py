"""Fair share through the whole platform: one user's flood does not make another user's single photo wait for
all of it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import IMAGES
from tests.platform_fixtures import Client

pytestmark = pytest.mark.e2e

FLOOD = 150


async def _unfinished(user: Client, ids: set[str]) -> int:
    done: set[str] = set()
    for status in ("completed", "failed", "cancelled"):
        r = await user.request("GET", "/api/jobs", params={"status": status, "limit": "200"})
        done |= {j["id"] for j in (await r.json())["items"]}
    return len(ids - done)


async def test_a_single_photo_is_not_queued_behind_another_users_flood(user: Client, other_user: Client) -> None:
    r = await user.upload(IMAGES / "photo/OST_009.png")
    flood_image = (await r.json())["images"][0]
    r = await other_user.upload(IMAGES / "photo/00003.png")
    single_image = (await r.json())["images"][0]
    sem = asyncio.Semaphore(16)

    async def post() -> str:
        async with sem:
            r = await user.request("POST", "/api/jobs", json={"image_id": flood_image["id"], "type": "none"})
            assert r.status == 202, await r.text()
            return str((await r.json())["id"])

    flood = set(await asyncio.gather(*(post() for _ in range(FLOOD))))
    r = await other_user.request("POST", "/api/jobs", json={"image_id": single_image["id"], "type": "none"})
    job: dict[str, Any] = await r.json()
    async with asyncio.timeout(300):
        while job["status"] not in ("completed", "failed", "cancelled"):
            await asyncio.sleep(0.05)
            job = await (await other_user.request("GET", f"/api/jobs/{job['id']}")).json()
    left = await _unfinished(user, flood)
    assert job["status"] == "completed"
    # B's photo took its turn after about one of A's jobs, not after A's whole backlog.
    assert left >= FLOOD // 2, f"only {left} of the {FLOOD} jobs of the flood were still waiting"
    # Leave the shared platform idle for the next tests.
    await asyncio.gather(*(user.request("POST", f"/api/jobs/{job_id}/cancel") for job_id in flood))
