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
    """An RRDBNet x4 model id. Every convolution pads itself (crop 0), so any size works; its receptive field is
    wider than any affordable context, so `pad` is measured: the smallest context whose seams stay at 50 dB or
    more against an untiled run, on the textured photo where seams show most (`bench/models_bench.py --seams`:
    PSNR over the band around each seam, OST_009 at 320x320 with the planner's two windows: pad 10 (what
    realsr-ncnn-vulkan uses) 37.9 dB, 16 44.9, 20 50.2, 24 54.6; the same pads on smooth pictures give 60-75)."""
    return ModelSpec(
        family, load, ModelDescriptor(model_id, "rrdbnet", scale=4, crop=0, pad=20, half_safe=True, bf16_safe=False)
    )


MODEL_ID = "REALSR_DF2K_UP4X"
SPECS: dict[str, ModelSpec] = {MODEL_ID: rrdbnet(MODEL_ID, "realsr")}
