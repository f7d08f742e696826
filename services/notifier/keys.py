"""The application keys the notifier sets in `create_app` and its cleanup contexts (shared ones:
shared/keys.py)."""

from __future__ import annotations

from aiohttp import web

from .hub import Hub
from .mailer import Mailer
from .settings import Settings

SETTINGS = web.AppKey("settings", Settings)
HUB = web.AppKey("hub", Hub)
MAILER = web.AppKey("mailer", Mailer)
