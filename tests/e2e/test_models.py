"""Real model jobs through the platform (the worker's default CPU backend), one small picture each."""

from __future__ import annotations

from typing import Any

import pytest

from tests.platform_fixtures import Client, run_real_model_job

pytestmark = [pytest.mark.e2e, pytest.mark.models]


@pytest.mark.parametrize(
    ("type_", "options", "scale"),
    [
        ("sr", {"scale": 2}, 2),
        ("sr2d", {"scale": 1, "noise": 2, "style": "art"}, 1),
        ("sr2d", {"scale": 2, "noise": 0, "style": "photo"}, 2),
        ("restore", {"face_enhance": False}, 1),
        ("restore_scratch", {"face_enhance": True}, 1),
    ],
)
async def test_model_job(user: Client, type_: str, options: dict[str, Any], scale: int) -> None:
    job = await run_real_model_job(user, type_, options, expected_scale=scale)
    if type_.startswith("restore"):
        assert job["engine"] in ("bopb", "renovo")  # which engine made it is reported with the result
