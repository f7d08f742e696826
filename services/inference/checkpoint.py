"""Reading official PyTorch checkpoints (`.pth` / `.safetensors`) that a user may have next to the ncnn files.

Only tensors are accepted: `.pth` files load with `weights_only=True`, so a checkpoint cannot run code.
"""

from __future__ import annotations

from pathlib import Path

import torch

# Training frameworks wrap the weights: BasicSR/Real-ESRGAN as `params_ema` (preferred, the EMA weights) or
# `params`, nunif and many others as `state_dict`.
_WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model_state_dict", "model")


class CheckpointError(ValueError):
    """The checkpoint cannot be read or does not match the expected architecture."""


def read_state_dict(path: Path | str) -> dict[str, torch.Tensor]:
    """Load a checkpoint file as a flat `name → tensor` dict, unwrapped from the usual training wrappers."""
    return read_checkpoint(path)[0]


def read_checkpoint(path: Path | str) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """Load a checkpoint: its flat `name → tensor` dict and the wrapper's other top-level entries
    (e.g. nunif's `name` and `kwargs`), empty when the file is a bare state dict."""
    path = Path(path)
    meta: dict[str, object] = {}
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as exc:
            raise CheckpointError("reading .safetensors needs the `safetensors` package") from exc
        obj: object = load_file(str(path), device="cpu")
    else:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle errors come in many types; all mean "not a plain weights file"
            raise CheckpointError(f"{path.name}: not a weights-only PyTorch checkpoint ({exc})") from exc
    for key in _WRAPPER_KEYS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            meta = {k: v for k, v in obj.items() if k != key}
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path.name}: expected a dict of tensors, got {type(obj).__name__}")
    state: dict[str, torch.Tensor] = {}
    for name, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path.name}: entry {name!r} is not a tensor")
        # DataParallel prefixes every name with `module.`.
        state[name.removeprefix("module.")] = value
    return state, meta


def rename(state: dict[str, torch.Tensor], mapping: dict[str, str]) -> dict[str, torch.Tensor]:
    """Rename `state` through `mapping` (theirs → ours); every key must be mapped and every target filled."""
    missing = sorted(set(mapping) - set(state))
    extra = sorted(set(state) - set(mapping))
    if missing or extra:
        raise CheckpointError(f"checkpoint keys do not match: missing {missing[:4]}, unexpected {extra[:4]}")
    return {mapping[name]: tensor for name, tensor in state.items()}
