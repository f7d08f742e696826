"""PostgreSQL and RabbitMQ for `make run` and `make test`: the ones the user named, else the ones answering on
the default ports, else private ones started (and stopped) here.

`make test` uses it through `python -m services.launcher.with_servers`.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from .embedded import EmbeddedPostgres, EmbeddedRabbitMQ, install_servers, missing_packages
from .errors import LaunchError
from .supervise import Child

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/renovo"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
HOW_TO_START = {
    "PostgreSQL": (
        "start it with `docker compose -f deploy/docker-compose.yml up -d postgres`, or install Debian's "
        "package (`sudo apt-get install postgresql`) and run `sudo pg_ctlcluster 15 main start`; "
        "or unset RENOVO_DATABASE_URL and `make run` starts a private one"
    ),
    "RabbitMQ": (
        "start it with `docker compose -f deploy/docker-compose.yml up -d rabbitmq`, or install Debian's "
        "package (`sudo apt-get install rabbitmq-server`) and run `sudo rabbitmq-server -detached`; "
        "or unset RENOVO_AMQP_URL and `make run` starts a private one"
    ),
}


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def not_reachable(name: str, url: str, default_port: int) -> LaunchError:
    parsed = urlparse(url)
    return LaunchError(f"{name} is not reachable at {parsed.hostname}:{parsed.port or default_port}.\n"
                       f"  To fix: {HOW_TO_START[name]}")


def with_database(url: str, database: str) -> str:
    return urlparse(url)._replace(path=f"/{database}").geturl()


@dataclass
class Backing:
    """Where the platform's PostgreSQL and RabbitMQ are, and the private ones started for it."""

    database_url: str
    amqp_url: str
    children: list[Child] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def admin_url(self) -> str:
        return with_database(self.database_url, "postgres")

    def stop(self) -> None:
        # RabbitMQ before its epmd; PostgreSQL last.
        for child in sorted(self.children, key=lambda c: {"rabbitmq": 0, "epmd": 1}.get(c.name, 2)):
            child.stop()


def resolve(env: Mapping[str, str], data_dir: Path, *, database: str = "renovo", say: Callable[[str], None] = print,
            console: IO[str] | None = None, timeout: float = 180.0) -> Backing:
    """The URLs in `env` when set (they must answer), else the default ports when they answer, else private
    servers under `data_dir`, started here and answering when this returns."""
    db_url, amqp_url = env.get("RENOVO_DATABASE_URL"), env.get("RENOVO_AMQP_URL")
    if db_url and not reachable(db_url, 5432):
        raise not_reachable("PostgreSQL", db_url, 5432)
    if amqp_url and not reachable(amqp_url, 5672):
        raise not_reachable("RabbitMQ", amqp_url, 5672)
    if not db_url and reachable(DEFAULT_DATABASE_URL, 5432):
        db_url = with_database(DEFAULT_DATABASE_URL, database)
    if not amqp_url and reachable(DEFAULT_AMQP_URL, 5672):
        amqp_url = DEFAULT_AMQP_URL
    backing = Backing(db_url or "", amqp_url or "")
    if db_url and amqp_url:
        return backing

    need = [p for p in missing_packages() if (p == "postgresql" and not db_url) or (p != "postgresql" and not amqp_url)]
    if need:
        install_servers(need, say)
    logs = data_dir / "logs"
    servers: list[EmbeddedPostgres | EmbeddedRabbitMQ] = []
    if not db_url:
        servers.append(EmbeddedPostgres(data_dir, logs, console))
    if not amqp_url:
        servers.append(EmbeddedRabbitMQ(data_dir, logs, console))
    try:
        began = {}
        for server in servers:
            began[server.name] = time.monotonic()  # initdb included: a cold start
            server.prepare()
            say(f"renovo: nothing answers on the default port of {_label(server)}: starting a private one "
                f"in {data_dir} (port {server.port}; its log: {logs / (server.name + '.log')})")
            backing.children += server.start()
        for server in servers:
            server.wait(timeout)
            backing.timings[server.name] = time.monotonic() - began[server.name]
            backing.started.append(server.name)
            if isinstance(server, EmbeddedPostgres):
                backing.database_url = server.url(database)
            else:
                backing.amqp_url = f"amqp://guest:guest@127.0.0.1:{server.port}/"
            say(f"renovo: private {_label(server)} answers on 127.0.0.1:{server.port} "
                f"(after {backing.timings[server.name]:.1f} s)")
    except BaseException:
        backing.stop()
        raise
    return backing


def _label(server: EmbeddedPostgres | EmbeddedRabbitMQ) -> str:
    return "PostgreSQL" if isinstance(server, EmbeddedPostgres) else "RabbitMQ"
