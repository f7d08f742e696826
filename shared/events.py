"""Event types, payloads and names on the bus, defined once (DESIGN.md, Events).

Every message is the JSON envelope `{id, type, version, occurred_at, correlation_id, user_id, payload}`,
persistent, with `message_id` = the event id and the routing key = the type.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .enhancements import FAMILIES


class EventType(StrEnum):
    USER_REGISTERED = "user.registered"
    USER_UPDATED = "user.updated"
    ALBUM_CREATED = "album.created"
    ALBUM_DELETED = "album.deleted"
    IMAGE_UPLOADED = "image.uploaded"
    IMAGE_DELETED = "image.deleted"
    JOB_STARTED = "job.started"
    JOB_PROGRESS = "job.progress"
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"
    JOB_UPDATED = "job.updated"
    """The jobs service recorded a change of a job (the notifier forwards these, and only these)."""
    JOB_CLAIM = "job.claim"
    """A worker asks the jobs service whether it may run one attempt (answered with job.claimed)."""
    JOB_CLAIMED = "job.claimed"
    """The jobs service's answer to job.claim, sent to the asking worker's control queue."""
    SESSION_REVOKED = "session.revoked"
    BATCH_FINISHED = "batch.finished"


class JobState(StrEnum):
    """A job's status as the jobs service records it (and as the API shows it)."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
TERMINAL_STATES = (JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED)


JOB_REQUESTED_PREFIX = "job.requested."


def job_requested(family: str) -> str:
    """Routing key (and event type) of a request for one engine family."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    return JOB_REQUESTED_PREFIX + family


# Events the worker reports back; the jobs service records them, the notifier forwards them.
JOB_STATUS_EVENTS = (
    EventType.JOB_STARTED,
    EventType.JOB_PROGRESS,
    EventType.JOB_COMPLETED,
    EventType.JOB_FAILED,
)


def now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """The message on the wire."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=now)
    correlation_id: str | None = None
    user_id: uuid.UUID | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


# Payloads, versioned with the envelope. Extra fields are allowed so that producers can grow them.


class Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class UserRegistered(Payload):
    email: str


class UserUpdated(Payload):
    """`user.updated`: the user's address and preferences as they are now (the notifier keeps a copy)."""

    email: str
    display_name: str | None = None
    preferences: dict[str, Any] = Field(default_factory=dict)


class SessionEndReason(StrEnum):
    """Why auth ended sessions (`session.revoked`'s `reason`)."""

    LOGOUT = "logout"
    PASSWORD_CHANGED = "password_changed"
    """Every session of the user but the one that changed the password."""
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"
    """A rotated refresh token was presented again: its whole family (session) ends."""


class SessionRevoked(Payload):
    """Sessions (refresh-token families) ended by logout, a password change or refresh-token reuse: the notifier
    closes their sockets. `session_ids` names them; with `all_sessions`, every session of the user ends but
    `keep_session_id` (the one that changed the password)."""

    session_ids: list[uuid.UUID] = Field(default_factory=list)
    all_sessions: bool = False
    keep_session_id: uuid.UUID | None = None
    reason: str
    """A SessionEndReason (a plain string here, so that a reason added later does not make the event unreadable)."""


class AlbumEvent(Payload):
    album_id: uuid.UUID


class ImageEvent(Payload):
    image_id: uuid.UUID
    album_id: uuid.UUID | None = None


class JobRequested(Payload):
    job_id: uuid.UUID
    image_id: uuid.UUID
    type: str
    options: dict[str, Any]
    attempt: int
    source_key: str
    result_key: str
    output: dict[str, Any] | None = None
    """`{format: auto|png|webp|jpeg, quality, flatten}` (None: auto); the worker names the stored result
    `result_key` with the extension of the format it wrote and reports that key with job.completed."""


