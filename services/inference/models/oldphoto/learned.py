"""Learned denoising and deblurring from the shipped restorers: Waifu2x's photo UpConv7 and Real-ESRGAN x4plus.

What was measured (bench/oldphoto_bench.py's tuning split: the 8 old photos of ../shared/images/old halved and
damaged synthetically, never the benchmark's test photos; 2 shared CPU cores):

- Waifu2x photo UpConv7 with denoising, run at 2x on the picture and area-averaged back to its size, then the
  tone stage: +0.25 dB over non-local means + tone (+5.59 against +5.34 dB mean gain), levels 1, 2 and 3
  within 0.1 dB of each other, level 0 (JPEG-only denoising) 0.3 dB lower; about 25 s per megapixel on the
  shared CPU. Run on a half-size copy (a quarter of the work) it lost 0.2 dB on the worst picture. Run after
  the tone stage instead of before it: −0.25 dB (the stretch amplifies the grain the network was not trained
  on). With the new tone stage, the whole result gained +7.9 dB mean, +5.0 dB worst; blending the network's
  output with the input at 0.5 or 0.75 cost 0.1–0.2 dB, so noisy pictures take it whole and only nearly
  clean ones (noise σ under `FULL_SIGMA`) are blended toward the input, clean ones (under `MIN_SIGMA`) not
  touched at all.
- Real-ESRGAN x4plus on a quarter-size copy (one sixteenth of the work) and back: −0.8 to +1.7 dB against the
  tone stage alone, too erratic; on a half-size copy: +0.1, +2.6, +0.8 dB on three pictures, but 40–54 s for
  a 0.05 MP picture on the shared CPU (about 1000 s per megapixel). So it runs on CUDA only, where it takes
  well under a second, blended half-and-half with the Waifu2x result (`ESRGAN_BLEND`).

The CPU budget (`cpu_plan`): full resolution up to `CPU_FULL_MP`, a half-size copy up to `CPU_HALF_MP`,
non-local means beyond (the engine's report says which). On CUDA everything runs at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...engine import RunContext

ESRGAN_ID = "REALESRGAN_X4PLUS_UP4X"
ESRGAN_BLEND = 0.5
"""Weight of Real-ESRGAN's result (from a half-size copy) against Waifu2x's, on CUDA."""
MIN_SIGMA = 1.2
"""Below this estimated noise σ (levels of 255) the picture is taken as clean and not denoised."""
FULL_SIGMA = 2.5
"""From this σ on the network's output replaces the picture; between the two it is blended in linearly."""
CPU_FULL_MP = 1.5
"""On a CPU, pictures up to this many megapixels are denoised at full resolution (~25–40 s on 2 cores)."""
CPU_HALF_MP = 6.0
"""Up to this many on a half-size copy; beyond it, non-local means (seconds, not minutes)."""


def waifu2x_id(level: int) -> str:
    return f"WAIFU2X_PHOTO_UP2X_DENOISE{level}X"


def level_for(sigma: float) -> int:
    """Waifu2x denoise level for an estimated noise σ (levels 1–3 measured alike; higher for more noise)."""
    return 1 if sigma < 3.0 else 2 if sigma < 6.0 else 3


def weight_for(sigma: float) -> float:
    """How much of the network's output replaces the picture."""
    return float(np.clip((sigma - MIN_SIGMA) / (FULL_SIGMA - MIN_SIGMA), 0.0, 1.0))


@dataclass(frozen=True)
class Plan:
    """How the learned stage runs on one picture."""

    mode: str
    """`full`, `half` (a half-size copy, CPU budget) or `nlm` (too large for the CPU budget, or no model)."""
    level: int
    weight: float
    esrgan: bool


def installed(model_id: str) -> bool:
    """Whether the shared model registry has this model's weights."""
    try:
        from .. import model_path

        model_path(model_id)
    except Exception:  # no registry, no weights package: the caller falls back to non-local means
        return False
    return True


def plan(shape: tuple[int, int], sigma: float, device: str, esrgan: str = "auto") -> Plan:
    """Choose the mode for a picture of `shape` with noise `sigma` on `device` (see the module docstring)."""
    level, weight = level_for(sigma), weight_for(sigma)
    mp = shape[0] * shape[1] / 1e6
    cuda = device.startswith("cuda")
    use_esrgan = esrgan == "on" or (esrgan == "auto" and cuda and installed(ESRGAN_ID))
    if not installed(waifu2x_id(level)):
        mode = "nlm"
    elif cuda or mp <= CPU_FULL_MP:
        mode = "full"
    elif mp <= CPU_HALF_MP:
        mode = "half"
    else:
        mode = "nlm"
    return Plan(mode, level, weight, use_esrgan and weight > 0)


def _run(model_id: str, rgb: np.ndarray, ctx: RunContext, span: tuple[float, float]) -> np.ndarray:
    from ...tiling import upscale
    from .. import load_model

    net, desc = load_model(model_id, ctx.device)
    return upscale(net, desc, np.ascontiguousarray(rgb), ctx, span=span)


def _resize(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    shrink = w * h < rgb.shape[0] * rgb.shape[1]
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def denoise(rgb: np.ndarray, p: Plan, ctx: RunContext, span: tuple[float, float]) -> np.ndarray:
    """HxWx3 uint8 in, out: the network's restoration blended into the picture by `p.weight`."""
    if p.weight <= 0 or p.mode == "nlm":
        return rgb.copy()
    h, w = rgb.shape[:2]
    mid = span[0] + (span[1] - span[0]) * (0.5 if p.esrgan else 1.0)
    source = rgb if p.mode == "full" else _resize(rgb, max(16, w // 2), max(16, h // 2))
    out = _resize(_run(waifu2x_id(p.level), source, ctx, (span[0], mid)), w, h).astype(np.float32)
    if p.esrgan:
        half = _resize(rgb, max(16, w // 2), max(16, h // 2))
        sr = _resize(_run(ESRGAN_ID, half, ctx, (mid, span[1])), w, h).astype(np.float32)
        out = (1 - ESRGAN_BLEND) * out + ESRGAN_BLEND * sr
    blended = p.weight * out + (1 - p.weight) * rgb.astype(np.float32)
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)
