"""ncnn's CPU runtime as the `ncnn` backend: the shared tile plan rendered with numpy, without importing torch.

On two CPU cores ncnn's hand-tuned x86 kernels beat PyTorch eager on these convolution stacks (see
bench/models_bench.py). This path keeps the tiling engine's plan (services/inference/planner.py), its feathered
blend, progress and cancellation, but runs in numpy, so a process on this backend never pays torch's start-up
(seconds) or its memory; the only copies are one tile's input, its output and the band of rows being blended,
and the uint8 canvas is written in place. A network whose graph ends in an upsampling tail (RRDBNet: nearest ×2,
conv, nearest ×2, three convs) runs that tail in pieces (`NcnnRunner.run_split`): same output, a quarter of the
memory per pixel, so the planner's windows are four times larger.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import metrics
from .descriptor import ModelDescriptor
from .engine import PictureTooLarge, RunContext
from .planner import (
    DEFAULT_OVERLAP,
    MIN_TILE,
    AxisPlan,
    Border,
    TileStats,
    cpu_budget_pixels,
    default_border,
    plan_tiles,
    round_down,
)


def ncnn_available() -> bool:
    """Whether the `ncnn` Python package is installed."""
    return importlib.util.find_spec("ncnn") is not None


def default_threads() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class NcnnNetwork:
    """One loaded ncnn network: `run(chw)` for numpy, and callable on N×3×H×W torch tensors (for the shared
    torch tiler, the fidelity tests and the benchmark)."""

    def __init__(self, param_path: Path, model_id: str, threads: int | None = None) -> None:
        from .ncnn_backend import NcnnRunner, upsampling_tail

        self.model_id = model_id
        started = time.perf_counter()
        self.runner = NcnnRunner(param_path, model_id, threads or default_threads())
        # RRDBNet's upsampling tail runs in pieces: a quarter of the memory per pixel, so 4x larger tiles.
        self.tail = upsampling_tail(param_path, self.runner.output_blob)
        metrics.model_loaded(model_id, time.perf_counter() - started)

    def run(self, chw: np.ndarray) -> np.ndarray:
        if self.tail is not None:
            return self.runner.run_split(chw, self.tail)
        return self.runner.run(chw)

    def __call__(self, batch: Any) -> Any:
        import torch

        outputs = [torch.from_numpy(self.run(item.float().contiguous().numpy())) for item in batch.cpu()]
        return torch.stack(outputs).to(batch.device)


class ChwNetwork(Protocol):
    """What `upscale_numpy` runs: C×H×W float32 in, the network's raw output out (an `NcnnNetwork`)."""

    def run(self, chw: np.ndarray) -> np.ndarray: ...


def _index(start: int, size: int, length: int, border: Border) -> np.ndarray:
    positions = np.arange(start, start + size)
    if border == "replicate" or length == 1:
        return np.clip(positions, 0, length - 1)
    period = 2 * (length - 1)
    folded = np.abs(positions) % period
    return np.where(folded >= length, period - folded, folded)


def _ramp(size: int, fade: int, fall_in: bool, fall_out: bool) -> np.ndarray:
    x = np.arange(size, dtype=np.float32)
    w = np.ones(size, dtype=np.float32)
    if fade > 0:
        if fall_in:
            w = np.minimum(w, (x + 0.5) / fade)
        if fall_out:
            w = np.minimum(w, (size - x - 0.5) / fade)
    return w


