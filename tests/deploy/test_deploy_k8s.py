"""deploy/k8s: every manifest validates against the Kubernetes schemas (kubernetes-validate, strict:
no unknown fields), KEDA's objects against the fields KEDA v2 accepts, and the objects refer to each
other correctly."""

from __future__ import annotations

import copy
import functools
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.deploy_tools import DEPLOY, python_module

kubernetes_validate = python_module("kubernetes_validate")

K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.30"
FAMILIES = ("none", "realsr", "waifu2x", "bopb")
GPU_FAMILIES = ("realsr", "waifu2x", "bopb")
HTTP_SERVICES = {"auth": 8101, "albums": 8102, "jobs": 8103, "notifier": 8104, "gateway": 8080}

# The parts of KEDA v2's CRDs (keda.sh/v1alpha1) these manifests use, with unknown fields refused as the API
# server would. Trigger metadata is a map of strings: a number there is refused by the API server.
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_SCALING_RULES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "stabilizationWindowSeconds": {"type": "integer", "minimum": 0, "maximum": 3600},
        "selectPolicy": {"enum": ["Max", "Min", "Disabled"]},
        "policies": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "value", "periodSeconds"],
                "properties": {
                    "type": {"enum": ["Pods", "Percent"]},
                    "value": {"type": "integer", "minimum": 1},
                    "periodSeconds": {"type": "integer", "minimum": 1, "maximum": 1800},
                },
            },
        },
    },
}
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": _STRINGS,
        "annotations": _STRINGS,
    },
}
KEDA_SCHEMAS: dict[str, dict[str, Any]] = {
    "ScaledObject": {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "kind": {"const": "ScaledObject"},
            "metadata": _METADATA,
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["scaleTargetRef", "triggers"],
                "properties": {
                    "scaleTargetRef": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string"},
                            "kind": {"type": "string"},
                            "apiVersion": {"type": "string"},
                            "envSourceContainerName": {"type": "string"},
                        },
                    },
                    "pollingInterval": {"type": "integer", "minimum": 1},
                    "cooldownPeriod": {"type": "integer", "minimum": 0},
                    "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                    "idleReplicaCount": {"type": "integer", "minimum": 0},
                    "minReplicaCount": {"type": "integer", "minimum": 0},
                    "maxReplicaCount": {"type": "integer", "minimum": 1},
                    "fallback": {"type": "object"},
                    "advanced": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "restoreToOriginalReplicaCount": {"type": "boolean"},
                            "horizontalPodAutoscalerConfig": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "name": {"type": "string"},
                                    "behavior": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "properties": {
                                            "scaleUp": _SCALING_RULES,
                                            "scaleDown": _SCALING_RULES,
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "triggers": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["type", "metadata"],
                            "properties": {
                                "type": {"type": "string"},
                                "name": {"type": "string"},
                                "metadata": _STRINGS,
                                "useCachedMetrics": {"type": "boolean"},
                                "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                                "authenticationRef": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["name"],
                                    "properties": {
                                        "name": {"type": "string"},
                                        "kind": {
                                            "enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "TriggerAuthentication": {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "kind": {"const": "TriggerAuthentication"},
            "metadata": _METADATA,
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "secretTargetRef": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["parameter", "name", "key"],
                            "properties": {
                                "parameter": {"type": "string"},
                                "name": {"type": "string"},
                                "key": {"type": "string"},
                            },
                        },
                    }
                },
            },
        },
    },
}


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@functools.cache
def _everything() -> tuple[dict[str, Any], ...]:
    return tuple(
        d for path in manifest_files() if path.name != "secret.example.yaml" for d in documents(path)
    )


def everything() -> list[dict[str, Any]]:
    return copy.deepcopy(list(_everything()))


def by_kind() -> dict[str, dict[str, dict[str, Any]]]:
    kinds: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for doc in everything():
        kinds[doc["kind"]][doc["metadata"]["name"]] = doc
    return kinds


