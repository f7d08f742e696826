"""Fetch the official BOPB checkpoints (`make weights`), verify them, and unpack them into weights/bopb.

Source: the release assets named by the official README (microsoft/Bringing-Old-Photos-Back-to-Life, tag
v1.0): `global_checkpoints.zip` (unzipped upstream inside `Global/`) and `face_checkpoints.zip` (inside
`Face_Enhancement/`). Upstream publishes no sizes or checksums, and the archives were never available where
this was written, so none are pinned: each archive is checked by its zip CRCs, by the presence of every
expected file, and by a strict load of every checkpoint into our networks. The sha256 and size of what was
downloaded are printed so that an operator can pin them (`--sha256 NAME=HEX`).

All-or-nothing: archives are downloaded and unpacked in a temporary folder beside the destination and moved
into place only when everything verified. Without internet (or with an unreachable `--base-url`) it prints
what failed and changes nothing.

Exit status: 0 done (or already installed); 2 a download failed (no internet, unreachable, HTTP error) —
0 instead with `--offline-ok`, for callers that treat the official weights as optional; 1 an archive was
downloaded but failed verification.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/fetch_weights.py` from anywhere
    sys.path.insert(0, str(ROOT))

from services.inference.models.bopb.weights import (  # noqa: E402
    FACE_FILES,
    GLOBAL_FILES,
    CheckpointError,
    build_network,
    read_state_dict,
)

OFFICIAL_BASE_URL = "https://github.com/microsoft/Bringing-Old-Photos-Back-to-Life/releases/download/v1.0"
BASE_URL_ENV = "RENOVO_BOPB_WEIGHTS_URL"
"""Overrides the base URL (a mirror, or an unreachable address in tests)."""


@dataclass(frozen=True)
class Archive:
    """One release asset: its file name, the folder upstream unzips it in, and the files it must hold."""

    name: str
    subdir: str
    files: dict[str, str]


ARCHIVES = (
    Archive("global_checkpoints.zip", "Global", GLOBAL_FILES),
    Archive("face_checkpoints.zip", "Face_Enhancement", FACE_FILES),
)


class FetchError(Exception):
    """A download failed: nothing was changed."""


class VerifyError(Exception):
    """A downloaded archive is not what it should be: nothing was changed."""


def download(url: str, dest: Path, timeout: float) -> tuple[int, str]:
    """Stream `url` to `dest`; return (size, sha256). Raises FetchError on any network or HTTP failure."""
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, dest.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if total and sys.stderr.isatty():
                    print(f"\r  {size / total:6.1%} of {total / 1e6:.0f} MB", end="", file=sys.stderr)
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        raise FetchError(f"cannot download {url}: {getattr(exc, 'reason', exc)}") from exc
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return size, digest.hexdigest()


def unpack(archive: Archive, zip_path: Path, staging: Path) -> None:
    """Extract into `staging` in the official layout, refusing members that would escape it."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise VerifyError(f"{archive.name}: CRC error in {bad}")
            names = [n for n in zf.namelist() if not n.endswith("/")]
            # Upstream's archives hold `checkpoints/...` and are unzipped inside Global/ or Face_Enhancement/;
            # accept archives that already carry that folder too.
            prefix = "" if any(n.startswith(archive.subdir + "/") for n in names) else archive.subdir + "/"
            for name in names:
                rel = PurePosixPath(prefix + name)
                if rel.is_absolute() or ".." in rel.parts:
                    raise VerifyError(f"{archive.name}: unsafe member {name!r}")
                target = staging.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(name) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as exc:
        raise VerifyError(f"{archive.name}: not a zip archive ({exc})") from exc


def verify(archive: Archive, staging: Path) -> None:
    """Every expected checkpoint is there and loads strictly into its network."""
    for name, rel in archive.files.items():
        path = staging / rel
        if not path.is_file():
            raise VerifyError(f"{archive.name}: {rel} missing from the archive")
        try:
            build_network(name, read_state_dict(path))
        except CheckpointError as exc:
            raise VerifyError(f"{archive.name}: {exc}") from exc


def installed(dest: Path, archive: Archive) -> bool:
    return all((dest / rel).is_file() for rel in archive.files.values())


def fetch(dest: Path, base_url: str, timeout: float, force: bool, pinned: dict[str, str]) -> None:
    """Download, verify and install every archive not yet installed; all-or-nothing."""
    todo = [a for a in ARCHIVES if force or not installed(dest, a)]
    if not todo:
        print(f"BOPB checkpoints already installed in {dest}")
        return
    # Stage beside the destination so the final moves are renames; if its parent does not exist yet, stage
    # in the system's temporary folder rather than create anything before the download succeeded.
    stage_in = dest.parent if dest.parent.is_dir() else None
    with tempfile.TemporaryDirectory(prefix=".bopb-fetch-", dir=stage_in) as tmp:
        staging = Path(tmp) / "bopb"
        for archive in todo:
            url = f"{base_url.rstrip('/')}/{archive.name}"
            print(f"downloading {url}")
            zip_path = Path(tmp) / archive.name
            size, sha = download(url, zip_path, timeout)
            print(f"  {archive.name}: {size} bytes, sha256 {sha}")
            if archive.name in pinned and pinned[archive.name] != sha:
                raise VerifyError(
                    f"{archive.name}: sha256 {sha} differs from the pinned {pinned[archive.name]}"
                )
            unpack(archive, zip_path, staging)
            zip_path.unlink()
            verify(archive, staging)
        # Everything verified: move the files into place (renames when staged beside the destination).
        for archive in todo:
            for rel in archive.files.values():
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(staging / rel, target)
    print(f"BOPB checkpoints installed in {dest}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dest", type=Path, default=ROOT / "weights" / "bopb", help="weights/bopb by default"
    )
    parser.add_argument("--base-url", default=os.environ.get(BASE_URL_ENV, OFFICIAL_BASE_URL))
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds without data before giving up")
    parser.add_argument("--force", action="store_true", help="download even if the files are installed")
    parser.add_argument("--offline-ok", action="store_true", help="exit 0 when the download is impossible")
    parser.add_argument("--sha256", action="append", default=[], metavar="NAME=HEX", help="pin an archive")
    args = parser.parse_args(argv)
    pinned = dict(item.split("=", 1) for item in args.sha256)
    try:
        fetch(args.dest, args.base_url, args.timeout, args.force, pinned)
    except FetchError as exc:
        print(
            f"renovo: the official BOPB checkpoints could not be downloaded ({exc}). This machine may have "
            "no internet access. Nothing was changed; old-photo restoration uses Renovo's own engine until "
            "they are installed.",
            file=sys.stderr,
        )
        return 0 if args.offline_ok else 2
    except VerifyError as exc:
        print(f"renovo: BOPB archive rejected: {exc}. Nothing was changed.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
