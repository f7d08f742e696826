"""Train `ScratchNet` on synthetic scratches: `python -m services.inference.models.oldphoto.train_scratch`.

Development tool, not used at run time: the trained file is committed (weights/oldphoto_scratch_net.pt, its
sha256 in scratch_net.WEIGHTS_SHA256 and in the Makefile), so installs and CI do not retrain.

Everything it learns from is made here, from `--seed`: procedural scenes (synthetic.scene: smooth regions,
1/f texture, soft shapes, and the thin real structure a scratch detector must spare: fur, hair, whiskers,
wires, text, line art, bare branches, brick and tile grids, crisp small clutter; a third drawn at twice the
size and reduced like a web photo, some sharpened, some grey) damaged by synthetic.damage with scratches of
every kind the engine must find (thin, 4–7 px wide, jagged branching cracks, bright and dark, faint). 40 % of
the scenes are negatives: all the damage except scratches, or crisp (sharpened, barely damaged) pictures like
a modern photo. No image file is read, so the training needs nothing outside this repository, and the
benchmark's photos stay unseen.

The defaults are what the committed file was trained with (`make scratch-net`; about 15 CPU minutes on one
thread, longer on a loaded machine). After training, the mask rule (threshold and minimum part length,
scratch_net.to_mask) is chosen on validation scenes (`choose_mask_rule`), and another validation set (seeds
disjoint from training) gives the mask IoU and the false-positive rate on scratch-free scenes; both are
printed and written beside `--out` with the checksum and the short run the reproducibility test repeats.
`--trained FILE` skips the training and describes an already trained file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import TypedDict

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from ...settings import DEFAULT_WEIGHTS_DIR
from .scratch_net import MIN_LENGTH, THRESHOLD, ScratchNet, features, to_mask, weights_path
from .synthetic import DamageSpec, damage, scene

SEED = 20261129
"""The seed of the committed file."""
VAL_SEED = 7_000_000
"""Validation scenes' seeds start here (training scenes use SEED + index, far below)."""

TRAIN_SPEC = DamageSpec(
    scratches=(1, 12),
    wide_fraction=0.2,
    crack_fraction=0.2,
    blur_sigma=(0.3, 1.2),
    grain_sigma=(1.0, 10.0),
    jpeg_quality=(40, 90),
)
CLEAN_SPEC = DamageSpec(scratches=(0, 0), blur_sigma=(0.3, 1.2), grain_sigma=(1.0, 10.0), jpeg_quality=(40, 90))


SHARP_SPEC = DamageSpec(
    contrast=(0.9, 1.0),
    lift=(0.0, 6.0),
    warm=(0.0, 0.03),
    blur_sigma=(0.01, 0.01),
    grain_sigma=(0.0, 3.0),
    scratches=(0, 0),
    jpeg_quality=(70, 95),
)
"""Crisp, nearly clean pictures (a modern photo, a sharp scan): all-negative masks. The first net trained
without them called every crisp edge and strand of a sharp photo a scratch (10–25 % of the pixels)."""


def _unsharp(rgb: np.ndarray, amount: float) -> np.ndarray:
    img = rgb.astype(np.float32)
    out = img + amount * (img - cv2.GaussianBlur(img, (0, 0), 1.0))
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def make_sample(seed: int, side: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(features, mask, has_scratches) of one procedural scene damaged from `seed`: 60 % with scratches,
    15 % with the other damage only, 25 % crisp (sharpened, barely damaged)."""
    rng = np.random.default_rng(seed)
    h = int(rng.integers(side * 3 // 4, side + 1))
    w = int(rng.integers(side * 3 // 4, side + 1))
    clean, _ = scene(rng, h, w)
    r = rng.random()
    if r < 0.6:
        d = damage(clean, seed, TRAIN_SPEC)
    elif r < 0.75:
        d = damage(clean, seed, CLEAN_SPEC)
    else:
        d = damage(_unsharp(clean, float(rng.uniform(0.5, 2.5))), seed, SHARP_SPEC)
    return features(d.damaged), d.scratch_mask.astype(np.float32), r < 0.6


def _sample(args: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, bool]:
    return make_sample(*args)


def build_pool(seed: int, count: int, side: int, workers: int = 1) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """`count` samples; each depends on its own seed only, so `workers` processes give the same pool."""
    jobs = [(seed + i, side) for i in range(count)]
    if workers <= 1:
        return [_sample(j) for j in jobs]
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(_sample, jobs, chunksize=8)


def batch(
    pool: list[tuple[np.ndarray, np.ndarray, bool]], rng: np.random.Generator, n: int, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random crops, flips and quarter turns."""
    xs, ys = [], []
    for _ in range(n):
        f, m, _ = pool[int(rng.integers(len(pool)))]
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
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(2.0, device=logits.device))
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    return bce + dice


@torch.inference_mode()
def evaluate(
    net: ScratchNet,
    count: int = 24,
    side: int = 192,
    threshold: float = THRESHOLD,
    min_length: int = MIN_LENGTH,
    first: int = VAL_SEED,
) -> dict[str, float]:
    """Mask IoU over scratched validation scenes, pooled (intersection and union summed), and the share of
    pixels flagged on scratch-free ones (false positives), with the mask rule of scratch_net.to_mask."""
    net = net.to("cpu").eval()
    iou, fp = _mask_scores(_probabilities(net, first, count, side), threshold, min_length)
    return {"iou": iou, "false_positive": fp}


Scored = list[tuple[np.ndarray, np.ndarray, bool]]
"""Per validation scene: the net's scratch probabilities, the true mask, whether the scene has scratches."""


