"""Which metrics the deployment's dashboards and alert rules query.

`metric_names_in_deploy()` is what a test that scrapes the running services compares against: every name it
returns must appear in some service's /metrics output. Names are series names as they appear in the
exposition format (`renovo_http_requests_total`, `renovo_job_duration_seconds_bucket`), not base names.

Usable from any test as `from tests.deploy.metric_names import metric_names_in_deploy` (tests/ is a
package, so the import works wherever pytest puts the repository root on sys.path).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"
ALERT_RULES = DEPLOY / "prometheus" / "alerts.yml"

# Series Prometheus makes itself rather than scraping them from anyone.
PROMETHEUS_SYNTHETIC = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds"})

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_LABEL_VALUES = re.compile(r"label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)", re.DOTALL)
_KEYWORDS = frozenset(
    {
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "atan2",
        "inf",
        "nan",
        "Inf",
        "NaN",
    }
)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords and label names left out)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        name = match.group()
        following = text[match.end() :].lstrip()
        if name in _KEYWORDS or following.startswith("("):
            continue
        # A duration or number suffix such as the "m" of 5m is not a name.
        if match.start() > 0 and text[match.start() - 1].isdigit():
            continue
        names.add(name)
    return names


def dashboard_exprs() -> Iterator[tuple[str, str]]:
    """(where, expression) for every panel query of every provisioned dashboard, rows' panels included."""
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        stack = list(dashboard.get("panels", []))
        while stack:
            panel = stack.pop(0)
            stack.extend(panel.get("panels", []))
            for target in panel.get("targets", []):
                if target.get("expr"):
                    yield f"{path.name}: {panel.get('title')!r} {target.get('refId')}", target["expr"]


def dashboard_variable_queries() -> Iterator[tuple[str, str]]:
    """(where, query) for the dashboards' template variables (label_values(...), not PromQL)."""
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable.get("query")
            if isinstance(query, dict):
                query = query.get("query")
            if variable.get("type") == "query" and query:
                yield f"{path.name}: variable {variable.get('name')}", query


def rule_exprs() -> Iterator[tuple[str, str]]:
    """(where, expression) for every alerting and recording rule."""
    rules = yaml.safe_load(ALERT_RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            yield f"alerts.yml: {rule.get('alert') or rule.get('record')}", rule["expr"]


def all_metric_names() -> dict[str, set[str]]:
    """Every metric name the dashboards and rules query, with where each is used."""
    used: dict[str, set[str]] = {}
    sources = [*dashboard_exprs(), *dashboard_variable_queries(), *rule_exprs()]
    recorded = {rule.removeprefix("alerts.yml: ") for rule, _ in rule_exprs()}
    for where, expr in sources:
        label_values = _LABEL_VALUES.fullmatch(expr.strip())
        if label_values:
            # Grafana's label_values(selector, label): only the selector names a metric.
            expr = label_values.group(1)
        for name in metric_names(expr):
            if name in recorded:
                continue
            used.setdefault(name, set()).add(where)
    return used


def metric_names_in_deploy() -> set[str]:
    """The Renovo services' metrics the deployment queries: RabbitMQ's and Prometheus's own left out."""
    return {
        name
        for name in all_metric_names()
        if not name.startswith("rabbitmq_") and name not in PROMETHEUS_SYNTHETIC
    }
