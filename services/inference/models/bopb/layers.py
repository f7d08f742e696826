"""Building blocks shared by the BOPB networks, named so the official checkpoints load as they are.

Module layouts (which index holds which layer inside an `nn.Sequential`) follow the official code exactly,
because the state-dict keys are derived from them: padding and activation layers are kept as modules even
though they hold no parameters, so that `conv_block.1` and `conv_block.5` land where the checkpoints expect.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def instance_norm(channels: int) -> nn.Module:
    """The official `get_norm_layer("instance")`: InstanceNorm2d without affine parameters (no state)."""
    return nn.InstanceNorm2d(channels, affine=False)


class ResnetBlock(nn.Module):
    """pix2pixHD residual block of `Global/models/networks.py` (reflect padding, instance norm).

    Keys: `conv_block.1.{weight,bias}` and `conv_block.5.{weight,bias}`.
    """

    def __init__(self, dim: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(dilation),
            nn.Conv2d(dim, dim, kernel_size=3, padding=0, dilation=dilation),
            instance_norm(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3, padding=0, dilation=1),
            instance_norm(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class SpectralNormConv2d(nn.Module):
    """A Conv2d under `torch.nn.utils.spectral_norm`, evaluated the way that wrapper does in eval mode.

    The face checkpoints store `bias`, `weight_orig`, `weight_u`, `weight_v` (in that state-dict order). In
    eval mode torch uses the stored vectors without a power iteration: W = W_orig / (u · (W_mat v)). We only
    run inference, so the training-time power iteration is left out on purpose.
    """

    weight_u: torch.Tensor
    weight_v: torch.Tensor

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0, bias: bool = True
    ) -> None:
        super().__init__()
        self.padding = padding
        # Registration order matters: torch's wrapper leaves `bias` first, then adds `weight_orig`.
        if bias:
            self.bias: nn.Parameter | None = nn.Parameter(torch.zeros(out_channels))
        else:
            self.register_parameter("bias", None)
        self.weight_orig = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight_orig, a=5**0.5)
        height = out_channels
        width = in_channels * kernel_size * kernel_size
        self.register_buffer("weight_u", F.normalize(torch.randn(height), dim=0, eps=1e-12))
        self.register_buffer("weight_v", F.normalize(torch.randn(width), dim=0, eps=1e-12))

    def weight(self) -> torch.Tensor:
        """The effective (normalised) convolution weight."""
        weight_mat = self.weight_orig.reshape(self.weight_orig.size(0), -1)
        sigma = torch.dot(self.weight_u, torch.mv(weight_mat, self.weight_v))
        return self.weight_orig / sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight(), self.bias, padding=self.padding)

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        # Files written by PyTorch < 1.1 hold `weight` (the normalised weight) instead of `weight_v`; torch's
        # own loader hook rebuilds v from it, so a strict load of such a file works there and must work here.
        key_w, key_v = prefix + "weight", prefix + "weight_v"
        if key_w in state_dict and key_v not in state_dict and prefix + "weight_orig" in state_dict:
            with torch.no_grad():
                weight_orig = state_dict[prefix + "weight_orig"]
                weight = state_dict.pop(key_w)
                sigma = (weight_orig / weight).mean()
                weight_mat = weight_orig.reshape(weight_orig.size(0), -1)
                u = state_dict[prefix + "weight_u"]
                v = torch.linalg.multi_dot(
                    [weight_mat.t().mm(weight_mat).pinverse(), weight_mat.t(), u.unsqueeze(1)]
                ).squeeze(1)
                state_dict[key_v] = v.mul_(sigma / torch.dot(u, torch.mv(weight_mat, v)))
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
