"""Fixtures of the albums service tests: the app on the run's database, bus and storage; two users."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.albums.app import create_app
from services.albums.settings import Settings
from shared.settings import CommonSettings
from shared.tokens import issue_access_token

MAX_FILES = 20


@dataclass
class User:
    """A caller: its id and an HTTP client that sends its bearer token."""

    id: uuid.UUID
    client: Any
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response: aiohttp.ClientResponse = await self.client.request(method, path, headers=headers, **kwargs)
        return response

    async def upload(
        self,
        files: Iterable[Path | tuple[str, bytes]],
        album_id: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> aiohttp.ClientResponse:
        """POST /api/images with the files (paths, or (filename, bytes)) and an optional album_id part."""
        form = aiohttp.FormData()
        if album_id is not None:
            form.add_field("album_id", album_id)
        for item in files:
            name, data = (item.name, item.read_bytes()) if isinstance(item, Path) else item
            form.add_field("file", data, filename=name, content_type=content_type)
        return await self.call("POST", "/api/images", data=form)

    async def upload_raw(self, parts: list[tuple[str, str, bytes]]) -> aiohttp.ClientResponse:
        """POST /api/images with a hand-built multipart body of (name, raw filename parameters, data) parts:
        unlike FormData, it sends any filename, as a hostile client would."""
        boundary = "renovo-test-boundary"
        body = b""
        for name, params, data in parts:
            disposition = f'form-data; name="{name}"' + (f"; {params}" if params else "")
            body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return await self.call("POST", "/api/images", data=body, headers=headers)

    async def upload_ok(
        self, files: Iterable[Path | tuple[str, bytes]], album_id: str | None = None
    ) -> list[Any]:
        r = await self.upload(files, album_id)
        assert r.status == 201, await r.text()
        body = await r.json()
        assert body["rejected"] == []
        images: list[Any] = body["images"]
        return images

    async def album(self, name: str = "Holidays") -> dict[str, Any]:
        r = await self.call("POST", "/api/albums", json={"name": name})
        assert r.status == 201, await r.text()
        album: dict[str, Any] = await r.json()
        return album


@pytest.fixture
def settings(common_settings: CommonSettings) -> Settings:
    return Settings(common=common_settings, max_files=MAX_FILES)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> Any:
    return await aiohttp_client(create_app(settings))


def _user(client: Any, common_settings: CommonSettings) -> User:
    user_id = uuid.uuid4()
    return User(user_id, client, issue_access_token(common_settings.jwt_secret, user_id, 600))


@pytest.fixture
def user(client: Any, common_settings: CommonSettings) -> User:
    return _user(client, common_settings)


@pytest.fixture
def other(client: Any, common_settings: CommonSettings) -> User:
    return _user(client, common_settings)
