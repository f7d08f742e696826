"""Run inside a private network namespace (`unshare -n`, see test_fresh_machine.py): nothing answers on 5432 or
5672 there, as on a fresh machine. Starts `make run`'s launcher for installation A, walks a user's journey
through its gateway, starts installation B beside it (another RENOVO_PORT and RENOVO_DATA_DIR), checks that the
two are apart, stops both with Ctrl-C, starts A again and finds the user's data, then kills that launcher outright
and runs `make test`'s server wrapper in A's data folder: it stops what the killed launcher left and starts the
servers for the suite's fixtures. Prints one JSON report line.

    unshare -n python -m tests.launcher.netns_journey DIR_A DIR_B
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
IMAGES = (ROOT.parent / "shared" / "images").resolve()
PORTS = {"A": 18080, "B": 18090}


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Launcher:
    """`python -m services.launcher` as `make run` starts it, with its console captured."""

    def __init__(self, name: str, data: Path, port: int) -> None:
        self.name, self.data, self.port = name, data, port
        self.console = data.parent / f"console-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.offset = 0  # where this start's console begins

    def start(self, timeout: float = 240) -> float:
        began = time.monotonic()
        self.offset = self.console.stat().st_size if self.console.exists() else 0
        env = {**os.environ, "RENOVO_DATA_DIR": str(self.data), "RENOVO_PORT": str(self.port),
               "RENOVO_INFERENCE_FAMILIES": "none", "RENOVO_AUTH_BCRYPT_ROUNDS": "4", "RENOVO_LOG_FORMAT": "json"}
        for key in ("RENOVO_DATABASE_URL", "RENOVO_AMQP_URL"):
            env.pop(key, None)
        with open(self.console, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "services.launcher"], cwd=ROOT, env=env,
                                            stdout=out, stderr=subprocess.STDOUT)
        while time.monotonic() - began < timeout:
            if "Renovo is running at" in self.text():
                return time.monotonic() - began
            if self.process.poll() is not None:
                raise RuntimeError(f"launcher {self.name} exited {self.process.returncode}:\n{self.text()[-3000:]}")
            time.sleep(0.3)
        raise RuntimeError(f"launcher {self.name} not up within {timeout} s:\n{self.text()[-3000:]}")

    def text(self) -> str:
        if not self.console.exists():
            return ""
        with open(self.console, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")

    def timings(self) -> dict[str, float]:
        return {name: float(t) for name, t in
                re.findall(r"private (PostgreSQL|RabbitMQ) answers on \S+ \(after ([\d.]+) s\)", self.text())[-2:]}

    def ctrl_c(self, timeout: float = 90) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def backing_ports(self) -> list[int]:
        return [int((self.data / f"{n}.port").read_text()) for n in ("postgres", "rabbitmq")]


class User:
    def __init__(self, session: aiohttp.ClientSession, base: str, email: str) -> None:
        self.session, self.base, self.email, self.token = session, base, email, ""

    async def call(self, method: str, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return await self.session.request(method, self.base + path, headers=headers, **kwargs)

    async def login(self) -> int:
        r = await self.call("POST", "/api/auth/login", json={"email": self.email, "password": "journey pass 1"})
        if r.status == 200:
            self.token = (await r.json())["access_token"]
        return r.status


async def journey(base: str) -> dict[str, Any]:
    """Register, log in, make an album, upload a photo into it, run a `none` job to completed, download it."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        user = User(session, base, f"journey-{uuid.uuid4().hex[:8]}@example.org")
        r = await user.call("POST", "/api/auth/register", json={"email": user.email, "password": "journey pass 1"})
        assert r.status == 201, await r.text()
        assert await user.login() == 200
        r = await user.call("POST", "/api/albums", json={"name": "Holidays"})
        assert r.status == 201, await r.text()
        album = await r.json()
        photo = IMAGES / "edge" / "exif_orientation6.jpg"
        form = aiohttp.FormData()
        form.add_field("file", photo.read_bytes(), filename=photo.name, content_type="image/jpeg")
        form.add_field("album_id", album["id"])
        r = await user.call("POST", "/api/images", data=form)
        assert r.status == 201, await r.text()
        image = (await r.json())["images"][0]
        r = await user.call("POST", "/api/jobs", json={"image_id": image["id"], "type": "none"})
        assert r.status == 202, await r.text()
        job = await r.json()
        async with asyncio.timeout(90):
            while job["status"] not in ("completed", "failed", "cancelled"):
                await asyncio.sleep(0.3)
                job = await (await user.call("GET", f"/api/jobs/{job['id']}")).json()
        assert job["status"] == "completed", job
        r = await user.call("GET", f"/api/jobs/{job['id']}/result")
        assert r.status == 200, await r.text()
        result = await r.read()
        size = Image.open(io.BytesIO(result)).size
        return {"email": user.email, "album": album["id"], "image": image["id"], "job": job["id"],
                "result_size": list(size), "result_bytes": len(result)}


