"""What the engine is given: a photo, or line art / text (a drawing, a page, a diagram).

Why: the scratch detector looks for thin lines, and line art and text are nothing but thin lines; run
through `restore_scratch` they were found whole and inpainted away. Such a picture is still restored (tone,
denoising), but without the scratch stage, and the result's notes say so.

The test: after a blur that removes grain, most of the picture is one flat "paper" level (at least
`PAPER_SHARE` of the pixels within ±16 levels of the luminance mode), what is not paper is thin (at most
`SOLID_SHARE` of it lies more than `SOLID_DISTANCE` px from paper: strokes up to ~6 px wide pass, regions
do not), and that ink stands out from the paper (`INK_CONTRAST`). A photo on a white background (a product
shot, a cut-out) has paper but solid regions; snow, sky and studio backdrops have solid subjects too.
Measured: the photos of ../shared/images (photo, old, old_scratch, and the anime pictures) have 0.44 or more
of their non-paper pixels in regions, except the branches against a sky (0.27–0.42, told apart by their
faint ink); procedural line art and a printed page 0.07–0.40.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAPER_SHARE = 0.5
SOLID_SHARE = 0.35
SOLID_DISTANCE = 3.0
"""Ink pixels farther than this from paper lie in a region, not a stroke (strokes up to ~6 px wide)."""
INK_CONTRAST = 48.0
"""The median non-paper pixel differs from paper by at least this much (levels): measured 28–41 for thin
branches against a bright sky (a photo, faded and scratched), 51–166 for printed text and drawings, faded
or not."""
ANALYSIS_SIDE = 1024
"""The test runs on a copy at most this large (it needs the strokes, not every pixel)."""


@dataclass(frozen=True)
class Content:
    kind: str
    """`photo` or `lineart` (line art, text, diagrams)."""
    paper_share: float
    solid_share: float
    ink_contrast: float


def classify(rgb: np.ndarray) -> Content:
    """Classify an HxWx3 uint8 RGB picture."""
    h, w = rgb.shape[:2]
    f = min(1.0, ANALYSIS_SIDE / max(h, w))
    if f < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    g = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (0, 0), 0.8)
    hist = np.bincount(g.ravel(), minlength=256)
    mode = int(np.argmax(cv2.blur(hist.astype(np.float32)[None], (9, 1))[0]))
    paper = np.abs(g.astype(np.int16) - mode) <= 16
    paper_share = float(paper.mean())
    ink = (~paper).astype(np.uint8)
    solid = cv2.distanceTransform(ink, cv2.DIST_L2, 3) > SOLID_DISTANCE
    solid_share = float(solid.sum() / max(int(ink.sum()), 1))
    inked = g[~paper].astype(np.float32)
    contrast = float(abs(np.median(inked) - mode)) if inked.size else 0.0
    lineart = paper_share >= PAPER_SHARE and solid_share <= SOLID_SHARE and contrast >= INK_CONTRAST
    return Content("lineart" if lineart else "photo", paper_share, solid_share, contrast)