def upscale_numpy(
    net: ChwNetwork,
    desc: ModelDescriptor,
    image: np.ndarray,
    ctx: RunContext,
    *,
    tile: int | None = None,
    overlap: int = DEFAULT_OVERLAP,
    span: tuple[float, float] = (0.0, 1.0),
    stats: TileStats | None = None,
) -> np.ndarray:
    """`tiling.upscale` for the ncnn backend: the same plan and blend, uint8 H×W×C in, uint8 (sH)×(sW)×C out."""
    if image.ndim != 3 or image.shape[2] != desc.in_channels:
        raise ValueError(f"expected H×W×{desc.in_channels} input, got shape {image.shape}")
    stats = stats if stats is not None else TileStats()
    explicit = tile or ctx.tile
    max_side = round_down(max(explicit, MIN_TILE), desc.size_multiple) if explicit else None
    max_pixels: int | None = None if max_side else cpu_budget_pixels(desc, "ncnn")
    overlap = min(overlap, max_side // 4) if max_side else overlap
    height, width = image.shape[:2]
    best = [span[0]]

    def report(fraction: float) -> None:
        value = span[0] + (span[1] - span[0]) * fraction
        if value > best[0]:
            best[0] = value
            ctx.progress(value)

    family = ctx.family or desc.arch
    while True:
        rows, cols = plan_tiles(height, width, desc, max_side=max_side, max_pixels=max_pixels, overlap=overlap)
        stats.tile = max_side if max_side else max(rows.window, cols.window) - 2 * desc.pad
        stats.batch = 1
        try:
            result = _render(net.run, desc, image, ctx, rows, cols, overlap, default_border(desc), report, stats)
            metrics.tiles_run(family, stats.tiles, stats.pixel_ratio)
            return result
        except MemoryError as exc:
            failure = str(exc)
        shrunk = max_side // 2 if max_side else max(rows.window, cols.window) // 2 - 2 * desc.pad
        if shrunk < MIN_TILE:
            raise PictureTooLarge(failure, "cpu")
        max_side, max_pixels = round_down(shrunk, desc.size_multiple), None
        overlap = min(overlap, max_side // 4)
        stats.oom_retries += 1
        metrics.oom_retried(family)


def _render(
    run: Callable[[np.ndarray], np.ndarray],
    desc: ModelDescriptor,
    image: np.ndarray,
    ctx: RunContext,
    rows: AxisPlan,
    cols: AxisPlan,
    overlap: int,
    border: Border,
    report: Callable[[float], None],
    stats: TileStats,
) -> np.ndarray:
    height, width = image.shape[:2]
    s, c = desc.scale, desc.crop
    out_h, out_w, c_out = s * height, s * width, desc.out_channels
    canvas = np.empty((out_h, out_w, c_out), dtype=np.uint8)
    scale_in = np.float32(1.0 / 255.0 if image.dtype == np.uint8 else 1.0)
    fade = s * overlap
    col_w = [_ramp(s * (b - a), fade, i > 0, i < len(cols.starts) - 1) for i, (a, b) in enumerate(cols.cores)]
    col_idx = [_index(x, cols.window, width, border) for x in cols.starts]
    single = len(rows.starts) == len(cols.starts) == 1
    band_rows = s * max(b - a for a, b in rows.cores)
    band = np.zeros((band_rows, out_w, c_out), np.float32) if not single else None
    weight = np.zeros((band_rows, out_w, 1), np.float32) if not single else None
    band_top, total, done = 0, len(rows.starts) * len(cols.starts), 0
    stats.tiles, stats.window = total, (rows.window, cols.window)
    stats.computed_pixels, stats.actual_pixels = rows.computed * cols.computed, height * width
    for yi, (y, (ya, yb)) in enumerate(zip(rows.starts, rows.cores, strict=True)):
        strip = image[_index(y, rows.window, height, border)]
        row_w = _ramp(s * (yb - ya), fade, yi > 0, yi < len(rows.starts) - 1)
        offset = s * ya - band_top
        oy = s * (ya - y - c)
        for i, x in enumerate(cols.starts):
            ctx.check_cancelled()
            chw = np.ascontiguousarray(strip[:, col_idx[i]].transpose(2, 0, 1), dtype=np.float32)
            chw *= scale_in
            out = run(chw)
            del chw
            xa, xb = cols.cores[i]
            ox = s * (xa - x - c)
            piece = out[:, oy : oy + s * (yb - ya), ox : ox + s * (xb - xa)].transpose(1, 2, 0)
            if band is None or weight is None:  # one tile: straight into the canvas, no blend buffers
                _quantise(piece, canvas[s * ya : s * yb, s * xa : s * xb])
            else:
                w = (row_w[:, None] * col_w[i][None, :])[..., None]
                band[offset : offset + s * (yb - ya), s * xa : s * xb] += piece * w
                weight[offset : offset + s * (yb - ya), s * xa : s * xb] += w
            del out, piece
            done += 1
            report(done / total)
        if band is None or weight is None:
            continue
        final = (s * rows.cores[yi + 1][0] if yi + 1 < len(rows.starts) else s * yb) - band_top
        rows_out = min(final, out_h - band_top)
        if rows_out > 0:
            _quantise(band[:rows_out] / np.maximum(weight[:rows_out], 1e-12), canvas[band_top : band_top + rows_out])
        keep = band_rows - final
        if keep > 0:
            band[:keep] = band[final:].copy()
            weight[:keep] = weight[final:].copy()
        band[max(keep, 0) :] = 0
        weight[max(keep, 0) :] = 0
        band_top += final
    return canvas


def _quantise(pixels: np.ndarray, into: np.ndarray) -> None:
    np.clip(pixels, 0.0, 1.0, out=pixels)
    pixels *= 255.0
    np.rint(pixels, out=pixels)
    into[...] = pixels
