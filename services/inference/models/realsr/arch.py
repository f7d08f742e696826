"""ESRGAN's RRDBNet (residual-in-residual dense blocks), as used by RealSR DF2K and Real-ESRGAN x4plus.

Parameter names follow BasicSR (`conv_first`, `body.N.rdb1.conv1`, `conv_body`, `conv_up1`, …), the names of
the most common official checkpoints, so those load without renaming.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_LRELU_SLOPE = 0.2
# Both residual connections scale the learned branch by 0.2 (ESRGAN's residual scaling for stable training).
_RESIDUAL_SCALE = 0.2


class ResidualDenseBlock(nn.Module):
    """Five 3×3 convolutions, each seeing the concatenation of the block input and all earlier outputs."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = F.leaky_relu(self.conv1(x), _LRELU_SLOPE)
        x2 = F.leaky_relu(self.conv2(torch.cat((x, x1), 1)), _LRELU_SLOPE)
        x3 = F.leaky_relu(self.conv3(torch.cat((x, x1, x2), 1)), _LRELU_SLOPE)
        x4 = F.leaky_relu(self.conv4(torch.cat((x, x1, x2, x3), 1)), _LRELU_SLOPE)
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * _RESIDUAL_SCALE + x


class RRDB(nn.Module):
    """Three dense blocks with an outer scaled residual."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * _RESIDUAL_SCALE + x


class RRDBNet(nn.Module):
    """ESRGAN generator at ×4: trunk of RRDB blocks, then two nearest-neighbour ×2 upsamplings.

    Every convolution pads by 1, so the output is exactly 4× the input (crop 0). Input and output are RGB
    in 0…1; the output is not clamped (RealSR's runs roughly −0.6…1.9).
    """

    scale = 4

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
    ) -> None:
        super().__init__()
        self.num_block = num_block
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(
            self.conv_up1(F.interpolate(feat, scale_factor=2.0, mode="nearest")), _LRELU_SLOPE
        )
        feat = F.leaky_relu(
            self.conv_up2(F.interpolate(feat, scale_factor=2.0, mode="nearest")), _LRELU_SLOPE
        )
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), _LRELU_SLOPE))


def conv_names(num_block: int) -> list[str]:
    """Every convolution of an RRDBNet in graph order (= ncnn weight order)."""
    names = ["conv_first"]
    for b in range(num_block):
        names += [f"body.{b}.rdb{r}.conv{c}" for r in (1, 2, 3) for c in range(1, 6)]
    return names + ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]


def activated_convs(num_block: int) -> set[str]:
    """The convolutions followed by LeakyReLU 0.2 (ncnn fuses it into them: `9=2`)."""
    inner = {f"body.{b}.rdb{r}.conv{c}" for b in range(num_block) for r in (1, 2, 3) for c in range(1, 5)}
    return inner | {"conv_up1", "conv_up2", "conv_hr"}
