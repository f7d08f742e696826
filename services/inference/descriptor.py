"""The typed descriptor that travels beside every network (after spandrel's model descriptors)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ModelDescriptor:
    """How the shared tiling engine must feed a network.

    Contract of the network itself: input (N, C_in, H, W) float in 0…1, RGB; output
    (N, C_out, scale·(H − 2·crop), scale·(W − 2·crop)), roughly 0…1 and unclamped.
    """

    id: str
    """Weights id, e.g. `REALSR_DF2K_UP4X` (the ncnn file stem) — the key of weights/manifest.json."""
    arch: str
    """Architecture name: `rrdbnet`, `upcunet`, `upconv7`, …"""
    scale: int
    """Output pixels per input pixel along each side (1, 2 or 4)."""
    crop: int = 0
    """Input pixels each side that the network itself consumes (unpadded convolutions): CUNet 2x 18, UpConv7 7."""
    pad: int = 0
    """Context pixels each side the caller adds around every tile (reflect/replicate) and crops afterwards.
    Never smaller than `crop`; RealSR uses 10 like realsr-ncnn-vulkan."""
    size_multiple: int = 1
    """The padded input must have height and width that are multiples of this (CUNet: 2 at 2x, 4 at 1x)."""
    min_size: int = 1
    """Smallest padded input side the network accepts."""
    in_channels: int = 3
    out_channels: int = 3
    half_safe: bool = True
    """fp16 autocast on CUDA keeps the output within the fidelity bound."""
    bf16_safe: bool = False
    """bf16 autocast is acceptable (measured against fp32)."""


@dataclass(frozen=True)
class ModelSpec:
    """A model id's weights family, network loader and descriptor (each family's descriptor.py lists its own)."""

    family: str
    """Where the weights come from: `realsr`, `realesrgan` or `waifu2x` (not the engine family: the `bopb`
    engine's fallback, for one, runs `REALESRGAN_X4PLUS_UP4X`)."""
    loader: Callable[[Path], nn.Module]
    """Builds the network from the model's `.param` path; imports torch only when called."""
    descriptor: ModelDescriptor