def _probabilities(net: ScratchNet, first: int, count: int, side: int) -> Scored:
    scored = []
    for i in range(count):
        f, m, scratched = make_sample(first + i, side)
        scored.append((torch.sigmoid(net(torch.from_numpy(f)[None]))[0, 0].numpy(), m > 0.5, scratched))
    return scored


def _mask_scores(scored: Scored, threshold: float, min_length: int) -> tuple[float, float]:
    """Mask IoU pooled over the scratched scenes (intersections and unions summed) and the share of pixels
    flagged on the scratch-free ones, with the mask rule `to_mask(threshold, min_length)`."""
    inter = union = flagged = pixels = 0
    for probability, truth, scratched in scored:
        pred = to_mask(probability, threshold, min_length)
        if scratched:
            inter += int((pred & truth).sum())
            union += int((pred | truth).sum())
        else:
            flagged += int(pred.sum())
            pixels += pred.size
    return inter / max(union, 1), flagged / max(pixels, 1)


RULE_SEED = VAL_SEED + 100_000
"""Scenes the mask rule is chosen on: validation scenes too (never trained on), apart from those `evaluate`
records, and never the benchmark's photos."""
FALSE_POSITIVE_COST = 10.0
"""How the rule weighs the two errors: flagging 1 % of a clean picture's pixels (detail that inpainting would
wipe) costs as much as 0.1 of mask IoU on scratched ones."""


@torch.inference_mode()
def choose_mask_rule(net: ScratchNet, count: int = 60) -> dict[str, float]:
    """The threshold and minimum part length (scratch_net.to_mask) that maximise IoU − cost × false
    positives on validation scenes; scratch_net's THRESHOLD and MIN_LENGTH are set to what this chose."""
    scored = _probabilities(net, RULE_SEED, count, 192)
    best: dict[str, float] = {}
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        for min_length in (0, 8, 15, 25, 40):
            iou, fp = _mask_scores(scored, threshold, min_length)
            score = iou - FALSE_POSITIVE_COST * fp
            if not best or score > best["score"]:
                best = {"threshold": threshold, "min_length": min_length, "iou": iou, "false_positive": fp,
                        "score": score}  # fmt: skip
    return {k: round(v, 4) for k, v in best.items()}


class TrainingRun(TypedDict):
    steps: int
    batch_size: int
    crop: int
    scenes: int
    seed: int


SHORT: TrainingRun = {"steps": 40, "batch_size": 4, "crop": 48, "scenes": 12, "seed": SEED}
"""The short retraining the reproducibility test repeats on a CPU (seconds), with the committed file's seed."""


def short_check() -> dict[str, float]:
    """What the short retraining gives: its mean loss over the last 10 steps and its mean scratch probability
    on two validation scenes. Recorded beside the weights; the test retrains and compares within a tolerance
    (the same script, seed and data; only floating-point details of the machine may differ)."""
    losses: list[float] = []
    net = train(**SHORT, log=False, losses=losses)
    with torch.inference_mode():
        probs = [
            float(torch.sigmoid(net(torch.from_numpy(make_sample(VAL_SEED + i, 96)[0])[None])).mean())
            for i in range(2)
        ]
    return {"loss_tail": round(float(np.mean(losses[-10:])), 4), "mean_probability": round(float(np.mean(probs)), 4)}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(
    steps: int,
    batch_size: int,
    crop: int,
    scenes: int,
    seed: int,
    device: str = "cpu",
    log: bool = True,
    workers: int = 1,
    losses: list[float] | None = None,
) -> ScratchNet:
    """Train from `seed`; `losses`, if given, receives every step's loss."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.time()
    pool = build_pool(seed, scenes, max(crop + 32, 160), workers)
    if log:
        print(f"pool {len(pool)} scenes in {time.time() - t0:.1f}s", flush=True)
    net = ScratchNet().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    running = 0.0
    for step in range(1, steps + 1):
        x, y = batch(pool, rng, batch_size, crop)
        loss = loss_fn(net(x.to(device)), y.to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if losses is not None:
            losses.append(loss.item())
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if log and step % 200 == 0:
            print(f"step {step} loss {running:.4f} {time.time() - t0:.0f}s", flush=True)
    return net.to("cpu").eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1600)
    ap.add_argument("--batch", type=int, default=6)
    ap.add_argument("--crop", type=int, default=96)
    ap.add_argument("--scenes", type=int, default=400)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=1, help="processes making the scenes (same result)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steadiest on a shared machine)")
    ap.add_argument("--out", type=Path, default=weights_path(DEFAULT_WEIGHTS_DIR))
    ap.add_argument("--trained", type=Path, help="skip training: describe this file (trained with these arguments)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.trained:
        net = ScratchNet()
        net.load_state_dict(torch.load(args.trained, map_location="cpu", weights_only=True))
        net.eval()
    else:
        net = train(args.steps, args.batch, args.crop, args.scenes, args.seed, args.device, workers=args.workers)
    rule = choose_mask_rule(net)
    scores = evaluate(net, threshold=rule["threshold"], min_length=int(rule["min_length"]))
    short = short_check()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial")
    torch.save(net.state_dict(), partial)
    partial.replace(args.out)
    meta = {k: getattr(args, k) for k in ("steps", "batch", "crop", "scenes", "seed", "device")}
    meta |= {"sha256": sha256(args.out), **{k: round(v, 4) for k, v in scores.items()}, "rule": rule,
             "short": short}  # fmt: skip
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
