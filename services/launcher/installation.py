"""What sets one installation apart from another on the same machine: its ports, its data folder (held by one
launcher at a time) and, on shared servers, its database and bus names."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from .embedded import free_port, port_is_free
from .errors import LaunchError

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("auth", "albums", "jobs", "notifier", "inference")
DEFAULT_PORTS = {"auth": 8101, "albums": 8102, "jobs": 8103, "notifier": 8104, "inference": 8105}
DEFAULT_DATA_DIR = ROOT / ".renovo"


def _port_value(env: Mapping[str, str], variable: str, default: int) -> tuple[int, bool]:
    raw = env.get(variable)
    if raw is None or raw == "":
        return default, False
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise LaunchError(f"{variable}={raw!r} is not a port number (1–65535)")
    return int(raw), True


def port_taken(port: int, variable: str, what: str) -> LaunchError:
    return LaunchError(
        f"port {port} ({what}, {variable}) is taken by another program (another Renovo?).\n  To fix: stop that "
        f"program (`ss -ltnp 'sport = :{port}'` shows which), or choose another port: `{variable}={port + 1} make run`"
        + ("; a second installation also needs its own RENOVO_DATA_DIR" if variable == "RENOVO_PORT" else ""))


def choose_ports(env: Mapping[str, str], host: str = "127.0.0.1") -> tuple[int, dict[str, int]]:
    """The gateway's port (RENOVO_PORT, 8080) and the services' (RENOVO_<SERVICE>_PORT, 8101–8105). A port that
    was asked for must be free; a service's default port that is taken (by another installation) is replaced
    by a free one, since only the gateway talks to it."""
    gateway, _ = _port_value(env, "RENOVO_PORT", 8080)
    if not port_is_free(gateway, host):
        raise port_taken(gateway, "RENOVO_PORT", "the gateway")
    ports: dict[str, int] = {}
    for name in SERVICES:
        variable = f"RENOVO_{name.upper()}_PORT"
        port, asked = _port_value(env, variable, DEFAULT_PORTS[name])
        if port in ports.values() or port == gateway or not port_is_free(port):
            if asked:
                raise port_taken(port, variable, f"the {name} service")
            port = free_port()
        ports[name] = port
    return gateway, ports


def installation_names(data_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """A second installation (its own RENOVO_DATA_DIR) that shares the machine's PostgreSQL and RabbitMQ gets
    its own database and bus names, so that the two never see each other's users or jobs."""
    if data_dir.resolve() == DEFAULT_DATA_DIR.resolve():
        return {}
    slug = "renovo_" + hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:8]
    names = {"RENOVO_EXCHANGE": f"{slug}.events", "RENOVO_DEAD_EXCHANGE": f"{slug}.dead",
             "RENOVO_QUEUE_PREFIX": f"{slug}."}
    return {"database": slug} | {k: v for k, v in names.items() if not env.get(k)}


def lock_data_dir(data_dir: Path) -> IO[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "launcher.lock", "a+")  # noqa: SIM115 - held for the launcher's whole life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        owner = handle.read().strip() or "?"
        handle.close()
        raise LaunchError(f"another Renovo (process {owner}) runs with RENOVO_DATA_DIR={data_dir}.\n  To fix: stop "
                          "it, or give this one its own RENOVO_DATA_DIR (and RENOVO_PORT)") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
