from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import CommonSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENOVO_NOTIFIER_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8104
    auth_timeout: float = 5.0
    """Seconds a new socket has to authenticate with its first message."""
    max_sockets_per_user: int = 20
    instance: str = ""
    """Names this process's own queues and its presence row; a random name when empty."""
    common: CommonSettings = Field(default_factory=CommonSettings)
