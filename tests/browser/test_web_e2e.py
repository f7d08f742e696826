"""The web app in Debian's chromium (Playwright, no browser download) against the real platform through the
gateway: web/e2e/*.spec.ts — sign up, albums, drop-zone upload, a `none` job with its notification, compare,
download, and a second user who sees none of it; failed, cancelled and retried jobs, a dropped live connection,
refused tokens, several people on one browser, server errors, phone menu and focus (live.spec.ts); an album of
1,500 photos with its figures (scale.spec.ts, screenshots/scale-1500.json); axe-core on every page (axe.spec.ts).
Screenshots land in web/screenshots/."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from services.launcher import Platform

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

WEB = Path(__file__).resolve().parents[2] / "web"


def test_web_journeys_in_chromium(platform: Platform) -> None:
    if not (WEB / "node_modules").is_dir() or not (WEB / "dist" / "index.html").is_file():
        pytest.fail("the web app is not installed and built: run `make web` (make test does)")
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    assert shutil.which(chromium) or Path(chromium).exists(), "chromium missing: `apt-get install chromium`"
    env = {**os.environ, "RENOVO_E2E_URL": platform.url, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "CI": "1",
           # Where the platform keeps originals: a journey damages one to make a job fail in the worker.
           "RENOVO_E2E_STORAGE": platform.service_env()["RENOVO_STORAGE_PATH"]}
    result = subprocess.run(["npm", "run", "e2e", "--silent"], cwd=WEB, env=env, capture_output=True, text=True,
                            timeout=900)
    output = result.stdout[-8000:] + result.stderr[-3000:]
    print(output)
    assert result.returncode == 0, output
