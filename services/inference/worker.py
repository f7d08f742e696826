"""The inference worker: consumes `job.requested.<family>`, runs the engine off the event loop, stores the
result, and reports `job.started/progress/completed/failed`.

A request is acknowledged only after its result is stored and `job.completed` is confirmed by the broker. Bad
input ends as `job.failed` with a reason (acknowledged, never redelivered); a crash is requeued, and the
queue's delivery limit dead-letters a request that keeps crashing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from shared.bus import Bus, Delivery, Outcome
from shared.enhancements import OptionError, get_type
from shared.events import (
    JOB_REQUESTED_PREFIX,
    Envelope,
    EventType,
    JobClaim,
    JobClaimed,
    JobRequested,
    JobState,
    JobStatus,
    job_requested,
    make_event,
)
from shared.storage import NotFound, Storage

from .engine import Cancelled, InputError
from .eta import Eta
from .processing import Processed, process
from .registry import Registry
from .settings import Settings

log = structlog.get_logger(__name__)

JOBS = Counter("renovo_inference_jobs_total", "Requests handled by the worker", ["family", "outcome"])
JOB_SECONDS = Histogram(
    "renovo_inference_job_seconds", "Decode + model + encode time per job", ["family"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800),
)
SECONDS_PER_MP = Histogram(
    "renovo_inference_seconds_per_megapixel", "Job time per input megapixel", ["family"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320),
)


DRAIN_MARGIN_SECONDS = 15.0
"""After the grace, handed-back jobs get this long to settle; the deployment's grace covers both."""


class _Shutdown(Exception):
    """The worker is stopping: hand the request back."""


