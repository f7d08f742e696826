"""What the auth service publishes (through its outbox, in the transaction of the change): user.registered,
user.updated (the notifier keeps a copy of the address and the e-mail preference), session.revoked (the notifier
closes the sockets of ended sessions).

It consumes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.events import (
    Envelope,
    EventType,
    SessionEndReason,
    SessionRevoked,
    UserRegistered,
    UserUpdated,
    make_event,
)
from shared.http import correlation_id


def user_registered(user_id: uuid.UUID, email: str) -> Envelope:
    """user.registered, with the (normalised) address."""
    return make_event(EventType.USER_REGISTERED, UserRegistered(email=email), user_id=user_id,
                      correlation_id=correlation_id())


def user_updated(user_id: uuid.UUID, user: dict[str, Any]) -> Envelope:
    """user.updated, with the address, display name and preferences as they are now (`user` as store.user_json)."""
    return make_event(
        EventType.USER_UPDATED,
        UserUpdated(email=user["email"], display_name=user["display_name"], preferences=user["preferences"] or {}),
        user_id=user_id, correlation_id=correlation_id(),
    )


def sessions_revoked(user_id: uuid.UUID, reason: SessionEndReason, *, session_ids: list[uuid.UUID] | None = None,
                     keep: uuid.UUID | None = None) -> Envelope:
    """session.revoked: the sessions named, or with `session_ids` None every session of the user but `keep`."""
    payload = SessionRevoked(session_ids=session_ids or [], all_sessions=session_ids is None, keep_session_id=keep,
                             reason=reason)
    return make_event(EventType.SESSION_REVOKED, payload, user_id=user_id, correlation_id=correlation_id())
