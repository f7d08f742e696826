from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import CommonSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENOVO_JOBS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8103
    albums_url: str = "http://127.0.0.1:8102"
    """Where the albums service answers; the jobs service asks it whether an image is the caller's."""
    stale_after_seconds: float = 300.0
    """A running job that reported nothing for this long is requeued (or failed after max_attempts)."""
    sweep_interval_seconds: float = 30.0
    max_attempts: int = 3
    weights_dir: str = "weights"
    common: CommonSettings = Field(default_factory=CommonSettings)
