from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import CommonSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENOVO_AUTH_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8101
    bcrypt_rounds: int = 12
    """12 takes about a quarter second on one core of this class of machine; tests lower it. Unknown accounts are
    checked against a hash of the same cost, so that both answer in the same time."""
    # Throttling of password checks (services/auth/throttle.py): free failures per key, then exponential back-off.
    max_failures_per_account: int = 5
    """Free failures of one address on one account."""
    max_failures_per_address: int = 20
    """Free failures of one address over all accounts."""
    max_failures_per_account_anywhere: int = 20
    """Free failures on one account from addresses it never logged in from."""
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 900.0
    failure_window_seconds: int = 900
    """A throttle key left alone this long starts again from zero."""
    known_address_days: int = 90
    failure_retention_seconds: int = 7 * 86400
    """Failed attempts are logged in auth.login_failures for this long."""
    refresh_grace_seconds: int = 86400
    """Expired refresh tokens are pruned this long after their expiry."""
    prune_interval_seconds: float = 3600.0
    common: CommonSettings = Field(default_factory=CommonSettings)
