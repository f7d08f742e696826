"""Object storage behind one interface: a local folder (default) or S3 (boto3; MinIO or AWS).

Keys follow DESIGN.md: `originals/<user>/<image>.<ext>`, `thumbs/<user>/<image>.webp`,
`results/<user>/<job>.png`. Writes are atomic: a reader sees the whole object or nothing.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from .settings import CommonSettings

KEY = re.compile(r"^[a-z]+(/[A-Za-z0-9._-]+)+$")


class StorageError(Exception):
    """The storage backend failed (transient: retry later)."""


class NotFound(KeyError):
    """No object under that key."""


def check_key(key: str) -> str:
    # Keys are built by the services from ids; refuse anything that could climb out of the store.
    if not KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class Storage(ABC):
    @abstractmethod
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    async def get(self, key: str) -> bytes: ...

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Delete; a missing key is not an error."""

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    async def check(self) -> None:  # noqa: B027  (optional hook)
        """Raise if the backend is unreachable (used by /readyz)."""

    async def close(self) -> None:  # noqa: B027  (optional hook; most backends hold nothing to close)
        return None


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise NotFound(key) from None

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"storage folder {self.root} is not writable")


class S3Storage(Storage):
    """boto3 is synchronous: every call runs in a thread so the event loop stays free."""

    def __init__(self, settings: CommonSettings) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = settings.s3_bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            region_name=settings.s3_region,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=30),
        )

    async def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        def create() -> None:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError:
                self.client.create_bucket(Bucket=self.bucket)

        await asyncio.to_thread(create)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._call("put_object", Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound(key) from None
            raise StorageError(str(exc)) from exc
        body: bytes = await asyncio.to_thread(response["Body"].read)
        return body

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=check_key(key))

    async def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=check_key(key))
            return True
        except ClientError:
            return False

    async def check(self) -> None:
        await self._call("head_bucket", Bucket=self.bucket)

    async def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(getattr(self.client, method), **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"{method}: {exc}") from exc


async def open_storage(settings: CommonSettings) -> Storage:
    if settings.storage_backend == "s3":
        storage = S3Storage(settings)
        await storage.ensure_bucket()
        return storage
    return LocalStorage(settings.storage_path)
