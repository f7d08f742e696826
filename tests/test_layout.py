"""The shape every service shares (README, "Developer map"), checked so that it stays: a newcomer who knows one
service finds their way in the others."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTTP_SERVICES = ("auth", "albums", "jobs", "notifier")
"""Services with an HTTP API and a schema of their own."""
ALL_SERVICES = (*HTTP_SERVICES, "inference")


def _defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body)


@pytest.mark.parametrize("name", ALL_SERVICES)
def test_every_service_has_the_common_entry_points(name: str) -> None:
    folder = ROOT / "services" / name
    for module in ("__main__.py", "app.py", "settings.py", "keys.py"):
        assert (folder / module).is_file(), f"services/{name}/{module} is missing"
    assert _defines(folder / "app.py", "create_app"), f"services/{name}/app.py has no create_app(settings)"


@pytest.mark.parametrize("name", HTTP_SERVICES)
def test_every_http_service_has_routes_store_events_and_migrations(name: str) -> None:
    folder = ROOT / "services" / name
    assert (folder / "routes.py").is_file() or (folder / "routes" / "__init__.py").is_file()
    for module in ("store.py", "events.py"):
        assert (folder / module).is_file(), f"services/{name}/{module} is missing"
    assert any((folder / "migrations").glob("*.sql"))


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_app_keys_are_defined_only_in_keys_modules() -> None:
    stray = [str(p.relative_to(ROOT)) for p in _python_files("services", "shared")
             if p.name != "keys.py" and "web.AppKey" in p.read_text()]
    assert not stray, f"AppKeys belong in the service's keys.py (or shared/keys.py): {stray}"


ROUTING_KEY = re.compile(r"[\"'](job|image|user|session|batch|album)\.[a-z]+[\"'.]")


def test_routing_keys_are_written_only_in_shared_events() -> None:
    stray = [f"{p.relative_to(ROOT)}:{n}" for p in _python_files("services", "shared") if p.name != "events.py"
             or p.parent.name != "shared" for n, line in enumerate(p.read_text().splitlines(), 1)
             if ROUTING_KEY.search(line.split("#", 1)[0]) and '"""' not in line]
    assert not stray, f"routing keys come from shared/events.py (EventType, job_requested): {stray}"


def test_no_rule_is_suppressed_in_the_platforms_code() -> None:
    suppressed = [f"{p.relative_to(ROOT)}:{n}" for p in _python_files("services", "shared")
                  for n, line in enumerate(p.read_text().splitlines(), 1) if "type: ignore" in line]
    assert not suppressed, f"type the code instead of silencing mypy: {suppressed}"
