"""`make run`'s launcher: a missing PostgreSQL or RabbitMQ is explained with the command that starts it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from services.launcher import ROOT, LaunchError, check_dependencies, free_port, render_nginx


@pytest.mark.parametrize("which", ["RENOVO_DATABASE_URL", "RENOVO_AMQP_URL"])
def test_missing_dependency_names_the_fix(which: str) -> None:
    port = free_port()  # nothing listens there
    url = {"RENOVO_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/renovo",
           "RENOVO_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{port}/"}[which]
    from tests.conftest import ADMIN_DSN, AMQP_URL

    with pytest.raises(LaunchError) as info:  # the other one is the suite's own, wherever it runs
        check_dependencies({"RENOVO_DATABASE_URL": ADMIN_DSN, "RENOVO_AMQP_URL": AMQP_URL, which: url})
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "docker compose -f deploy/docker-compose.yml up -d" in message
    assert "apt-get install" in message


def test_make_run_entry_prints_a_clear_error_not_a_traceback(tmp_path: object) -> None:
    port = free_port()
    env = {"RENOVO_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/renovo", "PATH": "/usr/bin:/bin",
           "RENOVO_PORT": str(free_port()), "RENOVO_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "services.launcher"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "PostgreSQL is not reachable" in result.stderr and "Traceback" not in result.stderr


def test_gateway_config_renders_every_placeholder(tmp_path: object) -> None:
    from pathlib import Path

    conf = render_nginx(Path(str(tmp_path)), "127.0.0.1", 8080,
                        {"auth": 1, "albums": 2, "jobs": 3, "notifier": 4, "inference": 5}, ROOT / "web/dist")
    text = conf.read_text()
    assert "{{" not in text and "listen 127.0.0.1:8080" in text and "server 127.0.0.1:3" in text


def test_second_installation_on_the_machines_servers_gets_its_own_names(tmp_path: object) -> None:
    from pathlib import Path

    from services.launcher import DEFAULT_DATA_DIR, installation_names

    assert installation_names(DEFAULT_DATA_DIR, {}) == {}  # the first installation keeps database "renovo"
    names = installation_names(Path(str(tmp_path)), {})
    slug = names["database"]
    assert slug.startswith("renovo_") and slug != "renovo"
    assert names["RENOVO_EXCHANGE"] == f"{slug}.events" and names["RENOVO_QUEUE_PREFIX"] == f"{slug}."
    assert installation_names(Path(str(tmp_path)), {"RENOVO_EXCHANGE": "mine"}).get("RENOVO_EXCHANGE") is None
    assert installation_names(Path(str(tmp_path)) / "other", {})["database"] != slug
