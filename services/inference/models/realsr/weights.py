"""Filling an RRDBNet from ncnn files (RealSR DF2K, Real-ESRGAN x4plus) or official PyTorch checkpoints."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ...checkpoint import CheckpointError, read_state_dict, rename
from ...ncnn_format import NcnnFormatError, conv_weight, read_ncnn
from .arch import RRDBNet, activated_convs, conv_names

# Convolutions outside the trunk: conv_first plus conv_body, conv_up1, conv_up2, conv_hr, conv_last.
_OUTSIDE_TRUNK = 6
_CONVS_PER_BLOCK = 15


def load_ncnn(param_path: Path | str) -> RRDBNet:
    """Build an RRDBNet sized from the ncnn graph (block count, features) and load its weights.

    Raises NcnnFormatError if the graph is not an ×4 RRDBNet (wrong convolution count, shapes or fused
    activations).
    """
    model_file = read_ncnn(param_path)
    convs = model_file.by_type("Convolution")
    num_block, rest = divmod(len(convs) - _OUTSIDE_TRUNK, _CONVS_PER_BLOCK)
    interps = model_file.by_type("Interp")
    if rest or num_block < 1 or len(interps) != 2 or model_file.by_type("Deconvolution", "PixelShuffle"):
        raise NcnnFormatError(f"{Path(param_path).name}: not an x4 RRDBNet graph ({len(convs)} convolutions)")
    num_feat = convs[0].int_param(0)
    num_grow_ch = convs[1].int_param(0)
    net = RRDBNet(num_feat=num_feat, num_block=num_block, num_grow_ch=num_grow_ch)
    activated = activated_convs(num_block)
    state: dict[str, torch.Tensor] = {}
    for name, layer in zip(conv_names(num_block), convs, strict=True):
        # A graph whose activations differ from ESRGAN's would load fine and compute garbage: refuse it.
        fused = layer.int_param(9)
        slope = layer.param(10, [0.0])
        if (fused == 2 and slope == [0.2]) != (name in activated) or fused not in (0, 2):
            raise NcnnFormatError(f"{layer.name} ({name}): unexpected activation {fused} {slope}")
        state[f"{name}.weight"] = torch.from_numpy(conv_weight(layer))
        state[f"{name}.bias"] = torch.from_numpy(np.ascontiguousarray(layer.weights["bias"]))
    net.load_state_dict(state, strict=True)
    return net.eval()


def official_key_map(num_block: int, style: str) -> dict[str, str]:
    """Our parameter names → the names of an official checkpoint family.

    `basicsr`: BasicSR / Real-ESRGAN (ours). `esrgan`: xinntao/ESRGAN's later arch, mmsr and RealSR's codes
    (`RRDB_trunk.N.RDB1.conv1`, `trunk_conv`, `upconv1`, `HRconv`). `old`: the first ESRGAN release
    (`model.0`, `model.1.sub.N.RDB1.conv1.0`, …).
    """
    ours = [f"{name}.{p}" for name in conv_names(num_block) for p in ("weight", "bias")]
    if style == "basicsr":
        return {k: k for k in ours}
    if style == "esrgan":
        top = {"conv_body": "trunk_conv", "conv_up1": "upconv1", "conv_up2": "upconv2", "conv_hr": "HRconv"}
    elif style == "old":
        top = {
            "conv_first": "model.0",
            "conv_body": f"model.1.sub.{num_block}",
            "conv_up1": "model.3",
            "conv_up2": "model.6",
            "conv_hr": "model.8",
            "conv_last": "model.10",
        }
    else:
        raise ValueError(f"unknown checkpoint style {style!r}")
    mapping: dict[str, str] = {}
    for key in ours:
        name, param = key.rsplit(".", 1)
        block = re.fullmatch(r"body\.(\d+)\.rdb(\d)\.conv(\d)", name)
        if block:
            b, r, c = block.groups()
            theirs = (
                f"RRDB_trunk.{b}.RDB{r}.conv{c}" if style == "esrgan" else f"model.1.sub.{b}.RDB{r}.conv{c}.0"
            )
        else:
            theirs = top.get(name, name)
        mapping[key] = f"{theirs}.{param}"
    return mapping


def _detect(state: dict[str, torch.Tensor]) -> tuple[str, int]:
    keys = set(state)
    for style, pattern in (
        ("basicsr", r"body\.(\d+)\.rdb1\.conv1\.weight"),
        ("esrgan", r"RRDB_trunk\.(\d+)\.RDB1\.conv1\.weight"),
        ("old", r"model\.1\.sub\.(\d+)\.RDB1\.conv1\.0\.weight"),
    ):
        blocks = [int(m.group(1)) for k in keys if (m := re.fullmatch(pattern, k))]
        if blocks:
            return style, max(blocks) + 1
    raise CheckpointError("not an RRDBNet checkpoint (no RRDB block keys found)")


def load_official(path: Path | str) -> RRDBNet:
    """Load an official ESRGAN / RealSR / Real-ESRGAN ×4 RRDBNet checkpoint (`.pth` or `.safetensors`)."""
    state = read_state_dict(path)
    style, num_block = _detect(state)
    ours = rename(state, {v: k for k, v in official_key_map(num_block, style).items()})
    first = ours["conv_first.weight"]
    if first.shape[1] != 3:
        # Real-ESRGAN x2plus / x1 pixel-unshuffle their input first (12 or 48 channels): another network.
        raise CheckpointError(f"conv_first takes {first.shape[1]} channels: only x4 RRDBNet is supported")
    net = RRDBNet(
        num_in_ch=3,
        num_out_ch=ours["conv_last.weight"].shape[0],
        num_feat=first.shape[0],
        num_block=num_block,
        num_grow_ch=ours["body.0.rdb1.conv1.weight"].shape[0],
    )
    try:
        net.load_state_dict({k: v.float() for k, v in ours.items()}, strict=True)
    except RuntimeError as exc:  # shape mismatches
        raise CheckpointError(str(exc)) from exc
    return net.eval()
