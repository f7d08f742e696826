"""deploy/grafana: the provisioning points at the compose file's Prometheus and dashboards folder, and the
dashboard is well-formed: unique ids, a tidy grid, every panel on the provisioned data source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.deploy_tools import DEPLOY

GRAFANA = DEPLOY / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
PANEL_TYPES = {"row", "stat", "timeseries", "heatmap", "table", "bargauge", "gauge", "text"}


def datasource() -> dict[str, Any]:
    (source,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    return source


def test_datasource_is_the_compose_prometheus() -> None:
    source = datasource()
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert "prometheus" in compose["services"]


def test_dashboard_provider_reads_the_mounted_folder() -> None:
    (provider,) = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "renovo.yml").read_text())[
        "providers"
    ]
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    home = compose["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert Path(home).parent.as_posix() == provider["options"]["path"]
    assert (GRAFANA / "dashboards" / Path(home).name).is_file()


def all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_well_formed(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    panels = all_panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    uid = datasource()["uid"]
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, f"{panel['title']!r} overlaps another panel"
        cells |= covered
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid and target["expr"].strip(), panel["title"]
        if panel["type"] == "heatmap":
            assert all(t.get("format") == "heatmap" for t in panel["targets"]), panel["title"]
            assert all("_bucket" in t["expr"] for t in panel["targets"]), panel["title"]
    for variable in dashboard["templating"]["list"]:
        if variable.get("datasource"):
            assert variable["datasource"]["uid"] == uid


def test_overview_dashboard_has_the_sections_operators_need() -> None:
    dashboard = json.loads((GRAFANA / "dashboards" / "renovo-overview.json").read_text())
    titles = {p["title"] for p in all_panels(dashboard)}
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Health at a glance", "Queues and jobs", "Latency", "Services", "Inference and GPU"]
    assert {
        "Queue depth per family",
        "Longest queue wait (p99, 15m)",
        "Consumers",
        "Dead letters",
        "HTTP 5xx ratio (5m)",
        "p95 job time (30m)",
        "Services up",
        "Firing alerts",
        "GPU memory in use",
        "Inference seconds per megapixel (p50, p95)",
    } <= titles
    assert sum(p["type"] == "heatmap" for p in all_panels(dashboard)) >= 3
    # The glance row comes first.
    first_row_y = dashboard["panels"][0]["gridPos"]["y"]
    glance = [p for p in dashboard["panels"] if p["type"] != "row" and p["gridPos"]["y"] < 17]
    assert first_row_y == 0 and len(glance) >= 8
