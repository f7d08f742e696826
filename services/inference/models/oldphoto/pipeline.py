"""Renovo's old-photo engine: the stages in their order, with progress, cancellation and odd inputs.

Order matters and was measured (bench/oldphoto_bench.py): for `restore_scratch` the picture is first
classified (content.py: line art and text skip the scratch stage, with a note); scratches are found and
inpainted first, because a scratch's bright or dark pixels sit exactly at the percentiles the tone stage reads
and would fool the denoiser; then learned denoising (learned.py: Waifu2x photo UpConv7, plus Real-ESRGAN on
CUDA) before the tone stage, a noise-aware sharpening that backs off, and faces restored by Real-ESRGAN
(faces.py) when asked. A clean picture goes through nearly unchanged: no noise, no denoising; a normal range,
no stretch; nothing denoised, nothing sharpened.

Odd inputs: grey pictures run as three equal channels and come back grey; alpha is kept as it was (damage
lives in the colour); 16-bit pictures are restored at 8 bits; pictures under `MIN_SIDE` pixels a side fail
with InputError (no statistic of this pipeline means anything there, and passing them through unchanged
would claim a restoration that did not happen). Large pictures run whole: every stage is a local OpenCV
filter over uint8/float32 planes and the scratch net is tiled, so a 3000×2000 photo peaks well under 1 GiB.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ...engine import InputError, RunContext
from ...imageio import from_planes, to_planes
from ...settings import DEFAULT_WEIGHTS_DIR
from . import cleanup, content, faces, learned, scratch, tone

MIN_SIDE = 16
"""Smallest side accepted (pixels)."""
SHARPEN_AMOUNT = 0.2
"""Largest unsharp amount after learned denoising, before the back-off of cleanup.sharpen_amount."""


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
    """Real-ESRGAN blend: `auto` (on CUDA devices when installed, see learned.py), `on` or `off`."""
    learned: str = "auto"
    """Learned denoising (learned.py): `auto` or `off` (non-local means, the previous engine's denoiser)."""


@dataclass
class Report:
    """What one run did: for logs, the benchmark and tests."""

    detector: str = ""
    scratch_fraction: float = 0.0
    noise_sigma: float = 0.0
    faces: int = 0
    grey: bool = False
    esrgan: bool = False
    content: str = "photo"
    """`photo` or `lineart` (content.py; judged for `restore_scratch` only)."""
    denoiser: str = ""
    """`full`, `half` (learned, at full or half resolution), `nlm` or `none` (clean picture)."""
    sharpen: float = 0.0
    faces_enhanced: int = 0
    notes: list[str] = field(default_factory=list)
    """What a person should know about this result (skipped stages and why)."""
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
    weights_dir: Path = DEFAULT_WEIGHTS_DIR,
) -> tuple[np.ndarray, Report]:
    """Restore an HxWx3 uint8 RGB picture; returns the restored picture and what was done.

    `grey` None decides from the pixels. `mask` replaces scratch detection with a known mask (the
    benchmark's perfect-detector ablation). `weights_dir` holds the scratch net (the engine passes the
    `weights_dir` setting).
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
    if with_scratch and stages.scratch and mask is None:
        report.content = content.classify(img).kind
        if report.content != "photo":
            report.notes.append(
                "line art or text detected: scratch removal was skipped so that its lines are kept "
                "(tone and noise were still restored)"
            )
    if with_scratch and stages.scratch and report.content == "photo":
        if mask is None:
            mask, report.detector = scratch.detect(img, weights_dir, stages.detector, ctx)
            # Always, not only with face_enhance: a face whose eyes were inpainted away is the worst result.
            boxes = faces.detect_faces(img)
            mask = scratch.spare_faces(mask, boxes)
        else:
            report.detector = "given"
        report.scratch_fraction = float(mask.mean())
        done("detect", 0.2)
        img = scratch.inpaint(img, mask)
        done("inpaint", 0.25)
    # Denoising comes before the tone stage: the networks were trained on grain at its own contrast, and the
    # stretch would amplify it (measured: −0.25 dB the other way round, see learned.py).
    report.noise_sigma = cleanup.estimate_noise(img)
    if stages.denoise:
        plan = learned.plan(img.shape[:2], report.noise_sigma, ctx.device, stages.esrgan)
        if stages.learned == "off":
            plan = learned.Plan("nlm", plan.level, plan.weight, False)
        report.denoiser = plan.mode if plan.weight > 0 else "none"
        report.esrgan = plan.esrgan
        if plan.mode == "nlm":
            img = cleanup.denoise(img, report.noise_sigma, grey=report.grey)
            if report.noise_sigma >= cleanup.NLM_MIN_SIGMA and learned.installed(learned.waifu2x_id(plan.level)):
                report.notes.append("picture too large for learned denoising on a CPU: non-local means used")
        else:
            img = learned.denoise(img, plan, ctx, (0.25, 0.75))
        done("denoise", 0.75)
        if report.grey:
            img = np.repeat(np.round(img.astype(np.float32).mean(axis=2, keepdims=True)).astype(np.uint8), 3, 2)
    if stages.tone:
        img = tone.restore_tone(img, grey=report.grey, evidence=tone.age_evidence(report.noise_sigma))
        done("tone", 0.8)
    # Noise-aware sharpening, backed off where it would hurt: only what the denoiser softened, never grain
    # that is left (measured: any sharpening of a picture with grain costs PSNR, see cleanup.sharpen_amount).
    amount = cleanup.sharpen_amount(stages.sharpen, learned.weight_for(report.noise_sigma), cleanup.estimate_noise(img))
    report.sharpen = amount
    img = cleanup.sharpen(img, amount)
    done("sharpen", 0.85)
    if face_enhance and stages.faces:
        if boxes is None:  # the scratch stage did not look for faces yet
            boxes = faces.detect_faces(img)
        report.faces = len(boxes)
        if boxes and learned.installed(faces.ESRGAN_ID):
            img, report.faces_enhanced, skipped = faces.enhance(img, boxes, ctx, (0.85, 1.0))
            if skipped:
                report.notes.append(
                    f"{skipped} face(s) not enhanced: smaller than {faces.MIN_FACE} px or past the "
                    f"{faces.MAX_FACES_CPU}-face budget of a CPU run"
                )
        elif boxes:
            report.notes.append("faces found but Real-ESRGAN x4plus is not installed: not enhanced")
        if report.grey:
            img = np.repeat(np.round(img.astype(np.float32).mean(axis=2, keepdims=True)).astype(np.uint8), 3, 2)
        done("faces", 1.0)
    ctx.progress(1.0)
    return img, report


def restore_image(
    image: Image.Image,
    with_scratch: bool,
    face_enhance: bool,
    ctx: RunContext | None = None,
    weights_dir: Path = DEFAULT_WEIGHTS_DIR,
) -> tuple[Image.Image, Report]:
    """Restore a decoded picture (modes of services.inference.imageio), keeping its mode and alpha."""
    planes = to_planes(image)
    rgb = _to_uint8(planes.rgb)
    grey = True if planes.gray else None
    out, report = restore_array(rgb, with_scratch, face_enhance, ctx, grey=grey, weights_dir=weights_dir)
    alpha = None if planes.alpha is None else _to_uint8(planes.alpha)
    return from_planes(out, alpha, planes.gray), report
