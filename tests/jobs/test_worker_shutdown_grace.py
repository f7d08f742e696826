"""The worker's shutdown grace follows its deployment's: long enough for a typical job by default, and every
k8s Deployment gives the worker that long plus its drain margin before it is killed."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.inference.settings import Settings
from services.inference.worker import DRAIN_MARGIN_SECONDS

MANIFEST = Path(__file__).resolve().parents[2] / "deploy/k8s/inference.yaml"


def test_default_grace_lets_a_typical_job_finish() -> None:
    # A rolling deploy or a scale-down must not hand back every job that runs longer than a few seconds.
    assert Settings().shutdown_grace >= 600


def test_every_worker_deployment_waits_for_the_grace_and_the_drain() -> None:
    deployments = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d and d["kind"] == "Deployment"]
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        (container,) = [c for c in pod["containers"] if c["name"] == "inference"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        grace = float(env.get("RENOVO_INFERENCE_SHUTDOWN_GRACE") or Settings().shutdown_grace)
        assert pod["terminationGracePeriodSeconds"] >= grace + DRAIN_MARGIN_SECONDS, deployment["metadata"]["name"]
        assert grace >= 600, deployment["metadata"]["name"]
