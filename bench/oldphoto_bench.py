"""Old-photo engine quality: `python bench/oldphoto_bench.py` (`make bench` runs it).

Held-out synthetic damage (services/inference/models/oldphoto/synthetic.py: fading, a warm cast, blur,
scratches, grain, JPEG) on clean photos, scored by PSNR and SSIM against the clean photo, per image:

- `--split test` (default): the 7 clean photos of ../shared/images/photo. Nothing was tuned on them.
- `--split tune`: the 8 old photos of ../shared/images/old, halved (their own grain averages out), with other
  seeds. Every threshold of the engine was chosen on this split (see learned.py, tone.py).

Each picture is damaged twice from the same seed, with scratches (`restore_scratch`) and without
(`restore`). Rows: the gain over the damaged input of OpenCV's fastNlMeans (h=10), of the previous engine
(a frozen copy of it, bench/oldphoto_previous) and of this engine; the worst image; CPU seconds per
megapixel. Then the scratch detectors' mask IoU and their false positives on the clean photos, clean photos
through the engine (it must leave them nearly unchanged), line art through `restore_scratch`, and
before/after crops (faces, fur, fine texture) written to bench-out/oldphoto/ for a person to look at:
damaged | previous engine | this engine | clean. `--real` also restores the real old photos of
../shared/images/old and old_scratch (with face enhancement) into bench-out/oldphoto/real_*.png.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.oldphoto_previous import restore_array as previous_restore  # noqa: E402
from bench.oldphoto_previous import scratch as previous_scratch  # noqa: E402
from services.inference.models.oldphoto import restore_array  # noqa: E402
from services.inference.models.oldphoto import scratch as scratch_mod  # noqa: E402
from services.inference.models.oldphoto.synthetic import (  # noqa: E402
    Damaged,
    DamageSpec,
    damage,
    line_art,
    load_clean,
)
from services.inference.settings import DEFAULT_WEIGHTS_DIR  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "bench-out" / "oldphoto"
SHARED_IMAGES = (REPO_ROOT / ".." / "shared" / "images").resolve()
TEST_SEED_BASE = 10_000
TUNE_SEED_BASE = 600_000
NO_SCRATCHES = DamageSpec(scratches=(0, 0))

Method = Callable[[np.ndarray, bool], np.ndarray]


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


def clean_set(split: str, max_side: int) -> list[tuple[str, np.ndarray]]:
    if split == "test":
        paths = sorted((SHARED_IMAGES / "photo").iterdir())
        return [(p.stem, load_clean(p, max_side)) for p in paths if p.is_file()]
    out = []
    for p in sorted((SHARED_IMAGES / "old").glob("*.png")):
        c = load_clean(p)
        c = cv2.resize(c, (c.shape[1] // 2, c.shape[0] // 2), interpolation=cv2.INTER_AREA)
        f = min(1.0, max_side / max(c.shape[:2]))
        c = cv2.resize(c, (round(c.shape[1] * f), round(c.shape[0] * f)), interpolation=cv2.INTER_AREA)
        out.append((f"old_{p.stem}", c))
    return out


METHODS: dict[str, Method] = {
    "nlm": lambda img, s: cv2.fastNlMeansDenoisingColored(img, None, 10, 10, 7, 21),
    "previous": lambda img, s: previous_restore(img, s, False)[0],
    "new": lambda img, s: restore_array(img, s, False)[0],
}


def synthetic(split: str, max_side: int, seeds: int) -> list[tuple[str, bool, Damaged]]:
    base = TEST_SEED_BASE if split == "test" else TUNE_SEED_BASE
    cases = []
    for i, (name, clean) in enumerate(clean_set(split, max_side)):
        for s in range(seeds):
            seed = base + 100 * i + s
            label = name if seeds == 1 else f"{name}#{s}"
            cases.append((label, True, damage(clean, seed)))
            cases.append((label, False, damage(clean, seed, NO_SCRATCHES)))
    print(f"{split} split: {len(cases) // 2} damaged pictures, each with and without scratches, max side {max_side}")
    print(
        f"\n{'image':22s} {'scr':3s} {'input dB':>8s} | {'ΔPSNR nlm':>9s} {'prev':>6s} {'new':>6s} | "
        f"{'ΔSSIM nlm':>9s} {'prev':>6s} {'new':>6s} | {'new s/MP':>8s}"
    )
    gains: dict[tuple[str, bool], list[float]] = {}
    sgains: dict[tuple[str, bool], list[float]] = {}
    secs: dict[str, float] = {m: 0.0 for m in METHODS}
    mp = {True: 0.0, False: 0.0}
    for label, scratched, d in cases:
        base_p, base_s = psnr(d.damaged, d.clean), ssim(d.damaged, d.clean)
        row_p, row_s = [], []
        pix = d.clean.shape[0] * d.clean.shape[1] / 1e6
        mp[scratched] += pix
        new_secs = 0.0
        for m, fn in METHODS.items():
            t = time.process_time()
            out = fn(d.damaged, scratched)
            dt = time.process_time() - t
            secs[m] += dt
            new_secs = dt
            row_p.append(psnr(out, d.clean) - base_p)
            row_s.append(ssim(out, d.clean) - base_s)
            gains.setdefault((m, scratched), []).append(row_p[-1])
            sgains.setdefault((m, scratched), []).append(row_s[-1])
        print(
            f"{label:22s} {'yes' if scratched else 'no':3s} {base_p:8.2f} | "
            + " ".join(f"{g:+9.2f}" if i == 0 else f"{g:+6.2f}" for i, g in enumerate(row_p))
            + " | "
            + " ".join(f"{g:+9.3f}" if i == 0 else f"{g:+6.3f}" for i, g in enumerate(row_s))
            + f" | {new_secs / pix:8.1f}",
            flush=True,
        )
    print()
    for scratched in (True, False):
        kind = "with scratches" if scratched else "without scratches"
        for m in METHODS:
            g, sg = np.array(gains[(m, scratched)]), np.array(sgains[(m, scratched)])
            worst = int(np.argmin(g))
            names = [c[0] for c in cases if c[1] == scratched]
            print(
                f"{kind:18s} {m:9s} ΔPSNR mean {g.mean():+6.2f} dB, worst {g.min():+6.2f} dB ({names[worst]}); "
                f"ΔSSIM mean {sg.mean():+.3f}, worst {sg.min():+.3f}"
            )
    total_mp = mp[True] + mp[False]
    print(
        "\nCPU seconds per megapixel (process time, all cases): "
        + ", ".join(f"{m} {secs[m] / total_mp:.1f}" for m in METHODS)
    )
    return cases


def detectors(cases: list[tuple[str, bool, Damaged]], split: str, max_side: int) -> None:
    print()
    scratched = [d for _, s, d in cases if s]
    clean = [c for _, c in clean_set(split, max_side)]
    rows = {
        "new net": lambda img: scratch_mod.detect(img, DEFAULT_WEIGHTS_DIR, "net")[0],
        "previous net": lambda img: previous_scratch.detect(img, "net")[0],
        "classical": lambda img: scratch_mod.detect(img, DEFAULT_WEIGHTS_DIR, "classical")[0],
    }
    for name, fn in rows.items():
        if name == "new net" and not scratch_mod.scratch_net.available(DEFAULT_WEIGHTS_DIR):
            print("new net: weights missing")
            continue
        ious = [iou(fn(d.damaged), d.scratch_mask) for d in scratched]
        flagged = [float(fn(c).mean()) for c in clean]
        print(
            f"scratch mask IoU {name:13s} mean {np.mean(ious):.3f} min {np.min(ious):.3f}; clean photos flagged: "
            f"mean {100 * np.mean(flagged):.2f}% max {100 * np.max(flagged):.2f}% of pixels"
        )


def clean_through(split: str, max_side: int) -> None:
    print()
    for name, clean in clean_set(split, max_side):
        a = restore_array(clean, True, False)
        b = restore_array(clean, False, False)
        print(
            f"clean {name:22s} through the engine: PSNR to itself {psnr(a[0], clean):5.1f} dB "
            f"(restore_scratch), {psnr(b[0], clean):5.1f} dB (restore); denoiser {b[1].denoiser}"
        )


def lineart() -> None:
    print()
    for seed in range(3):
        page = np.clip(line_art(np.random.default_rng(seed), 360, 480), 0, 255).astype(np.uint8)
        d = damage(page, 50 + seed)
        out, report = restore_array(d.damaged, True, False)
        ink = page.mean(axis=2) < 128
        kept = float((out.mean(axis=2)[ink] < 128).mean())
        print(
            f"line art #{seed}: content {report.content}, ink pixels still ink {100 * kept:.0f}%, "
            f"ΔPSNR {psnr(out, page) - psnr(d.damaged, page):+.2f} dB; notes: {report.notes}"
        )


CROPS = {
    # name: (photo stem, (x, y, w, h) on the photo at max side 512, face_enhance)
    "faces_children": ("children-alpha", (200, 0, 200, 160), True),
    "faces_couple": ("00017_gray", (200, 40, 220, 160), True),
    "fur_wolf": ("wolf_gray", (60, 30, 170, 150), False),
    "texture_brick": ("OST_009", (100, 140, 200, 200), False),
    "texture_branches": ("00003", (0, 40, 220, 200), False),
}


def crops() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    print()
    for i, (name, (stem, (x, y, w, h), faces)) in enumerate(CROPS.items()):
        path = next(p for p in (SHARED_IMAGES / "photo").iterdir() if p.stem == stem)
        clean = load_clean(path, 512)
        d = damage(clean, TEST_SEED_BASE + 50 + i)
        prev = previous_restore(d.damaged, True, faces)[0]
        new, report = restore_array(d.damaged, True, faces)
        gap = np.full((h, 6, 3), 255, np.uint8)
        tiles = [im[y : y + h, x : x + w] for im in (d.damaged, prev, new, clean)]
        tiles = [t if t.shape[:2] == (h, w) else cv2.resize(t, (w, h)) for t in tiles]
        strip = np.concatenate([tiles[0], gap, tiles[1], gap, tiles[2], gap, tiles[3]], axis=1)
        strip = cv2.resize(strip, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
        target = OUT_DIR / f"crop_{name}.png"
        cv2.imwrite(str(target), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
        region = (slice(y, y + h), slice(x, x + w))
        print(
            f"{target.relative_to(REPO_ROOT)} (damaged | previous | new | clean): crop PSNR "
            f"input {psnr(d.damaged[region], clean[region]):.2f}, previous {psnr(prev[region], clean[region]):.2f}, "
            f"new {psnr(new[region], clean[region]):.2f} dB; faces enhanced {report.faces_enhanced}"
        )


def real_photos() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for folder, with_scratch in (("old", False), ("old_scratch", True)):
        for path in sorted((SHARED_IMAGES / folder).glob("*.png")):
            rgb = load_clean(path)
            t = time.perf_counter()
            out, report = restore_array(rgb, with_scratch, True)
            secs = time.perf_counter() - t
            gap = np.full((rgb.shape[0], 8, 3), 255, np.uint8)
            target = OUT_DIR / f"real_{folder}_{path.stem}.png"
            cv2.imwrite(str(target), cv2.cvtColor(np.concatenate([rgb, gap, out], axis=1), cv2.COLOR_RGB2BGR))
            print(
                f"{target.relative_to(REPO_ROOT)}: {rgb.shape[1]}x{rgb.shape[0]} {secs:.1f}s "
                f"scratches {100 * report.scratch_fraction:.2f}% noise σ {report.noise_sigma:.1f} "
                f"denoiser {report.denoiser} faces {report.faces_enhanced}/{report.faces} notes {report.notes}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=("test", "tune"), default="test")
    ap.add_argument("--seeds", type=int, default=1, help="damaged copies per clean photo")
    ap.add_argument("--max-side", type=int, default=384, help="clean photos are downscaled to this first")
    ap.add_argument("--skip-extras", action="store_true", help="only the per-image table")
    ap.add_argument("--real", action="store_true", help="also restore the real old photos (minutes on a CPU)")
    args = ap.parse_args()
    cv2.setNumThreads(2)
    cases = synthetic(args.split, args.max_side, args.seeds)
    if not args.skip_extras:
        detectors(cases, args.split, args.max_side)
        clean_through(args.split, args.max_side)
        lineart()
        crops()
    if args.real:
        print()
        real_photos()


if __name__ == "__main__":
    main()
