from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import CommonSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENOVO_AUTH_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8101
    bcrypt_rounds: int = 12
    """12 takes about a quarter second on one core of this class of machine; tests lower it."""
    max_failures_per_account: int = 5
    max_failures_per_address: int = 20
    failure_window_seconds: int = 900
    common: CommonSettings = Field(default_factory=CommonSettings)