def validate(doc: dict[str, Any]) -> None:
    if doc["apiVersion"].startswith("keda.sh/"):
        jsonschema.validate(doc, KEDA_SCHEMAS[doc["kind"]])
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_manifests_validate_against_the_schemas(path: Path) -> None:
    docs = documents(path)
    assert docs
    for doc in docs:
        validate(doc)


def test_the_validation_refuses_a_broken_manifest() -> None:
    deployment = copy.deepcopy(by_kind()["Deployment"]["auth"])
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Sometimes"
    deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRf"] = {"name": "x"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    scaled = copy.deepcopy(by_kind()["ScaledObject"]["inference-realsr"])
    scaled["spec"]["triggers"][0]["metadata"]["value"] = 2
    with pytest.raises(jsonschema.ValidationError):
        validate(scaled)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {p.name for p in manifest_files()} - {"secret.example.yaml"}
    assert listed == present
    assert kustomization["namespace"] == "renovo"
    (generator,) = kustomization["secretGenerator"]
    assert generator["name"] == "renovo-secrets" and generator["envs"] == ["secrets.env"]
    images = {image["name"] for image in kustomization["images"]}
    used = {
        c["image"].split(":")[0]
        for d in by_kind()["Deployment"].values()
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert used == images


def test_secret_templates_hold_placeholders_only() -> None:
    (secret,) = documents(K8S / "secret.example.yaml")
    env = dict(
        line.split("=", 1)
        for line in (K8S / "secrets.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(env) == set(secret["stringData"])
    for key, value in [*env.items(), *secret["stringData"].items()]:
        assert "CHANGE_ME" in value, key
    assert "k8s/secrets.env" in (DEPLOY / ".gitignore").read_text().splitlines()


def test_settings_cover_what_the_services_read() -> None:
    config = by_kind()["ConfigMap"]["renovo-config"]["data"]
    (secret,) = documents(K8S / "secret.example.yaml")
    keys = set(config) | set(secret["stringData"])
    assert {
        "RENOVO_DATABASE_URL",
        "RENOVO_AMQP_URL",
        "RENOVO_JWT_SECRET",
        "RENOVO_STORAGE_BACKEND",
        "RENOVO_S3_ENDPOINT_URL",
        "RENOVO_S3_BUCKET",
        "RENOVO_S3_ACCESS_KEY",
        "RENOVO_S3_SECRET_KEY",
        "RENOVO_S3_REGION",
        "RENOVO_LOG_FORMAT",
        "RENOVO_ENV",
        "RENOVO_EXCHANGE",
    } <= keys
    assert not {k for k in config if re.search("SECRET|PASSWORD|KEY$", k)}, "secrets in the ConfigMap"
    for name, port in HTTP_SERVICES.items():
        if name != "gateway":
            assert config[f"RENOVO_{name.upper()}_PORT"] == str(port)
            assert config[f"RENOVO_{name.upper()}_HOST"] == "0.0.0.0"


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def test_every_pod_runs_unprivileged_with_probes_and_resources() -> None:
    for name, deployment in by_kind()["Deployment"].items():
        spec = pod_spec(deployment)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                assert probe in container, f"{name} lacks {probe}"
            assert container["resources"]["requests"] and container["resources"]["limits"], name
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_services_select_their_deployments_ports_match() -> None:
    kinds = by_kind()
    for name, port in HTTP_SERVICES.items():
        service = kinds["Service"][name]
        deployment = kinds["Deployment"][name]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        (service_port,) = service["spec"]["ports"]
        assert service_port["port"] == port
        container_ports = {
            p["name"]: p["containerPort"] for p in pod_spec(deployment)["containers"][0]["ports"]
        }
        assert container_ports[service_port["targetPort"]] == port


def test_services_are_scraped_by_prometheus() -> None:
    for name, deployment in by_kind()["Deployment"].items():
        if name == "gateway":
            continue
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"


def test_ingress_routes_each_prefix_to_its_owner_and_the_rest_to_the_gateway() -> None:
    kinds = by_kind()
    routes: dict[str, tuple[str, str, str]] = {}
    for ingress in kinds["Ingress"].values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                routes[path["path"]] = (path["pathType"], backend["name"], ingress["metadata"]["name"])
                assert backend["name"] in kinds["Service"]
                assert backend["port"]["name"] in {
                    p["name"] for p in kinds["Service"][backend["name"]]["spec"]["ports"]
                }
    expected = {
        "/api/auth": "auth",
        "/api/auth/login": "gateway",  # through the gateway's limit_req (issue 12)
        "/api/auth/register": "gateway",
        "/api/albums": "albums",
        "/api/images": "albums",
        "/api/models": "jobs",
        "/api/jobs": "jobs",
        "/api/notifications/ws": "notifier",
        "/api/notifier/openapi.json": "notifier",
        "/": "gateway",
    }
    assert {path: route[1] for path, route in routes.items()} == expected
    # Nothing sends /metrics, /healthz or /readyz to a service: they fall to the gateway, which refuses them.
    assert not any(path in {"/metrics", "/healthz", "/readyz"} for path in routes)
    ws = kinds["Ingress"][routes["/api/notifications/ws"][2]]["metadata"]["annotations"]
    assert int(ws["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(ws["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert ws["nginx.org/websocket-services"] == "notifier"
    main = kinds["Ingress"][routes["/api/images"][2]]["metadata"]["annotations"]
    assert main["nginx.ingress.kubernetes.io/proxy-body-size"] == "55m"


def test_http_services_have_an_hpa_and_a_pdb() -> None:
    kinds = by_kind()
    for name in HTTP_SERVICES:
        hpa = kinds["HorizontalPodAutoscaler"][name]
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["minReplicas"] >= 2
        pdb = kinds["PodDisruptionBudget"][name]
        assert pdb["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in pod_spec(deployment)["containers"][0].get("env", [])}


def test_one_inference_deployment_per_family_scaled_by_its_queue() -> None:
    kinds = by_kind()
    auth_name = next(iter(kinds["TriggerAuthentication"]))
    (secret_ref,) = kinds["TriggerAuthentication"][auth_name]["spec"]["secretTargetRef"]
    assert secret_ref == {"parameter": "host", "name": "renovo-secrets", "key": "RENOVO_AMQP_URL"}
    for family in FAMILIES:
        deployment = kinds["Deployment"][f"inference-{family}"]
        assert env_of(deployment)["RENOVO_INFERENCE_FAMILIES"] == family
        scaled = kinds["ScaledObject"][f"inference-{family}"]
        assert scaled["spec"]["scaleTargetRef"]["name"] == f"inference-{family}"
        (trigger,) = scaled["spec"]["triggers"]
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["queueName"] == f"inference.{family}"
        assert trigger["metadata"]["mode"] == "QueueLength"
        assert trigger["authenticationRef"]["name"] == auth_name
        assert 0 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    assert set(kinds["ScaledObject"]) == {f"inference-{f}" for f in FAMILIES}


def test_gpu_families_run_on_gpu_nodes_with_one_gpu_each() -> None:
    kinds = by_kind()
    for family in FAMILIES:
        deployment = kinds["Deployment"][f"inference-{family}"]
        spec = pod_spec(deployment)
        resources = spec["containers"][0]["resources"]
        device = env_of(deployment)["RENOVO_INFERENCE_DEVICE"]
        if family in GPU_FAMILIES:
            assert device == "cuda"
            assert resources["limits"]["nvidia.com/gpu"] == 1
            assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec[
                "tolerations"
            ]
        else:
            assert device == "cpu"
            assert "nvidia.com/gpu" not in resources["limits"]
            assert "nodeSelector" not in spec
    bopb = pod_spec(kinds["Deployment"]["inference-bopb"])
    claims = {
        v["persistentVolumeClaim"]["claimName"] for v in bopb["volumes"] if "persistentVolumeClaim" in v
    }
    assert claims <= set(kinds["PersistentVolumeClaim"])
