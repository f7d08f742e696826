"""Train `ScratchNet` on synthetic scratches: `python -m services.inference.oldphoto.train_scratch`.

Development tool, not used at run time. The backgrounds are the real old photos of
../shared/images/old (grain, fading, real paper texture) — deliberately not the clean photos of
../shared/images/photo, which the benchmark scores on, so the benchmark's mask IoU is measured on pictures
the net never saw. The damage itself comes from bench/synthetic_damage.py with seeds disjoint from the
benchmark's. `make install` runs it once (weights/cache/scratch_net.pt); the defaults take 1500 steps,
11 minutes on 2 CPU cores
shared with other work, 2–3 minutes on idle ones (final loss ≈ 0.19; IoU 0.77 on held-out damaged old
photos, 0.63 on the benchmark's photos).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from bench.synthetic_damage import REPO_ROOT, DamageSpec, damage, load_clean

from .scratch_net import WEIGHTS, ScratchNet, features

OLD_DIR = (REPO_ROOT / ".." / "shared" / "images" / "old").resolve()
TRAIN_SEED_BASE = 900_000
"""The benchmark uses seeds below 100 000: training seeds start far above them."""


def _sharpen(rgb: np.ndarray, amount: float) -> np.ndarray:
    img = rgb.astype(np.float32)
    out = img + amount * (img - cv2.GaussianBlur(img, (0, 0), 1.2))
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def build_pool(per_photo: int, max_side: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, mask) pairs: damaged old photos at two sizes, plus sharpened ones.

    Old photos are soft; a first net trained on them alone called the fine texture of sharp modern photos
    (brick, fur, foliage) scratches on up to 44 % of their pixels. Sharpened copies, damaged with little
    blur and also left undamaged (all-negative masks), teach it that crisp texture is not a scratch.
    """
    spec = DamageSpec(scratches=(4, 12))
    crisp = DamageSpec(scratches=(4, 12), blur_sigma=(0.3, 0.6), grain_sigma=(1.0, 6.0))
    pool = []
    for i, path in enumerate(sorted(OLD_DIR.glob("*.png"))):
        for s in range(per_photo):
            side = max_side if s % 2 == 0 else max_side // 2 + 64
            clean = load_clean(path, side)
            seed = TRAIN_SEED_BASE + 1000 * i + s
            if s % 3 == 2:
                sharp = _sharpen(clean, 1.0 + (s % 4) * 0.5)
                d = damage(sharp, seed, crisp)
                pool.append((features(sharp), np.zeros(sharp.shape[:2], np.float32)))
            else:
                d = damage(clean, seed, spec)
            pool.append((features(d.damaged), d.scratch_mask.astype(np.float32)))
    return pool


def batch(
    pool: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator, n: int, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random crops, flips and quarter turns."""
    xs, ys = [], []
    for _ in range(n):
        f, m = pool[int(rng.integers(len(pool)))]
        y = int(rng.integers(0, f.shape[1] - size + 1))
        x = int(rng.integers(0, f.shape[2] - size + 1))
        fc, mc = f[:, y : y + size, x : x + size], m[y : y + size, x : x + size]
        k = int(rng.integers(4))
        fc, mc = np.rot90(fc, k, axes=(1, 2)), np.rot90(mc, k)
        if rng.random() < 0.5:
            fc, mc = fc[:, :, ::-1], mc[:, ::-1]
        xs.append(np.ascontiguousarray(fc))
        ys.append(np.ascontiguousarray(mc)[None])
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE for calibration plus soft Dice, which is what pulls the mask toward a high IoU on thin lines."""
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(2.0))
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    return bce + dice


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--crop", type=int, default=80)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    t0 = time.time()
    pool = build_pool(per_photo=10, max_side=640)
    print(f"pool {len(pool)} pictures in {time.time() - t0:.1f}s", flush=True)
    net = ScratchNet()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.steps, pct_start=0.1)
    running = 0.0
    for step in range(1, args.steps + 1):
        x, y = batch(pool, rng, args.batch, args.crop)
        loss = loss_fn(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 100 == 0:
            print(f"step {step} loss {running:.4f} {time.time() - t0:.0f}s", flush=True)
            # A checkpoint beside the output, so an interrupted run never leaves a half-trained `out`.
            args.out.parent.mkdir(parents=True, exist_ok=True)
            torch.save(net.state_dict(), args.out.with_suffix(".partial"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial")
    torch.save(net.state_dict(), partial)
    partial.replace(args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
