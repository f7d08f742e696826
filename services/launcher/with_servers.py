"""`python -m services.launcher.with_servers -- COMMAND…`: runs COMMAND with RENOVO_TEST_DATABASE_URL and
RENOVO_TEST_AMQP_URL naming a PostgreSQL (its `postgres` database) and a RabbitMQ that answer: those variables'
own servers, else the machine's on the default ports, else private ones in RENOVO_TEST_DATA_DIR (default
.renovo/test-servers) started for COMMAND and stopped after it. `make test` runs the suite this way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import lock_data_dir, supervise
from .backing import resolve
from .errors import LaunchError


def run_with_services(argv: list[str]) -> int:
    """`make test`: COMMAND against the test servers named in the environment, the machine's, or private ones."""
    root = Path(__file__).resolve().parents[2]
    data_dir = Path(os.environ.get("RENOVO_TEST_DATA_DIR", root / ".renovo" / "test-servers")).resolve()
    env = {k: v for k, v in {"RENOVO_DATABASE_URL": os.environ.get("RENOVO_TEST_DATABASE_URL"),
                             "RENOVO_AMQP_URL": os.environ.get("RENOVO_TEST_AMQP_URL")}.items() if v}

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    scratch = None
    try:
        lock = lock_data_dir(data_dir)
    except LaunchError:  # another `make test` holds it: this one gets servers of its own, removed after
        scratch = Path(tempfile.mkdtemp(prefix="renovo-test-servers-"))
        scratch.chmod(0o755)  # PostgreSQL may run as another user
        data_dir, lock = scratch, lock_data_dir(scratch)
    supervise.PID_REGISTRY = data_dir / "children.pids"
    left = supervise.stop_leftovers(supervise.PID_REGISTRY)
    if left:
        say(f"renovo: stopped {len(left)} processes an earlier run in {data_dir} left running")
    try:
        backing = resolve(env, data_dir, database="postgres", say=say)
    except LaunchError as exc:
        message = str(exc).replace("RENOVO_DATABASE_URL", "RENOVO_TEST_DATABASE_URL")
        message = message.replace("RENOVO_AMQP_URL", "RENOVO_TEST_AMQP_URL").replace("`make run`", "`make test`")
        say(f"renovo: cannot start the test servers: {message}")
        return 1
    child_env = {**os.environ, "RENOVO_TEST_DATABASE_URL": backing.admin_url, "RENOVO_TEST_AMQP_URL": backing.amqp_url}
    try:
        return subprocess.call(argv, env=child_env)
    except KeyboardInterrupt:
        return 130
    finally:
        if backing.started:
            say(f"renovo: stopping the private {' and '.join(backing.started)}…")
        backing.stop()
        lock.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit("usage: python -m services.launcher.with_servers -- COMMAND [ARG…]")
    sys.exit(run_with_services(args))
