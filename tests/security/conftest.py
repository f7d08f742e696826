"""Helpers of the security tests: clients bound to other loopback addresses (127.0.0.0/8 is all local on
Linux, so the gateway sees each test as a different client), and services started beside the platform with
settings of their own (a realistic bcrypt cost, an S3 endpoint that is down)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from services.launcher import ROOT, Platform, free_port
from tests.conftest import http_get

_next = iter(range(2, 250))
_lock = threading.Lock()


def fresh_address() -> str:
    """A loopback address no other test of this run uses (127.0.<pid-derived>.N), so throttles start at zero."""
    with _lock:
        n = next(_next)
    return f"127.{(os.getpid() >> 8) % 200 + 20}.{os.getpid() % 250 + 1}.{n}"


@asynccontextmanager
async def client_from(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(local_addr=(address, 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


class Service:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log


def start_service(platform: Platform, name: str, env: dict[str, str], log_dir: Path,
                  wait: str = "/healthz") -> Iterator[Service]:
    port = free_port()
    environment = {**platform.service_env(), **env, f"RENOVO_{name.upper()}_PORT": str(port)}
    log = log_dir / f"{name}-{port}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=environment, cwd=ROOT,
                                   stdout=out, stderr=out, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while http_get(url + wait) == 0:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{name} did not start: {log.read_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield Service(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def realistic_auth(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """An auth process beside the platform's (same database and bus) with a production-like bcrypt cost, a
    throttle that does not get in the way of timing, and a one-second housekeeping interval."""
    yield from start_service(platform, "auth", {
        "RENOVO_AUTH_BCRYPT_ROUNDS": "10",
        "RENOVO_AUTH_MAX_FAILURES_PER_ACCOUNT": "100000",
        "RENOVO_AUTH_MAX_FAILURES_PER_ADDRESS": "100000",
        "RENOVO_AUTH_MAX_FAILURES_PER_ACCOUNT_ANYWHERE": "100000",
        "RENOVO_AUTH_PRUNE_INTERVAL_SECONDS": "1",
    }, tmp_path_factory.mktemp("realistic-auth"))


def rss_bytes(pid: int) -> int:
    """Resident anonymous memory (what the process allocated; page cache of files it maps is not counted)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return 0


class PeakMemory:
    """Samples a process's resident memory every few milliseconds in a thread: its baseline and its peak."""

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self.pid = pid
        self.interval = interval
        self.baseline = rss_bytes(pid)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline
