"""Runs the whole platform on one machine: finds PostgreSQL and RabbitMQ (or starts private ones), starts every
service and nginx, waits until they answer, prints the address, restarts a service that died, and stops
everything on Ctrl-C. `make run` calls it (`python -m services.launcher`); the end-to-end tests use `Platform`
to start one copy of it for a whole test session.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from . import supervise
from .backing import HOW_TO_START, Backing, resolve
from .backing import reachable as _reachable
from .embedded import free_port
from .errors import LaunchError
from .installation import (
    DEFAULT_DATA_DIR,
    DEFAULT_PORTS,
    ROOT,
    SERVICES,
    choose_ports,
    installation_names,
    lock_data_dir,
)
from .supervise import CONSOLE_LOCK, Child, KeepsDying, Supervisor, describe_exit

__all__ = ["ROOT", "SERVICES", "DEFAULT_DATA_DIR", "DEFAULT_PORTS", "HOW_TO_START", "LaunchError", "Platform",
           "check_dependencies", "choose_ports", "free_port", "installation_names", "lock_data_dir", "main",
           "render_nginx"]



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


def check_nginx() -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        raise LaunchError("nginx is not installed.\n  To fix: `sudo apt-get install nginx-light` (or run `make run`, "
                          "which installs it when run as root)")


def check_dependencies(env: Mapping[str, str]) -> None:
    db_url = env.get("RENOVO_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/renovo")
    amqp_url = env.get("RENOVO_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    for name, url, port in (("PostgreSQL", db_url, 5432), ("RabbitMQ", amqp_url, 5672)):
        if not _reachable(url, port):
            parsed = urlparse(url)
            raise LaunchError(
                f"{name} is not reachable at {parsed.hostname}:{parsed.port or port}.\n  To fix: {HOW_TO_START[name]}"
            )
    asyncio.run(_ensure_database(db_url))
    check_nginx()


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
    """Every service plus nginx, as child processes. With `console`, each one's lines also go there (whole
    lines, prefixed with its name) and `supervisor()` restarts the ones that die."""

    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("RENOVO_DATA_DIR", DEFAULT_DATA_DIR)))
    host: str = "127.0.0.1"
    port: int = int(os.environ.get("RENOVO_PORT", "8080"))
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    console: IO[str] | None = None
    children: dict[str, Child] = field(default_factory=dict)

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
        if self.console is not None:
            env["PYTHONUNBUFFERED"] = "1"  # their lines reach the console as they are written
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
        except LaunchError:
            # With a console, say which one died and show its last lines rather than its command line.
            dead = [(c, c.process.returncode) for c in self.children.values()
                    if c.process is not None and c.process.poll() is not None]
            self.stop()
            if dead:
                child, status = dead[0]
                raise LaunchError(f"{child.name} exited while starting ({describe_exit(status)}). Its last lines "
                                  f"({child.log_path}):\n{child.last_lines()}") from None
            raise
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
        process = self._current(name)
        process.send_signal(signum)
        if wait is None:
            return None
        return process.wait(timeout=wait)

    def _current(self, name: str) -> subprocess.Popen[bytes]:
        child = self.children.get(name)
        if child is not None and child.process is not None:
            self.processes[name] = child.process  # a supervisor may have restarted it
        return self.processes[name]

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        if self.console is not None:
            child = Child(name, argv, env=env, cwd=ROOT, log_path=logs / f"{name}.log", console=self.console)
            self.children[name] = child
            self.processes[name] = child.spawn()
            return
        out = None if self.log_dir is None and name != "nginx" else open(logs / f"{name}.log", "ab")  # noqa: SIM115
        try:
            self.processes[name] = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=out,
                                                    start_new_session=True)
        finally:
            if out is not None:
                out.close()  # the child has its own descriptor

    def supervisor(self, extra: list[Child] | None = None, say: Callable[[str], None] = print) -> Supervisor:
        return Supervisor({**self.children, **{c.name: c for c in extra or []}}, say=say)

    def stop(self, timeout: float = 40.0) -> None:
        """SIGTERM everything (services finish in-flight work), SIGKILL what is still alive after `timeout`."""
        processes = [self._current(name) for name in list(self.processes)]
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in processes:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for child in self.children.values():
            child.stop(timeout=1)  # drains its last lines
        self.processes.clear()
        self.children.clear()


def say(line: str, stream: IO[str] | None = None) -> None:
    with CONSOLE_LOCK:
        print(line, file=stream or sys.stdout, flush=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """`make run`: exits 0 after Ctrl-C, 1 when it could not start or a service keeps dying."""
    env = dict(os.environ)
    data_dir = Path(env.get("RENOVO_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)  # the terminal closed: stop everything rather than leave it running
    backing: Backing | None = None
    platform: Platform | None = None
    status = 0
    try:
        port, ports = choose_ports(env)
        check_nginx()
        lock = lock_data_dir(data_dir)  # noqa: F841 - held until the launcher exits
        supervise.PID_REGISTRY = data_dir / "children.pids"
        left = supervise.stop_leftovers(supervise.PID_REGISTRY)
        if left:
            say(f"renovo: stopped {len(left)} processes an earlier launcher of {data_dir} left running")
        names = installation_names(data_dir, env)
        database = names.pop("database", "renovo")
        backing = resolve(env, data_dir, database=database, say=say)
        platform_env = {**names, "RENOVO_DATABASE_URL": backing.database_url, "RENOVO_AMQP_URL": backing.amqp_url}
        if not (ROOT / "web/dist/index.html").exists():
            say("note: the web app is not built (web/dist); `make web` builds it. The API works without it.")
        platform = Platform(data_dir=data_dir, port=port, ports=ports, env=platform_env, log_dir=data_dir / "logs",
                            console=sys.stdout)
        platform.start()
        supervisor = platform.supervisor(backing.children, say=say)
        say(f"\nRenovo is running at {platform.url}  (data in {data_dir}; logs in {data_dir / 'logs'}; "
            "Ctrl-C stops it)\n")
        while True:
            supervisor.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except KeepsDying as exc:
        say(f"renovo: {exc}\nrenovo: stopping everything", sys.stderr)
        status = 1
    except LaunchError as exc:
        say(f"renovo: cannot start: {exc}", sys.stderr)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stopping short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if platform is not None or (backing is not None and backing.children):
            say("stopping…")
        if platform is not None:
            platform.stop()
        if backing is not None:
            backing.stop()
    return status
