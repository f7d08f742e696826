"""The whole pipeline end to end, on real old photos, with the goldens' reduced-width networks saved in the
official checkpoint layout (the official checkpoints are not on this machine)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from services.inference.engine import Cancelled, InputError, RunContext
from services.inference.models.bopb import BopbPipeline, bopb_available, missing_checkpoints
from services.inference.models.bopb.face_align import FaceAligner
from services.inference.models.bopb.pipeline import enhance_faces
from services.inference.models.bopb.weights import GLOBAL_FILES, CheckpointError, load_network, read_state_dict

from .conftest import IMAGES


@pytest.fixture(scope="module")
def pipeline(reduced_weights: Path) -> BopbPipeline:
    return BopbPipeline(reduced_weights, "cpu")


def test_availability(reduced_weights: Path, tmp_path: Path) -> None:
    assert bopb_available(reduced_weights, with_faces=True)
    assert not bopb_available(tmp_path)
    assert len(missing_checkpoints(tmp_path, with_faces=True)) == len(GLOBAL_FILES) + 2


def test_detection_checkpoint_keeps_its_state_dict_under_model_state(reduced_weights: Path) -> None:
    state = read_state_dict(reduced_weights / GLOBAL_FILES["detection"])
    assert "first.1.weight" in state and "model_state" not in state


def test_wrong_checkpoint_is_refused(reduced_weights: Path, tmp_path: Path) -> None:
    shutil.copytree(reduced_weights, tmp_path / "w")
    # A scratch mapping where the quality mapping should be: strict loading must say so.
    shutil.copy(
        tmp_path / "w" / GLOBAL_FILES["mapping_scratch"], tmp_path / "w" / GLOBAL_FILES["mapping_quality"]
    )
    with pytest.raises(InputError, match="mapping_quality"):
        BopbPipeline(tmp_path / "w").restore(Image.new("RGB", (32, 32)), False, False, RunContext())


@pytest.mark.parametrize(("with_scratch", "hr"), [(False, False), (True, False), (True, True)])
def test_restore_scratched_photo(pipeline: BopbPipeline, with_scratch: bool, hr: bool) -> None:
    # A real scratched photo (RGBA), shrunk: the HR mapping runs at its full width of 512 channels.
    image = Image.open(IMAGES / "old_scratch" / "d.png").resize((120, 75))
    assert image.mode == "RGBA"
    seen: list[float] = []
    out = pipeline.restore(image, with_scratch, False, RunContext(progress=seen.append), hr=hr)
    assert out.mode == "RGB" and out.size == ((128, 80) if with_scratch else (120, 76))
    assert seen[-1] == 1.0 and seen == sorted(seen)
    arr = np.asarray(out)
    assert arr.min() == 0 and arr.max() == 255  # upstream's min-max stretch on saving


def test_sizes_follow_upstream_rounding(pipeline: BopbPipeline) -> None:
    image = Image.open(IMAGES / "old_scratch" / "c.png").convert("L").resize((150, 101))  # grey, odd size
    assert pipeline.restore(image, False, False, RunContext()).size == (152, 100)  # multiples of 4
    assert pipeline.restore(image, True, False, RunContext()).size == (144, 96)  # multiples of 16


def test_face_stage_blends_restored_faces(reduced_weights: Path) -> None:
    # The reduced random-ish global networks do not produce recognisable faces, so the face stage runs on
    # the original photo (upstream runs it on stage 1's output; the code path is the same).
    image = np.asarray(Image.open(IMAGES / "old_scratch" / "b.png").convert("RGB"))
    generator = load_network(reduced_weights, "Setting_9_epoch_100")
    seen: list[float] = []
    faced = enhance_faces(image, FaceAligner(), generator, 256, RunContext(progress=seen.append))
    assert faced.shape == image.shape and faced.dtype == np.uint8 and seen
    changed = np.abs(faced.astype(int) - image).max(axis=2) > 0
    # Only the face region changes; the corners of the picture keep the global restoration.
    assert 0.05 < changed.mean() < 0.9
    assert not changed[:16, :16].any() and not changed[-16:, -16:].any()


def test_face_stage_without_faces_returns_the_global_result(pipeline: BopbPipeline) -> None:
    image = Image.fromarray(np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1)))
    plain = pipeline.restore(image, False, False, RunContext())
    assert np.array_equal(np.asarray(pipeline.restore(image, False, True, RunContext())), np.asarray(plain))


def test_bad_input_and_missing_weights(pipeline: BopbPipeline, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="too small"):
        pipeline.restore(Image.new("RGB", (15, 300)), True, False, RunContext())
    with pytest.raises(InputError, match="checkpoints missing"):
        BopbPipeline(tmp_path).restore(Image.new("RGB", (64, 64)), False, False, RunContext())
    with pytest.raises(Cancelled):
        pipeline.restore(Image.new("RGB", (64, 64)), True, False, RunContext(cancelled=lambda: True))


def test_checkpoints_load_onto_cpu_from_any_device_tag(reduced_weights: Path, tmp_path: Path) -> None:
    # The official Global/face files are loaded without map_location upstream; ours always maps to CPU.
    state = torch.load(reduced_weights / GLOBAL_FILES["mapping_quality"])
    path = tmp_path / "m.pth"
    torch.save(state, path)
    assert all(t.device.type == "cpu" for t in read_state_dict(path).values())
    path.write_bytes(b"not a checkpoint")
    with pytest.raises((CheckpointError, Exception)):
        read_state_dict(path)
