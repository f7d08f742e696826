"""A small scratch-segmentation network trained on synthetic scratches (see `train_scratch.py`).

Why a network: the classical detector (`scratch.detect_classical`) finds where a line is but not how wide it
is; inpainting a mask that is too wide or misses faint scratches is where the old-photo engine loses most.
bench/oldphoto_bench.py measures both on photos the net never saw (mask IoU, and the share of a clean photo's
pixels flagged). This net sees the grey picture and its
morphological top-hat and black-hat (the classical detector's cue, given to it for free) and predicts each
pixel's scratch probability. It is fully convolutional, with dilations for a ~40 px receptive field, and
about 14k parameters, so it runs in well under a second on a 640x480 photo on CPU.

It runs through the shared tiled renderer (services/inference/tiling.py) like every other network: `DESCRIPTOR`
tells the planner its context margin, and the run context's device, tile size and cancellation apply.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from ...descriptor import ModelDescriptor
from ...engine import RunContext

WEIGHTS_FILE = "oldphoto_scratch_net.pt"
"""Trained weights, committed with the code in the weights folder (the `weights_dir` setting; about 100 kB;
train_scratch.py makes them from its seed, and the .json beside them records how): no training at install,
no download at run time. Without them the classical detector is used."""
WEIGHTS_SHA256 = "caf68315552cfe1e0a1a320ff103a1a163457b2eee981b04e20ef954dc8caf41"
"""Its checksum (also in the Makefile, checked by `make install`, and in weights/oldphoto_scratch_net.json)."""

MORPH_KERNEL = 11
"""Top-hat/black-hat ellipse size: wider than the widest scratch we expect (≈7 px) so lines pass."""

CONTEXT = 40
"""Pixels of context each side of a tile: more than the receptive field's half-width (≈35)."""

THRESHOLD = 0.6
"""Probability above which a pixel is a scratch. Chosen with `MIN_LENGTH` by train_scratch.choose_mask_rule on
its own validation scenes (never on the benchmark's photos) and recorded in the .json beside the weights."""
MIN_LENGTH = 25
"""Connected parts of the mask shorter than this (the longer side of their box, pixels) are dropped: a
scratch runs on, a strand of texture taken for one is short."""

DESCRIPTOR = ModelDescriptor(
    id="OLDPHOTO_SCRATCH_NET",
    arch="scratchnet",
    scale=1,
    pad=CONTEXT,
    in_channels=4,
    out_channels=1,
    half_safe=False,
)
"""For the shared tiled renderer: features in, logits out at the same size; unpadded nowhere (its convolutions
pad themselves, so a picture that fits one tile is computed exactly as a whole); fp32 (reduced precision was
not measured)."""


def to_mask(prob: np.ndarray, threshold: float = THRESHOLD, min_length: int = MIN_LENGTH) -> np.ndarray:
    """HxW bool scratch mask from the net's probability: above `threshold`, in parts at least `min_length`
    pixels long."""
    mask: np.ndarray = prob > threshold
    if min_length <= 1 or not mask.any():
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= min_length
    keep[0] = False  # background
    kept: np.ndarray = keep[labels]
    return kept


def weights_path(weights_dir: Path) -> Path:
    """The committed net's file in a weights folder."""
    return Path(weights_dir) / WEIGHTS_FILE


class ScratchNet(nn.Module):
    """Input (N, 4, H, W): grey, top-hat, black-hat, fine detail (see `features`); output (N, 1, H, W) logits."""

    def __init__(self, width: int = 20) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(4, width, 3, padding=1), nn.ReLU(inplace=True)]
        for d in (1, 2, 4, 8, 16, 2, 1):
            layers += [nn.Conv2d(width, width, 3, padding=d, dilation=d), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(width, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x)
        return out


def features(rgb: np.ndarray) -> np.ndarray:
    """(4, H, W) float32 network input from an HxWx3 uint8 RGB picture.

    The fourth channel, the picture minus a σ 1 blur, tells a crisp line (a scratch lies on the print's
    surface) from one that is as soft as the rest of the picture (hair, wires, whiskers were photographed).
    """
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (MORPH_KERNEL, MORPH_KERNEL))
    top = g - cv2.morphologyEx(g, cv2.MORPH_OPEN, se)
    black = cv2.morphologyEx(g, cv2.MORPH_CLOSE, se) - g
    fine = g - cv2.GaussianBlur(g, (0, 0), 1.0)
    # Scales chosen so each channel sits roughly in -1…1 on photos.
    return np.stack([g / 127.5 - 1.0, top / 64.0, black / 64.0, fine / 32.0]).astype(np.float32)


_cache: dict[tuple[Path, str], ScratchNet] = {}
_cache_lock = threading.Lock()


def load(path: Path, device: str = "cpu") -> ScratchNet:
    """The trained net from `path`, in eval mode, loaded once per (file, device) and shared (do not modify)."""
    key = (Path(path).resolve(), str(torch.device(device)))
    with _cache_lock:
        net = _cache.get(key)
        if net is None:
            net = ScratchNet()
            net.load_state_dict(torch.load(key[0], map_location="cpu", weights_only=True))
            net.requires_grad_(False)
            net = net.to(key[1]).eval()
            _cache[key] = net
    return net


def available(weights_dir: Path) -> bool:
    """Whether the trained weights are in `weights_dir`."""
    return weights_path(weights_dir).is_file()


def probability(
    rgb: np.ndarray, weights_dir: Path, ctx: RunContext | None = None, net: ScratchNet | None = None
) -> np.ndarray:
    """HxW float32 scratch probability, through the shared tiled renderer (tiles bound the memory on huge
    photos; `ctx` gives the device, the tile size and cancellation). `net` replaces the committed one."""
    from ...tiling import upscale  # the renderer imports the device layer; keep this module light to import

    ctx = ctx or RunContext()
    net = net or load(weights_path(weights_dir), ctx.device)
    feats = np.ascontiguousarray(features(rgb).transpose(1, 2, 0))
    # Progress stays with the caller (the scratch stage is a small share of the whole run).
    quiet = RunContext(cancelled=ctx.cancelled, device=ctx.device, tile=ctx.tile, precision=ctx.precision,
                       family=ctx.family)  # fmt: skip
    logits = upscale(net, DESCRIPTOR, feats, quiet, quantise=False, channels_last=False)
    prob: np.ndarray = torch.sigmoid(torch.from_numpy(logits[..., 0])).numpy()
    return prob
