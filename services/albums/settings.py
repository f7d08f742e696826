"""Settings of the albums service (`RENOVO_ALBUMS_*`), built once at the entry point."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import CommonSettings

MB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENOVO_ALBUMS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8102
    max_file_bytes: int = 50 * MB
    """A file part larger than this is refused (`too_large`) without being buffered beyond the cap."""
    max_pixels: int = 50_000_000
    """Images over this many pixels (by their header, before decoding) are refused (`too_many_pixels`)."""
    max_files: int = 100
    """File parts per upload request."""
    thumbnail_size: int = 512
    """Thumbnails fit in a square of this side."""
    thumbnail_quality: int = 80
    decode_concurrency: int = 2
    """Images decoded at once per process: a 50-Mpixel decode holds up to a few hundred MB. Uploads wait for a
    slot with their file spooled to disk, so only these files are in memory, however many uploads arrive."""
    upload_spool_dir: str | None = None
    """Where uploaded files wait for their decode (the system's temporary folder by default)."""
    common: CommonSettings = Field(default_factory=CommonSettings)
