"""The scratch-detection UNet of `Global/detection_models/networks.py` (`detection/FT_Epoch_latest.pt`).

Official configuration: 1 → 1 channels, depth 4, two convs per block, wf 6 (64…1024 channels), reflect
padding, BatchNorm, bilinear upsampling, no tanh, anti-aliased (blur-pool) downsampling. Output: logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BlurDownsample(nn.Module):
    """Anti-aliased stride-2 downsampling (adobe/antialiased-cnns, filter size 3), key `filt`.

    The binomial filter is a buffer in the official state dict, so it is loaded rather than trusted.
    """

    filt: torch.Tensor

    def __init__(self, channels: int) -> None:
        super().__init__()
        a = torch.tensor([1.0, 2.0, 1.0])
        filt = a[:, None] * a[None, :]
        filt = filt / filt.sum()
        self.register_buffer("filt", filt[None, None, :, :].repeat(channels, 1, 1, 1))
        self.pad = nn.ReflectionPad2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(self.pad(x), self.filt, stride=2, groups=x.shape[1])


class ConvBlock(nn.Module):
    """`UNetConvBlock`: (reflect pad, 3×3 conv, BatchNorm, LeakyReLU 0.2) × conv_num; keys `block.N.*`."""

    def __init__(self, conv_num: int, in_size: int, out_size: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(conv_num):
            layers += [
                nn.ReflectionPad2d(1),
                nn.Conv2d(in_size, out_size, kernel_size=3, padding=0),
                nn.BatchNorm2d(out_size),
                nn.LeakyReLU(0.2, True),
            ]
            in_size = out_size
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class UpBlock(nn.Module):
    """`UNetUpBlock` in "upsample" mode: bilinear ×2, reflect pad, 3×3 conv, concat skip, ConvBlock."""

    def __init__(self, conv_num: int, in_size: int, out_size: int) -> None:
        super().__init__()
        self.up = nn.Sequential(
            nn.Upsample(mode="bilinear", scale_factor=2, align_corners=False),
            nn.ReflectionPad2d(1),
            nn.Conv2d(in_size, out_size, kernel_size=3, padding=0),
        )
        self.conv_block = ConvBlock(conv_num, in_size, out_size)

    def forward(self, x: torch.Tensor, bridge: torch.Tensor) -> torch.Tensor:
        up = self.up(x)
        # Upstream centre-crops the skip to the upsampled size; with padded convs and sizes that are
        # multiples of 16 the sizes agree and the crop is a no-op, but it is kept for odd sizes.
        th, tw = up.shape[2:]
        dy = (bridge.shape[2] - th) // 2
        dx = (bridge.shape[3] - tw) // 2
        crop = bridge[:, :, dy : dy + th, dx : dx + tw]
        return self.conv_block(torch.cat([up, crop], 1))


class DetectionUNet(nn.Module):
    """Scratch-detection UNet; state-dict order `first`, `down_path`, `down_sample`, `up_path`, `last`."""

    def __init__(
        self, in_channels: int = 1, out_channels: int = 1, depth: int = 4, conv_num: int = 2, wf: int = 6
    ) -> None:
        super().__init__()
        self.first = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, 2**wf, kernel_size=7), nn.LeakyReLU(0.2, True)
        )
        prev = 2**wf
        self.down_path = nn.ModuleList()
        self.down_sample = nn.ModuleList()
        for i in range(depth):
            self.down_sample.append(
                nn.Sequential(
                    nn.ReflectionPad2d(1),
                    nn.Conv2d(prev, prev, kernel_size=3, stride=1, padding=0),
                    nn.BatchNorm2d(prev),
                    nn.LeakyReLU(0.2, True),
                    BlurDownsample(prev),
                )
            )
            self.down_path.append(ConvBlock(conv_num, prev, 2 ** (wf + i + 1)))
            prev = 2 ** (wf + i + 1)
        self.up_path = nn.ModuleList()
        for i in reversed(range(depth)):
            self.up_path.append(UpBlock(conv_num, prev, 2 ** (wf + i)))
            prev = 2 ** (wf + i)
        self.last = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(prev, out_channels, kernel_size=3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first(x)
        skips: list[torch.Tensor] = []
        for down, block in zip(self.down_sample, self.down_path, strict=True):
            skips.append(x)
            x = block(down(x))
        for i, up in enumerate(self.up_path):
            x = up(x, skips[-i - 1])
        return self.last(x)
