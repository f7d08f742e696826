"""The platform's processes as supervised children: each one's output goes, one whole line at a time, to its
own log file and (for `make run`) to the console; one that dies is restarted with back-off, as compose's
`restart: unless-stopped` does, until it keeps dying.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .errors import LaunchError

CONSOLE_LOCK = threading.Lock()
# Where the launcher notes each child it starts (`pid start-time`), so that the next launcher of the same data
# folder can stop what a launcher killed outright (SIGKILL, out of memory) left running. None: not noted.
PID_REGISTRY: Path | None = None


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def stop_leftovers(registry: Path, timeout: float = 30.0) -> list[int]:
    """Stop (SIGTERM, then SIGKILL) the children an earlier launcher noted in `registry` that still run; the
    start time tells a leftover from an unrelated process that got the same pid since."""
    try:
        entries = [line.split() for line in registry.read_text().splitlines()]
    except OSError:
        return []
    left = [int(pid) for pid, started in (e for e in entries if len(e) == 2) if _start_time(int(pid)) == started]
    for pid in left:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in left) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
    registry.write_text("")
    return left


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def describe_exit(status: int) -> str:
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"killed by {name}" + (" (out of memory?)" if status == -signal.SIGKILL else "")
    return f"status {status}"


class Child:
    """One process of the platform. `spawn()` (re)starts it; its lines go to `log_path` and `console`."""

    def __init__(self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None, log_path: Path, console: IO[str] | None = None,
                 user: str | None = None, stop_signal: int = signal.SIGTERM) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.log_path = log_path
        self.console = console
        self.user = user
        self.stop_signal = stop_signal
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.lines: collections.deque[str] = collections.deque(maxlen=40)
        self._pump: threading.Thread | None = None

    def spawn(self) -> subprocess.Popen[bytes]:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, user=self.user,
            group=self._group(), extra_groups=[] if self.user else None)
        self.started_at = time.monotonic()
        if PID_REGISTRY is not None:
            with open(PID_REGISTRY, "a") as registry:
                registry.write(f"{self.process.pid} {_start_time(self.process.pid)}\n")
        assert self.process.stdout is not None
        self._pump = threading.Thread(target=self._copy_lines, args=(self.process.stdout,), daemon=True,
                                      name=f"log-{self.name}")
        self._pump.start()
        return self.process

    def _group(self) -> int | None:
        if not self.user:
            return None
        import pwd

        return pwd.getpwnam(self.user).pw_gid

    def _copy_lines(self, stream: IO[bytes]) -> None:
        # Whole lines only: each line is written with one call under one lock, so the lines of several
        # services never interleave mid-line on the console.
        # The pipe is always drained, even when the console or the disk fails, so the child never blocks on it.
        console = self.console
        with open(self.log_path, "ab") as log:
            for raw in iter(stream.readline, b""):
                if not raw.endswith(b"\n"):
                    raw += b"\n"
                try:
                    log.write(raw)
                    log.flush()
                except OSError:
                    pass
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.lines.append(line)
                if console is not None:
                    with CONSOLE_LOCK:
                        try:
                            console.write(f"{self.name:<10}| {line}\n")
                            console.flush()
                        except (OSError, ValueError):  # a closed console (`make run | head`)
                            console = None
        stream.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def last_lines(self, n: int = 15) -> str:
        if self._pump is not None:
            self._pump.join(timeout=2)  # the last lines of a process that just exited
        return "\n".join(f"    {line}" for line in list(self.lines)[-n:]) or "    (it wrote nothing)"

    def stop(self, timeout: float = 30.0) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(self.stop_signal)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._pump is not None:
            self._pump.join(timeout=2)


class KeepsDying(LaunchError):
    """A child died again and again: the platform stops and says which one and why."""


@dataclass
class RestartPolicy:
    backoff: tuple[float, ...] = (1, 2, 4, 8, 16, 30)
    max_restarts: int = 5  # in a row without staying up `healthy_after` seconds, then give up
    healthy_after: float = 60.0


@dataclass
class Supervisor:
    """Restarts children that died. `check()` is called from the launcher's loop; it raises `KeepsDying`."""

    children: dict[str, Child]
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    say: Callable[[str], None] = print
    failures: dict[str, int] = field(default_factory=dict)
    pending: dict[str, float] = field(default_factory=dict)
    restarted: dict[str, int] = field(default_factory=dict)

    def check(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for name, child in self.children.items():
            if name in self.pending:
                if now >= self.pending[name]:
                    del self.pending[name]
                    child.spawn()
                    self.restarted[name] = self.restarted.get(name, 0) + 1
                continue
            process = child.process
            if process is None or process.poll() is None:
                continue
            if now - child.started_at >= self.policy.healthy_after:
                self.failures[name] = 0
            failures = self.failures.get(name, 0) + 1
            self.failures[name] = failures
            status = describe_exit(process.returncode)
            if failures > self.policy.max_restarts:
                raise KeepsDying(f"{name} keeps dying ({status}; {failures} times in a row, each within "
                                 f"{self.policy.healthy_after:g} s of starting). Its last lines "
                                 f"({child.log_path}):\n{child.last_lines()}")
            delay = self.policy.backoff[min(failures, len(self.policy.backoff)) - 1]
            self.say(f"renovo: {name} exited ({status}); restarting it in {delay:g} s "
                     f"(restart {failures} of at most {self.policy.max_restarts} in a row)")
            self.pending[name] = now + delay
