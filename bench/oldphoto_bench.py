"""Old-photo engine quality: `python bench/oldphoto_bench.py` (`make bench` runs it).

1. Synthetic damage (bench/synthetic_damage.py) on every clean photo of ../shared/images/photo, `--seeds`
   damaged copies each: PSNR and SSIM against the clean photo for doing nothing, plain non-local means, and
   Renovo's engine with its stages switched off one at a time (and with a perfect scratch mask, to show
   what better detection would be worth); scratch-mask IoU of the trained and the classical detector;
   seconds per picture. Prints a table.
2. The real old photos of ../shared/images/old (`restore`) and old_scratch (`restore_scratch`): before and
   after side by side, written to bench-out/oldphoto/ for a person to look at.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic_damage import REPO_ROOT, Damaged, clean_photos, damage, load_clean  # noqa: E402
from services.inference.models.oldphoto import Stages, restore_array  # noqa: E402
from services.inference.models.oldphoto import scratch as scratch_mod  # noqa: E402

OUT_DIR = REPO_ROOT / "bench-out" / "oldphoto"
SHARED_IMAGES = (REPO_ROOT / ".." / "shared" / "images").resolve()
BENCH_SEED_BASE = 10_000
"""Damage seeds of the benchmark; the scratch net trained on seeds from 900 000 on, other photos."""

Method = Callable[[Damaged], np.ndarray]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of the luminance (Wang et al. 2004: Gaussian window σ 1.5, K1 0.01, K2 0.03)."""
    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur: Callable[[np.ndarray], np.ndarray] = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5)  # noqa: E731
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def renovo(stages: Stages, oracle: bool = False, with_scratch: bool = True) -> Method:
    def run(d: Damaged) -> np.ndarray:
        mask = d.scratch_mask if oracle else None
        return restore_array(d.damaged, with_scratch, False, stages=stages, mask=mask)[0]

    return run


def methods(with_esrgan: bool) -> dict[str, Method]:
    full = Stages(esrgan="off")
    extra = {"  + Real-ESRGAN x4plus blend": renovo(replace(full, esrgan="on"))} if with_esrgan else {}
    return {
        "damaged input (do nothing)": lambda d: d.damaged,
        "fastNlMeans h=10 alone": lambda d: cv2.fastNlMeansDenoisingColored(d.damaged, None, 10, 10, 7, 21),
        "renovo restore_scratch": renovo(full),
        "  - restore (no scratch stage)": renovo(full, with_scratch=False),
        "  - classical detector": renovo(replace(full, detector="classical")),
        "  - perfect scratch mask": renovo(full, oracle=True),
        "  - no tone stage": renovo(replace(full, tone=False)),
        "  - no denoise": renovo(replace(full, denoise=False)),
        "  - no sharpen": renovo(replace(full, sharpen=0.0)),
    } | extra


def synthetic(seeds: int, max_side: int | None, only: set[str] | None, with_esrgan: bool) -> None:
    cases = [
        damage(clean, BENCH_SEED_BASE + 100 * i + s)
        for i, (_, clean) in enumerate(clean_photos(max_side))
        for s in range(seeds)
    ]
    print(f"{len(cases)} damaged pictures ({seeds} per clean photo)\n")
    print(f"{'method':34s} {'PSNR dB':>8s} {'ΔPSNR':>7s} {'SSIM':>6s} {'s/img':>6s}")
    base: list[float] = []
    for name, method in methods(with_esrgan).items():
        if only and name.strip(" -+") not in only and name != "damaged input (do nothing)":
            continue
        scores, sims, secs = [], [], []
        for d in cases:
            t = time.perf_counter()
            out = method(d)
            secs.append(time.perf_counter() - t)
            scores.append(psnr(out, d.clean))
            sims.append(ssim(out, d.clean))
        if not base:
            base = scores
        delta = float(np.mean(np.array(scores) - np.array(base)))
        print(f"{name:34s} {np.mean(scores):8.2f} {delta:+7.2f} {np.mean(sims):6.3f} {np.mean(secs):6.2f}")
    print()
    for detector in ("net", "classical"):
        if detector == "net" and not scratch_mod.scratch_net.available():
            continue
        ious, secs, clean_flag = [], [], []
        for d in cases:
            t = time.perf_counter()
            mask, _ = scratch_mod.detect(d.damaged, detector)
            secs.append(time.perf_counter() - t)
            ious.append(iou(mask, d.scratch_mask))
        for _, clean in clean_photos(max_side):
            clean_flag.append(float(scratch_mod.detect(clean, detector)[0].mean()))
        print(
            f"scratch IoU {detector:9s} mean {np.mean(ious):.3f}  min {np.min(ious):.3f}  "
            f"{np.mean(secs):.2f} s/img  clean photos flagged: max {100 * max(clean_flag):.2f}% of pixels"
        )


def side_by_side(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    gap = np.full((before.shape[0], 8, 3), 255, np.uint8)
    return np.concatenate([before, gap, after], axis=1)


def real_photos() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for folder, with_scratch in (("old", False), ("old_scratch", True)):
        for path in sorted((SHARED_IMAGES / folder).glob("*.png")):
            rgb = load_clean(path)
            t = time.perf_counter()
            out, report = restore_array(rgb, with_scratch, True)
            secs = time.perf_counter() - t
            target = OUT_DIR / f"{folder}_{path.stem}.png"
            cv2.imwrite(str(target), cv2.cvtColor(side_by_side(rgb, out), cv2.COLOR_RGB2BGR))
            print(
                f"{target.relative_to(REPO_ROOT)}: {rgb.shape[1]}x{rgb.shape[0]} {secs:.1f}s "
                f"scratches {100 * report.scratch_fraction:.2f}% noise σ {report.noise_sigma:.1f} "
                f"faces {report.faces} grey {report.grey}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=2, help="damaged copies per clean photo")
    ap.add_argument("--max-side", type=int, default=None, help="downscale clean photos first (faster)")
    ap.add_argument("--only", nargs="*", help="method names to run besides the baseline")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument(
        "--esrgan", action="store_true", help="add the Real-ESRGAN blend row (minutes per photo on CPU)"
    )
    ap.add_argument("--skip-real", action="store_true")
    args = ap.parse_args()
    cv2.setNumThreads(2)
    if not args.skip_synthetic:
        synthetic(args.seeds, args.max_side, set(args.only) if args.only else None, args.esrgan)
    if not args.skip_real:
        print()
        real_photos()


if __name__ == "__main__":
    main()
