"""deploy/docker-compose.yml: valid for Docker Compose itself (`docker-compose config`, no engine needed),
complete, and without a secret of its own."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.deploy_tools import DEPLOY, tool

COMPOSE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / "env.example"
RENOVO_SERVICES = {"auth": 8101, "albums": 8102, "jobs": 8103, "notifier": 8104}
SECRETS = {
    "POSTGRES_PASSWORD",
    "RABBITMQ_PASSWORD",
    "MINIO_ROOT_PASSWORD",
    "RENOVO_S3_SECRET_KEY",
    "RENOVO_JWT_SECRET",
    "GRAFANA_ADMIN_PASSWORD",
}


def compose(*args: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment: only the env file may feed the interpolation.
    return subprocess.run(
        [
            tool("docker-compose"),
            "-f",
            str(COMPOSE),
            "--env-file",
            str(env_file),
            "--profile",
            "gpu",
            "--profile",
            "cpu",
            "--profile",
            "exporters",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = compose("config", "--format", "json", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_compose_file_is_valid_with_the_example_env(config: dict[str, Any]) -> None:
    assert {
        "postgres",
        "rabbitmq",
        "minio",
        "minio-init",
        "gateway",
        "prometheus",
        "grafana",
        "inference",
        "inference-cpu",
        "postgres-exporter",
        *RENOVO_SERVICES,
    } <= set(config["services"])


def test_every_secret_must_come_from_the_env_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = compose("config", "--quiet", env_file=empty)
    assert result.returncode != 0
    for secret in SECRETS:
        assert f"required variable {secret} is missing" in result.stderr, secret


def test_env_example_documents_every_variable_and_holds_no_secret() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    documented = env_example()
    assert used - set(documented) == set(), "variables of the compose file missing from env.example"
    assert set(documented) - used - {"COMPOSE_PROFILES"} == set(), "env.example variables nothing uses"
    for key in SECRETS:
        assert documented[key] == "CHANGE_ME", key
    assert documented["COMPOSE_PROFILES"] == "gpu"


def test_services_get_the_shared_settings(config: dict[str, Any]) -> None:
    for name, port in RENOVO_SERVICES.items():
        env = config["services"][name]["environment"]
        assert env["RENOVO_ENV"] == "production"
        assert env["RENOVO_DATABASE_URL"].startswith("postgresql://renovo:CHANGE_ME@postgres:5432/")
        assert env["RENOVO_AMQP_URL"].startswith("amqp://renovo:CHANGE_ME@rabbitmq:5672/")
        assert env["RENOVO_STORAGE_BACKEND"] == "s3"
        assert env["RENOVO_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env[f"RENOVO_{name.upper()}_PORT"] == str(port)
        assert env[f"RENOVO_{name.upper()}_HOST"] == "0.0.0.0"


def test_inference_reserves_a_gpu_and_has_a_cpu_variant(config: dict[str, Any]) -> None:
    gpu = config["services"]["inference"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["build"]["target"] == "cuda"
    assert gpu["environment"]["RENOVO_INFERENCE_DEVICE"] == "cuda"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    cpu = config["services"]["inference-cpu"]
    assert cpu["profiles"] == ["cpu"]
    assert cpu["build"]["target"] == "cpu"
    assert cpu["environment"]["RENOVO_INFERENCE_DEVICE"] == "cpu"
    assert "deploy" not in cpu
    # Prometheus finds either variant under the one name.
    assert "inference" in cpu["networks"]["default"]["aliases"]


def test_only_the_gateway_is_published_beyond_this_host(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            if name == "gateway":
                assert port["target"] in {8080, 8443}
            else:
                assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port}"


def test_data_lives_in_named_volumes(config: dict[str, Any]) -> None:
    mounts = {
        name: {(v["source"], v["target"]) for v in service.get("volumes", []) if v["type"] == "volume"}
        for name, service in config["services"].items()
    }
    assert ("pgdata", "/var/lib/postgresql/data") in mounts["postgres"]
    assert ("rabbitmq-data", "/var/lib/rabbitmq") in mounts["rabbitmq"]
    assert ("minio-data", "/data") in mounts["minio"]
    assert ("prometheus-data", "/prometheus") in mounts["prometheus"]
    assert ("grafana-data", "/var/lib/grafana") in mounts["grafana"]
    assert ("bopb-weights", "/app/weights/bopb") in mounts["inference"]


def test_bind_mounts_point_at_files_in_the_repository(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']}"
                assert volume.get("read_only"), f"{name} mounts {volume['source']} writable"


def test_every_build_uses_a_dockerfile_of_deploy_docker(config: dict[str, Any]) -> None:
    built = {name: s["build"] for name, s in config["services"].items() if "build" in s}
    assert set(built) == {*RENOVO_SERVICES, "inference", "inference-cpu", "gateway"}
    for name, build in built.items():
        assert Path(build["context"]) == DEPLOY.parent
        dockerfile = DEPLOY.parent / build["dockerfile"]
        assert dockerfile.is_file(), name
        if "target" in build:
            assert re.search(rf"^FROM .* AS {build['target']}$", dockerfile.read_text(), re.M), name


def test_third_party_images_are_pinned(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest", f"{name}: {image}"


def test_services_start_after_what_they_need(config: dict[str, Any]) -> None:
    for name in RENOVO_SERVICES:
        depends = config["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["rabbitmq"]["condition"] == "service_healthy"
        assert depends["minio-init"]["condition"] == "service_completed_successfully"
    gateway = config["services"]["gateway"]["depends_on"]
    assert {name for name, d in gateway.items() if d["condition"] == "service_healthy"} == set(
        RENOVO_SERVICES
    )


def test_rabbitmq_enables_management_and_prometheus_with_per_queue_metrics() -> None:
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text()
    assert re.fullmatch(r"\[rabbitmq_management,rabbitmq_prometheus\]\.\n", plugins)
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text()
    assert re.search(r"^prometheus\.return_per_object_metrics = true$", conf, re.M)
