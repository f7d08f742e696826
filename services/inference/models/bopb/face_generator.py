"""The SPADE face generator of `Face_Enhancement` (checkpoints Setting_9_epoch_100 and FaceSR_512).

Official test configuration: ngf 64, norm_G `spectralspadesyncbatch3x3`, five upsamplings ("normal"),
SPADE injected everywhere, `no_parsing_map` (the 18 label maps are all zeros and never used numerically),
no VAE. load_size 256 (Setting_9) or 512 (FaceSR_512) only sets the latent size, not the parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import SpectralNormConv2d

SPADE_HIDDEN = 128
"""SPADE's embedding width; hard-coded upstream."""


class Spade(nn.Module):
    """SPADE with a parameter-free BatchNorm (running stats) modulated by the degraded picture.

    Upstream's SynchronizedBatchNorm2d(affine=False) is plain BatchNorm in eval mode, with the same keys.
    """

    def __init__(self, norm_nc: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        pw = kernel_size // 2
        self.mlp_shared = nn.Sequential(nn.Conv2d(3, SPADE_HIDDEN, kernel_size, padding=pw), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(SPADE_HIDDEN, norm_nc, kernel_size, padding=pw)
        self.mlp_beta = nn.Conv2d(SPADE_HIDDEN, norm_nc, kernel_size, padding=pw)

    def forward(self, x: torch.Tensor, degraded: torch.Tensor) -> torch.Tensor:
        normalized = self.param_free_norm(x)
        face = F.interpolate(degraded, size=x.shape[2:], mode="bilinear")
        actv = self.mlp_shared(face)
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SpadeResnetBlock(nn.Module):
    """`SPADEResnetBlock` with spectral-normalised convs and a learned shortcut when widths differ."""

    def __init__(self, fin: int, fout: int) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = SpectralNormConv2d(fin, fmiddle, kernel_size=3, padding=1)
        self.conv_1 = SpectralNormConv2d(fmiddle, fout, kernel_size=3, padding=1)
        if self.learned_shortcut:
            self.conv_s = SpectralNormConv2d(fin, fout, kernel_size=1, bias=False)
        self.norm_0 = Spade(fin)
        self.norm_1 = Spade(fmiddle)
        if self.learned_shortcut:
            self.norm_s = Spade(fin)

    def forward(self, x: torch.Tensor, degraded: torch.Tensor) -> torch.Tensor:
        x_s = self.conv_s(self.norm_s(x, degraded)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, degraded), 2e-1))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, degraded), 2e-1))
        return x_s + dx


class SpadeFaceGenerator(nn.Module):
    """`SPADEGenerator` under the official face options. Input and output: N×3×S×S in [-1, 1], S=load_size."""

    def __init__(self, ngf: int = 64, load_size: int = 256) -> None:
        super().__init__()
        nf = ngf
        # num_upsampling_layers "normal" = 5 doublings, aspect ratio 1.
        self.latent_size = load_size // 2**5
        self.fc = nn.Conv2d(3, 16 * nf, 3, padding=1)
        self.head_0 = SpadeResnetBlock(16 * nf, 16 * nf)
        self.G_middle_0 = SpadeResnetBlock(16 * nf, 16 * nf)
        self.G_middle_1 = SpadeResnetBlock(16 * nf, 16 * nf)
        self.up_0 = SpadeResnetBlock(16 * nf, 8 * nf)
        self.up_1 = SpadeResnetBlock(8 * nf, 4 * nf)
        self.up_2 = SpadeResnetBlock(4 * nf, 2 * nf)
        self.up_3 = SpadeResnetBlock(2 * nf, 1 * nf)
        self.conv_img = nn.Conv2d(nf, 3, 3, padding=1)

    @staticmethod
    def _up(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest")

    def forward(self, degraded: torch.Tensor) -> torch.Tensor:
        """`degraded`: the aligned face crop(s), N×3×S×S in [-1, 1]."""
        s = self.latent_size
        x = self.fc(F.interpolate(degraded, size=(s, s), mode="bilinear"))
        x = self.head_0(x, degraded)
        x = self.G_middle_0(self._up(x), degraded)
        x = self.G_middle_1(x, degraded)
        x = self.up_0(self._up(x), degraded)
        x = self.up_1(self._up(x), degraded)
        x = self.up_2(self._up(x), degraded)
        x = self.up_3(self._up(x), degraded)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 2e-1)))
