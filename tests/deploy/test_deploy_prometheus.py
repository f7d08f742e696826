"""deploy/prometheus: promtool accepts the configuration and the rules; every alert fires for its failure."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.deploy.deploy_tools import DEPLOY, tool

PROMETHEUS = DEPLOY / "prometheus"
RULE_TESTS = Path(__file__).with_name("alerts.test.yml")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_prometheus_config_is_valid(tmp_path: Path) -> None:
    promtool = tool("promtool")
    # The container path of the rules file, pointed at the repository's copy.
    config = (PROMETHEUS / "prometheus.yml").read_text()
    assert "/etc/prometheus/alerts.yml" in config
    rendered = tmp_path / "prometheus.yml"
    rendered.write_text(config.replace("/etc/prometheus/alerts.yml", str(PROMETHEUS / "alerts.yml")))
    result = run(promtool, "check", "config", str(rendered))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_are_valid() -> None:
    result = run(tool("promtool"), "check", "rules", str(PROMETHEUS / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rule_unit_tests_pass() -> None:
    result = run(tool("promtool"), "test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def alert_names() -> set[str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}


def test_every_alert_has_a_test_that_makes_it_fire_and_one_where_it_stays_quiet() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alert_names() - fired == set(), "alerts no test makes fire"
    assert alert_names() - quiet == set(), "alerts no test shows quiet"
    assert fired | quiet <= alert_names(), "tests of alerts that do not exist"


def test_alerts_named_in_the_brief_exist() -> None:
    # The failures deploy/README.md promises an alert for.
    assert {
        "RenovoQueueWithoutConsumer",
        "RenovoDeadLettersAppearing",
        "RenovoHTTPErrorRatioHigh",
        "RenovoJobsSlowerThanObjective",
        "RenovoNoCompletedJobsWhileWorkWaits",
        "RenovoOutboxBacklogGrowing",
        "RenovoOutboxBacklogOld",
        "RenovoServiceDown",
    } <= alert_names()


def test_every_alert_has_severity_and_summary() -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]


def test_scrape_jobs_cover_every_service_and_the_broker() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"auth", "albums", "jobs", "notifier", "inference", "rabbitmq", "postgres"} <= set(jobs)
    ports = {"auth": 8101, "albums": 8102, "jobs": 8103, "notifier": 8104}
    for name, port in ports.items():
        assert jobs[name]["static_configs"][0]["targets"] == [f"{name}:{port}"]
    assert jobs["inference"]["dns_sd_configs"][0]["port"] == 8105
    assert jobs["rabbitmq"]["static_configs"][0]["targets"] == ["rabbitmq:15692"]
