"""Supervision: a child that died is restarted with back-off and a line saying so; one that keeps dying stops
the platform with its name and last lines; the lines of several children never mix mid-line."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.launcher.supervise import Child, KeepsDying, RestartPolicy, Supervisor


def python_child(name: str, code: str, tmp_path: Path, console: io.StringIO | None = None) -> Child:
    return Child(name, [sys.executable, "-c", code], log_path=tmp_path / f"{name}.log", console=console)


def run_until(condition: object, supervisor: Supervisor, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        supervisor.check()
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_killed_child_is_restarted_with_a_line(tmp_path: Path) -> None:
    child = python_child("worker", "import time; print('up', flush=True); time.sleep(60)", tmp_path)
    said: list[str] = []
    supervisor = Supervisor({"worker": child}, RestartPolicy(backoff=(0.2,)), say=said.append)
    first = child.spawn()
    try:
        run_until(lambda: "up" in child.lines, supervisor)
        os.kill(first.pid, signal.SIGKILL)
        run_until(lambda: child.process is not first and child.alive(), supervisor)
        assert said == ["renovo: worker exited (killed by SIGKILL (out of memory?)); restarting it in 0.2 s "
                        "(restart 1 of at most 5 in a row)"]
        run_until(lambda: (tmp_path / "worker.log").read_text().count("up") == 2, supervisor)
    finally:
        child.stop(timeout=5)


def test_a_child_that_keeps_dying_stops_everything_with_its_last_lines(tmp_path: Path) -> None:
    child = python_child("jobs", "print('cannot reach the frobnicator', flush=True); raise SystemExit(3)", tmp_path)
    said: list[str] = []
    supervisor = Supervisor({"jobs": child}, RestartPolicy(backoff=(0.05,), max_restarts=2), say=said.append)
    child.spawn()
    with pytest.raises(KeepsDying) as info:
        run_until(lambda: False, supervisor)
    message = str(info.value)
    assert message.startswith("jobs keeps dying (status 3; 3 times in a row")
    assert "cannot reach the frobnicator" in message and str(tmp_path / "jobs.log") in message
    assert len(said) == 2


def test_a_child_that_stayed_up_long_enough_starts_counting_again(tmp_path: Path) -> None:
    child = python_child("albums", "import time; time.sleep(0.3); raise SystemExit(1)", tmp_path)
    supervisor = Supervisor({"albums": child}, RestartPolicy(backoff=(0.05,), max_restarts=1, healthy_after=0.2),
                            say=lambda line: None)
    child.spawn()
    try:
        run_until(lambda: supervisor.restarted.get("albums", 0) >= 3, supervisor)  # never gives up
    finally:
        child.stop(timeout=5)


def test_lines_of_several_children_never_mix_mid_line(tmp_path: Path) -> None:
    # Each child writes every line in five pieces, flushing between them, as a slow logger would.
    code = ("import sys\nfor i in range(150):\n    for part in range(5):\n        sys.stdout.write('{c}' * 100)\n"
            "        sys.stdout.flush()\n    sys.stdout.write('\\n')\n    sys.stdout.flush()\n"
            "sys.stdout.write('{c} unfinished')")
    console = io.StringIO()
    children = [python_child(name, code.format(c=name[0]), tmp_path, console) for name in ("auth", "jobs")]
    for child in children:
        child.spawn()
    for child in children:
        assert child.process is not None and child.process.wait(timeout=30) == 0
        child.stop()
    lines = console.getvalue().splitlines()
    assert len(lines) == 302
    for line in lines:
        name, _, text = line.partition("| ")
        assert text in (name[0] * 500, f"{name[0]} unfinished"), line[:80]
    for child in children:
        assert child.log_path.read_text().splitlines()[-1] == f"{child.name[0]} unfinished"


def test_a_service_killed_under_make_run_is_restarted(tmp_path: Path, common_settings: object) -> None:
    """`make run`'s launcher against this run's database: SIGKILL the jobs service (as the OOM killer would),
    the launcher says so, restarts it, and the gateway answers for it again; Ctrl-C then stops it cleanly."""
    import urllib.error
    import urllib.request

    from services.launcher import ROOT, free_port
    from tests.conftest import RUN_ID

    port = free_port()
    env = {**os.environ, "RENOVO_DATA_DIR": str(tmp_path / "data"), "RENOVO_PORT": str(port),
           "RENOVO_DATABASE_URL": common_settings.database_url,  # type: ignore[attr-defined]
           "RENOVO_AMQP_URL": common_settings.amqp_url,  # type: ignore[attr-defined]
           "RENOVO_EXCHANGE": f"{RUN_ID}s.events", "RENOVO_DEAD_EXCHANGE": f"{RUN_ID}s.dead",
           "RENOVO_QUEUE_PREFIX": f"{RUN_ID}s.", "RENOVO_INFERENCE_FAMILIES": "none", "RENOVO_LOG_FORMAT": "json",
           **{f"RENOVO_{name.upper()}_PORT": str(free_port()) for name in ("auth", "albums", "jobs", "notifier",
                                                                           "inference")}}
    console = tmp_path / "console.log"
    with open(console, "wb") as out:
        launcher = subprocess.Popen([sys.executable, "-m", "services.launcher"], cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
    try:
        wait_for_text(console, "Renovo is running at", launcher, 120)
        jobs_pid = child_pid(launcher.pid, "services.jobs")
        os.kill(jobs_pid, signal.SIGKILL)
        wait_for_text(console, "renovo: jobs exited (killed by SIGKILL (out of memory?)); restarting it in 1 s",
                      launcher, 30)
        deadline = time.monotonic() + 60
        while True:  # the jobs service answers again (401: it wants a token; 503 is the gateway's "restarting")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=2)
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, console.read_text()[-3000:]
            time.sleep(0.3)
        assert child_pid(launcher.pid, "services.jobs") != jobs_pid
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=60) == 0
        assert (tmp_path / "data/logs/jobs.log").read_text().count('"service.listening"') == 2
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
            for pid in children_of(launcher.pid):
                os.kill(pid, signal.SIGKILL)


def wait_for_text(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        assert process.poll() is None, path.read_text()[-3000:]
        assert time.monotonic() < deadline, path.read_text()[-3000:]
        time.sleep(0.2)


def children_of(parent: int) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(pid))
    return found


def child_pid(parent: int, module: str) -> int:
    for pid in children_of(parent):
        try:
            if module in Path(f"/proc/{pid}/cmdline").read_text():
                return pid
        except OSError:
            continue
    raise AssertionError(f"no {module} under {parent}")


def test_children_a_killed_launcher_left_are_stopped_by_the_next(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from services.launcher import supervise

    registry = tmp_path / "children.pids"
    monkeypatch.setattr(supervise, "PID_REGISTRY", registry)
    child = python_child("postgresql", "import time; time.sleep(120)", tmp_path)
    process = child.spawn()
    # What the dead launcher noted, plus a pid reused since by an unrelated process (this one).
    with open(registry, "a") as f:
        f.write(f"{os.getpid()} 1\n")
    assert supervise.stop_leftovers(registry, timeout=10) == [process.pid]
    assert process.wait(timeout=10) == -signal.SIGTERM
    assert registry.read_text() == ""
