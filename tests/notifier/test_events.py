"""The notifier forwards what the jobs service recorded (`job.updated`), as the socket message it stands for."""

from __future__ import annotations

import uuid

from services.notifier.events import recorded
from shared.bus import Delivery, Outcome
from shared.events import Envelope, EventType, JobUpdated, make_event

DELIVERY = Delivery("notifier.x", 1, False, {})


async def test_a_recorded_change_is_forwarded_as_its_socket_message() -> None:
    forwarded: list[Envelope] = []

    async def forward(envelope: Envelope, delivery: Delivery) -> Outcome:
        forwarded.append(envelope)
        return Outcome.DONE

    user, job, image = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    update = make_event(EventType.JOB_UPDATED, JobUpdated(
        job_id=job, image_id=image, attempt=2, status="completed", progress=1.0, engine="identity",
        change=EventType.JOB_COMPLETED), user_id=user, correlation_id="c")
    assert await recorded(forward)(update, DELIVERY) is Outcome.DONE
    (sent,) = forwarded
    assert sent.type == "job.completed" and sent.user_id == user and sent.occurred_at == update.occurred_at
    assert sent.payload["status"] == "completed" and sent.payload["job_id"] == str(job)
    assert "change" not in sent.payload


async def test_something_unreadable_is_skipped() -> None:
    async def forward(envelope: Envelope, delivery: Delivery) -> Outcome:
        raise AssertionError("nothing to forward")

    broken = Envelope(type=EventType.JOB_UPDATED, payload={"job_id": "not a uuid"})
    assert await recorded(forward)(broken, DELIVERY) is Outcome.SKIP
