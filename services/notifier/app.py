"""The notifier: pushes job events over WebSocket to every open socket of the job's owner."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import WSCloseCode, web
from pydantic import ValidationError

from shared import openapi, service
from shared.bus import Delivery, Handler, Outcome
from shared.events import Envelope, EventType, JobUpdated
from shared.http import base_app

from .away import email
from .hub import Hub
from .openapi import SPEC
from .routes import HUB, SETTINGS, routes, sessions_consumer
from .settings import Settings


def recorded(forward: Handler) -> Handler:
    """Forward what the jobs service recorded (`job.updated`), as the socket message it stands for
    (job.started, job.progress, …). Never the workers' own reports: a page must not show a state the jobs
    service refused (a completion after a cancel)."""

    async def handle(envelope: Envelope, delivery: Delivery) -> Outcome:
        try:
            update = JobUpdated.model_validate(envelope.payload)
        except ValidationError:
            return Outcome.SKIP
        payload = update.model_dump(mode="json", exclude={"change"})
        return await forward(envelope.model_copy(update={"type": update.change, "payload": payload}), delivery)

    return handle


def _consumer(settings: Settings):  # type: ignore[no-untyped-def]
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        bus = app[service.BUS]
        instance = settings.instance or uuid.uuid4().hex[:8]
        # An exclusive queue per process: every replica sees every job event and serves its own sockets.
        await bus.consume(bus.names.notifier_queue(instance), [EventType.JOB_UPDATED], recorded(app[HUB].handle),
                          prefetch=256, exclusive=True)
        yield

    return ctx


async def _close_sockets(app: web.Application) -> None:
    # Going away: clients reconnect (to another replica) and catch up with GET /api/jobs?updated_since=.
    for ws in app[HUB].all():
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def create_app(settings: Settings) -> web.Application:
    app = base_app(settings.common.jwt_secret)
    app[SETTINGS] = settings
    app[HUB] = Hub()
    app.cleanup_ctx.append(service.database(settings.common, "notifier", Path(__file__).parent / "migrations"))
    app.cleanup_ctx.append(service.bus(settings.common))
    app.cleanup_ctx.append(_consumer(settings))
    app.cleanup_ctx.append(sessions_consumer(settings))
    app.cleanup_ctx.append(email())
    app.on_shutdown.append(_close_sockets)
    app.add_routes([openapi.route(SPEC)])
    app.add_routes(routes)
    return app
