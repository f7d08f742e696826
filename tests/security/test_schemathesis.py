"""Property-based runs of every service's OpenAPI description through the gateway (schemathesis):
no 5xx, and every answer matches the described schema. Bounded in examples and time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.launcher import Platform
from tests.platform_fixtures import Client

pytestmark = [pytest.mark.security, pytest.mark.e2e]

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.mark.parametrize("service", ["auth", "jobs", "albums"])
async def test_openapi_fuzz(service: str, platform: Platform, user: Client) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    command = [
        str(schemathesis), "run", f"{platform.url}/api/{service}/openapi.json",
        "--url", platform.url, "-H", f"Authorization: Bearer {user.token}",
        "--checks", CHECKS, "--max-examples", "25", "--request-timeout", "20",
        "--suppress-health-check", "all", "--seed", "1",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    output = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, output
    print(output[-1500:])
