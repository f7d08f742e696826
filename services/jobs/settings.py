from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import CommonSettings
from shared.weights import DEFAULT_WEIGHTS_DIR


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENOVO_JOBS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8103
    albums_url: str = "http://127.0.0.1:8102"
    """Where the albums service answers; the jobs service asks it whether an image is the caller's."""
    stale_after_seconds: float = 300.0
    """A running job that reported nothing for this long is requeued (or failed after max_attempts)."""
    sweep_interval_seconds: float = 30.0
    batch_overdue_seconds: float = 300.0
    """A batch short of its announced size is announced this long after its last job was asked for."""
    max_attempts: int = 3
    in_flight_per_user: int = 2
    """Fair share: while other users have work in a model family, jobs of one user and that family released
    to the workers at once; the rest wait in the jobs service for their turn (`RENOVO_JOBS_IN_FLIGHT_PER_USER`).
    Another user's job waits behind at most this many of each user's jobs."""
    in_flight_per_user_by_family: dict[str, int] = Field(default_factory=dict)
    """Per-family overrides of that bound, JSON (`RENOVO_JOBS_IN_FLIGHT_PER_USER_BY_FAMILY='{"realsr": 1}'`)."""
    in_flight_alone: int = 2
    """A user alone with a family (nobody else's jobs queued or running there) may have this many in flight
    (`RENOVO_JOBS_IN_FLIGHT_ALONE`). Raise it where a family has many workers, so that one person's batch keeps
    them busy; the cost is that another user's first job then shares the workers with that many (on a 2-core
    machine 8 made B's photo 3.8x slower than idle, 2 made it 1.6x: bench/load_bench.py)."""
    unclaimed_after_seconds: float = 6 * 3600.0
    """A released request no worker claimed for this long is taken for lost and requested again (a new attempt).
    Longer than any honest wait in a family's queue."""
    release_interval_seconds: float = 2.0
    """How often held jobs are released as a safety net (releases normally follow each change at once)."""
    weights_dir: Path = DEFAULT_WEIGHTS_DIR
    """The weights folder (`RENOVO_JOBS_WEIGHTS_DIR`), the inference workers' one: whether BOPB's official
    checkpoints are there decides which engine `GET /api/models` names for old photos."""
    common: CommonSettings = Field(default_factory=CommonSettings)
