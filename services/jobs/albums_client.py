"""The synchronous question the jobs service asks the albums service: is this image the caller's?

Asked over HTTP with the caller's own token, so the albums service applies its own ownership rule; no table
is shared. Asking at request time (not from a replica fed by events) means a job requested right after the
upload's answer always finds its image.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import aiohttp

from shared.http import ApiError, unavailable


@dataclass(frozen=True)
class ImageRef:
    id: uuid.UUID
    storage_key: str
    width: int
    height: int
    filename: str | None = None
    album_id: uuid.UUID | None = None
    content_type: str | None = None


class AlbumsClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10, connect=2))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def image(self, image_id: uuid.UUID, authorization: str, correlation_id: str | None) -> ImageRef:
        assert self._session is not None
        headers = {"Authorization": authorization}
        if correlation_id:
            headers["X-Request-Id"] = correlation_id
        try:
            async with self._session.get(f"{self.base_url}/api/images/{image_id}", headers=headers) as response:
                if response.status in (401, 403, 404):
                    raise ApiError(404, "not_found", "image not found")
                if response.status != 200:
                    raise unavailable("the albums service")
                body = await response.json()
        except (aiohttp.ClientError, TimeoutError):
            raise unavailable("the albums service") from None
        return ImageRef(uuid.UUID(body["id"]), body["storage_key"], int(body["width"]), int(body["height"]),
                        body.get("filename"), uuid.UUID(body["album_id"]) if body.get("album_id") else None,
                        body.get("content_type"))
