"""Object storage behind one interface: a local folder (default) or S3 (boto3; MinIO or AWS).

Keys follow DESIGN.md: `originals/<user>/<image>.<ext>`, `thumbs/<user>/<image>.webp`,
`results/<user>/<job>.png`. Writes are atomic: a reader sees the whole object or nothing.

Reads stream: `open(key, start, end)` gives the object's size and ETag and an iterator of chunks of at most
`CHUNK` bytes over the requested byte range, so that a download holds one chunk at a time, whatever its size.
A backend that fails (folder unreadable, endpoint down, credentials refused) raises StorageError, which the
services answer with 503; a missing object raises NotFound.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from .settings import CommonSettings

KEY = re.compile(r"^[a-z]+(/[A-Za-z0-9._-]+)+$")
CHUNK = 256 * 1024
T = TypeVar("T")


class StorageError(Exception):
    """The storage backend failed (transient: retry later)."""


class NotFound(KeyError):
    """No object under that key."""


def check_key(key: str) -> str:
    # Keys are built by the services from ids; refuse anything that could climb out of the store.
    if not KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    """A strong validator of the object's bytes, quoted as in an HTTP ETag header."""


@dataclass
class ObjectStream:
    """One byte range of an object (`start` to `end`, inclusive) and the chunks that carry it."""

    info: ObjectInfo
    start: int
    end: int
    chunks: AsyncGenerator[bytes, None]
    """Close it (`aclose`) when not read to the end, so that its file or connection is released at once."""

    @property
    def length(self) -> int:
        return max(0, self.end - self.start + 1)


class Storage(ABC):
    description = "storage"
    """What /readyz and 503 answers name: the backend and where it is."""

    @abstractmethod
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    async def put_file(self, key: str, file: IO[bytes], content_type: str) -> None:
        """Store the rest of an open binary file, without reading it into memory at once."""

    @abstractmethod
    async def get(self, key: str) -> bytes:
        """The whole object in memory: for small objects only (streams: `open`)."""

    @abstractmethod
    async def stat(self, key: str) -> ObjectInfo: ...

    @abstractmethod
    async def open(self, key: str, start: int = 0, end: int | None = None) -> ObjectStream:
        """Stream bytes `start`…`end` (inclusive; None: to the end) of the object; raises NotFound."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Delete; a missing key is not an error."""

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    async def check(self) -> None:  # noqa: B027  (optional hook)
        """Raise if the backend is unreachable (used by /readyz)."""

    async def close(self) -> None:  # noqa: B027  (optional hook; most backends hold nothing to close)
        return None


async def _io(function: Callable[..., T], *args: Any) -> T:
    """A blocking file call in a thread, its OS errors (other than a missing file) as StorageError."""
    try:
        return await asyncio.to_thread(function, *args)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageError(f"{type(exc).__name__}: {exc}") from exc


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.description = f"local storage folder {self.root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _write(self, key: str, write: Callable[[IO[bytes]], object]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await _io(self._write, key, lambda f: f.write(data))

    async def put_file(self, key: str, file: IO[bytes], content_type: str) -> None:
        await _io(self._write, key, lambda f: shutil.copyfileobj(file, f, CHUNK))

    async def get(self, key: str) -> bytes:
        try:
            return await _io(self._path(key).read_bytes)
        except FileNotFoundError:
            raise NotFound(key) from None

    def _stat(self, key: str) -> ObjectInfo:
        st = os.stat(self._path(key))
        # Objects are replaced, never rewritten in place: size, time and inode change with the bytes.
        tag = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode()).hexdigest()[:32]
        return ObjectInfo(size=st.st_size, etag=f'"{tag}"')

    async def stat(self, key: str) -> ObjectInfo:
        try:
            return await _io(self._stat, key)
        except FileNotFoundError:
            raise NotFound(key) from None

    async def open(self, key: str, start: int = 0, end: int | None = None) -> ObjectStream:
        path = self._path(key)
        try:
            f: IO[bytes] = await _io(open, path, "rb")
        except FileNotFoundError:
            raise NotFound(key) from None
        try:
            st = await _io(os.fstat, f.fileno())
            tag = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode()).hexdigest()[:32]
            info = ObjectInfo(size=st.st_size, etag=f'"{tag}"')
            last = info.size - 1 if end is None else min(end, info.size - 1)
            await _io(f.seek, start)
        except BaseException:
            f.close()
            raise

        async def chunks() -> AsyncGenerator[bytes, None]:
            try:
                left = last - start + 1
                while left > 0:
                    chunk = await _io(f.read, min(CHUNK, left))
                    if not chunk:
                        break
                    left -= len(chunk)
                    yield chunk
            finally:
                f.close()

        return ObjectStream(info, start, last, chunks())

    async def delete(self, key: str) -> None:
        await _io(self._path(key).unlink, True)

    async def exists(self, key: str) -> bool:
        return await _io(self._path(key).is_file)

    async def check(self) -> None:
        if not os.access(self.root, os.W_OK) or not self.root.is_dir():
            raise StorageError(f"{self.description} is not writable")


