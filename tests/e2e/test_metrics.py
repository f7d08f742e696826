"""Every metric the Grafana dashboard and the alert rules query is one the running services really export."""

from __future__ import annotations

import re

import aiohttp
import pytest

from services.launcher import Platform
from tests.deploy.metric_names import metric_names_in_deploy
from tests.platform_fixtures import Client, run_real_model_job

pytestmark = pytest.mark.e2e

NAME = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", re.M)


async def test_dashboard_and_alerts_query_exported_metrics(platform: Platform, user: Client) -> None:
    # Some traffic first, including a real model job, so that every labelled series exists.
    await user.request("GET", "/api/images")
    await run_real_model_job(user, "sr2d", {"scale": 2, "noise": 1, "style": "art"}, expected_scale=2)
    exported: set[str] = set()
    async with aiohttp.ClientSession() as session:
        for name, port in platform.ports.items():
            async with session.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert r.status == 200, name
                text = await r.text()
            exported |= {m.group(1) for m in NAME.finditer(text)}
    wanted = {n for n in metric_names_in_deploy() if n.startswith("renovo_")}
    assert wanted, "the deploy files query no renovo_ metrics?"
    missing = sorted(wanted - exported)
    assert not missing, f"queried by deploy/ but exported by no service: {missing}"
