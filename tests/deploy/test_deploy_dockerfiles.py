"""deploy/docker: hadolint finds nothing, and every image runs unprivileged, checks its own health and starts
from a pinned base."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.deploy_tools import DEPLOY, tool

DOCKER = DEPLOY / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
IMAGES = {"auth", "albums", "jobs", "notifier", "inference", "web"}


def stages(path: Path) -> list[tuple[str, list[str]]]:
    """(FROM line, instructions) per build stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    result: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append((line, []))
        elif result:
            result[-1][1].append(line)
    return result


def args(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", path.read_text(), re.M))


def test_one_dockerfile_per_image() -> None:
    assert {p.name.removesuffix(".Dockerfile") for p in DOCKERFILES} == IMAGES


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_pinned(dockerfile: Path) -> None:
    defaults = args(dockerfile)
    aliases: set[str] = set()
    for from_line, _ in stages(dockerfile):
        image, *rest = from_line.split()[1:]
        if rest[:1] and rest[0].upper() == "AS":
            aliases.add(rest[1])
        if image in aliases:
            continue
        image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image)
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest" and re.search(r"\d", tag), f"{dockerfile.name}: {from_line}"


def final_stages(dockerfile: Path) -> list[tuple[str, list[str]]]:
    # The inference Dockerfile has two final stages (cpu and cuda targets); the others one, the last.
    all_stages = stages(dockerfile)
    if dockerfile.name == "inference.Dockerfile":
        return [s for s in all_stages if re.search(r" AS (cpu|cuda)$", s[0])]
    return all_stages[-1:]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_images_run_unprivileged_with_a_health_check(dockerfile: Path) -> None:
    finals = final_stages(dockerfile)
    assert finals
    for from_line, instructions in finals:
        users = [i.split(None, 1)[1] for i in instructions if i.upper().startswith("USER ")]
        assert users, f"{dockerfile.name} ({from_line}) has no USER"
        user = users[-1].split(":")[0]
        assert user not in {"0", "root"}, f"{dockerfile.name} runs as {user}"
        health = [i for i in instructions if i.upper().startswith("HEALTHCHECK ")]
        assert health and "NONE" not in health[-1].upper(), (
            f"{dockerfile.name} ({from_line}) has no HEALTHCHECK"
        )
        assert "/healthz" in health[-1]


def test_python_images_run_their_service_with_production_settings() -> None:
    ports = {"auth": 8101, "albums": 8102, "jobs": 8103, "notifier": 8104, "inference": 8105}
    for name, port in ports.items():
        text = (DOCKER / f"{name}.Dockerfile").read_text()
        assert f'CMD ["python", "-m", "services.{name}"]' in text
        assert f"EXPOSE {port}" in text
        assert f"RENOVO_{name.upper()}_PORT={port}" in text
        assert "RENOVO_ENV=production" in text and "RENOVO_LOG_FORMAT=json" in text
        assert "COPY weights/manifest.json weights/manifest.json" in text


def test_inference_has_a_cuda_pytorch_base_and_a_cpu_target() -> None:
    dockerfile = DOCKER / "inference.Dockerfile"
    assert args(dockerfile)["CUDA_BASE_IMAGE"].startswith("pytorch/pytorch:")
    assert "-cuda" in args(dockerfile)["CUDA_BASE_IMAGE"] and "runtime" in args(dockerfile)["CUDA_BASE_IMAGE"]
    text = dockerfile.read_text()
    assert "torch==2.13.0" in text
    # The CUDA base image's torch is checked at build time: the pinned release, built with CUDA.
    assert args(dockerfile)["TORCH_VERSION"] == "2.13.0" and "torch.version.cuda" in text
    assert "RENOVO_INFERENCE_DEVICE=cuda" in text and "RENOVO_INFERENCE_DEVICE=cpu" in text


def test_web_image_builds_the_app_with_node_then_serves_it_with_nginx() -> None:
    from_lines = [f for f, _ in stages(DOCKER / "web.Dockerfile")]
    assert from_lines[0].startswith("FROM node:") and from_lines[0].endswith(" AS build")
    assert from_lines[-1].startswith("FROM nginxinc/nginx-unprivileged:")
    text = (DOCKER / "web.Dockerfile").read_text()
    assert "RUN npm ci" in text and "RUN npm run build" in text
    assert "COPY --from=build /web/dist /usr/share/nginx/html" in text


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_build_context_leaves_out_secrets_and_local_state(dockerfile: Path) -> None:
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    assert ignore.is_file()
    entries = {
        line.strip() for line in ignore.read_text().splitlines() if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "deploy/.env", "deploy/k8s/secrets.env", "web/node_modules"} <= entries