_MISSING = ("NoSuchKey", "404", "NotFound")


class S3Storage(Storage):
    """boto3 is synchronous: every call runs in a thread so the event loop stays free."""

    def __init__(self, settings: CommonSettings) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = settings.s3_bucket
        self.description = f"S3 bucket {self.bucket!r} at {settings.s3_endpoint_url or 'AWS ' + settings.s3_region}"
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

        await self._run(create)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._call("put_object", Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type)

    async def put_file(self, key: str, file: IO[bytes], content_type: str) -> None:
        # Multipart for large files, a part at a time.
        await self._call("upload_fileobj", file, self.bucket, check_key(key), ExtraArgs={"ContentType": content_type})

    async def get(self, key: str) -> bytes:
        stream = await self.open(key)
        return b"".join([chunk async for chunk in stream.chunks])

    async def stat(self, key: str) -> ObjectInfo:
        head = await self._call("head_object", Bucket=self.bucket, Key=check_key(key), missing=key)
        return ObjectInfo(size=int(head["ContentLength"]), etag=str(head.get("ETag") or '""'))

    async def open(self, key: str, start: int = 0, end: int | None = None) -> ObjectStream:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": check_key(key)}
        if start or end is not None:
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end}"
        response = await self._call("get_object", missing=key, **kwargs)
        length = int(response["ContentLength"])
        size = length
        if "ContentRange" in response:  # "bytes a-b/size"
            size = int(str(response["ContentRange"]).rsplit("/", 1)[1])
        info = ObjectInfo(size=size, etag=str(response.get("ETag") or '""'))
        body = response["Body"]

        async def chunks() -> AsyncGenerator[bytes, None]:
            try:
                while True:
                    chunk = await self._run(body.read, CHUNK)
                    if not chunk:
                        break
                    yield chunk
            finally:
                body.close()

        return ObjectStream(info, start, start + length - 1, chunks())

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=check_key(key))

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
            return True
        except NotFound:
            return False

    async def check(self) -> None:
        await self._call("head_bucket", Bucket=self.bucket)

    async def _run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageError(f"{self.description}: {exc}") from exc

    async def _call(self, method: str, *args: Any, missing: str | None = None, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return await asyncio.to_thread(getattr(self.client, method), *args, **kwargs)
        except ClientError as exc:
            if missing is not None and exc.response.get("Error", {}).get("Code") in _MISSING:
                raise NotFound(missing) from None
            raise StorageError(f"{self.description}: {method}: {exc}") from exc
        except Exception as exc:  # BotoCoreError (endpoint down, timeouts, credentials), OSError
            raise StorageError(f"{self.description}: {method}: {exc}") from exc


async def open_storage(settings: CommonSettings) -> Storage:
    if settings.storage_backend == "s3":
        storage = S3Storage(settings)
        try:
            await storage.ensure_bucket()
        except StorageError as exc:
            # Start anyway: /readyz reports the storage, requests that need it answer 503 until it is back.
            import structlog

            structlog.get_logger(__name__).warning("storage.unavailable_at_start", error=str(exc))
        return storage
    return LocalStorage(settings.storage_path)
