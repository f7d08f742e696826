"""Fading and colour-cast restoration, estimated from the picture rather than assumed.

A faded print has grey blacks, dull whites and often a warm cast. A full percentile stretch to 0…255 is the
obvious fix and the wrong one: a photo whose true range is narrow (fog, an overcast street, a dark portrait)
is then pushed far past its real contrast (measured: −5 dB on such a photo). So the black and white points
move only as far as a typical photo's would be (`TYPICAL_BLACK`/`TYPICAL_WHITE`), and only part of the way:
a picture whose range already looks normal is left alone.

Fading lifts the blacks far more than it dulls the whites (the paper's white stays white; the blacks go
grey), so the black point moves most of the way (`strength` 0.75) and the white point only a little
(`white_strength` 0.2); that estimate is then averaged with where a typically faded print's levels came from
(`unfade`, `prior_weight` 0.5), which keeps a picture whose true blacks are grey (fog, a bright sky) from
being pushed to black. Measured on the tuning split (bench/oldphoto_bench.py --split tune: the 8 old photos,
halved, with synthetic fading; never the benchmark's test photos), tone stage alone, gain over the damaged
input: the previous engine's stretch (both points 0.75 of the way) +4.70 dB mean, −2.31 dB on the worst
picture (a dark portrait whose whites were never near 240); the estimate alone +6.44 / +1.79 dB; the typical
fading's inverse alone +7.74 / +3.69 dB (but blind to the picture); half and half +7.77 / +2.96 dB.
The points are the 0.5th and 99.5th luminance percentiles, so at most 0.5 % of the picture is clipped at
either end.

The cast is judged on the mid-tones, where a neutral average is the best prior available, and also only
partly removed.

Run it after scratch inpainting: bright and dark scratches sit exactly at the percentiles this reads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], np.float32)

TYPICAL_BLACK = 10.0
"""The 0.5th luminance percentile of a well-exposed photo sits about here (0…255)."""
TYPICAL_WHITE = 240.0
"""And its 99.5th about here."""
FADE_CONTRAST = 0.675
"""A typical faded print's contrast around mid-grey (the middle of the synthetic damage's 0.55–0.8)."""
FADE_LIFT = 22.5
"""And its lift of every level (the middle of 10–35)."""


@dataclass(frozen=True)
class ToneParams:
    """Tuning of `restore_tone`; the defaults are the benchmark's best (bench/oldphoto_bench.py)."""

    strength: float = 0.75
    """Fraction of the way from the measured black point to the typical one."""
    white_strength: float = 0.2
    """Fraction of the way from the measured white point to the typical one."""
    prior_weight: float = 0.5
    """Weight of a typical fading's inverse (`unfade`) against the measured estimate, for both points."""
    scale: float = 1.0
    """Fraction of the whole correction applied (`restore_tone`'s evidence)."""
    cast_strength: float = 0.5
    """Fraction of the mid-tone colour cast removed."""
    low_pct: float = 0.5
    high_pct: float = 99.5


def unfade(level: float) -> float:
    """Where a level of a typically faded print came from: the inverse of a contrast `FADE_CONTRAST` around
    mid-grey plus a lift of `FADE_LIFT`, clipped to 0…255."""
    return float(np.clip((level - 128.0 - FADE_LIFT) / FADE_CONTRAST + 128.0, 0.0, 255.0))


def levels(rgb: np.ndarray, params: ToneParams = ToneParams()) -> tuple[float, float, float, float]:
    """(measured black, measured white, target black, target white) of an HxWx3 float picture."""
    lum = rgb @ LUMA
    lo, hi = np.percentile(lum, [params.low_pct, params.high_pct])
    lo_t = lo + params.strength * (min(lo, TYPICAL_BLACK) - lo)
    hi_t = hi + params.white_strength * (max(hi, TYPICAL_WHITE) - hi)
    k = params.prior_weight
    lo_t, hi_t = (1 - k) * lo_t + k * unfade(lo), (1 - k) * hi_t + k * unfade(hi)
    if params.scale < 1:
        lo_t, hi_t = lo + params.scale * (lo_t - lo), hi + params.scale * (hi_t - hi)
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


CLEAN_SIGMA = 1.15
"""Grain σ (levels of 255, measured before denoising) at or under which a picture shows no sign of age."""
AGED_SIGMA = 1.8
"""From this σ on the tone stage runs at full strength; between the two it ramps up."""


def age_evidence(sigma: float) -> float:
    """0…1: how much the picture's grain says it is an old print or scan rather than a clean photo.

    Why: a clean photo with lifted blacks (fog, an indoor scene: two of the seven clean photos of
    ../shared/images/photo have their 0.5th percentile at 42 and 76) looks exactly like a faded one to the
    histogram, and stretching it lost 15 dB. The clean photos measure σ 0.0–1.5 (0.8–1.1 for the two with
    grey blacks, depending on size), synthetic damage 2.4 and up, the real old photos of ../shared/images
    1.1–5.5: two faded but smooth scans there (σ 1.26 and 1.38) get only a part of the correction, the
    price of leaving clean photos alone.
    """
    return float(np.clip((sigma - CLEAN_SIGMA) / (AGED_SIGMA - CLEAN_SIGMA), 0.0, 1.0))


def restore_tone(
    rgb: np.ndarray, params: ToneParams = ToneParams(), grey: bool = False, evidence: float = 1.0
) -> np.ndarray:
    """HxWx3 uint8 in, HxWx3 uint8 out: black/white points and colour cast corrected as estimated.

    `evidence` (0…1, see `age_evidence`) scales every correction: 0 leaves the picture as it is."""
    if evidence <= 0:
        return rgb.copy()
    if evidence < 1:
        params = replace(params, scale=evidence, cast_strength=params.cast_strength * evidence)
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
