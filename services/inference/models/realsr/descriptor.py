"""RealSR's typed descriptor: how the shared tiling engine feeds RRDBNet (RealSR DF2K x4)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...descriptor import ModelDescriptor, ModelSpec

if TYPE_CHECKING:
    from torch import nn


def load(path: Path) -> nn.Module:
    """RRDBNet from the shipped ncnn files (imported late: descriptors stay cheap to import)."""
    from .weights import load_ncnn

    return load_ncnn(path)


def rrdbnet(model_id: str, family: str) -> ModelSpec:
    """An RRDBNet x4 model id. Every convolution pads itself (crop 0); pad 10 gives tiles real context at their
    seams, as realsr-ncnn-vulkan does. Any size works."""
    return ModelSpec(
        family, load, ModelDescriptor(model_id, "rrdbnet", scale=4, crop=0, pad=10, half_safe=True, bf16_safe=False)
    )


MODEL_ID = "REALSR_DF2K_UP4X"
SPECS: dict[str, ModelSpec] = {MODEL_ID: rrdbnet(MODEL_ID, "realsr")}
