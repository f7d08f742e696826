"""Optional Real-ESRGAN x4plus clean-up stage, used where it is cheap (a CUDA device), off on CPU.

Measured (bench crops, 7 synthetic old photos, 160x160 after inpainting and tone): non-local means plus
sharpening 20.56 dB / SSIM 0.742; x4plus at 4x brought back to size by area averaging 20.63 / 0.753; the
average of the two 20.80 / 0.756, the best — so the stage blends, it does not replace. Running x4plus on a
2x-downscaled copy (a quarter of the work) scored below plain denoising (20.19 dB). The cost on 2 CPU cores
is what rules it out there: 4x upscaling does 16x the work that is kept, about 15 s per 160x160 crop on an
idle machine (minutes for a 640x480 photo) for a quarter of a decibel. On a GPU the same run takes well
under a second, so `wanted` turns it on for CUDA devices only.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...engine import RunContext

MODEL_ID = "REALESRGAN_X4PLUS_UP4X"
BLEND = 0.5
"""Weight of the Real-ESRGAN result against the classical one (the measured best of 0, 0.5 and 1)."""


def wanted(device: str) -> bool:
    """Whether the stage pays off on `device` (see the module docstring)."""
    return device.startswith("cuda")


def installed() -> bool:
    """Whether the shared model registry and the x4plus weights are present."""
    try:
        from .. import model_path

        model_path(MODEL_ID)
    except Exception:  # no registry module, no weights package: the stage is simply skipped
        return False
    return True


def blend(
    inpainted: np.ndarray, classical: np.ndarray, ctx: RunContext, span: tuple[float, float]
) -> np.ndarray:
    """Run x4plus at 4x on `inpainted` (tone-corrected, not denoised: the network was trained on raw damage),
    bring it back to size and average it with the classical clean-up."""
    from ...tiling import upscale
    from .. import load_model

    net, desc = load_model(MODEL_ID, ctx.device)
    up = upscale(net, desc, np.ascontiguousarray(inpainted), ctx, span=span)
    h, w = inpainted.shape[:2]
    down = cv2.resize(up, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    out = BLEND * down + (1 - BLEND) * classical.astype(np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
