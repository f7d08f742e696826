"""Platform load benchmark (loopback only, bounded): end-to-end latency of `none` jobs (POST → WebSocket
completion), the sustained job rate at which p95 stays under 250 ms, fairness (user B's job latency when idle
and behind user A's flood, as a ratio: the goal is at most 2x), uploads per second of ~500 KB photos, and each
service's peak memory.

    .venv/bin/python bench/load_bench.py [--jobs 200] [--rates 25,50,100] [--seconds 5] [--flood 400]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.platform_env import bench_platform  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


class Session:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.headers: dict[str, str] = {}
        self.done: dict[str, asyncio.Future[float]] = {}

    async def signup(self) -> None:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
        await self.http.post(f"{self.base}/api/auth/register", json={"email": email, "password": "bench password"})
        r = await self.http.post(f"{self.base}/api/auth/login", json={"email": email, "password": "bench password"})
        self.token = (await r.json())["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    async def listen(self) -> asyncio.Task[None]:
        ws = await self.http.ws_connect(self.base.replace("http", "ws", 1) + "/api/notifications/ws")
        await ws.send_str(json.dumps({"type": "auth", "token": self.token}))
        assert (await ws.receive_json())["type"] == "ready"

        async def pump() -> None:
            async for message in ws:
                body = json.loads(message.data)
                if body.get("type") in ("job.completed", "job.failed"):
                    # The notification may arrive before the POST's answer has been read.
                    future = self.done.setdefault(body["job_id"], asyncio.get_running_loop().create_future())
                    if not future.done():
                        future.set_result(time.perf_counter())

        return asyncio.create_task(pump())

    async def upload(self, data: bytes, name: str = "photo.jpg") -> dict[str, Any]:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name, content_type="image/jpeg")
        r = await self.http.post(f"{self.base}/api/images", data=form, headers=self.headers)
        assert r.status == 201, await r.text()
        return (await r.json())["images"][0]

    async def job(self, image_id: str) -> float:
        """Seconds from POST to the completion notification."""
        start = time.perf_counter()
        r = await self.http.post(f"{self.base}/api/jobs", json={"image_id": image_id, "type": "none"},
                                 headers=self.headers)
        job = await r.json()
        future = self.done.setdefault(job["id"], asyncio.get_running_loop().create_future())
        end = await asyncio.wait_for(future, 300)
        return end - start


async def breakdown(database_url: str, n: int) -> None:
    """Where a job's time goes, from the jobs service's own timestamps (same clock, one database)."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT extract(epoch FROM started_at - requested_at) AS wait, "
            "extract(epoch FROM finished_at - started_at) AS run FROM jobs.jobs "
            "WHERE status = 'completed' AND started_at IS NOT NULL ORDER BY created_at DESC LIMIT $1", n)
    finally:
        await conn.close()
    wait = [float(r["wait"]) for r in rows]
    run = [float(r["run"]) for r in rows]
    print("  hops (medians): request recorded → worker started "
          f"{statistics.median(wait) * 1000:.1f} ms (outbox relay, broker, worker pick-up, job.started back); "
          f"started → completion recorded {statistics.median(run) * 1000:.1f} ms (storage read, decode, "
          "encode, storage write, job.completed back)")


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User+system CPU seconds of each platform process and of the broker and database servers."""
    import subprocess

    found = dict(pids)
    for name, pattern in (("postgres", "postgres"), ("rabbitmq", "beam.smp")):
        out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
        for i, number in enumerate(out):
            found[f"{name}#{i}"] = int(number)
    ticks = os.sysconf("SC_CLK_TCK")
    result: dict[str, float] = {}
    for name, pid in found.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime: children count for postgres backends and nginx workers.
            result[name.split("#")[0]] = result.get(name.split("#")[0], 0.0) + sum(
                int(x) for x in fields[11:15]) / ticks
        except (OSError, IndexError):
            pass
    return result


def photo_bytes(target: int = 500_000) -> bytes:
    rng = np.random.default_rng(0)
    side = 900
    base = rng.integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((side, side), Image.Resampling.BICUBIC)
    noise = rng.normal(0, 12, (side, side, 3))
    arr = np.clip(np.asarray(img, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    for quality in (95, 90, 85, 80, 70):
        out = io.BytesIO()
        Image.fromarray(arr).save(out, format="JPEG", quality=quality)
        if out.tell() <= target * 1.1:
            break
    return out.getvalue()


async def fairness(http: aiohttp.ClientSession, base: str, flood: int, probes: int) -> None:
    """User B's `none` job on a ~500 KB photo: latency when the platform is idle, then behind user A's flood of
    the same jobs (A posts them all at once; B then runs `probes` jobs one after the other)."""
    a, b = Session(http, base), Session(http, base)
    await a.signup()
    await b.signup()
    pumps = [await a.listen(), await b.listen()]
    data = photo_bytes()
    image_a, image_b = await a.upload(data), await b.upload(data)
    for _ in range(3):  # warm-up
        await b.job(image_b["id"])
    idle = [await b.job(image_b["id"]) for _ in range(probes)]
    sem = asyncio.Semaphore(32)

    async def post_a() -> str:
        async with sem:
            r = await http.post(f"{base}/api/jobs", json={"image_id": image_a["id"], "type": "none"},
                                headers=a.headers)
            job = await r.json()
            a.done.setdefault(job["id"], asyncio.get_running_loop().create_future())
            return str(job["id"])

    start = time.perf_counter()
    ids = await asyncio.gather(*(post_a() for _ in range(flood)))
    posted = time.perf_counter() - start
    a_left: list[int] = []

    async def probe() -> float:
        latency = await b.job(image_b["id"])
        a_left.append(sum(1 for i in ids if not a.done[i].done()))
        return latency

    probes_started = []
    for _ in range(probes):  # B's photos, one every half second while A's flood waits
        probes_started.append(asyncio.create_task(probe()))
        await asyncio.sleep(0.5)
    behind = await asyncio.gather(*probes_started)
    await asyncio.wait_for(asyncio.gather(*(a.done[i] for i in ids)), 900)
    drained = time.perf_counter() - start
    idle_ms, behind_ms = statistics.median(idle) * 1000, statistics.median(behind) * 1000
    print(f"\nfairness: user A posts {flood} `none` jobs on a {len(data) / 1000:.0f} KB photo in {posted:.1f} s "
          f"(all done after {drained:.1f} s); user B then posts {probes} of the same, one every 0.5 s:")
    print(f"  B idle: median {idle_ms:.0f} ms   B behind A's flood: median {behind_ms:.0f} ms, first "
          f"{behind[0] * 1000:.0f} ms, max {max(behind) * 1000:.0f} ms (A's jobs unfinished as B's finished: "
          f"{sorted(a_left, reverse=True)})")
    print(f"  fairness ratio (B behind flood / B idle, medians; goal <= 2x): {behind_ms / idle_ms:.1f}x")
    for pump in pumps:
        pump.cancel()


async def run(args: argparse.Namespace, base: str, pids: dict[str, int], database_url: str) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as http:
        s = Session(http, base)
        await s.signup()
        pump = await s.listen()
        small = io.BytesIO()
        Image.new("RGB", (64, 48), (120, 80, 40)).save(small, format="PNG")
        image = await s.upload(small.getvalue(), "small.png")
        for _ in range(10):  # warm-up
            await s.job(image["id"])
        seq = [await s.job(image["id"]) for _ in range(args.jobs)]
        print(f"\nsequential `none` jobs, POST → WebSocket completion, n={len(seq)}:")
        print(f"  median {statistics.median(seq) * 1000:.1f} ms   p95 {pct(seq, 95) * 1000:.1f} ms   "
              f"max {max(seq) * 1000:.1f} ms")
        await breakdown(database_url, args.jobs)

        cpu_before = cpu_seconds(pids)
        jobs_before = len(s.done)
        print(f"\nopen-loop job submission, {args.seconds:.0f} s per rate:")
        print(f"  {'rate/s':>7} {'sent':>6} {'done':>6} {'lost':>5} {'p50 ms':>8} {'p95 ms':>8} {'achieved/s':>11}")
        for rate in args.rates:
            tasks: list[asyncio.Task[float]] = []
            start = time.perf_counter()
            n = int(rate * args.seconds)
            for i in range(n):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(s.job(image["id"])))
            results = await asyncio.gather(*tasks, return_exceptions=True)
            elapsed = time.perf_counter() - start
            ok = [r for r in results if isinstance(r, float)]
            print(f"  {rate:>7} {n:>6} {len(ok):>6} {n - len(ok):>5} {pct(ok, 50) * 1000:>8.1f} "
                  f"{pct(ok, 95) * 1000:>8.1f} {len(ok) / elapsed:>11.1f}")

        cpu_after = cpu_seconds(pids)
        jobs_run = len(s.done) - jobs_before
        print(f"\nCPU time per `none` job by process over the open-loop runs ({jobs_run} jobs, 2 cores in all):")
        for name in sorted(cpu_after, key=lambda n: cpu_before.get(n, 0) - cpu_after[n]):
            spent = cpu_after[name] - cpu_before.get(name, 0.0)
            print(f"  {name:<12} {spent / max(jobs_run, 1) * 1000:6.2f} ms")

        data = photo_bytes()
        print(f"\nuploads of a {len(data) / 1000:.0f} KB photo, {args.upload_concurrency} at a time:")
        count = args.uploads
        sem = asyncio.Semaphore(args.upload_concurrency)

        async def one() -> float:
            async with sem:
                t = time.perf_counter()
                await s.upload(data)
                return time.perf_counter() - t

        cpu_before = cpu_seconds(pids)
        client_before = time.process_time()
        start = time.perf_counter()
        times = await asyncio.gather(*(one() for _ in range(count)))
        elapsed = time.perf_counter() - start
        cpu_after = cpu_seconds(pids)
        print(f"  {count} uploads in {elapsed:.2f} s = {count / elapsed:.1f}/s; "
              f"p50 {pct(list(times), 50) * 1000:.0f} ms p95 {pct(list(times), 95) * 1000:.0f} ms")
        by_process = {n: cpu_after[n] - cpu_before.get(n, 0.0) for n in cpu_after}
        by_process["bench client"] = time.process_time() - client_before
        print("  CPU per upload: " + ", ".join(f"{n} {v / count * 1000:.1f} ms"
                                             for n, v in sorted(by_process.items(), key=lambda kv: -kv[1]) if v > 0))
        pump.cancel()
        if args.flood:
            await fairness(http, base, args.flood, args.probes)

    print("\npeak resident memory per process (VmHWM):")
    for name, pid in pids.items():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            hwm = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
            print(f"  {name:<10} {int(hwm) / 1024:8.1f} MiB")
        except (OSError, StopIteration):
            print(f"  {name:<10} (gone)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rates", type=lambda v: [int(x) for x in v.split(",")], default=[25, 50, 100])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--uploads", type=int, default=150)
    parser.add_argument("--upload-concurrency", type=int, default=8)
    parser.add_argument("--flood", type=int, default=400, help="user A's jobs in the fairness run (0: skip it)")
    parser.add_argument("--probes", type=int, default=5, help="user B's jobs, idle and behind the flood")
    args = parser.parse_args()
    with bench_platform({"RENOVO_INFERENCE_FAMILIES": "none"}) as platform:
        pids = {name: p.pid for name, p in platform.processes.items()}
        asyncio.run(run(args, platform.url, pids, platform.env["RENOVO_DATABASE_URL"]))


if __name__ == "__main__":
    main()
