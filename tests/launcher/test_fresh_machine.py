"""A fresh machine: `make run`'s launcher in a private network namespace, where nothing answers on 5432 or 5672,
starts its own PostgreSQL and RabbitMQ, serves a user's whole journey through the gateway, comes up beside a
second installation, stops everything on Ctrl-C, finds the data again after a restart; `make test`'s server
wrapper does the same for the suite, after stopping what a launcher killed outright left running."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.launcher import ROOT

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                reason="needs root for `unshare -n` (a private network namespace)")


@pytest.fixture(scope="module")
def report() -> Iterator[dict[str, Any]]:
    # Not under pytest's tmp_path: that is closed to other users, and the private PostgreSQL runs as one.
    base = Path(tempfile.mkdtemp(prefix="renovo-fresh-"))
    base.chmod(0o755)
    try:
        result = subprocess.run(
            ["unshare", "-n", sys.executable, "-m", "tests.launcher.netns_journey", str(base / "a"), str(base / "b")],
            cwd=ROOT, capture_output=True, text=True, timeout=600)
        lines = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
        assert lines, f"no report (status {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        data: dict[str, Any] = json.loads(lines[-1][len("REPORT "):])
        consoles = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                             for p in sorted(base.glob("console-*.log")))
        assert "error" not in data, f"{data['error']}\n{consoles}"
        print(json.dumps({k: v for k, v in data.items() if "time" in k or k.endswith("_s") or k in
                          ("a_cold", "a_warm")}))
        yield data
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_nothing_answers_on_the_default_ports_there(report: dict[str, Any]) -> None:
    assert report["default_ports_answer"] == []


def test_journey_through_the_gateway_on_private_servers(report: dict[str, Any]) -> None:
    journey = report["a_journey"]
    assert journey["result_size"] == [48, 64]  # the upright photo, EXIF orientation applied
    assert set(report["a_cold"]) == {"PostgreSQL", "RabbitMQ"}


def test_second_installation_beside_the_first(report: dict[str, Any]) -> None:
    assert report["b_journey"]["result_size"] == [48, 64]
    assert set(report["a_backing_ports"]).isdisjoint(report["b_backing_ports"])
    assert report["a_user_on_b"] == 401 and report["b_user_on_a"] == 401  # two installations, two sets of users


def test_ctrl_c_stops_everything_and_data_survives_a_restart(report: dict[str, Any]) -> None:
    assert report["a_exit"] == 0 and report["b_exit"] == 0
    assert report["after_ctrl_c_answering"] == []
    after = report["a_after_restart"]
    assert after["login"] == 200 and after["images"] == [report["a_journey"]["image"]]
    assert after["result_status"] == 200 and after["result_bytes"] == report["a_journey"]["result_bytes"]
    assert report["leftovers"] == []  # no server outlived its launcher


def test_make_test_runs_the_suite_against_private_servers(report: dict[str, Any]) -> None:
    servers = report["make_test_servers"]
    assert servers["status"] == 0, servers["probe"]
    ports = report["a_backing_ports"]
    assert servers["probe"].startswith("PROBE 127.0.0.1:") and servers["stopped"]
    # it ran in the data folder of a launcher killed outright (SIGKILL), after stopping what that one left
    assert report["a_killed"] == -9 and servers["leftovers"] and int(servers["leftovers"][0]) >= 3
    assert not servers["probe"].endswith(" 127.0.0.1:5672/") and ":5432/" not in servers["probe"], (servers, ports)
