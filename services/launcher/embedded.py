"""A private PostgreSQL and RabbitMQ under RENOVO_DATA_DIR, for a machine where none answers.

Each runs in the foreground as a supervised child of the launcher, on free ports of 127.0.0.1, with its data,
configuration, logs (RENOVO_DATA_DIR/logs) and secrets (a generated PostgreSQL password, RabbitMQ's Erlang
cookie) under RENOVO_DATA_DIR, so that the data survives a restart and two installations never meet.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .errors import LaunchError
from .supervise import Child

PG_LIB = Path("/usr/lib/postgresql")
RABBIT_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
INSTALL_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-servers.sh"
INSTALL_COMMAND = "sudo apt-get install -y postgresql rabbitmq-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def pg_bindirs() -> dict[int, Path]:
    """Installed PostgreSQL server versions (Debian's layout), major version → bin folder."""
    found: dict[int, Path] = {}
    for bindir in PG_LIB.glob("*/bin"):
        if bindir.parent.name.isdigit() and (bindir / "postgres").exists() and (bindir / "initdb").exists():
            found[int(bindir.parent.name)] = bindir
    return found


def missing_packages() -> list[str]:
    need = []
    if not pg_bindirs():
        need.append("postgresql")
    if not RABBIT_SERVER.exists() or shutil.which("epmd") is None:
        need.append("rabbitmq-server")
    return need


def install_servers(need: list[str], say: Callable[[str], None], as_root: bool | None = None) -> None:
    """Debian's packages, their system services neither started nor enabled; as another user, the command."""
    if not (os.geteuid() == 0 if as_root is None else as_root):
        raise LaunchError(f"PostgreSQL and RabbitMQ answer nowhere and this machine lacks {' and '.join(need)} "
                          f"to start private ones.\n  To fix: `{INSTALL_COMMAND}` (or run `make run` as root, "
                          "which installs them), or set RENOVO_DATABASE_URL / RENOVO_AMQP_URL to servers you run")
    say(f"renovo: installing {' '.join(need)} from Debian's packages (their system services stay off)…")
    result = subprocess.run(["bash", str(INSTALL_SCRIPT), *need], capture_output=True, text=True)
    if result.returncode != 0 or missing_packages():
        tail = "\n".join(f"    {line}" for line in (result.stdout + result.stderr).splitlines()[-15:])
        raise LaunchError(f"installing {' '.join(need)} failed (`{INSTALL_SCRIPT.name}` said):\n{tail}")


def _wait(ready: Callable[[], bool], child: Child, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            status = child.process.returncode if child.process else "?"
            raise LaunchError(f"the private {what} did not start (it exited with status {status}). Its last "
                              f"lines ({child.log_path}):\n{child.last_lines()}")
        if ready():
            return
        time.sleep(0.2)
    raise LaunchError(f"the private {what} did not answer within {timeout:.0f} s. Its last lines "
                      f"({child.log_path}):\n{child.last_lines()}")


def _reuse_port(state: Path) -> int:
    """The port of the last start when it is still free (stable addresses for a person's psql), else a new one."""
    try:
        port = int(state.read_text())
        if port_is_free(port):
            return port
    except (OSError, ValueError):
        pass
    port = free_port()
    state.write_text(str(port))
    return port


class EmbeddedPostgres:
    """PostgreSQL in RENOVO_DATA_DIR/postgres: TCP on 127.0.0.1 only, a generated password, no unix socket."""

    name = "postgresql"

    def __init__(self, data_dir: Path, logs: Path, console: IO[str] | None = None) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "postgres"
        self.password_file = data_dir / "postgres.password"
        self.logs = logs
        self.console = console
        self.port = 0
        self.child: Child | None = None

    def bindir(self) -> Path:
        installed = pg_bindirs()
        version_file = self.pgdata / "PG_VERSION"
        if version_file.exists():
            made_by = version_file.read_text().strip()
            if made_by.isdigit() and int(made_by) in installed:
                return installed[int(made_by)]
            have = ", ".join(str(v) for v in sorted(installed)) or "none"
            raise LaunchError(
                f"{self.pgdata} holds a PostgreSQL {made_by} database, and this machine has PostgreSQL {have}.\n"
                f"  To fix: install PostgreSQL {made_by} (`apt-get install postgresql-{made_by}`) to use it, or "
                f"upgrade it with pg_upgrade, or move {self.pgdata} away to start afresh (its data stays "
                "there), or set RENOVO_DATA_DIR to another folder")
        return installed[max(installed)]

    def _user(self) -> str | None:
        """PostgreSQL refuses to run as root: then it runs as an unprivileged system user."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "renovo"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", "renovo"], check=True, capture_output=True)
        return "renovo"

    def _check_reachable(self, user: str) -> None:
        entry = pwd.getpwnam(user)
        groups = {entry.pw_gid} | {g.gr_gid for g in __import__("grp").getgrall() if user in g.gr_mem}
        for folder in [*reversed(self.pgdata.parents)]:
            st = folder.stat()
            bit = stat.S_IXUSR if st.st_uid == entry.pw_uid else stat.S_IXGRP if st.st_gid in groups else stat.S_IXOTH
            if not st.st_mode & bit:
                raise LaunchError(
                    f"PostgreSQL refuses to run as root, so the private one runs as the user '{user}', who cannot "
                    f"enter {folder} (mode {stat.filemode(st.st_mode)}).\n  To fix: `chmod o+x {folder}`, or set "
                    "RENOVO_DATA_DIR to a folder other users can reach (e.g. /var/lib/renovo)")

    def prepare(self) -> None:
        bindir = self.bindir()
        user = self._user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user:
            self._check_reachable(user)
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_hex(16))
            self.password_file.chmod(0o600)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bindir, user)
        self.port = _reuse_port(self.data_dir / "postgres.port")
        argv = [str(bindir / "postgres"), "-D", str(self.pgdata), "-c", "listen_addresses=127.0.0.1",
                "-c", f"port={self.port}", "-c", "unix_socket_directories=", "-c", "max_connections=200",
                "-c", "logging_collector=off"]
        self.child = Child(self.name, argv, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
                           cwd=self.data_dir, log_path=self.logs / "postgresql.log", user=user,
                           stop_signal=signal.SIGINT)  # SIGINT: PostgreSQL's fast shutdown

    def _initdb(self, bindir: Path, user: str | None) -> None:
        if self.pgdata.exists():  # an earlier initdb that was interrupted: nothing in it yet
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(mode=0o700)
        pwfile = self.data_dir / "postgres.pwfile"
        pwfile.write_text(self.password_file.read_text() + "\n")
        pwfile.chmod(0o600)
        if user:
            entry = pwd.getpwnam(user)
            for path in (self.pgdata, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        try:
            result = subprocess.run(
                [str(bindir / "initdb"), "-D", str(self.pgdata), "-U", "postgres", "-E", "UTF8", "--locale=C",
                 "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "--no-instructions"],
                capture_output=True, text=True, user=user, cwd="/", env={"PATH": os.environ.get("PATH", ""),
                                                                         "LC_ALL": "C"})
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            tail = "\n".join(f"    {line}" for line in (result.stdout + result.stderr).splitlines()[-15:])
            raise LaunchError(f"initdb could not create the private PostgreSQL in {self.pgdata}:\n{tail}")

    def url(self, database: str) -> str:
        return f"postgresql://postgres:{self.password_file.read_text().strip()}@127.0.0.1:{self.port}/{database}"

    def ready(self) -> bool:
        import asyncpg

        async def probe() -> bool:
            try:
                conn = await asyncpg.connect(self.url("postgres"), timeout=2)
            except Exception:
                return False
            await conn.close()
            return True

        return asyncio.run(probe())

    def start(self) -> list[Child]:
        assert self.child is not None
        self.child.spawn()
        return [self.child]

    def wait(self, timeout: float) -> None:
        assert self.child is not None
        _wait(self.ready, self.child, f"PostgreSQL (port {self.port})", timeout)


class EmbeddedRabbitMQ:
    """A RabbitMQ node of its own: node name, data, ports (AMQP, distribution, epmd), Erlang cookie and
    configuration under RENOVO_DATA_DIR/rabbitmq; no plugins (so no management ports)."""

    name = "rabbitmq"

    def __init__(self, data_dir: Path, logs: Path, console: IO[str] | None = None) -> None:
        self.base = data_dir / "rabbitmq"
        self.data_dir = data_dir
        self.logs = logs
        self.port = 0
        self.epmd_port = 0
        self.epmd: Child | None = None
        self.child: Child | None = None

    def prepare(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.port = _reuse_port(self.data_dir / "rabbitmq.port")
        self.epmd_port, dist_port = free_port(), free_port()
        epmd_port = self.epmd_port
        (self.base / "rabbitmq-env.conf").write_text("# everything is set by the launcher\n")
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            "log.console = true\nlog.console.level = info\nlog.file = false\n")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "HOME": str(self.base),  # the Erlang cookie: $HOME/.erlang.cookie, made at the first start
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_NODENAME": "renovo@localhost",
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_PID_FILE": str(self.base / "rabbitmq.pid"),
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false",
            "ERL_EPMD_PORT": str(epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        epmd = shutil.which("epmd") or "epmd"
        self.epmd = Child("epmd", [epmd, "-port", str(epmd_port)], env=env, cwd=self.base,
                          log_path=self.logs / "epmd.log")
        self.child = Child(self.name, [str(RABBIT_SERVER)], env=env, cwd=self.base,
                           log_path=self.logs / "rabbitmq.log")

    def ready(self) -> bool:
        """An AMQP handshake: the node answers the protocol header with Connection.Start."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"AMQP\x00\x00\x09\x01")
                return s.recv(7)[:1] == b"\x01"
        except OSError:
            return False

    def start(self) -> list[Child]:
        assert self.epmd is not None and self.child is not None
        self.epmd.spawn()  # the node's own name server, on its own port: it finds no other node, none finds it
        _wait(lambda: not port_is_free(self.epmd_port), self.epmd, f"epmd (port {self.epmd_port})", 10)
        self.child.spawn()
        return [self.epmd, self.child]

    def wait(self, timeout: float) -> None:
        assert self.child is not None
        _wait(self.ready, self.child, f"RabbitMQ (port {self.port})", timeout)
