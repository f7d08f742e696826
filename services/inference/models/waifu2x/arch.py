"""Waifu2x networks: UpConv7 and CUNet (two U-Nets with squeeze-and-excitation), unpadded convolutions.

Parameter names follow nunif (nagadomi's official PyTorch waifu2x), so its checkpoints load without renaming:
`unet1.conv1.conv.0`, `unet1.conv2.seblock.conv1`, `unet1.conv1_down`, `unet2.conv3_up`, `net.12`, …
Input and output are RGB in 0…1; outputs are not clamped (nunif clamps in eval mode, the tiling engine clips).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_LRELU_SLOPE = 0.1


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[:, :, border:-border, border:-border]


def _check_size(x: torch.Tensor, multiple: int, minimum: int) -> None:
    # An odd size would make the 2×2 stride-2 convolutions drop a row and the skip connections misalign;
    # ncnn silently crops, we refuse so that the tiling engine's padding bug shows.
    h, w = x.shape[-2:]
    if h % multiple or w % multiple or h < minimum or w < minimum:
        raise ValueError(f"input {h}x{w}: sides must be multiples of {multiple} and at least {minimum}")


class SEBlock(nn.Module):
    """Squeeze-and-excitation: global average → 1×1 conv → ReLU → 1×1 conv → sigmoid → channel scale.

    The pooling is over the whole input, so tiled and whole-image outputs differ slightly (52–62 dB).
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels // reduction, 1, 1, 0)
        self.conv2 = nn.Conv2d(channels // reduction, channels, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.mean(dim=(2, 3), keepdim=True)
        z = torch.sigmoid(self.conv2(F.relu(self.conv1(z))))
        return x * z


class UNetConv(nn.Module):
    """Two unpadded 3×3 convolutions with LeakyReLU 0.1, optionally followed by an SE block."""

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int, se: bool) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_ch, mid_ch, 3, 1, 0),
            nn.LeakyReLU(_LRELU_SLOPE),
            nn.Conv2d(mid_ch, out_ch, 3, 1, 0),
            nn.LeakyReLU(_LRELU_SLOPE),
        )
        self.seblock = SEBlock(out_ch) if se else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.conv(x)
        return self.seblock(z) if self.seblock is not None else z


class UNet1(nn.Module):
    """The one-level U-Net; its last layer upscales ×2 (4×4 stride-2 deconvolution) or not (3×3 conv)."""

    def __init__(self, in_ch: int, out_ch: int, deconv: bool) -> None:
        super().__init__()
        self.conv1 = UNetConv(in_ch, 32, 64, se=False)
        self.conv1_down = nn.Conv2d(64, 64, 2, 2, 0)
        self.conv2 = UNetConv(64, 128, 64, se=True)
        self.conv2_up = nn.ConvTranspose2d(64, 64, 2, 2, 0)
        self.conv3 = nn.Conv2d(64, 64, 3, 1, 0)
        self.conv_bottom: nn.Module = (
            nn.ConvTranspose2d(64, out_ch, 4, 2, 3) if deconv else nn.Conv2d(64, out_ch, 3, 1, 0)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.conv1(x)
        x2 = F.leaky_relu(self.conv1_down(x1), _LRELU_SLOPE)
        x2 = F.leaky_relu(self.conv2_up(self.conv2(x2)), _LRELU_SLOPE)
        x3 = F.leaky_relu(self.conv3(_crop(x1, 4) + x2), _LRELU_SLOPE)
        return self.conv_bottom(x3)


class UNet2(nn.Module):
    """The second, two-level U-Net (same input and output scale)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = UNetConv(in_ch, 32, 64, se=False)
        self.conv1_down = nn.Conv2d(64, 64, 2, 2, 0)
        self.conv2 = UNetConv(64, 64, 128, se=True)
        self.conv2_down = nn.Conv2d(128, 128, 2, 2, 0)
        self.conv3 = UNetConv(128, 256, 128, se=True)
        self.conv3_up = nn.ConvTranspose2d(128, 128, 2, 2, 0)
        self.conv4 = UNetConv(128, 64, 64, se=True)
        self.conv4_up = nn.ConvTranspose2d(64, 64, 2, 2, 0)
        self.conv5 = nn.Conv2d(64, 64, 3, 1, 0)
        self.conv_bottom = nn.Conv2d(64, out_ch, 3, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.conv1(x)
        x2 = self.conv2(F.leaky_relu(self.conv1_down(x1), _LRELU_SLOPE))
        x3 = self.conv3(F.leaky_relu(self.conv2_down(x2), _LRELU_SLOPE))
        x3 = F.leaky_relu(self.conv3_up(x3), _LRELU_SLOPE)
        x4 = self.conv4(_crop(x2, 4) + x3)
        x4 = F.leaky_relu(self.conv4_up(x4), _LRELU_SLOPE)
        x5 = F.leaky_relu(self.conv5(_crop(x1, 16) + x4), _LRELU_SLOPE)
        return self.conv_bottom(x5)


class CUNet(nn.Module):
    """Waifu2x CUNet: UNet1 (×2 or ×1) then UNet2, plus a residual of UNet1's output cropped by 20.

    Output side = scale·(side − 2·crop): crop 18 at ×2 (2·W − 72), 28 at ×1 (W − 56).
    """

    def __init__(self, scale: int = 2, in_ch: int = 3, out_ch: int = 3, clip_unet1: bool = False) -> None:
        super().__init__()
        if scale not in (1, 2):
            raise ValueError("CUNet exists at scale 1 and 2")
        self.scale = scale
        self.crop = 18 if scale == 2 else 28
        # ×2 needs even sides for the 2×2 downsamplings; at ×1 UNet2 also halves twice: multiples of 4.
        self.size_multiple = 2 if scale == 2 else 4
        self.min_size = 38 if scale == 2 else 60
        self.unet1 = UNet1(in_ch, out_ch, deconv=scale == 2)
        self.unet2 = UNet2(out_ch, out_ch)
        # nunif trains with UNet1's output clamped to 0…1 (its `no_clip=False`); the ncnn files, converted
        # from waifu2x-caffe, do not clamp. The loader sets this to match the weights' origin.
        self.clip_unet1 = clip_unet1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(x, self.size_multiple, self.min_size)
        z1 = self.unet1(x)
        if self.clip_unet1:
            z1 = z1.clamp(0.0, 1.0)
        return _crop(z1, 20) + self.unet2(z1)


class UpConv7(nn.Module):
    """Waifu2x UpConv7: six unpadded 3×3 convolutions and a 4×4 stride-2 deconvolution. Output 2·W − 28."""

    scale = 2
    crop = 7
    size_multiple = 1
    min_size = 15

    def __init__(self, in_ch: int = 3, out_ch: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        widths = [in_ch, 16, 32, 64, 128, 128, 256]
        for a, b in zip(widths, widths[1:], strict=False):
            layers += [nn.Conv2d(a, b, 3, 1, 0), nn.LeakyReLU(_LRELU_SLOPE)]
        layers.append(nn.ConvTranspose2d(256, out_ch, 4, 2, 3))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(x, self.size_multiple, self.min_size)
        return self.net(x)
