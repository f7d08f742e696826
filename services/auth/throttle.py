"""Throttling of password checks (login and `PATCH /api/auth/me`): per account *and* address, with exponential
back-off instead of a hard lock.

Every attempt is charged *before* the password is checked, in one transaction that locks the attempt's keys
(rows of `auth.login_throttle`, in a fixed order): parallel attempts queue on the locks and each sees the
charges of those before it, so a burst cannot slip past the check while bcrypt runs. A success refunds its
charge. Keys, each with its own number of free failures before back-off starts:

- `pair:<email> <address>`: one address guessing at one account (`max_failures_per_account`);
- `address:<address>`: one address guessing at many accounts (`max_failures_per_address`);
- `account:<email>`: many addresses guessing at one account (`max_failures_per_account_anywhere`). It does not
  apply to addresses the account has logged in from before (`auth.known_addresses`): a stranger failing on
  purpose slows down other strangers, not the owner on their own devices.

Once a key is over its free failures, each further failure doubles its wait (`backoff_base_seconds` up to
`backoff_max_seconds`); an attempt during the wait is refused with 429 and `Retry-After`, and is not counted.
A key left alone for `failure_window_seconds` is forgotten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from prometheus_client import Counter

from . import store
from .settings import Settings

THROTTLED = Counter("renovo_auth_throttled_total", "Password checks refused by back-off, by key kind", ["kind"])
for _kind in ("pair", "address", "account"):
    THROTTLED.labels(_kind)


@dataclass(frozen=True)
class Attempt:
    """The keys an attempt was charged to (refunded on success)."""

    email: str
    address: str
    keys: tuple[str, ...]


class Throttled(Exception):
    def __init__(self, retry_after: int, kind: str) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after
        self.kind = kind


def _keys(settings: Settings, email: str, address: str, known: bool) -> dict[str, int]:
    keys = {f"pair:{email} {address}": settings.max_failures_per_account,
            f"address:{address}": settings.max_failures_per_address}
    if not known:
        keys[f"account:{email}"] = settings.max_failures_per_account_anywhere
    return keys


def backoff(settings: Settings, over: int) -> float:
    """Seconds to wait after the `over`-th failure beyond the free ones (0-based)."""
    return float(min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** min(over, 40)))


async def charge(conn: asyncpg.Connection, settings: Settings, email: str, address: str) -> Attempt:
    """Count one attempt against its keys before the password is checked; raises Throttled while a key waits."""
    async with conn.transaction():
        known = await store.address_known(conn, email, address, settings.known_address_days)
        free = _keys(settings, email, address, known)
        names = sorted(free)
        rows = await store.lock_throttle_keys(conn, names)
        now: datetime = rows[0]["now"]
        window = timedelta(seconds=settings.failure_window_seconds)
        waits = [(row["blocked_until"] - now, row["key"]) for row in rows
                 if row["blocked_until"] is not None and row["blocked_until"] > now
                 and row["updated_at"] > now - window]
        if waits:
            wait, key = max(waits)
            kind = key.split(":", 1)[0]
            THROTTLED.labels(kind).inc()
            raise Throttled(max(1, math.ceil(wait.total_seconds())), kind)
        for row in rows:
            failures = 0 if row["updated_at"] <= now - window else row["failures"]
            failures += 1
            limit = free[row["key"]]
            blocked = now + timedelta(seconds=backoff(settings, failures - limit)) if failures >= limit else None
            await store.set_throttle(conn, row["key"], failures, blocked, now)
    return Attempt(email, address, tuple(names))


async def succeeded(conn: asyncpg.Connection, settings: Settings, attempt: Attempt) -> None:
    """The password was right: forget the account's failures, give the address its charge back, and remember the
    address as one the account uses."""
    async with conn.transaction():
        for key in attempt.keys:
            if key.startswith("address:"):
                await store.refund_throttle(conn, key, settings.max_failures_per_address)
            else:
                await store.forget_throttle(conn, key)
        await store.remember_address(conn, attempt.email, attempt.address)


async def failed(conn: asyncpg.Connection, attempt: Attempt) -> None:
    """The password was wrong: the charge stands; the failure is logged (pruned after the retention)."""
    await store.log_failure(conn, attempt.email[:320], attempt.address)


async def prune(conn: asyncpg.Connection, settings: Settings) -> dict[str, int]:
    """Delete what no longer matters (store.prune), at the ages the settings give."""
    return await store.prune(
        conn, refresh_grace=float(settings.refresh_grace_seconds),
        failure_window=float(settings.failure_window_seconds),
        failure_retention=float(settings.failure_retention_seconds),
        known_address=float(settings.known_address_days * 86400),
    )
