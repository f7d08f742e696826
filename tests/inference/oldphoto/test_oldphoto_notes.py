"""The old-photo engine's notes reach the user: the worker reports them with job.completed.

Against the real RabbitMQ: a worker serving `bopb`, a stand-in for the jobs service that grants every claim,
and a queue that records what the worker reports. Line art sent as `restore_scratch` comes back completed,
with the note that its lines were kept rather than taken for scratches.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.inference.models.oldphoto.synthetic import line_art
from services.inference.registry import Registry
from services.inference.settings import Settings
from services.inference.worker import Worker
from shared.bus import Bus, Delivery, Outcome
from shared.events import Envelope, EventType, JobClaim, JobClaimed, JobRequested, JobStatus, job_requested, make_event
from shared.settings import CommonSettings
from shared.storage import LocalStorage
from tests.conftest import AMQP_URL, RUN_ID, delete_bus_names

pytestmark = pytest.mark.integration


@pytest.fixture
async def bus_settings(tmp_path: Path) -> AsyncIterator[CommonSettings]:
    run = f"{RUN_ID}n{secrets.token_hex(3)}"
    settings = CommonSettings(
        env="test",
        amqp_url=AMQP_URL,
        exchange=f"{run}.events",
        dead_exchange=f"{run}.dead",
        queue_prefix=f"{run}.",
        storage_path=tmp_path / "storage",
        jwt_secret="test-secret-" + "x" * 32,
        log_format="console",
    )
    yield settings
    await delete_bus_names(settings.exchange, settings.dead_exchange, settings.queue_prefix)


def _line_art_png() -> bytes:
    page = np.clip(line_art(np.random.default_rng(2), 240, 320), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, "PNG")
    return buf.getvalue()


async def test_job_completed_carries_the_line_art_note(bus_settings: CommonSettings) -> None:
    bus = Bus(bus_settings)
    await bus.connect()
    storage = LocalStorage(bus_settings.storage_path)
    settings = Settings(families=("bopb",), instance=f"n{secrets.token_hex(3)}", common=bus_settings, threads=1)
    worker = Worker(settings, bus, storage, Registry(families=("bopb",), backend="torch", threads=1))
    reports: asyncio.Queue[tuple[str, JobStatus]] = asyncio.Queue()

    async def grant(envelope: Envelope, delivery: Delivery) -> Outcome:
        claim = JobClaim.model_validate(envelope.payload)
        answer = JobClaimed(job_id=claim.job_id, attempt=claim.attempt, run=True, status="running")
        assert delivery.reply_to
        await bus.reply(delivery.reply_to, make_event(EventType.JOB_CLAIMED, answer, user_id=None, correlation_id=None))
        return Outcome.DONE

    async def record(envelope: Envelope, delivery: Delivery) -> Outcome:
        await reports.put((envelope.type, JobStatus.model_validate(envelope.payload)))
        return Outcome.DONE

    names = bus.names
    await bus.consume(names.jobs_claims_queue, [EventType.JOB_CLAIM], grant)
    await bus.consume(names.jobs_status_queue, [EventType.JOB_COMPLETED, EventType.JOB_FAILED], record)
    await worker.start()
    try:
        user, image = uuid.uuid4(), uuid.uuid4()
        source = f"originals/{user}/{image}.png"
        await storage.put(source, _line_art_png(), "image/png")
        request = JobRequested(job_id=uuid.uuid4(), image_id=image, type="restore_scratch", options={}, attempt=1,
                               source_key=source, result_key=f"results/{user}/{uuid.uuid4()}.png")
        await bus.publish(make_event(job_requested("bopb"), request, user_id=user, correlation_id=None))
        async with asyncio.timeout(120):
            type_, status = await reports.get()
        assert type_ == EventType.JOB_COMPLETED, status.error
        assert status.engine == "renovo"
        assert status.notes and any("line art" in n and "kept" in n for n in status.notes), status.notes
    finally:
        await worker.stop()
        await bus.close()
