"""Waifu2x's typed descriptors: CUNet (x2, x1 denoise) and UpConv7 (anime, photo) model ids."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...descriptor import ModelDescriptor, ModelSpec

if TYPE_CHECKING:
    from torch import nn


def load(path: Path) -> nn.Module:
    """CUNet or UpConv7 from the shipped ncnn files (imported late: descriptors stay cheap to import)."""
    from .weights import load_ncnn

    return load_ncnn(path)


def cunet(model_id: str, scale: int) -> ModelSpec:
    crop, multiple, min_size = (18, 2, 38) if scale == 2 else (28, 4, 60)
    return ModelSpec(
        "waifu2x",
        load,
        ModelDescriptor(
            model_id, "upcunet" if scale == 2 else "cunet", scale=scale, crop=crop, pad=crop,
            size_multiple=multiple, min_size=min_size, half_safe=True, bf16_safe=True,
        ),
    )  # fmt: skip


def upconv7(model_id: str) -> ModelSpec:
    return ModelSpec(
        "waifu2x",
        load,
        ModelDescriptor(model_id, "upconv7", scale=2, crop=7, pad=7, min_size=15, half_safe=True, bf16_safe=True),
    )


def _specs() -> dict[str, ModelSpec]:
    noise = [f"_DENOISE{n}X" for n in range(4)]
    specs = {f"WAIFU2X_CUNET_UP2X{s}": cunet(f"WAIFU2X_CUNET_UP2X{s}", 2) for s in ["", *noise]}
    specs |= {f"WAIFU2X_CUNET_UP1X{s}": cunet(f"WAIFU2X_CUNET_UP1X{s}", 1) for s in noise}
    for style in ("ANIME", "PHOTO"):
        specs |= {f"WAIFU2X_{style}_UP2X{s}": upconv7(f"WAIFU2X_{style}_UP2X{s}") for s in ["", *noise]}
    return specs


SPECS: dict[str, ModelSpec] = _specs()
