"""OldPhotoEngine: which implementation serves the `bopb` family, and what results report."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from services.inference.engine import InputError, RunContext
from services.inference.models.oldphoto import engine as oldphoto
from services.inference.models.oldphoto.engine import OldPhotoEngine

from .conftest import clean_crop


def test_without_official_checkpoints_renovo_serves(tmp_path: Path) -> None:
    engine = OldPhotoEngine(weights_dir=tmp_path)
    assert engine.family == "bopb"
    availability = engine.availability()
    assert availability.available and availability.engine == "renovo"


@pytest.mark.parametrize("type_name", ["restore", "restore_scratch"])
def test_renovo_result_says_renovo(tmp_path: Path, type_name: str) -> None:
    image = Image.fromarray(clean_crop("ADE_val_00000114.jpg", 64))
    result = OldPhotoEngine(weights_dir=tmp_path).run(image, type_name, {"face_enhance": False}, RunContext())
    assert result.engine == "renovo"
    assert result.image.size == image.size and result.image.mode == "RGB"


def test_registry_default_constructor_works() -> None:
    # The registry builds the engine with no arguments.
    assert OldPhotoEngine().availability().engine in ("bopb", "renovo")


def test_unknown_type_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        OldPhotoEngine(weights_dir=tmp_path).run(Image.new("RGB", (32, 32)), "sr", {}, RunContext())


def test_official_checkpoints_select_bopb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    class FakePipeline:
        def __init__(self, weights_dir: Path, device: str) -> None:
            assert weights_dir == tmp_path

        def restore(
            self, image: Image.Image, with_scratch: bool, face_enhance: bool, ctx: RunContext
        ) -> Image.Image:
            calls.append((with_scratch, face_enhance))
            return image

    fake = SimpleNamespace(bopb_available=lambda weights_dir: True, BopbPipeline=FakePipeline)
    monkeypatch.setattr(oldphoto, "_bopb_module", lambda: fake)
    engine = OldPhotoEngine(weights_dir=tmp_path)
    assert engine.availability().engine == "bopb"
    result = engine.run(Image.new("RGB", (32, 32)), "restore_scratch", {"face_enhance": True}, RunContext())
    assert result.engine == "bopb" and calls == [(True, True)]


def test_broken_bopb_module_falls_back_to_renovo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(weights_dir: Path) -> bool:
        raise RuntimeError("half-installed")

    monkeypatch.setattr(oldphoto, "_bopb_module", lambda: SimpleNamespace(bopb_available=broken))
    assert OldPhotoEngine(weights_dir=tmp_path).availability().engine == "renovo"
