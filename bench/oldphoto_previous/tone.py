"""Fading and colour-cast restoration, estimated from the picture rather than assumed.

A faded print has grey blacks, dull whites and often a warm cast. A full percentile stretch to 0…255 is the
obvious fix and the wrong one: a photo whose true range is narrow (fog, an overcast street) is then pushed
far past its real contrast (measured: −5 dB on such a photo). So the black and white points move only as far
as a typical photo's would be (`TYPICAL_BLACK`/`TYPICAL_WHITE`), and only part of the way (`strength`): a
picture whose range already looks normal is left alone. The cast is judged on the mid-tones, where a neutral
average is the best prior available, and also only partly removed.

Run it after scratch inpainting: bright and dark scratches sit exactly at the percentiles this reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], np.float32)

TYPICAL_BLACK = 10.0
"""The 0.5th luminance percentile of a well-exposed photo sits about here (0…255)."""
TYPICAL_WHITE = 240.0
"""And its 99.5th about here."""


@dataclass(frozen=True)
class ToneParams:
    """Tuning of `restore_tone`; the defaults are the benchmark's best (bench/oldphoto_bench.py)."""

    strength: float = 0.75
    """Fraction of the way from the measured black/white points to the typical ones."""
    cast_strength: float = 0.5
    """Fraction of the mid-tone colour cast removed."""
    low_pct: float = 0.5
    high_pct: float = 99.5


def levels(rgb: np.ndarray, params: ToneParams = ToneParams()) -> tuple[float, float, float, float]:
    """(measured black, measured white, target black, target white) of an HxWx3 float picture."""
    lum = rgb @ LUMA
    lo, hi = np.percentile(lum, [params.low_pct, params.high_pct])
    lo_t = lo + params.strength * (min(lo, TYPICAL_BLACK) - lo)
    hi_t = hi + params.strength * (max(hi, TYPICAL_WHITE) - hi)
    return float(lo), float(hi), float(lo_t), float(hi_t)


def cast_gains(rgb: np.ndarray, params: ToneParams = ToneParams()) -> np.ndarray:
    """Per-channel gains that partly neutralise the mid-tones' average colour (gray world on mid-tones)."""
    lum = rgb @ LUMA
    lo, hi = np.percentile(lum, [20, 80])
    mid = (lum >= lo) & (lum <= hi)
    if mid.sum() < 16:
        return np.ones(3, np.float32)
    means = rgb[mid].mean(axis=0)
    gains = float(means @ LUMA) / np.maximum(means, 1.0)
    # Never swing a channel by more than ~20 %: past that the "cast" is more likely the scene's own colour,
    # and sepia prints pushed fully to grey overshoot into a cold blue (seen on the real old photos).
    gains = np.clip(gains, 0.85, 1.2)
    return (1.0 + params.cast_strength * (gains - 1.0)).astype(np.float32)


def restore_tone(rgb: np.ndarray, params: ToneParams = ToneParams(), grey: bool = False) -> np.ndarray:
    """HxWx3 uint8 in, HxWx3 uint8 out: black/white points and colour cast corrected as estimated."""
    img = rgb.astype(np.float32)
    if not grey:
        img = img * cast_gains(img, params)
    lo, hi, lo_t, hi_t = levels(img, params)
    if hi - lo < 1.0:
        # A flat picture: nothing to estimate a range from.
        return rgb.copy()
    gain = (hi_t - lo_t) / (hi - lo)
    img = (img - lo) * gain + lo_t
    return np.clip(np.round(img), 0, 255).astype(np.uint8)