class JobStatus(Payload):
    """job.started / progress / completed / failed / cancelled."""

    job_id: uuid.UUID
    image_id: uuid.UUID
    attempt: int = 1
    status: str
    progress: float | None = None
    engine: str | None = None
    error: str | None = None
    result_key: str | None = None
    width: int | None = None
    height: int | None = None
    eta_seconds: float | None = None
    """job.progress: the worker's estimate of the seconds left (None until it can tell)."""
    content_type: str | None = None
    """job.completed: the stored result's media type (image/png, image/webp, image/jpeg)."""
    notes: list[str] | None = None
    """job.completed: what a person should know about the result, in plain sentences from the engine (a stage
    skipped and why, e.g. line art kept its lines instead of having them taken for scratches)."""


class BatchFinished(Payload):
    """`batch.finished` (published by the jobs service): every job of a batch — or a job requested alone,
    then `batch_id` is None — has ended. The notifier e-mails owners who are away from it."""

    batch_id: uuid.UUID | None = None
    album_id: uuid.UUID | None = None
    jobs: list[dict[str, Any]]
    """`{job_id, image_id, type, status}` of each job of the batch (at most 1000)."""


class JobUpdated(JobStatus):
    """job.updated: what the jobs service recorded; `change` is the socket message type (job.started, …)."""

    change: str


class JobClaim(Payload):
    """job.claim: may this worker run this attempt now?"""

    job_id: uuid.UUID
    attempt: int
    worker: str
    redelivered: bool = False
    """The broker gave this request back (its earlier consumer died or handed it back), rather than it being a
    second copy of one another worker holds."""


class JobClaimed(Payload):
    """job.claimed: the answer. `run` false means the attempt is cancelled, superseded or finished."""

    job_id: uuid.UUID
    attempt: int
    run: bool
    status: str | None = None


def make_event(
    type_: str,
    payload: BaseModel,
    *,
    user_id: uuid.UUID | None,
    correlation_id: str | None,
) -> Envelope:
    return Envelope(
        type=type_,
        user_id=user_id,
        correlation_id=correlation_id,
        payload=payload.model_dump(mode="json"),
    )


class Names:
    """Exchange and queue names of one installation (tests give each run its own)."""

    def __init__(self, exchange: str, dead_exchange: str, queue_prefix: str = "") -> None:
        self.exchange = exchange
        self.dead_exchange = dead_exchange
        self.prefix = queue_prefix

    def inference_queue(self, family: str) -> str:
        return f"{self.prefix}inference.{family}"

    @property
    def jobs_status_queue(self) -> str:
        return f"{self.prefix}jobs.status"

    @property
    def jobs_dead_queue(self) -> str:
        """Where the jobs service learns about dead-lettered inference requests."""
        return f"{self.prefix}jobs.dead-requests"

    @property
    def jobs_images_queue(self) -> str:
        """Where the jobs service learns that an image is gone (its jobs and results go with it)."""
        return f"{self.prefix}jobs.images"

    @property
    def jobs_claims_queue(self) -> str:
        """Where workers ask the jobs service whether they may run an attempt (job.claim)."""
        return f"{self.prefix}jobs.claims"

    @property
    def jobs_dead_events_queue(self) -> str:
        """Where the jobs service re-applies status and image events that were dead-lettered."""
        return f"{self.prefix}jobs.dead-events"

    def notifier_queue(self, instance: str) -> str:
        return f"{self.prefix}notifier.{instance}"

    @property
    def notifier_mail_queue(self) -> str:
        """Shared by the notifier replicas: finished batches to announce by e-mail (one replica each)."""
        return f"{self.prefix}notifier.mail"

    @property
    def notifier_users_queue(self) -> str:
        """Shared by the notifier replicas: users' e-mail addresses and preferences."""
        return f"{self.prefix}notifier.users"

    def inference_control_queue(self, instance: str) -> str:
        return f"{self.prefix}inference-control.{instance}"

    def dead_queue(self, queue: str) -> str:
        return f"{self.prefix}renovo.dead.{queue.removeprefix(self.prefix)}"
