"""The HR scratch mapping `Mapping_Model_with_mask_2` (multi-scale patch attention, official `--HR`).

Only `inference_forward` of the official `Patch_Attention_4` is implemented: it is the path the official test
takes (`inference_optimize`), and it is the one whose output the goldens pin down.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import ResnetBlock
from .mapping import narrow_layers, widen_layers

COMBINE_CHANNELS = 512
"""F_Combine is hard-coded Conv2d(1025, 512) upstream, so this network only exists at mc=512."""


def binarised_latent_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of the image-resolution mask to the latent size, then 1 wherever it is > 0."""
    resized = F.interpolate(mask, size, mode="bilinear")
    return torch.where(resized > 0, torch.ones_like(resized), resized)


class PatchAttention4(nn.Module):
    """Replace every mostly-scratched p×p latent patch by its most similar clean patch, then fuse by conv."""

    def __init__(self, channels: int, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        # Registered before res_block, as upstream: the state-dict order depends on it.
        self.F_Combine = nn.Conv2d(2 * COMBINE_CHANNELS + 1, COMBINE_CHANNELS, 3, 1, 1, bias=True)
        self.res_block = nn.Sequential(ResnetBlock(channels))

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The official `inference_forward` (batch size 1): `mask` is 1×1×H×W at image resolution."""
        x = self.res_block(z)
        _, _, h, w = x.shape
        p = self.patch_size
        mask = binarised_latent_mask(mask, (h, w))

        mask_unfold = F.unfold(mask, kernel_size=(p, p), stride=p)
        query = (torch.mean(mask_unfold, dim=1, keepdim=True) > 0.6).float()[0, 0, :]
        query_index = torch.nonzero(query, as_tuple=True)[0]
        key_index = torch.nonzero(query != 1, as_tuple=True)[0]

        # Upstream crashes when every patch is a query (no key to copy from); keeping x there is the only
        # sensible reading and changes nothing in any case upstream can run.
        if len(query_index) == 0 or len(key_index) == 0:
            composed = x
        else:
            x_unfold = F.unfold(x, kernel_size=(p, p), stride=p)
            queries = torch.index_select(x_unfold, 2, query_index).permute(0, 2, 1)
            keys = torch.index_select(x_unfold, 2, key_index)
            correlation = torch.bmm(F.normalize(queries, dim=2), F.normalize(keys, dim=1))
            # The softmax cannot change the argmax, but it is what upstream takes the max of (ties included).
            _, best = torch.max(F.softmax(correlation, dim=2), dim=2)
            index = best.view(best.size(0), 1, -1).expand(-1, keys.size(1), -1)
            x_unfold[:, :, query_index] = torch.gather(keys, 2, index)
            # Rows/columns beyond the last full patch come out as zeros, exactly as upstream's fold does.
            composed = F.fold(x_unfold, output_size=(h, w), kernel_size=(p, p), stride=p)

        return self.F_Combine(torch.cat((z, composed, mask), dim=1))


class MappingModelWithMask2(nn.Module):
    """`mapping_Patch_Attention/latest_net_mapping_net.pth`: patch attention at patch sizes 8, 4 and 2."""

    def __init__(self, mc: int = COMBINE_CHANNELS, dilation: int = 1) -> None:
        super().__init__()
        if mc != COMBINE_CHANNELS:
            raise ValueError("the patch-attention mapping only exists at mc=512")
        self.before_NL = nn.Sequential(*widen_layers(mc), *[ResnetBlock(mc, dilation) for _ in range(2)])
        self.NL_scale_1 = PatchAttention4(mc, 8)
        self.res_block_1 = nn.Sequential(*[ResnetBlock(mc, dilation) for _ in range(2)])
        self.NL_scale_2 = PatchAttention4(mc, 4)
        self.res_block_2 = nn.Sequential(*[ResnetBlock(mc, dilation) for _ in range(2)])
        self.NL_scale_3 = PatchAttention4(mc, 2)
        self.after_NL = nn.Sequential(*[ResnetBlock(mc, dilation) for _ in range(2)], *narrow_layers(mc))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The official `inference_forward(input, mask)`; `mask` is already dilated by the caller."""
        x = self.before_NL(x)
        x = self.res_block_1(self.NL_scale_1(x, mask))
        x = self.res_block_2(self.NL_scale_2(x, mask))
        return self.after_NL(self.NL_scale_3(x, mask))

    inference_forward = forward