class Worker:
    def __init__(self, settings: Settings, bus: Bus, storage: Storage, registry: Registry) -> None:
        self.settings = settings
        self.bus = bus
        self.storage = storage
        self.registry = registry
        self.instance = settings.instance or uuid.uuid4().hex[:8]
        # Cancelled attempts (not jobs: a retry is a new attempt that must run).
        self._cancelled: OrderedDict[tuple[uuid.UUID, int], None] = OrderedDict()
        self._claims: dict[tuple[uuid.UUID, int], asyncio.Future[JobClaimed]] = {}
        self._running: set[asyncio.Task[Any]] = set()
        self._computing: set[tuple[uuid.UUID, int]] = set()
        self._stopping = False
        self._stop_at = float("inf")
        self._heavy = ThreadPoolExecutor(max(1, settings.concurrency), thread_name_prefix="model")
        self._light = ThreadPoolExecutor(max(1, settings.light_concurrency), thread_name_prefix="light")
        self._last_progress: dict[uuid.UUID, float] = {}
        self._eta: dict[uuid.UUID, Eta] = {}

    async def start(self) -> None:
        names = self.bus.names
        for family in self.settings.families:
            for outcome in ("completed", "failed", "cancelled", "duplicate", "unparseable"):
                JOBS.labels(family, outcome)
            JOB_SECONDS.labels(family)
            SECONDS_PER_MP.labels(family)
            prefetch = self.settings.light_concurrency if family == "none" else self.settings.concurrency
            await self.bus.consume(
                names.inference_queue(family), [job_requested(family)], self.handle, prefetch=prefetch,
                raw=self._unparseable, retry_in_place=False,
            )
        # Cancellations reach every worker; the one running the job stops it between tiles. The jobs service
        # also answers this worker's claims here.
        await self.bus.consume(names.inference_control_queue(self.instance), [EventType.JOB_CANCELLED],
                               self._on_control, exclusive=True)
        log.info("worker.started", families=list(self.settings.families), instance=self.instance)

    async def stop(self) -> None:
        """Stop taking work; let running jobs finish for a grace period, then hand them back."""
        self._stopping = True
        self._stop_at = time.monotonic() + self.settings.shutdown_grace
        await self.bus.stop_consuming(self.bus.names.inference_queue(f) for f in self.settings.families)
        if self._running:
            log.info("worker.draining", running=len(self._running))
            # Past the grace period, running engines raise _Shutdown at their next tile and are requeued.
            limit = self.settings.shutdown_grace + DRAIN_MARGIN_SECONDS
            done, pending = await asyncio.wait(self._running, timeout=limit)
            if pending:
                log.warning("worker.jobs_abandoned", jobs=len(pending))
        self._heavy.shutdown(wait=False, cancel_futures=True)
        self._light.shutdown(wait=False, cancel_futures=True)

    async def _on_control(self, envelope: Envelope, delivery: Delivery) -> Outcome:
        if envelope.type == EventType.JOB_CLAIMED:
            try:
                answer = JobClaimed.model_validate(envelope.payload)
            except ValidationError:
                return Outcome.SKIP
            waiting = self._claims.get((answer.job_id, answer.attempt))
            if waiting is not None and not waiting.done():
                waiting.set_result(answer)
            return Outcome.DONE
        try:
            status = JobStatus.model_validate(envelope.payload)
        except ValidationError:
            return Outcome.SKIP
        self._cancelled[(status.job_id, status.attempt)] = None
        while len(self._cancelled) > 10_000:
            self._cancelled.popitem(last=False)
        return Outcome.DONE

    async def _claim(self, request: JobRequested, user: uuid.UUID | None, corr: str | None, redelivered: bool
                     ) -> JobClaimed | None:
        """Ask the jobs service whether this attempt may run now (it records it as running). Waits, asking
        again, while the jobs service or the broker is away: the request stays unacknowledged meanwhile,
        which costs no delivery. None when this worker is stopping."""
        key = (request.job_id, request.attempt)
        claim = JobClaim(job_id=request.job_id, attempt=request.attempt, worker=self.instance,
                         redelivered=redelivered)
        reply_to = self.bus.names.inference_control_queue(self.instance)
        pause = 1.0
        while not self._stopping:
            waiting: asyncio.Future[JobClaimed] = asyncio.get_running_loop().create_future()
            self._claims[key] = waiting
            try:
                await self.bus.publish(make_event(EventType.JOB_CLAIM, claim, user_id=user, correlation_id=corr),
                                       mandatory=True, reply_to=reply_to)
                return await asyncio.wait_for(waiting, self.settings.claim_timeout)
            except Exception as exc:  # unanswered, unroutable (no jobs service yet) or the broker away
                log.warning("worker.claim_unanswered", error=repr(exc), retry_in=pause)
            finally:
                self._claims.pop(key, None)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)
        return None

    async def _unparseable(self, message: AbstractIncomingMessage) -> Outcome:
        JOBS.labels("unknown", "unparseable").inc()
        return Outcome.FAILED

    async def _report(self, type_: str, request: JobRequested, user_id: uuid.UUID | None,
                      correlation_id: str | None, **fields: Any) -> None:
        status = {EventType.JOB_STARTED: JobState.RUNNING, EventType.JOB_PROGRESS: JobState.RUNNING,
                  EventType.JOB_COMPLETED: JobState.COMPLETED, EventType.JOB_FAILED: JobState.FAILED}[EventType(type_)]
        payload = JobStatus(job_id=request.job_id, image_id=request.image_id, attempt=request.attempt,
                            status=status, **fields)
        await self.bus.publish(make_event(type_, payload, user_id=user_id, correlation_id=correlation_id))

    async def handle(self, envelope: Envelope, delivery: Delivery) -> Outcome:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            return await self._handle(envelope, delivery)
        finally:
            self._running.discard(task)

    async def _handle(self, envelope: Envelope, delivery: Delivery) -> Outcome:
        family = envelope.type.removeprefix(JOB_REQUESTED_PREFIX)
        try:
            request = JobRequested.model_validate(envelope.payload)
        except ValidationError as exc:
            log.error("worker.bad_request", error=str(exc)[:300])
            JOBS.labels(family, "unparseable").inc()
            return Outcome.FAILED
        structlog.contextvars.bind_contextvars(job_id=str(request.job_id))
        user, corr = envelope.user_id, envelope.correlation_id
        if self._stopping:
            return Outcome.RETRY
        if (request.job_id, request.attempt) in self._cancelled:
            JOBS.labels(family, "cancelled").inc()
            return Outcome.SKIP
        try:
            kind = get_type(request.type)
            options = kind.validate_options(request.options)
            engine = self.registry.engine(kind.family)
        except (OptionError, KeyError) as exc:
            await self._report(EventType.JOB_FAILED, request, user, corr, error=f"cannot run this request: {exc}")
            JOBS.labels(family, "failed").inc()
            return Outcome.DONE
        # The jobs service decides whether this attempt runs (and records it as started): a cancelled,
        # superseded or finished attempt is never computed, by this worker or one that joins later.
        key = (request.job_id, request.attempt)
        if key in self._computing:
            # A second copy of an attempt this worker is computing (a duplicate publish, or the broker gave the
            # first delivery back after a dropped connection): its result will answer for both.
            JOBS.labels(family, "duplicate").inc()
            return Outcome.SKIP
        claimed = await self._claim(request, user, corr, delivery.redelivered)
        if claimed is None:
            return Outcome.RETRY
        if not claimed.run:
            duplicate = claimed.status == JobState.RUNNING
            JOBS.labels(family, "duplicate" if duplicate else "cancelled").inc()
            log.info("worker.claim_refused", status=claimed.status, attempt=request.attempt)
            return Outcome.SKIP
        self._computing.add(key)
        try:
            return await self._run_claimed(request, engine, options, family, user, corr)
        finally:
            self._computing.discard(key)

    async def _run_claimed(self, request: JobRequested, engine: Any, options: dict[str, Any], family: str,
                           user: uuid.UUID | None, corr: str | None) -> Outcome:
        try:
            data = await self.storage.get(request.source_key)
        except NotFound:
            await self._report(EventType.JOB_FAILED, request, user, corr, error="the original image is missing")
            JOBS.labels(family, "failed").inc()
            return Outcome.DONE
        started = time.perf_counter()
        heartbeat = asyncio.create_task(self._heartbeat(request, user, corr))
        try:
            result = await self._compute(engine, data, request, options, user, corr)
        except InputError as exc:
            await self._report(EventType.JOB_FAILED, request, user, corr, error=str(exc))
            JOBS.labels(family, "failed").inc()
            log.info("worker.input_refused", reason=str(exc))
            return Outcome.DONE
        except Cancelled:
            JOBS.labels(family, "cancelled").inc()
            return Outcome.SKIP
        except _Shutdown:
            return Outcome.RETRY
        finally:
            heartbeat.cancel()
            self._last_progress.pop(request.job_id, None)
            self._eta.pop(request.job_id, None)
        elapsed = time.perf_counter() - started
        # The stored name follows the format written (`auto` is only known now); the jobs service records it.
        result_key = f"{request.result_key.rsplit('.', 1)[0]}.{result.extension}"
        content_type = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}[result.format]
        await self.storage.put(result_key, result.data, content_type)
        await self._report(EventType.JOB_COMPLETED, request, user, corr, progress=1.0, engine=result.engine,
                           result_key=result_key, width=result.width, height=result.height,
                           content_type=content_type, notes=list(result.notes))
        JOBS.labels(family, "completed").inc()
        JOB_SECONDS.labels(family).observe(elapsed)
        if result.input_pixels:
            SECONDS_PER_MP.labels(family).observe(elapsed / (result.input_pixels / 1e6))
        log.info("worker.completed", family=family, seconds=round(elapsed, 3), engine=result.engine)
        return Outcome.DONE

    async def _compute(self, engine: Any, data: bytes, request: JobRequested, options: dict[str, Any],
                       user: uuid.UUID | None, corr: str | None) -> Processed:
        loop = asyncio.get_running_loop()
        last = {"at": 0.0, "value": 0.0}
        interval = self.settings.progress_interval
        eta = self._eta.setdefault(request.job_id, Eta())

        def progress(fraction: float) -> None:
            # Called from the compute thread: throttle there, publish on the loop.
            now = time.monotonic()
            seconds_left = eta.update(fraction)
            # 1.0 is announced by job.completed itself; a progress event for it would only cost every consumer.
            if fraction >= 1.0 or now - last["at"] < interval or fraction - last["value"] < 0.01:
                return
            last.update(at=now, value=fraction)
            self._last_progress[request.job_id] = fraction
            asyncio.run_coroutine_threadsafe(self._progress(request, user, corr, fraction, seconds_left), loop)

        def cancelled() -> bool:
            if time.monotonic() > self._stop_at:
                raise _Shutdown()
            return (request.job_id, request.attempt) in self._cancelled

        pool = self._light if engine.family == "none" else self._heavy
        return await loop.run_in_executor(
            pool, lambda: process(engine, data, request.type, options, progress, cancelled,
                                  self.settings.device, self.settings.tile, request.output)
        )

    async def _heartbeat(self, request: JobRequested, user: uuid.UUID | None, corr: str | None) -> None:
        """Tell the jobs service the job is alive even when its engine reports no progress for a while, so
        that only a silent (dead) worker's job is taken for stale."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            eta = self._eta.get(request.job_id)
            await self._progress(request, user, corr, self._last_progress.get(request.job_id, 0.0),
                                 eta.current() if eta else None)

    async def _progress(self, request: JobRequested, user: uuid.UUID | None, corr: str | None,
                        fraction: float, eta_seconds: float | None = None) -> None:
        try:
            await self._report(EventType.JOB_PROGRESS, request, user, corr, progress=round(fraction, 4),
                               eta_seconds=eta_seconds)
        except Exception as exc:  # progress is best effort; the outcome is what must not be lost
            log.warning("worker.progress_publish_failed", error=repr(exc))
