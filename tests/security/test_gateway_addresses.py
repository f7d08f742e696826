"""The gateway behind a load balancer: with deploy/nginx/real-ip.conf.example in place it takes the client's
address from the proxy's X-Forwarded-For, so its login rate limit and the X-Real-IP it passes on see each
client rather than the balancer (without the file a client's own X-Forwarded-For is ignored: tests/deploy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.deploy.deploy_tools import DEPLOY
from tests.deploy.test_deploy_nginx import render, request, start

pytestmark = pytest.mark.security


def test_behind_a_trusted_proxy_each_client_has_its_own_address_and_budget(tmp_path: Path) -> None:
    gateway = render(tmp_path, tls=False)
    example = (DEPLOY / "nginx" / "real-ip.conf.example").read_text()
    conf = gateway.prefix / "renovo" / "real-ip"
    conf.mkdir()
    # The balancer is 127.0.0.1 here (the example names a private network).
    (conf / "real-ip.conf").write_text(example.replace("10.0.0.0/8", "127.0.0.1/32"))
    for running in start(gateway):
        _, _, body = request(running.http_port, "GET", "/api/auth/me", headers={"X-Forwarded-For": "203.0.113.7"})
        headers = json.loads(body)["headers"]
        assert headers["x-real-ip"] == "203.0.113.7" and headers["x-forwarded-for"] == "203.0.113.7"
        one = [request(running.http_port, "POST", "/api/auth/login", body=b"{}",
                       headers={"X-Forwarded-For": "203.0.113.8"})[0] for _ in range(30)]
        assert 429 in one  # that client's budget (30 a minute, bursts of 20) is spent
        other, _, _ = request(running.http_port, "POST", "/api/auth/login", body=b"{}",
                              headers={"X-Forwarded-For": "203.0.113.9"})
        assert other == 200  # another client behind the same balancer is not
