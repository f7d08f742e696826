"""Object storage: the local folder and S3 (against a real moto S3 server in a subprocess), one contract."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.settings import CommonSettings
from shared.storage import LocalStorage, NotFound, S3Storage, Storage, StorageError, open_storage

BAD_KEYS = [
    "",
    "originals",
    "../secret",
    "originals/../../etc/passwd",
    "originals/..",
    "/etc/passwd",
    "originals//x.png",
    "originals/a b.png",
    "originals/x.png/",
    "Originals/x.png",
    "originals/x\x00.png",
    "originals\\..\\x.png",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server in its own process, on a free port, for this module."""
    port = _free_port()
    executable = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(executable), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def s3_settings(endpoint: str, bucket: str) -> CommonSettings:
    return CommonSettings(
        storage_backend="s3", s3_endpoint_url=endpoint, s3_bucket=bucket,
        s3_access_key="testing", s3_secret_key="testing", s3_region="us-east-1",
    )


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "local":
        local = CommonSettings(storage_backend="local", storage_path=tmp_path / "store")
        backend: Storage = await open_storage(local)
        assert isinstance(backend, LocalStorage)
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        backend = await open_storage(s3_settings(endpoint, f"renovo-{uuid.uuid4().hex[:12]}"))
        assert isinstance(backend, S3Storage)
    yield backend
    await backend.close()


async def test_put_get_exists_delete(storage: Storage) -> None:
    key = f"originals/{uuid.uuid4()}/{uuid.uuid4()}.png"
    assert not await storage.exists(key)
    with pytest.raises(NotFound):
        await storage.get(key)
    await storage.put(key, b"first", "image/png")
    assert await storage.exists(key)
    assert await storage.get(key) == b"first"
    await storage.put(key, b"second version", "image/png")  # overwrite
    assert await storage.get(key) == b"second version"
    await storage.put("thumbs/u/empty.webp", b"", "image/webp")
    assert await storage.get("thumbs/u/empty.webp") == b""
    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(NotFound):
        await storage.get(key)
    await storage.delete(key)  # deleting what is not there is not an error
    await storage.check()


async def test_large_object_roundtrip(storage: Storage) -> None:
    data = bytes(range(256)) * 40_000  # 10 MB
    await storage.put("results/u/job.png", data, "image/png")
    assert await storage.get("results/u/job.png") == data


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_keys_that_could_escape_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError):
        await storage.put(key, b"x", "text/plain")
    with pytest.raises(ValueError):
        await storage.get(key)
    with pytest.raises(ValueError):
        await storage.delete(key)
    with pytest.raises(ValueError):
        await storage.exists(key)


async def test_local_writes_stay_inside_and_are_atomic(tmp_path: Path) -> None:
    root = tmp_path / "store"
    storage = LocalStorage(root)
    for key in BAD_KEYS:
        with pytest.raises(ValueError):
            await storage.put(key, b"x", "text/plain")
    await storage.put("originals/u/a.jpg", b"jpeg", "image/jpeg")
    everything = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    # Only the object: no temporary files left beside it, nothing outside the root.
    assert everything == ["store/originals/u/a.jpg"]


async def test_s3_content_type_and_bucket_creation(moto_endpoint: str) -> None:
    bucket = f"renovo-{uuid.uuid4().hex[:12]}"
    storage = await open_storage(s3_settings(moto_endpoint, bucket))
    assert isinstance(storage, S3Storage)
    await storage.put("thumbs/u/i.webp", b"RIFF", "image/webp")
    head = storage.client.head_object(Bucket=bucket, Key="thumbs/u/i.webp")
    assert head["ContentType"] == "image/webp"
    # Opening again finds the bucket (and its objects) in place.
    again = await open_storage(s3_settings(moto_endpoint, bucket))
    assert await again.get("thumbs/u/i.webp") == b"RIFF"


async def test_s3_unreachable_is_a_storage_error() -> None:
    storage = S3Storage(s3_settings(f"http://127.0.0.1:{_free_port()}", "renovo"))
    started = time.monotonic()
    with pytest.raises(StorageError):
        await storage.check()
    with pytest.raises(StorageError):
        await storage.put("originals/u/x.png", b"x", "image/png")
    assert time.monotonic() - started < 15


async def test_streams_whole_objects_and_ranges_a_chunk_at_a_time(storage: Storage) -> None:
    from shared.storage import CHUNK

    key = f"results/{uuid.uuid4()}/{uuid.uuid4()}.png"
    data = bytes(range(256)) * (CHUNK // 256 * 3 + 7)  # three chunks and a bit
    await storage.put(key, data, "image/png")
    info = await storage.stat(key)
    assert info.size == len(data) and info.etag.startswith('"')
    stream = await storage.open(key)
    chunks = [chunk async for chunk in stream.chunks]
    assert b"".join(chunks) == data and max(len(c) for c in chunks) <= CHUNK
    assert stream.info == info and (stream.start, stream.end) == (0, len(data) - 1)
    part = await storage.open(key, 1000, 1000 + CHUNK + 10)
    assert b"".join([c async for c in part.chunks]) == data[1000:1000 + CHUNK + 11] and part.length == CHUNK + 11
    tail = await storage.open(key, len(data) - 5)
    assert b"".join([c async for c in tail.chunks]) == data[-5:]
    with pytest.raises(NotFound):
        await storage.stat(key + "x")
    with pytest.raises(NotFound):
        await storage.open(key + "x")
    # A new version has a new ETag.
    await storage.put(key, data[:10], "image/png")
    assert (await storage.stat(key)).etag != info.etag


async def test_put_file_stores_an_open_file(storage: Storage, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    source.write_bytes(b"spooled upload " * 1000)
    key = f"originals/{uuid.uuid4()}/{uuid.uuid4()}.png"
    with source.open("rb") as f:
        await storage.put_file(key, f, "image/png")
    assert await storage.get(key) == source.read_bytes()


async def test_s3_outage_is_a_storage_error_on_reads_too_and_startup_survives() -> None:
    """Endpoint down: every read is StorageError (answered 503), never a raw botocore error (500); the service
    starts anyway and /readyz names the bucket and the endpoint."""
    endpoint = f"http://127.0.0.1:{_free_port()}"
    storage = await open_storage(s3_settings(endpoint, "renovo"))
    for call in (storage.get, storage.stat, storage.open, storage.exists):
        with pytest.raises(StorageError) as caught:
            await call("results/u/x.png")
        assert "S3 bucket 'renovo' at " + endpoint in str(caught.value)


async def test_local_storage_errors_are_storage_errors(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    (tmp_path / "store" / "results").write_text("a file where a folder should be")
    with pytest.raises(StorageError):
        await storage.put("results/u/x.png", b"x", "image/png")
    with pytest.raises(StorageError):
        await storage.open("results/u/x.png")
