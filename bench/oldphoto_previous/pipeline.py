"""Renovo's old-photo engine: the stages in their order, with progress, cancellation and odd inputs.

Order matters and was measured (bench/oldphoto_bench.py): scratches are found and inpainted first, because
a scratch's bright or dark pixels sit exactly at the percentiles the tone stage reads and would fool the
denoiser's patch matching; tone next, so the noise estimate sees the final contrast; then denoise (blended
with Real-ESRGAN where that is cheap, see esrgan.py), face care and a gentle sharpening.

Odd inputs: grey pictures run as three equal channels and come back grey; alpha is kept as it was (damage
lives in the colour); 16-bit pictures are restored at 8 bits; pictures under `MIN_SIDE` pixels a side fail
with InputError (no statistic of this pipeline means anything there, and passing them through unchanged
would claim a restoration that did not happen). Large pictures run whole: every stage is a local OpenCV
filter over uint8/float32 planes and the scratch net is tiled, so a 3000×2000 photo peaks well under 1 GiB.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from services.inference.engine import InputError, RunContext

from . import cleanup, faces, scratch, tone

MIN_SIDE = 16
"""Smallest side accepted (pixels)."""
SHARPEN_AMOUNT = 0.35
"""Unsharp amount after denoising. Measured neutral on the benchmark (−0.03 dB PSNR, +0.002 SSIM against
none); kept because the scan's softness is what people see first, and larger amounts lost PSNR."""


@dataclass(frozen=True)
class Stages:
    """Which stages run; the benchmark's ablations switch them off one by one."""

    scratch: bool = True
    detector: str = "auto"
    """`auto` (trained net if installed, else classical), `net` or `classical`."""
    tone: bool = True
    denoise: bool = True
    sharpen: float = SHARPEN_AMOUNT
    faces: bool = True
    """Face care when the job asks for it (face_enhance)."""
    esrgan: str = "auto"
    """Real-ESRGAN blend: `auto` (on CUDA devices when installed, see esrgan.py), `on` or `off`."""


@dataclass
class Report:
    """What one run did: for logs, the benchmark and tests."""

    detector: str = ""
    scratch_fraction: float = 0.0
    noise_sigma: float = 0.0
    faces: int = 0
    grey: bool = False
    esrgan: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


def _is_grey(rgb: np.ndarray) -> bool:
    """Channels equal up to noise: a grey scan saved as RGB runs the 3× cheaper one-channel denoise."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 250_000)))
    sample = rgb[::step, ::step].astype(np.int16)
    return bool(
        np.abs(sample[..., 0] - sample[..., 1]).mean() < 1.0
        and np.abs(sample[..., 1] - sample[..., 2]).mean() < 1.0
    )


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def restore_array(
    rgb: np.ndarray,
    with_scratch: bool,
    face_enhance: bool,
    ctx: RunContext | None = None,
    stages: Stages = Stages(),
    grey: bool | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, Report]:
    """Restore an HxWx3 uint8 RGB picture; returns the restored picture and what was done.

    `grey` None decides from the pixels. `mask` replaces scratch detection with a known mask (the
    benchmark's perfect-detector ablation).
    """
    ctx = ctx or RunContext()
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(f"picture is {w}x{h} px; old-photo restoration needs at least {MIN_SIDE} px a side")
    report = Report(grey=_is_grey(rgb) if grey is None else grey)
    if report.grey:
        rgb = np.repeat(np.round(rgb.astype(np.float32).mean(axis=2, keepdims=True)).astype(np.uint8), 3, 2)
    clock = time.perf_counter()

    def done(stage: str, fraction: float) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[stage] = now - clock
        clock = now
        ctx.progress(fraction)
        ctx.check_cancelled()

    ctx.check_cancelled()
    img = rgb
    boxes: list[tuple[int, int, int, int]] | None = None
    if with_scratch and stages.scratch:
        if mask is None:
            mask, report.detector = scratch.detect(img, stages.detector, check=ctx.check_cancelled)
            # Always, not only with face_enhance: a face whose eyes were inpainted away is the worst result.
            boxes = faces.detect_faces(img)
            mask = scratch.spare_faces(mask, boxes)
        else:
            report.detector = "given"
        report.scratch_fraction = float(mask.mean())
        done("detect", 0.25)
        img = scratch.inpaint(img, mask)
        done("inpaint", 0.35)
    if stages.tone:
        img = tone.restore_tone(img, grey=report.grey)
        done("tone", 0.4)
    report.noise_sigma = cleanup.estimate_noise(img)
    before_denoise = img
    if stages.denoise:
        img = cleanup.denoise(img, report.noise_sigma, grey=report.grey)
        done("denoise", 0.5 if report.esrgan else 0.8)
    if face_enhance and stages.faces:
        if boxes is None:  # the scratch stage did not look for faces yet
            boxes = faces.detect_faces(img)
        report.faces = len(boxes)
        img = faces.care(before_denoise, img, report.noise_sigma, report.grey, boxes)
        done("faces", 0.9)
    # The Real-ESRGAN blend is sharp already; sharpening it again only adds halos.
    img = cleanup.sharpen(img, 0.0 if report.esrgan else stages.sharpen)
    done("sharpen", 1.0)
    return img, report
