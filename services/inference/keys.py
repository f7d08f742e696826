"""The application keys the inference worker process sets in `create_app` (shared ones: shared/keys.py)."""

from __future__ import annotations

from aiohttp import web

from .worker import Worker

WORKER = web.AppKey("inference_worker", Worker)
"""The worker consuming this process's model families (stopped, with its grace, at shutdown)."""
