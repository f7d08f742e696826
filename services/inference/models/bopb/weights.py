"""Where the official BOPB checkpoints live under the weights folder, and how they are loaded (strictly).

The layout mirrors the official repository after unpacking its release archives in place:
`global_checkpoints.zip` inside `Global/` and `face_checkpoints.zip` inside `Face_Enhancement/`.
Network widths are read from the tensors themselves, so the same loader builds the official full-width
networks and the reduced-width ones the tests save in the same layout.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .detection_net import DetectionUNet
from .face_generator import SpadeFaceGenerator
from .mapping import MappingModel, MappingModelWithMask
from .mapping_hr import MappingModelWithMask2
from .vae import GlobalGeneratorDCDCv2

RESTORATION = "Global/checkpoints/restoration"
GLOBAL_FILES: dict[str, str] = {
    "detection": "Global/checkpoints/detection/FT_Epoch_latest.pt",
    "VAE_A_quality": f"{RESTORATION}/VAE_A_quality/latest_net_G.pth",
    "VAE_B_quality": f"{RESTORATION}/VAE_B_quality/latest_net_G.pth",
    "VAE_B_scratch": f"{RESTORATION}/VAE_B_scratch/latest_net_G.pth",
    "mapping_quality": f"{RESTORATION}/mapping_quality/latest_net_mapping_net.pth",
    "mapping_scratch": f"{RESTORATION}/mapping_scratch/latest_net_mapping_net.pth",
    "mapping_Patch_Attention": f"{RESTORATION}/mapping_Patch_Attention/latest_net_mapping_net.pth",
}
"""Checkpoint name → path relative to the weights folder (official file names)."""
FACE_FILES: dict[str, str] = {
    "Setting_9_epoch_100": "Face_Enhancement/checkpoints/Setting_9_epoch_100/latest_net_G.pth",
    "FaceSR_512": "Face_Enhancement/checkpoints/FaceSR_512/latest_net_G.pth",
}
"""Face generator checkpoints: 256² crops (Setting_9_epoch_100) and 512² crops under HR (FaceSR_512)."""
FACE_LOAD_SIZE = {"Setting_9_epoch_100": 256, "FaceSR_512": 512}


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not fit the network it is meant for."""


def bopb_root(weights_dir: Path) -> Path:
    """The folder holding `Global/` and `Face_Enhancement/`: `weights_dir` itself when it is that folder (or
    is named `bopb`), else its `bopb` subfolder (where `make weights` unpacks the archives), so callers may
    pass either the platform's weights folder (the `weights_dir` setting) or the BOPB one."""
    weights_dir = Path(weights_dir)
    if weights_dir.name == "bopb" or (weights_dir / "Global").is_dir():
        return weights_dir
    return weights_dir / "bopb"


def missing_checkpoints(weights_dir: Path, with_faces: bool = False) -> list[str]:
    """Relative paths (under `bopb_root(weights_dir)`) of the official checkpoint files that are absent."""
    root = bopb_root(weights_dir)
    files = list(GLOBAL_FILES.values()) + (list(FACE_FILES.values()) if with_faces else [])
    return [f for f in files if not (root / f).is_file()]


def bopb_available(weights_dir: Path, with_faces: bool = False) -> bool:
    """True when every global-restoration checkpoint (and, if asked, both face generators) is present."""
    return not missing_checkpoints(weights_dir, with_faces)


def read_state_dict(path: Path, allow_pickle: bool = False) -> dict[str, torch.Tensor]:
    """Load a checkpoint on the CPU; the detection file keeps its state dict under `model_state`.

    Loading is `weights_only` (no arbitrary code) unless `allow_pickle` is set, for a checkpoint that holds
    other Python objects beside its tensors and whose origin was verified.
    """
    if not path.is_file():
        raise CheckpointError(f"checkpoint missing: {path}")
    try:
        obj: Any = torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: not loadable with weights_only=True ({exc}); allow_pickle is for verified files only"
        ) from exc
    if isinstance(obj, dict) and "model_state" in obj:
        obj = obj["model_state"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: not a state dict")
    # DataParallel-saved files prefix every key with "module."; the official ones do not, but it is harmless.
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return obj


def _count(state: dict[str, torch.Tensor], pattern: str) -> int:
    return len({m.group(1) for k in state if (m := re.match(pattern, k))})


def build_network(name: str, state: dict[str, torch.Tensor]) -> nn.Module:
    """Build the network a checkpoint belongs to, at the widths its tensors have, and load it strictly."""
    try:
        net = _build(name, state)
    except (KeyError, IndexError) as exc:
        raise CheckpointError(f"{name}: checkpoint does not match the network: no tensor {exc}") from exc
    try:
        net.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{name}: checkpoint does not match the network: {exc}") from exc
    return net.eval()


def _build(name: str, state: dict[str, torch.Tensor]) -> nn.Module:
    net: nn.Module
    # Built on the meta device: every tensor comes from the checkpoint, so random initialisation is waste.
    with torch.device("meta"):
        if name.startswith("VAE_"):
            # min(ngf·2^i, mc) everywhere, so the widest layer stands in for mc without changing any width.
            ngf = state["encoder.1.weight"].shape[0]
            mc = max(max(v.shape[:2]) for k, v in state.items() if k.endswith(".weight") and v.ndim == 4)
            net = GlobalGeneratorDCDCv2(ngf=ngf, mc=mc)
        elif name == "mapping_quality":
            mc = state["model.9.weight"].shape[0]
            net = MappingModel(mc=mc, n_blocks=_count(state, r"model\.(\d+)\.conv_block"))
        elif name == "mapping_scratch":
            mc = state["before_NL.9.weight"].shape[0]
            net = MappingModelWithMask(mc=mc, n_blocks=_count(state, r"after_NL\.(\d+)\.conv_block"))
        elif name == "mapping_Patch_Attention":
            net = MappingModelWithMask2(mc=state["before_NL.9.weight"].shape[0])
        elif name == "detection":
            wf = state["first.1.weight"].shape[0].bit_length() - 1
            net = DetectionUNet(wf=wf, depth=_count(state, r"down_path\.(\d+)\."))
        elif name in FACE_LOAD_SIZE:
            net = SpadeFaceGenerator(ngf=state["conv_img.weight"].shape[1], load_size=FACE_LOAD_SIZE[name])
        else:
            raise CheckpointError(f"unknown checkpoint {name!r}")
    return net


def load_network(weights_dir: Path, name: str, device: str = "cpu", allow_pickle: bool = False) -> nn.Module:
    """Read `name` (a key of GLOBAL_FILES or FACE_FILES) from the weights folder; returned in eval mode."""
    rel = GLOBAL_FILES.get(name) or FACE_FILES.get(name)
    if rel is None:
        raise CheckpointError(f"unknown checkpoint {name!r}")
    net = build_network(name, read_state_dict(bopb_root(weights_dir) / rel, allow_pickle))
    for p in net.parameters():
        p.requires_grad_(False)
    return net.to(device)
