"""The VAE generator `GlobalGenerator_DCDCv2` behind VAE_A_quality, VAE_B_quality and VAE_B_scratch.

Domain A's encoder maps an old photo to a latent; domain B's decoder maps a (mapped) latent back to a picture.
Both checkpoints come from the same class, so one module serves both; the pipeline uses only `encoder` of A
and only `decoder` of B.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import ResnetBlock, instance_norm


class GlobalGeneratorDCDCv2(nn.Module):
    """Encoder/decoder pair with the official layer order (keys `encoder.N.*`, `decoder.N.*`).

    The official test options are ngf=64, mc=64, k_size=4, n_downsampling=3, start_r=1, spatio_size=64:
    a 64-channel latent at 1/4 of the input resolution (the third downsampling is swapped for a residual
    block when spatio_size is 64).
    """

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        ngf: int = 64,
        mc: int = 64,
        k_size: int = 4,
        n_downsampling: int = 3,
        start_r: int = 1,
        spatio_size: int = 64,
    ) -> None:
        super().__init__()

        def w(c: int) -> int:
            return min(c, mc)

        enc: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, w(ngf), kernel_size=7, padding=0),
            instance_norm(ngf),
            nn.ReLU(True),
        ]
        for i in range(start_r):
            mult = 2**i
            enc += [
                nn.Conv2d(w(ngf * mult), w(ngf * mult * 2), kernel_size=k_size, stride=2, padding=1),
                instance_norm(w(ngf * mult * 2)),
                nn.ReLU(True),
            ]
        for i in range(start_r, n_downsampling - 1):
            mult = 2**i
            enc += [
                nn.Conv2d(w(ngf * mult), w(ngf * mult * 2), kernel_size=k_size, stride=2, padding=1),
                instance_norm(w(ngf * mult * 2)),
                nn.ReLU(True),
                ResnetBlock(w(ngf * mult * 2)),
                ResnetBlock(w(ngf * mult * 2)),
            ]
        mult = 2 ** (n_downsampling - 1)
        if spatio_size == 32:
            enc += [
                nn.Conv2d(w(ngf * mult), w(ngf * mult * 2), kernel_size=k_size, stride=2, padding=1),
                instance_norm(w(ngf * mult * 2)),
                nn.ReLU(True),
            ]
        if spatio_size == 64:
            enc += [ResnetBlock(w(ngf * mult * 2))]
        enc += [ResnetBlock(w(ngf * mult * 2))]
        self.encoder = nn.Sequential(*enc)

        o_pad = 0 if k_size == 4 else 1
        mult = 2**n_downsampling
        dec: list[nn.Module] = [ResnetBlock(w(ngf * mult))]
        if spatio_size == 32:
            dec += self._up(w(ngf * mult), w(ngf * mult // 2), k_size, o_pad)
        if spatio_size == 64:
            dec += [ResnetBlock(w(ngf * mult))]
        for i in range(1, n_downsampling - start_r):
            mult = 2 ** (n_downsampling - i)
            dec += [ResnetBlock(w(ngf * mult)), ResnetBlock(w(ngf * mult))]
            dec += self._up(w(ngf * mult), w(ngf * mult // 2), k_size, o_pad)
        for i in range(n_downsampling - start_r, n_downsampling):
            mult = 2 ** (n_downsampling - i)
            dec += self._up(w(ngf * mult), w(ngf * mult // 2), k_size, o_pad)
        dec += [nn.ReflectionPad2d(3), nn.Conv2d(w(ngf), output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.decoder = nn.Sequential(*dec)

    @staticmethod
    def _up(cin: int, cout: int, k_size: int, o_pad: int) -> list[nn.Module]:
        return [
            nn.ConvTranspose2d(cin, cout, kernel_size=k_size, stride=2, padding=1, output_padding=o_pad),
            instance_norm(cout),
            nn.ReLU(True),
        ]

    def forward(self, x: torch.Tensor, flow: str = "enc_dec") -> torch.Tensor:
        """`flow` is `enc`, `dec` or `enc_dec`, as in the official forward."""
        if flow == "enc":
            return self.encoder(x)
        if flow == "dec":
            return self.decoder(x)
        if flow == "enc_dec":
            return self.decoder(self.encoder(x))
        raise ValueError(f"unknown flow {flow!r}")
