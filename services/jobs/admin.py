"""Operator commands (`renovo admin …`): queue depths, dead letters (list and requeue), a user's jobs.

Listing dead letters takes each message and puts it back (the dead-letter queues are classic queues, where
that costs no delivery budget). Requeueing a dead-lettered request does not republish it (its job was marked
failed): it starts a new attempt of that job, which waits for its owner's turn; a request whose job has moved
on (retried, finished, deleted) is refused with the reason and stays where it is.

They talk to the same PostgreSQL and RabbitMQ as the services, with the same settings (`RENOVO_*`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from typing import Any

import aio_pika
import asyncpg
from pydantic import ValidationError

from shared.enhancements import FAMILIES
from shared.events import JOB_REQUESTED_PREFIX, Envelope, JobRequested, JobState, Names
from shared.settings import CommonSettings

from . import fairshare, lifecycle, store
from .settings import Settings


def _names(settings: CommonSettings) -> Names:
    return Names(settings.exchange, settings.dead_exchange, settings.queue_prefix)


def _queues(names: Names) -> list[str]:
    work = [names.inference_queue(f) for f in FAMILIES] + [
        names.jobs_status_queue, names.jobs_dead_queue, names.jobs_images_queue, names.jobs_claims_queue,
        names.jobs_dead_events_queue]
    return work + [names.dead_queue(q) for q in work]


async def queue_depths(settings: CommonSettings) -> list[dict[str, Any]]:
    connection = await aio_pika.connect(settings.amqp_url, timeout=10)
    rows = []
    async with connection:
        for name in _queues(_names(settings)):
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
                result = queue.declaration_result
                rows.append({"queue": name, "messages": result.message_count, "consumers": result.consumer_count})
            except aio_pika.exceptions.ChannelClosed:
                rows.append({"queue": name, "messages": None, "consumers": None})
    return rows


async def dead_letters(settings: CommonSettings, queue: str, *, requeue: bool, limit: int) -> list[dict[str, Any]]:
    """List (peek) or requeue the dead-lettered messages of `queue` (e.g. `inference.realsr`)."""
    names = _names(settings)
    dead_name = names.dead_queue(names.prefix + queue.removeprefix(names.prefix))
    connection = await aio_pika.connect(settings.amqp_url, timeout=10)
    seen = []
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        dead = await channel.declare_queue(dead_name, passive=True)
        exchange = await channel.get_exchange(settings.exchange)
        held = []
        for _ in range(limit):
            message = await dead.get(no_ack=False, fail=False)
            if message is None:
                break
            deaths: Any = (message.headers or {}).get("x-death") or [{}]
            first = deaths[0] if isinstance(deaths, list) and deaths else {}
            seen.append({"message_id": message.message_id, "type": message.type or message.routing_key,
                         "reason": first.get("reason") if isinstance(first, dict) else None,
                         "body": message.body[:300].decode(errors="replace")})
            if requeue and message.type and message.type.startswith(JOB_REQUESTED_PREFIX):
                verdict = await _new_attempt(settings, message.body)
                seen[-1]["requeued"] = verdict
                if verdict == "new attempt":
                    await message.ack()
                else:
                    held.append(message)
            elif requeue and message.type:
                await exchange.publish(
                    aio_pika.Message(message.body, message_id=message.message_id, type=message.type,
                                     correlation_id=message.correlation_id, content_type=message.content_type,
                                     delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=message.type)
                await message.ack()
            else:
                held.append(message)
        for message in held:  # peeked, not requeued: back where they were
            await message.nack(requeue=True)
    return seen


async def _new_attempt(settings: CommonSettings, body: bytes) -> str:
    """Reset the job of a dead-lettered request to a new attempt; else say why not."""
    try:
        request = JobRequested.model_validate(Envelope.model_validate_json(body).payload)
    except ValidationError:
        return "refused: the message is not a readable request"
    conn = await asyncpg.connect(settings.database_url, timeout=10)
    try:
        async with conn.transaction():
            row = await store.get(conn, request.job_id, for_update=True)
            if row is None:
                return "refused: the job no longer exists"
            if row["attempt"] != request.attempt:
                return f"refused: the job has moved on to attempt {row['attempt']}"
            if row["status"] != JobState.FAILED:
                return f"refused: the job is {row['status']}, not failed"
            await lifecycle.requeue(conn, row, (JobState.FAILED,), "admin")
        return "new attempt"
    finally:
        await conn.close()


async def user_jobs(settings: CommonSettings, user_id: uuid.UUID, *, cancel: bool) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(settings.database_url, timeout=10)
    try:
        rows = await store.list_jobs(conn, user_id, image_id=None, status=None, updated_since=None, before=None,
                                     limit=200)
        if cancel:
            async with conn.transaction():
                for row in rows:
                    if row["status"] in store.ACTIVE:
                        await lifecycle.cancel(conn, row, "admin")
            rows = await store.list_jobs(conn, user_id, image_id=None, status=None, updated_since=None,
                                         before=None, limit=200)
        return [store.job_json(r) for r in rows]
    finally:
        await conn.close()


def _print(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json or not rows:
        print(json.dumps(rows, indent=2, default=str))
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r.get(k))) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r.get(k)).ljust(widths[k]) for k in keys))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="renovo admin", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("queues", help="depth and consumers of every queue")
    dl = sub.add_parser("dead-letters", help="list the dead-lettered messages of a queue")
    dl.add_argument("queue", help="the work queue, e.g. inference.realsr")
    dl.add_argument("--requeue", action="store_true", help="publish them again and remove them")
    dl.add_argument("--limit", type=int, default=100)
    jobs = sub.add_parser("jobs", help="a user's jobs")
    jobs.add_argument("user_id", type=uuid.UUID)
    jobs.add_argument("--cancel", action="store_true", help="cancel the queued and running ones")
    args = parser.parse_args(argv)
    jobs_settings = Settings()
    settings = jobs_settings.common
    fairshare.configure(jobs_settings.in_flight_per_user, jobs_settings.in_flight_per_user_by_family,
                        jobs_settings.in_flight_alone)
    if args.command == "queues":
        rows = asyncio.run(queue_depths(settings))
    elif args.command == "dead-letters":
        rows = asyncio.run(dead_letters(settings, args.queue, requeue=args.requeue, limit=args.limit))
    else:
        rows = asyncio.run(user_jobs(settings, args.user_id, cancel=args.cancel))
        rows = [{k: r[k] for k in ("id", "type", "status", "engine", "attempt", "created_at", "error")}
                for r in rows] if not args.json else rows
    _print(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
