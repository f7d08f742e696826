"""The latent mapping networks of the global restoration: quality (`Mapping_Model`) and scratch
(`Mapping_Model_with_mask` with `NonLocalBlock2D_with_mask_Res`).

Input and output are fixed at 64 channels by the official code (its last conv is Conv2d(128, 64)), so `mc`
can go no lower than 128; the official checkpoints use mc=512.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import ResnetBlock, instance_norm

LATENT_NC = 64
"""Channels of the VAE latent that every mapping network reads and writes (hard-coded upstream)."""


def widen_layers(mc: int) -> list[nn.Module]:
    """64 → 128 → 256 → 512 → 512 (each capped at mc): conv, norm, ReLU, four times."""
    layers: list[nn.Module] = []
    for i in range(4):
        ic, oc = min(LATENT_NC * 2**i, mc), min(LATENT_NC * 2 ** (i + 1), mc)
        layers += [nn.Conv2d(ic, oc, 3, 1, 1), instance_norm(oc), nn.ReLU(True)]
    return layers


def narrow_layers(mc: int) -> list[nn.Module]:
    """Back from mc to the 64-channel latent: three conv/norm/ReLU and a final Conv2d(128, 64)."""
    layers: list[nn.Module] = []
    for i in range(3):
        ic, oc = min(64 * 2 ** (4 - i), mc), min(64 * 2 ** (3 - i), mc)
        layers += [nn.Conv2d(ic, oc, 3, 1, 1), instance_norm(oc), nn.ReLU(True)]
    layers += [nn.Conv2d(LATENT_NC * 2, LATENT_NC, 3, 1, 1)]
    return layers


class MappingModel(nn.Module):
    """Quality mapping (`mapping_quality/latest_net_mapping_net.pth`), keys `model.N.*`."""

    def __init__(self, mc: int = 512, n_blocks: int = 6, dilation: int = 1) -> None:
        super().__init__()
        blocks = [ResnetBlock(mc, dilation=dilation) for _ in range(n_blocks)]
        self.model = nn.Sequential(*widen_layers(mc), *blocks, *narrow_layers(mc))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def clean_latent_positions(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Which latent positions the non-local block treats as clean (1) or scratched (0), as the official code.

    `mask` is 1 for scratch at image resolution. A position is clean when the bilinear resize of the mask is
    exactly 0 there *and* the nearest resize of (1 − mask) is 1.
    """
    keep = F.interpolate(1 - mask, size)  # legacy "nearest", like the official call
    scratch = F.interpolate(mask, size, mode="bilinear")
    scratch = torch.where(scratch > 0, torch.ones_like(scratch), scratch)
    return (1 - scratch) * keep


class NonLocalBlock2DWithMaskRes(nn.Module):
    """Masked non-local attention with three residual blocks, fusion "combine" and L1 re-normalisation.

    Only the official configuration (renorm on, temperature 1, no self attention, dot product) is
    implemented. Attention rows are independent (softmax, key mask and L1 normalisation all work per query),
    so queries are processed in chunks: the result is the official one, but memory stays bounded instead of
    holding the full (HW)² matrix several times.
    """

    def __init__(self, in_channels: int, inter_channels: int, temperature: float = 1.0) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.inter_channels = inter_channels
        self.temperature = temperature
        self.g = nn.Conv2d(in_channels, inter_channels, kernel_size=1)
        self.W = nn.Conv2d(inter_channels, in_channels, kernel_size=1)
        self.theta = nn.Conv2d(in_channels, inter_channels, kernel_size=1)
        self.phi = nn.Conv2d(in_channels, inter_channels, kernel_size=1)
        self.res_block = nn.Sequential(*[ResnetBlock(inter_channels) for _ in range(3)])
        self.chunk_elements = 1 << 25
        """Upper bound on query×key elements held at once (128 MiB of float32)."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        n = h * w
        g_x = self.g(x).view(b, self.inter_channels, -1).permute(0, 2, 1)
        theta_x = self.theta(x).view(b, self.inter_channels, -1).permute(0, 2, 1)
        phi_x = self.phi(x).view(b, self.inter_channels, -1)

        clean = clean_latent_positions(mask, (h, w))
        key_mask = clean.view(b, 1, n)

        chunk = max(1, self.chunk_elements // max(n, 1))
        rows: list[torch.Tensor] = []
        for start in range(0, n, chunk):
            f = torch.matmul(theta_x[:, start : start + chunk], phi_x)
            f = f / self.temperature
            f = F.softmax(f, dim=2) * key_mask
            f = F.normalize(f, p=1, dim=2)
            rows.append(torch.matmul(f, g_x))
        y = torch.cat(rows, dim=1) if len(rows) > 1 else rows[0]
        y = y.permute(0, 2, 1).contiguous().view(b, self.inter_channels, h, w)
        w_y = self.res_block(self.W(y))
        full_mask = clean.repeat(1, self.inter_channels, 1, 1)
        return full_mask * x + (1 - full_mask) * w_y


class MappingModelWithMask(nn.Module):
    """Scratch mapping (`mapping_scratch/latest_net_mapping_net.pth`): `before_NL`, `NL`, `after_NL`."""

    def __init__(self, mc: int = 512, n_blocks: int = 6, dilation: int = 1) -> None:
        super().__init__()
        self.before_NL = nn.Sequential(*widen_layers(mc))
        self.NL = NonLocalBlock2DWithMaskRes(mc, mc)
        blocks = [ResnetBlock(mc, dilation=dilation) for _ in range(n_blocks)]
        self.after_NL = nn.Sequential(*blocks, *narrow_layers(mc))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`mask`: 1×1×H×W at image resolution, 1 = scratch; it is not modified."""
        return self.after_NL(self.NL(self.before_NL(x), mask))
