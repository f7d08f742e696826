"""Tiny stand-in networks that obey the network contract, for the tiling and engine tests.

Contract: input N×3×H×W in 0…1, output N×3×scale·(H−2·crop)×scale·(W−2·crop). The stand-ins are small
enough to run whole images in milliseconds, so tiling can be compared with the untiled result exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from services.inference.descriptor import ModelDescriptor

ROOT = Path(__file__).resolve().parents[2]
IMAGES = (ROOT.parent / "shared" / "images").resolve()


class ValidConvNet(nn.Module):
    """UpConv7-like: unpadded 3×3 convolutions (crop 3), nearest ×2. Exactly tileable with pad ≥ crop."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.c1, self.c2, self.c3 = nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 3), nn.Conv2d(8, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c3(F.leaky_relu(self.c2(F.leaky_relu(self.c1(x), 0.1)), 0.1))
        return F.interpolate(y, scale_factor=2, mode="nearest") + 0.5


class StrideNet(nn.Module):
    """CUNet-like phase dependence: unpadded conv, 2×2 pooling; needs even sizes and even tile starts."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.c1, self.c2 = nn.Conv2d(3, 8, 3), nn.Conv2d(8, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 2 or x.shape[-2] % 2:
            raise AssertionError(f"odd padded input {tuple(x.shape)}")
        y = F.avg_pool2d(self.c1(x), 2)
        return F.interpolate(self.c2(y), scale_factor=4, mode="nearest") + 0.5


class GlobalBiasNet(nn.Module):
    """Output depends on the whole tile (like squeeze-excitation): nearest ×scale plus a per-tile bias."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = 0.3 * (x.mean(dim=(1, 2, 3), keepdim=True) - 0.5)
        return F.interpolate(x, scale_factor=self.scale, mode="nearest") + bias


VALID = ModelDescriptor("STANDIN_VALID", "upconv7", 2, crop=3, pad=3)
STRIDE = ModelDescriptor("STANDIN_STRIDE", "upcunet", 2, crop=1, pad=1, size_multiple=2)
GLOBAL = ModelDescriptor("STANDIN_GLOBAL", "rrdbnet", 4, crop=0, pad=2)


def whole_image(
    net: nn.Module, desc: ModelDescriptor, image: np.ndarray, mode: str = "replicate", quantise: bool = True
) -> np.ndarray:
    """The untiled reference: pad the whole picture as the tiling engine pads its border tiles, run, crop."""
    x = torch.from_numpy(image).float().permute(2, 0, 1)[None]
    if image.dtype == np.uint8:
        x = x / 255
    height, width = image.shape[:2]
    m, pad = desc.size_multiple, desc.pad
    extra_h, extra_w = (-(height + 2 * pad)) % m, (-(width + 2 * pad)) % m
    x = F.pad(x, (pad, pad + extra_w, pad, pad + extra_h), mode=mode)
    with torch.inference_mode():
        y = net(x)
    s, skip = desc.scale, desc.scale * (desc.pad - desc.crop)
    y = y[0, :, skip : skip + s * height, skip : skip + s * width]
    if not quantise:
        return y.permute(1, 2, 0).numpy()
    return (y.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def standin_loader(model_id: str, device: str) -> tuple[nn.Module, ModelDescriptor]:
    """A loader for the engines: every real model id gets a stand-in with the right scale and crop."""
    scale = 4 if "UP4X" in model_id else 1 if "UP1X" in model_id else 2
    net: nn.Module = ValidConvNet() if scale == 2 else _ScaleNet(scale)
    crop = 3 if scale == 2 else 0
    return net.to(device), ModelDescriptor(model_id, "standin", scale, crop=crop, pad=crop)


class _ScaleNet(nn.Module):
    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.scale == 1 else F.interpolate(x, scale_factor=self.scale, mode="nearest")
