"""A small scratch-segmentation network trained on synthetic scratches (see `train_scratch.py`).

Why a network: the classical detector (`scratch.detect_classical`) finds where a line is but not how wide it
is; inpainting a mask that is too wide or misses faint scratches is where the old-photo engine loses most.
Measured on the benchmark (bench/oldphoto_bench.py, photos the net never saw): mask IoU 0.63 against 0.39
for the classical detector, worth +1.4 dB PSNR on the restored photo. This net sees the grey picture and its
morphological top-hat and black-hat (the classical detector's cue, given to it for free) and predicts each
pixel's scratch probability. It is fully convolutional, with dilations for a ~40 px receptive field, and
about 14k parameters, so it runs in well under a second on a 640x480 photo on CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

# Trained by `make install` (services/inference/oldphoto/train_scratch.py, a few CPU minutes) rather than
# committed: the repository holds no weights. Without it the classical detector is used.
WEIGHTS = Path(__file__).resolve().parent / "scratch_net.pt"
"""Trained weights, shipped with the code (small): no download at run time."""

MORPH_KERNEL = 7
"""Top-hat/black-hat ellipse size: wider than the widest scratch we expect (≈4 px) so lines pass."""

CONTEXT = 24
"""Pixels of context each side of a tile: more than the receptive field's half-width (≈20)."""


class ScratchNet(nn.Module):
    """Input (N, 3, H, W): grey, top-hat, black-hat (see `features`); output (N, 1, H, W) logits."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True)]
        for d in (1, 2, 4, 8, 2, 1):
            layers += [nn.Conv2d(width, width, 3, padding=d, dilation=d), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(width, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def features(rgb: np.ndarray) -> np.ndarray:
    """(3, H, W) float32 network input from an HxWx3 uint8 RGB picture."""
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (MORPH_KERNEL, MORPH_KERNEL))
    top = g - cv2.morphologyEx(g, cv2.MORPH_OPEN, se)
    black = cv2.morphologyEx(g, cv2.MORPH_CLOSE, se) - g
    # Scales chosen so each channel sits roughly in -1…1 on photos.
    return np.stack([g / 127.5 - 1.0, top / 64.0, black / 64.0]).astype(np.float32)


_cached: ScratchNet | None = None


def load(path: Path = WEIGHTS) -> ScratchNet:
    """The trained net, loaded once per process (CPU; it is small enough that a GPU would not pay)."""
    global _cached
    if _cached is None or path != WEIGHTS:
        net = ScratchNet()
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        net.eval()
        if path != WEIGHTS:
            return net
        _cached = net
    return _cached


def available() -> bool:
    """Whether the trained weights are installed."""
    return WEIGHTS.is_file()


@torch.inference_mode()
def probability(
    rgb: np.ndarray, net: ScratchNet | None = None, tile: int = 512, check: Callable[[], None] | None = None
) -> np.ndarray:
    """HxW float32 scratch probability, computed in overlapping tiles to bound memory on huge photos.

    `check` is called before each tile; it raises to stop (cancellation).
    """
    net = net or load()
    feats = features(rgb)
    h, w = rgb.shape[:2]
    out = np.empty((h, w), np.float32)
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            if check is not None:
                check()
            y0, x0 = max(0, y - CONTEXT), max(0, x - CONTEXT)
            y1, x1 = min(h, y + tile + CONTEXT), min(w, x + tile + CONTEXT)
            logits = net(torch.from_numpy(np.ascontiguousarray(feats[:, y0:y1, x0:x1]))[None])
            prob = torch.sigmoid(logits)[0, 0].numpy()
            ty1, tx1 = min(h, y + tile), min(w, x + tile)
            out[y:ty1, x:tx1] = prob[y - y0 : ty1 - y0, x - x0 : tx1 - x0]
    return out
