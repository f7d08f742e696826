"""The metrics the dashboard and the alert rules query are the ones the services and RabbitMQ export, and
every query parses as PromQL (promtool, through a throw-away rules file)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.deploy_tools import tool
from tests.deploy.metric_names import (
    PROMETHEUS_SYNTHETIC,
    all_metric_names,
    dashboard_exprs,
    metric_names,
    metric_names_in_deploy,
)

# The services' metrics (the contract of issue 6 part 3), as series names in the exposition format.
_HISTOGRAMS = [
    "renovo_http_request_duration_seconds",
    "renovo_job_duration_seconds",
    "renovo_job_queue_wait_seconds",
    "renovo_inference_job_seconds",
    "renovo_inference_seconds_per_megapixel",
    "renovo_model_load_seconds",
]
SERVICE_METRICS = {
    "renovo_http_requests_total",
    "renovo_events_published_total",
    "renovo_events_consumed_total",
    "renovo_jobs_submitted_total",
    "renovo_jobs_finished_total",
    "renovo_outbox_backlog",
    "renovo_outbox_oldest_age_seconds",
    "renovo_jobs_stale_requeued_total",
    "renovo_inference_jobs_total",
    "renovo_inference_tiles_total",
    "renovo_inference_gpu_memory_bytes",
    "renovo_inference_oom_retries_total",
    "renovo_notifier_open_sockets",
    "renovo_notifier_messages_sent_total",
    "renovo_events_held_total",
    "renovo_jobs_released_total",
    "renovo_jobs_held",
    "renovo_jobs_in_flight",
    "renovo_jobs_users_waiting",
    "renovo_jobs_user_backlog_max",
    "renovo_jobs_held_oldest_age_seconds",
    *(f"{h}{suffix}" for h in _HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")),
}
# rabbitmq_prometheus with return_per_object_metrics (deps/rabbitmq_prometheus, core and alarm collectors).
RABBITMQ_METRICS = {
    "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_messages_unacked",
    "rabbitmq_queue_messages",
    "rabbitmq_queue_consumers",
    "rabbitmq_alarms_memory_limit",
    "rabbitmq_alarms_disk_limit",
    "rabbitmq_alarms_file_descriptor_limit",
}


def test_the_extractor_finds_metric_names_only() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (type, le) (rate(renovo_job_duration_seconds_bucket{type=~"sr|x"}'
        '[5m]))) / on (queue) group_left label_replace(up{job="a"} offset 5m, "q", "$1", "job", "(.+)") '
        "unless renovo_outbox_backlog > bool 3"
    )
    assert metric_names(expr) == {"renovo_job_duration_seconds_bucket", "up", "renovo_outbox_backlog"}


def test_deploy_queries_only_metrics_the_services_export() -> None:
    used = metric_names_in_deploy()
    assert used, "no metric found: the extractor is broken"
    unknown = used - SERVICE_METRICS
    assert not unknown, {name: sorted(all_metric_names()[name]) for name in unknown}


def test_deploy_queries_only_rabbitmq_metrics_the_plugin_exports() -> None:
    rabbitmq = {name for name in all_metric_names() if name.startswith("rabbitmq_")}
    assert rabbitmq and rabbitmq <= RABBITMQ_METRICS


def test_every_metric_has_a_known_source() -> None:
    names = set(all_metric_names())
    strays = names - SERVICE_METRICS - RABBITMQ_METRICS - PROMETHEUS_SYNTHETIC
    assert not strays


def test_every_service_metric_is_on_the_dashboard_or_in_a_rule() -> None:
    used = {re.sub(r"_(bucket|sum|count)$", "", name) for name in metric_names_in_deploy()}
    exported = {re.sub(r"_(bucket|sum|count)$", "", name) for name in SERVICE_METRICS}
    assert exported - used == set()


def grafana_to_promql(expr: str) -> str:
    """Grafana's built-in and dashboard variables, replaced by what they stand for at query time."""
    for variable, value in {
        "$__rate_interval": "1m",
        "$__interval": "30s",
        "$__range": "1h",
        "$service": ".*",
    }.items():
        expr = expr.replace(variable, value)
    assert "$__" not in expr and not re.search(r"\$[a-z]", expr.replace("$1", "")), expr
    return expr


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    promtool = tool("promtool")
    exprs = list(dashboard_exprs())
    assert exprs
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": grafana_to_promql(expr)}
                    for i, (_, expr) in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        index = {f"dashboard:query_{i}": where for i, (where, _) in enumerate(exprs)}
        pytest.fail(result.stdout + result.stderr + "\n" + "\n".join(f"{k}: {v}" for k, v in index.items()))
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout
