"""Our networks' state dicts match the official checkpoints' layouts exactly (names, shapes, dtypes,
order)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from services.inference.models.bopb.detection_net import DetectionUNet
from services.inference.models.bopb.face_generator import SpadeFaceGenerator
from services.inference.models.bopb.mapping import MappingModel, MappingModelWithMask
from services.inference.models.bopb.mapping_hr import MappingModelWithMask2
from services.inference.models.bopb.vae import GlobalGeneratorDCDCv2
from services.inference.models.bopb.weights import FACE_FILES, GLOBAL_FILES

NETWORKS: dict[str, tuple[type[nn.Module], dict[str, int]]] = {
    "VAE_A_quality": (GlobalGeneratorDCDCv2, {}),
    "VAE_B_quality": (GlobalGeneratorDCDCv2, {}),
    "VAE_B_scratch": (GlobalGeneratorDCDCv2, {}),
    "mapping_quality": (MappingModel, {}),
    "mapping_scratch": (MappingModelWithMask, {}),
    "mapping_Patch_Attention": (MappingModelWithMask2, {}),
    "detection_FT_Epoch_latest": (DetectionUNet, {}),
    "face_Setting_9_epoch_100": (SpadeFaceGenerator, {"load_size": 256}),
    "face_FaceSR_512": (SpadeFaceGenerator, {"load_size": 512}),
}


def test_every_layout_file_is_covered(golden_dir: Path) -> None:
    assert {p.stem for p in (golden_dir / "layout").glob("*.json")} == set(NETWORKS)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_state_dict_layout(golden_dir: Path, name: str) -> None:
    layout = json.loads((golden_dir / "layout" / f"{name}.json").read_text())
    cls, kwargs = NETWORKS[name]
    with torch.device("meta"):  # full width without allocating 90M parameters
        net = cls(**kwargs)
    ours = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in net.state_dict().items()]
    assert ours == layout["tensors"]
    assert sum(v.numel() for v in net.state_dict().values()) == layout["num_elements"]


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_loader_paths_are_the_official_ones(golden_dir: Path, name: str) -> None:
    layout = json.loads((golden_dir / "layout" / f"{name}.json").read_text())
    assert layout["file"] in set(GLOBAL_FILES.values()) | set(FACE_FILES.values())
    if name.startswith("detection"):
        assert layout["container"] == "model_state"
