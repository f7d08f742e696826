"""Fixtures of the BOPB tests: the golden vectors in ../shared/golden/bopb and a weights folder in the
official layout filled with the goldens' reduced-width networks (the real checkpoints are not on this
machine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from services.inference.models.bopb.weights import FACE_FILES, GLOBAL_FILES

GOLDEN = Path(__file__).resolve().parents[4] / "shared" / "golden" / "bopb"
IMAGES = Path(__file__).resolve().parents[4] / "shared" / "images"


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    assert (GOLDEN / "README.md").is_file(), f"BOPB goldens missing at {GOLDEN}"
    return GOLDEN


@pytest.fixture(scope="session")
def load_golden(golden_dir: Path) -> Any:
    cache: dict[str, dict[str, Any]] = {}

    def load(name: str) -> dict[str, Any]:
        if name not in cache:
            cache[name] = torch.load(golden_dir / "numeric" / f"{name}.pt")
        return cache[name]

    return load


@pytest.fixture(scope="session")
def reduced_weights(tmp_path_factory: pytest.TempPathFactory, load_golden: Any) -> Path:
    """Every official checkpoint file, written in the official layout from the goldens' state dicts."""
    root = tmp_path_factory.mktemp("weights") / "bopb"
    quality, scratch, hr = (
        load_golden("e2e_quality"),
        load_golden("e2e_scratch"),
        load_golden("e2e_scratch_hr"),
    )
    face = load_golden("face_generator")["state_dict"]
    states: dict[str, Any] = {
        "detection": {"model_state": load_golden("detection_unet")["state_dict"], "epoch": 1},
        "VAE_A_quality": scratch["state_dicts"]["netG_A"],
        "VAE_B_quality": quality["state_dicts"]["netG_B"],
        "VAE_B_scratch": scratch["state_dicts"]["netG_B"],
        "mapping_quality": quality["state_dicts"]["mapping_net"],
        "mapping_scratch": scratch["state_dicts"]["mapping_net"],
        "mapping_Patch_Attention": hr["state_dicts"]["mapping_net"],
        "Setting_9_epoch_100": face,
        "FaceSR_512": face,
    }
    for name, rel in {**GLOBAL_FILES, **FACE_FILES}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(states[name], path)
    return root
