"""`make weights` (scripts/fetch_weights.py): no internet → a clear message and nothing changed; a reachable
source (a local HTTP server here) → verified archives unpacked in the official layout."""

from __future__ import annotations

import importlib.util
import sys
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from services.inference.models.bopb.weights import FACE_FILES, GLOBAL_FILES, bopb_available

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "fetch_weights.py"
UNREACHABLE = "http://127.0.0.1:9"  # discard port: nothing listens there


@pytest.fixture(scope="module")
def fetch_weights() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_weights", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fetch_weights"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _zip(path: Path, source: Path, files: dict[str, str], subdir: str, skip: str | None = None) -> None:
    # Upstream's layout: members start at checkpoints/, to be unzipped inside Global/ or Face_Enhancement/.
    with zipfile.ZipFile(path, "w") as zf:
        for name, rel in files.items():
            if name != skip:
                zf.write(source / rel, rel.removeprefix(subdir + "/"))


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_no_internet_says_so_and_changes_nothing(
    fetch_weights: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dest = tmp_path / "weights" / "bopb"
    assert fetch_weights.main(["--dest", str(dest), "--base-url", UNREACHABLE, "--timeout", "5"]) == 2
    assert "could not be downloaded" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(fetch_weights.BASE_URL_ENV, UNREACHABLE)
    (tmp_path / "weights").mkdir()
    assert fetch_weights.main(["--dest", str(dest), "--timeout", "5", "--offline-ok"]) == 0
    assert list((tmp_path / "weights").iterdir()) == []  # no staging folder left behind either


def test_download_verify_and_unpack(
    fetch_weights: ModuleType, reduced_weights: Path, server: tuple[str, Path], tmp_path: Path
) -> None:
    url, www = server
    _zip(www / "global_checkpoints.zip", reduced_weights, GLOBAL_FILES, "Global")
    _zip(www / "face_checkpoints.zip", reduced_weights, FACE_FILES, "Face_Enhancement")
    dest = tmp_path / "weights" / "bopb"
    assert fetch_weights.main(["--dest", str(dest), "--base-url", url]) == 0
    assert bopb_available(dest, with_faces=True)
    # Installed: a second run needs no network at all.
    assert fetch_weights.main(["--dest", str(dest), "--base-url", UNREACHABLE]) == 0


def test_incomplete_or_mismatched_archive_is_rejected(
    fetch_weights: ModuleType, reduced_weights: Path, server: tuple[str, Path], tmp_path: Path
) -> None:
    url, www = server
    _zip(www / "global_checkpoints.zip", reduced_weights, GLOBAL_FILES, "Global", skip="mapping_scratch")
    dest = tmp_path / "weights" / "bopb"
    assert fetch_weights.main(["--dest", str(dest), "--base-url", url]) == 1
    assert not dest.exists()
    _zip(www / "global_checkpoints.zip", reduced_weights, GLOBAL_FILES, "Global")
    assert (
        fetch_weights.main(["--dest", str(dest), "--base-url", url, "--sha256", "global_checkpoints.zip=00"])
        == 1
    )
    assert not dest.exists()