async def still_there(base: str, before: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        user = User(session, base, before["email"])
        status = await user.login()
        images = (await (await user.call("GET", f"/api/images?album_id={before['album']}")).json())["items"]
        r = await user.call("GET", f"/api/jobs/{before['job']}/result")
        return {"login": status, "images": [i["id"] for i in images], "result_status": r.status,
                "result_bytes": len(await r.read())}


async def login_status(base: str, email: str) -> int:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        return await User(session, base, email).login()


def main() -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    report: dict[str, Any] = {"default_ports_answer": [p for p in (5432, 5672) if answers(p)]}
    a = Launcher("A", Path(sys.argv[1]), PORTS["A"])
    b = Launcher("B", Path(sys.argv[2]), PORTS["B"])
    try:
        report["a_cold_start_s"] = a.start()
        report["a_cold"] = a.timings()
        report["a_journey"] = asyncio.run(journey(f"http://127.0.0.1:{a.port}"))
        report["b_start_s"] = b.start()
        report["b_journey"] = asyncio.run(journey(f"http://127.0.0.1:{b.port}"))
        report["a_user_on_b"] = asyncio.run(login_status(f"http://127.0.0.1:{b.port}",
                                                         report["a_journey"]["email"]))
        report["b_user_on_a"] = asyncio.run(login_status(f"http://127.0.0.1:{a.port}",
                                                         report["b_journey"]["email"]))
        report["a_backing_ports"], report["b_backing_ports"] = a.backing_ports(), b.backing_ports()
        report["b_exit"] = b.ctrl_c()
        report["a_exit"] = a.ctrl_c()
        report["after_ctrl_c_answering"] = [p for p in [a.port, *report["a_backing_ports"]] if answers(p)]
        report["a_warm_start_s"] = a.start()
        report["a_warm"] = a.timings()
        report["a_after_restart"] = asyncio.run(still_there(f"http://127.0.0.1:{a.port}", report["a_journey"]))
        report["a_console_tail"] = a.text()[-1500:]
        assert a.process is not None
        a.process.kill()  # a launcher killed outright: the next one in its data folder stops what it left
        report["a_killed"] = a.process.wait(timeout=30)
        report["make_test_servers"] = with_servers(a.data)
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for launcher in (a, b):
            if launcher.process is not None and launcher.process.poll() is None:
                launcher.process.send_signal(signal.SIGINT)
                try:
                    launcher.process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    launcher.process.kill()
        report["leftovers"] = kill_the_rest()
    print("REPORT " + json.dumps(report), flush=True)
    return 0


PROBE = """
import asyncio, aio_pika, asyncpg
from tests.conftest import ADMIN_DSN, AMQP_URL, RUN_ID
async def probe():
    conn = await asyncpg.connect(ADMIN_DSN)
    await conn.execute(f'CREATE DATABASE "probe_{RUN_ID}"')
    await conn.execute(f'DROP DATABASE "probe_{RUN_ID}"')
    await conn.close()
    async with await aio_pika.connect(AMQP_URL) as connection:
        await connection.channel()
    print("PROBE", ADMIN_DSN.rsplit("@", 1)[1], AMQP_URL.rsplit("@", 1)[1])
asyncio.run(probe())
"""


def with_servers(data: Path) -> dict[str, Any]:
    """`make test`'s wrapper: the suite's fixtures (tests/conftest.py) reach the private servers it started."""
    env = {**os.environ, "RENOVO_TEST_DATA_DIR": str(data)}
    for key in ("RENOVO_TEST_DATABASE_URL", "RENOVO_TEST_AMQP_URL"):
        env.pop(key, None)
    result = subprocess.run([sys.executable, "-m", "services.launcher.with_servers", "--", sys.executable, "-c",
                             PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    probe = [line for line in result.stdout.splitlines() if line.startswith("PROBE ")]
    return {"status": result.returncode, "probe": probe[-1] if probe else result.stdout[-500:] + result.stderr[-1500:],
            "leftovers": re.findall(r"stopped (\d+) processes an earlier run", result.stderr),
            "stopped": [p for p in (int((data / f"{n}.port").read_text()) for n in ("postgres", "rabbitmq"))
                        if answers(p)] == []}


def kill_the_rest() -> list[str]:
    """Whatever still runs in this namespace after the launchers stopped (there should be nothing): named, then
    killed, so that no server outlives the test."""
    mine = os.readlink("/proc/self/ns/net")
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            if os.readlink(f"/proc/{pid}/ns/net") != mine:
                continue
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            if not cmd:
                continue
            left.append(cmd[:120])
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue
    return left


if __name__ == "__main__":
    sys.exit(main())
