"""The weights folder comes from the worker's settings: the registry hands it to the old-photo engine, and the
scratch net is read from that folder (not from one computed beside the code)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from services.inference.engine import RunContext
from services.inference.models.oldphoto import restore_array, scratch_net
from services.inference.models.oldphoto.synthetic import damage
from services.inference.registry import Registry
from services.inference.settings import DEFAULT_WEIGHTS_DIR, Settings

from .conftest import CASE_SEED, clean_crop


def _write_net(folder: Path, bias: float) -> None:
    """A scratch net whose every pixel scores `bias` (logit): +20 calls everything a scratch, −20 nothing."""
    net = scratch_net.ScratchNet()
    with torch.no_grad():
        last = net.body[-1]
        assert isinstance(last, torch.nn.Conv2d) and last.bias is not None
        last.weight.zero_()
        last.bias.fill_(bias)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), scratch_net.weights_path(folder))


def test_settings_weights_dir_reaches_the_old_photo_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENOVO_INFERENCE_WEIGHTS_DIR", str(tmp_path))
    settings = Settings()
    assert settings.weights_dir == tmp_path
    engine = Registry(families=("bopb",), weights_dir=settings.weights_dir).engine("bopb")
    assert getattr(engine, "weights_dir", None) == tmp_path


def test_default_weights_dir_is_the_repositorys() -> None:
    assert Settings().weights_dir == DEFAULT_WEIGHTS_DIR
    assert scratch_net.available(DEFAULT_WEIGHTS_DIR)


def test_the_scratch_net_is_read_from_the_settings_folder(tmp_path: Path) -> None:
    everything, nothing = tmp_path / "everything", tmp_path / "nothing"
    _write_net(everything, 20.0)
    _write_net(nothing, -20.0)
    d = damage(clean_crop("ADE_val_00000114.jpg", 96), CASE_SEED)
    _, flagged_all = restore_array(d.damaged, True, False, weights_dir=everything)
    _, flagged_none = restore_array(d.damaged, True, False, weights_dir=nothing)
    assert flagged_all.detector == flagged_none.detector == "net"
    assert flagged_all.scratch_fraction > 0.5 and flagged_none.scratch_fraction == 0.0
    # Without the file there, the classical detector runs: nothing falls back to another folder.
    _, empty = restore_array(d.damaged, True, False, weights_dir=tmp_path / "empty")
    assert empty.detector == "classical"


def test_the_engine_built_by_the_registry_reads_its_folder(tmp_path: Path) -> None:
    blind, real = tmp_path / "blind", tmp_path / "real"
    _write_net(blind, -20.0)
    real.mkdir()
    shutil.copy(scratch_net.weights_path(DEFAULT_WEIGHTS_DIR), scratch_net.weights_path(real))
    image = Image.fromarray(damage(clean_crop("ADE_val_00000114.jpg", 128), CASE_SEED).damaged)
    results = []
    for folder in (blind, real, real):
        engine = Registry(families=("bopb",), weights_dir=folder).engine("bopb")
        result = engine.run(image, "restore_scratch", {"face_enhance": False}, RunContext())
        assert result.engine == "renovo" and result.image.size == image.size
        results.append(np.asarray(result.image, np.int16))
    # A net that sees no scratch leaves them; the committed one, copied into the folder, removes them.
    assert np.abs(results[1] - results[0]).max() > 60
    assert np.array_equal(results[1], results[2])
