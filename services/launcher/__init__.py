"""Runs the whole platform on one machine: checks PostgreSQL and RabbitMQ, starts every service and nginx,
waits until they answer, prints the address, and stops everything on Ctrl-C. `make run` calls it; the
end-to-end tests use `Platform` to start one copy of it for a whole test session.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("auth", "albums", "jobs", "notifier", "inference")
DEFAULT_PORTS = {"auth": 8101, "albums": 8102, "jobs": 8103, "notifier": 8104, "inference": 8105}
HOW_TO_START = {
    "PostgreSQL": (
        "start it with `docker compose -f deploy/docker-compose.yml up -d postgres`, or install Debian's "
        "package (`sudo apt-get install postgresql`) and run `sudo pg_ctlcluster 15 main start`; "
        "then set RENOVO_DATABASE_URL if it is not postgresql://postgres@127.0.0.1:5432/renovo"
    ),
    "RabbitMQ": (
        "start it with `docker compose -f deploy/docker-compose.yml up -d rabbitmq`, or install Debian's "
        "package (`sudo apt-get install rabbitmq-server`) and run `sudo rabbitmq-server -detached`; "
        "then set RENOVO_AMQP_URL if it is not amqp://guest:guest@127.0.0.1:5672/"
    ),
}


class LaunchError(Exception):
    """Something the person starting the platform must fix; the message says what."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


async def _ensure_database(url: str) -> None:
    import asyncpg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/") or "renovo"
    admin = parsed._replace(path="/postgres").geturl()
    try:
        conn = await asyncpg.connect(admin, timeout=5)
    except Exception as exc:
        raise LaunchError(f"PostgreSQL at {parsed.hostname}:{parsed.port or 5432} refused us: {exc}") from None
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def check_dependencies(env: dict[str, str]) -> None:
    db_url = env.get("RENOVO_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/renovo")
    amqp_url = env.get("RENOVO_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    for name, url, port in (("PostgreSQL", db_url, 5432), ("RabbitMQ", amqp_url, 5672)):
        if not _reachable(url, port):
            parsed = urlparse(url)
            raise LaunchError(
                f"{name} is not reachable at {parsed.hostname}:{parsed.port or port}.\n  To fix: {HOW_TO_START[name]}"
            )
    asyncio.run(_ensure_database(db_url))
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        raise LaunchError("nginx is not installed.\n  To fix: `sudo apt-get install nginx-light` (or run `make run`, "
                          "which installs it when run as root)")


def render_nginx(data: Path, host: str, port: int, ports: dict[str, int], web_root: Path) -> Path:
    template = (ROOT / "deploy/nginx/renovo.local.conf.template").read_text()
    values = {"data": str(data), "host": host, "port": str(port), "web_root": str(web_root)}
    values.update({f"{name}_port": str(p) for name, p in ports.items()})
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (data / "nginx" / sub).mkdir(parents=True, exist_ok=True)
    conf = data / "nginx" / "nginx.conf"
    conf.write_text(template)
    return conf


def _wait_http(url: str, timeout: float, procs: list[subprocess.Popen[bytes]], any_status: bool = False) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise LaunchError(f"{p.args!r} exited with status {p.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError:
            if any_status:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise LaunchError(f"{url} did not answer within {timeout:.0f} s")


@dataclass
class Platform:
    """Every service plus nginx, as child processes."""

    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("RENOVO_DATA_DIR", ROOT / ".renovo")))
    host: str = "127.0.0.1"
    port: int = int(os.environ.get("RENOVO_PORT", "8080"))
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def service_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        data = self.data_dir.resolve()
        env.setdefault("RENOVO_STORAGE_PATH", str(data / "storage"))
        env.setdefault("RENOVO_INFERENCE_WEIGHTS_DIR", str(ROOT / "weights"))
        env.setdefault("RENOVO_JOBS_WEIGHTS_DIR", str(ROOT / "weights"))
        env["RENOVO_JOBS_ALBUMS_URL"] = f"http://127.0.0.1:{self.ports['albums']}"
        for name, port in self.ports.items():
            env[f"RENOVO_{name.upper()}_PORT"] = str(port)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def start(self, timeout: float = 60.0) -> None:
        env = self.service_env()
        check_dependencies(env)
        data = self.data_dir.resolve()
        data.mkdir(parents=True, exist_ok=True)
        logs = self.log_dir or data / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        try:
            # Services first (each applies its migrations under an advisory lock), then the gateway.
            for name in SERVICES:
                self._spawn(name, [sys.executable, "-m", f"services.{name}"], env, logs)
            for name in SERVICES:
                _wait_http(f"http://127.0.0.1:{self.ports[name]}/healthz", timeout, list(self.processes.values()))
            web_root = ROOT / "web" / "dist"
            conf = render_nginx(data, self.host, self.port, self.ports, web_root)
            nginx = shutil.which("nginx") or "/usr/sbin/nginx"
            self._spawn("nginx", [nginx, "-c", str(conf), "-p", str(data / "nginx")], env, logs)
            _wait_http(f"{self.url}/api/", timeout, list(self.processes.values()), any_status=True)
        except BaseException:
            self.stop()
            raise

    def start_service(self, name: str, timeout: float = 60.0) -> None:
        """(Re)start one service and wait until it answers."""
        logs = self.log_dir or self.data_dir.resolve() / "logs"
        self._spawn(name, [sys.executable, "-m", f"services.{name}"], self.service_env(), logs)
        _wait_http(f"http://127.0.0.1:{self.ports[name]}/healthz", timeout, [self.processes[name]])

    def signal(self, name: str, signum: int, wait: float | None = None) -> int | None:
        """Send a signal to one service; with `wait`, wait that long for it to exit and return its status."""
        process = self.processes[name]
        process.send_signal(signum)
        if wait is None:
            return None
        return process.wait(timeout=wait)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        out = None if self.log_dir is None and name != "nginx" else open(logs / f"{name}.log", "ab")  # noqa: SIM115
        self.processes[name] = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=out,
                                                start_new_session=True)

    def stop(self, timeout: float = 40.0) -> None:
        """SIGTERM everything (services finish in-flight work), SIGKILL what is still alive after `timeout`."""
        for p in self.processes.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.processes.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.processes.clear()


def main() -> int:
    platform = Platform()
    if not (ROOT / "web/dist/index.html").exists():
        print("note: the web app is not built (web/dist); `make web` builds it. The API works without it.")
    try:
        platform.start()
    except LaunchError as exc:
        print(f"renovo: cannot start: {exc}", file=sys.stderr)
        return 1
    print(f"\nRenovo is running at {platform.url}  (data in {platform.data_dir}; Ctrl-C stops it)\n", flush=True)
    stop = {"now": False}

    def on_signal(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop["now"]:
            for name, p in platform.processes.items():
                if p.poll() is not None:
                    print(f"renovo: {name} exited with status {p.returncode}; stopping", file=sys.stderr)
                    stop["now"] = True
            time.sleep(0.5)
    finally:
        print("stopping…", flush=True)
        platform.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
