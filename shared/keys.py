"""The typed application keys that shared code sets, in one place.

The convention (README, For developers): the keys shared code sets live here — `base_app` (shared/http.py)
sets JWT_SECRET and READY_CHECKS, the cleanup contexts of shared/service.py set POOL, BUS, STORAGE and RELAY.
The keys a service sets in its own `create_app` live in that service's `keys.py`. Modules import a key from
where it is defined, never from a module that merely uses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web

from .bus import Bus
from .outbox import Relay
from .storage import Storage

ReadyCheck = Callable[[], Awaitable[None]]
"""Raises when a dependency is unreachable; `/readyz` runs every check the app has registered."""

JWT_SECRET = web.AppKey("jwt_secret", str)
READY_CHECKS = web.AppKey[dict[str, ReadyCheck]]("ready_checks")
POOL = web.AppKey("pool", asyncpg.Pool)
BUS = web.AppKey("bus", Bus)
STORAGE = web.AppKey("storage", Storage)
RELAY = web.AppKey("relay", Relay)
