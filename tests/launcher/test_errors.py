"""Clear words for what goes wrong when `make run` starts: a port taken, a data folder made by another
PostgreSQL version, a private server that failed to start (with its last log lines), a data folder in use,
missing packages without root."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.launcher import ROOT, LaunchError, choose_ports, free_port, lock_data_dir
from services.launcher.embedded import EmbeddedPostgres, install_servers, pg_bindirs

needs_postgres = pytest.mark.skipif(not pg_bindirs(), reason="PostgreSQL's server binaries are not installed")


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder the unprivileged user running the private PostgreSQL can enter (pytest's tmp_path is closed)."""
    path = Path(tempfile.mkdtemp(prefix="renovo-errors-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_gateway_port_taken_is_named_with_the_fix(listening: int, tmp_path: Path) -> None:
    env = {**os.environ, "RENOVO_PORT": str(listening), "RENOVO_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "services.launcher"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"port {listening} (the gateway, RENOVO_PORT) is taken by another program" in result.stderr
    assert f"RENOVO_PORT={listening + 1} make run" in result.stderr and "RENOVO_DATA_DIR" in result.stderr


def test_service_port_asked_for_and_taken_is_named(listening: int) -> None:
    with pytest.raises(LaunchError, match=f"port {listening} \\(the jobs service, RENOVO_JOBS_PORT\\) is taken"):
        choose_ports({"RENOVO_PORT": str(free_port()), "RENOVO_JOBS_PORT": str(listening)})


def test_service_default_port_taken_by_another_installation_moves_aside(listening: int) -> None:
    # Only the gateway talks to the services: a second installation's service takes another free port.
    gateway, ports = choose_ports({"RENOVO_PORT": str(free_port()), "RENOVO_AUTH_PORT": ""}
                                  | {"RENOVO_ALBUMS_PORT": ""})
    assert len(set(ports.values()) | {gateway}) == 6
    with pytest.raises(LaunchError, match="not a port number"):
        choose_ports({"RENOVO_PORT": "eighty"})


def test_data_dir_in_use_by_another_launcher(tmp_path: Path) -> None:
    held = lock_data_dir(tmp_path)
    try:
        with pytest.raises(LaunchError, match=f"another Renovo \\(process {os.getpid()}\\) runs with "
                                              f"RENOVO_DATA_DIR={tmp_path}"):
            lock_data_dir(tmp_path)
    finally:
        held.close()
    lock_data_dir(tmp_path).close()  # free again once the first one is gone


@needs_postgres
def test_data_dir_from_another_postgresql_version(open_dir: Path) -> None:
    (open_dir / "postgres").mkdir()
    (open_dir / "postgres" / "PG_VERSION").write_text("9\n")
    with pytest.raises(LaunchError) as info:
        EmbeddedPostgres(open_dir, open_dir / "logs").prepare()
    message = str(info.value)
    have = ", ".join(str(v) for v in sorted(pg_bindirs()))
    assert f"holds a PostgreSQL 9 database, and this machine has PostgreSQL {have}" in message
    assert "apt-get install postgresql-9" in message and "pg_upgrade" in message
    assert not (open_dir / "postgres" / "base").exists()  # left as it was


@needs_postgres
def test_private_server_that_fails_to_start_shows_its_last_lines(open_dir: Path) -> None:
    server = EmbeddedPostgres(open_dir, open_dir / "logs")
    server.prepare()  # initdb
    with open(open_dir / "postgres" / "postgresql.conf", "a") as conf:
        conf.write("shared_buffers = 'a lot'\n")
    server.prepare()
    server.start()
    try:
        with pytest.raises(LaunchError) as info:
            server.wait(60)
    finally:
        assert server.child is not None
        server.child.stop(timeout=10)
    message = str(info.value)
    assert message.startswith(f"the private PostgreSQL (port {server.port}) did not start (it exited with status 1)")
    assert str(open_dir / "logs" / "postgresql.log") in message
    assert 'invalid value for parameter "shared_buffers": "a lot"' in message


def test_missing_packages_as_another_user_name_the_command() -> None:
    with pytest.raises(LaunchError) as info:
        install_servers(["postgresql", "rabbitmq-server"], print, as_root=False)
    message = str(info.value)
    assert "this machine lacks postgresql and rabbitmq-server" in message
    assert "`sudo apt-get install -y postgresql rabbitmq-server`" in message


def test_service_that_fails_to_start_is_named_with_its_last_lines(tmp_path: Path, common_settings: object) -> None:
    env = {**os.environ, "RENOVO_DATA_DIR": str(tmp_path), "RENOVO_PORT": str(free_port()),
           "RENOVO_DATABASE_URL": common_settings.database_url,  # type: ignore[attr-defined]
           "RENOVO_AMQP_URL": common_settings.amqp_url,  # type: ignore[attr-defined]
           "RENOVO_AUTH_BCRYPT_ROUNDS": "plenty", "RENOVO_INFERENCE_FAMILIES": "none",
           **{f"RENOVO_{name.upper()}_PORT": str(free_port()) for name in ("auth", "albums", "jobs", "notifier",
                                                                           "inference")}}
    result = subprocess.run([sys.executable, "-m", "services.launcher"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert f"renovo: cannot start: auth exited while starting (status 1). Its last lines ({tmp_path}/logs/auth.log)" \
        in result.stderr, result.stderr[-3000:]
    message = result.stderr.split("renovo: cannot start:", 1)[1]
    assert "bcrypt_rounds" in message and "plenty" in message


@needs_postgres
@pytest.mark.skipif(os.geteuid() != 0, reason="as root, the private PostgreSQL runs as an unprivileged user")
def test_data_dir_the_unprivileged_user_cannot_reach_is_named(open_dir: Path) -> None:
    closed = open_dir / "home"
    closed.mkdir(mode=0o700)
    with pytest.raises(LaunchError) as info:
        EmbeddedPostgres(closed / "renovo", closed / "renovo" / "logs").prepare()
    message = str(info.value)
    assert f"cannot enter {closed} (mode drwx------)" in message and f"chmod o+x {closed}" in message
    assert "RENOVO_DATA_DIR" in message
