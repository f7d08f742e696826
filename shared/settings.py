"""Settings shared by every service, read from `RENOVO_*` environment variables.

Each service has its own `Settings` (prefix `RENOVO_<SERVICE>_`) holding a `CommonSettings` for the values all
services share. Settings are built once at the entry point and passed down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "renovo-development-secret-change-me"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENOVO_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/renovo"
    db_pool_max: int = 10
    db_command_timeout: float = 10.0
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Names of the bus, so that test runs (and several installations on one broker) never see each other.
    exchange: str = "renovo.events"
    dead_exchange: str = "renovo.dead"
    queue_prefix: str = ""
    delivery_limit: int = 5
    jwt_secret: str = DEV_JWT_SECRET
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    storage_backend: Literal["local", "s3"] = "local"
    storage_path: Path = Path(".renovo/storage")
    s3_endpoint_url: str | None = None
    s3_bucket: str = "renovo"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "us-east-1"
    trusted_proxies: str = "127.0.0.1/32,::1/128"
    """Comma-separated addresses/networks of the proxies (gateway, ingress) whose X-Real-IP header names the client.
    A request from anywhere else is attributed to its own peer address, whatever its headers say."""
    # E-mail (the notifier sends, auth tells whether the preference is available): without smtp_host, none.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str = "Renovo <renovo@localhost>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    public_url: str = "http://127.0.0.1:8080"
    """The address people open Renovo at; links in e-mails start with it."""
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> CommonSettings:
        if self.env == "production" and (self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32):
            raise ValueError(
                "RENOVO_JWT_SECRET must be set to a random value of at least 32 characters in production"
            )
        return self
