"""The one tiled renderer every model shares: a tile planner, a feathered seam-free blend, OOM fallback.

The planner (`plan_tiles`) cuts the picture into the even split (n tiles a side, equal windows) that fits the
memory budget and computes the fewest pixels: every window has the same size (so tiles batch),
the picture's own border gets only the `desc.crop` pixels the network itself consumes (a picture that fits is one
window: the network sees the picture as it is, as on ncnn's own runtime), and an edge between two tiles gets
`desc.pad` pixels of context, the context its seams need to stay at 50 dB against an untiled run (measured: see its
descriptor), plus `overlap` pixels that both tiles compute and blend. The ratio of computed to actual pixels is
reported (`TileStats.pixel_ratio`, the `renovo_inference_tile_pixel_ratio` metric). Window starts keep the phase of
the whole picture, so networks with stride-2 stages (`size_multiple`) see the same pixel phase.

Outputs are blended as in nunif: each tile's output is weighted by a separable linear ramp that falls towards
its inner edges, accumulated with the weights, and divided by the summed weights. Networks whose receptive
field fits in `pad` (UpConv7) therefore reproduce the whole-picture output exactly; the others (RRDBNet, CUNet
with its squeeze-excitation pooling) get differences that fade in smoothly instead of seams.

Memory: only one row of tiles is held in float (a band of output rows, on the device); rows that no later
tile touches are clamped, converted to uint8 on the device and copied into the preallocated uint8 canvas.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import numpy as np
import torch

from . import metrics
from .descriptor import ModelDescriptor
from .device import (
    MIN_TILE,
    PictureTooLarge,
    Precision,
    autocast_dtype,
    is_out_of_memory,
    precision_context,
    release_cached_memory,
    resolve_device,
    round_down,
    tile_budget,
)
from .engine import RunContext
from .planner import DEFAULT_OVERLAP, AxisPlan, Border, TileStats, default_border, plan_axis, plan_tiles, tile_starts

__all__ = [
    "DEFAULT_OVERLAP", "AxisPlan", "Border", "TileStats", "default_border", "plan_axis", "plan_tiles", "tile_starts",
    "upscale",
]

Network = Callable[[torch.Tensor], torch.Tensor]

_layout_lock = threading.Lock()
_channels_last: weakref.WeakSet[torch.nn.Module] = weakref.WeakSet()

def border_index(positions: torch.Tensor, length: int, border: Border) -> torch.Tensor:
    """Map positions that may fall outside [0, length) to source indices (reflect is reflect-101)."""
    if border == "replicate" or length == 1:
        return positions.clamp(0, length - 1)
    period = 2 * (length - 1)
    folded = positions.abs() % period
    return torch.where(folded >= length, period - folded, folded)


def ramp(size: int, fade: int, fall_in: bool, fall_out: bool, device: torch.device) -> torch.Tensor:
    """1-D blend weight: 1 inside, falling linearly to ~0 over `fade` pixels at each inner edge."""
    x = torch.arange(size, device=device, dtype=torch.float32)
    w = torch.ones(size, device=device)
    if fade > 0:
        if fall_in:
            w = torch.minimum(w, (x + 0.5) / fade)
        if fall_out:
            w = torch.minimum(w, (size - x - 0.5) / fade)
    return w


def upscale(
    net: Network,
    desc: ModelDescriptor,
    image: np.ndarray,
    ctx: RunContext,
    *,
    tile: int | None = None,
    batch: int | None = None,
    overlap: int = DEFAULT_OVERLAP,
    border: Border | None = None,
    precision: Precision = "auto",
    channels_last: bool = True,
    span: tuple[float, float] = (0.0, 1.0),
    stats: TileStats | None = None,
    quantise: bool = True,
    backend: str = "torch",
) -> np.ndarray:
    """Run `net` over `image` (H×W×C, uint8 or float32 in 0…1) tile by tile; return uint8 (sH)×(sW)×C_out.

    With `quantise=False` the result is the blended raw float32 output instead (unclamped), for fidelity
    comparisons with a reference runtime.

    `tile` (the largest tile side in input pixels, before context; `ctx.tile` is used when set) and `batch`
    default to what the memory budget allows (`device.tile_budget`). Progress goes to `ctx.progress`, mapped
    into `span`; cancellation is checked before every batch. On an out-of-memory error (anywhere: the copy to
    the device, a tile) the batch, then the tile, is halved and the whole picture restarted
    (`stats.oom_retries` counts them); progress never goes backwards. When even the smallest tile does not fit
    the error goes up as `PictureTooLarge`.
    """
    if image.ndim != 3 or image.shape[2] != desc.in_channels:
        raise ValueError(f"expected H×W×{desc.in_channels} input, got shape {image.shape}")
    stats = stats if stats is not None else TileStats()
    device = resolve_device(ctx.device)
    dtype = autocast_dtype(device, desc, precision)
    explicit = tile or ctx.tile
    budget_pixels, auto_batch = tile_budget(desc, device, dtype, backend=backend)
    max_pixels: int | None = budget_pixels
    max_side = round_down(max(explicit, MIN_TILE), desc.size_multiple) if explicit else None
    # On the CPU batching buys nothing and would coarsen progress and cancellation: one tile at a time.
    batch = batch or (auto_batch if device.type == "cuda" else 1)
    overlap = min(overlap, max_side // 4) if max_side else overlap
    best = [span[0]]

    def report(fraction: float) -> None:
        value = span[0] + (span[1] - span[0]) * fraction
        if value > best[0]:  # monotone even across OOM restarts
            best[0] = value
            ctx.progress(value)

    if isinstance(net, torch.nn.Module) and channels_last:
        _to_channels_last(net)
    array = np.ascontiguousarray(image)
    if not array.flags.writeable:  # np.asarray(PIL image) is read-only and torch warns about sharing it
        array = array.copy()
    height, width = image.shape[:2]
    while True:
        source: torch.Tensor | None = None
        try:
            rows, cols = plan_tiles(height, width, desc, max_side=max_side, max_pixels=max_pixels, overlap=overlap)
            stats.tile = max_side if max_side else max(rows.window, cols.window) - 2 * desc.pad
            stats.batch = batch
            tiles_before = stats.tiles
            source = torch.from_numpy(array).to(device)
            result = _render(
                net, desc, source, ctx, rows, cols, batch, overlap, border or default_border(desc), dtype,
                channels_last, report, stats, quantise,
            )  # fmt: skip
            family = _family(ctx, desc)
            metrics.tiles_run(family, stats.tiles - tiles_before, stats.pixel_ratio)
            return result
        except Exception as exc:  # only OOM is retried; everything else goes up unchanged
            if not is_out_of_memory(exc):
                raise
            failure = str(exc)  # not the exception: its traceback would keep the attempt's tensors alive
        # Outside the `except`: the failed attempt's tensors (and the traceback's frames) are gone before the
        # cache is emptied, so the memory really comes back.
        del source
        shrunk = max_side // 2 if max_side else max(rows.window, cols.window) // 2 - 2 * desc.pad
        if batch > 1:
            batch //= 2
        elif shrunk >= MIN_TILE:
            max_side = round_down(shrunk, desc.size_multiple)
            max_pixels = None
            overlap = min(overlap, max_side // 4)
        else:
            release_cached_memory(device)
            raise PictureTooLarge(failure, device.type)
        release_cached_memory(device)
        stats.oom_retries += 1
        metrics.oom_retried(_family(ctx, desc))


def _family(ctx: RunContext, desc: ModelDescriptor) -> str:
    """The metrics label: the engine family the worker put in the context (the architecture otherwise)."""
    return ctx.family or desc.arch


def _render(
    net: Network,
    desc: ModelDescriptor,
    source: torch.Tensor,
    ctx: RunContext,
    rows: AxisPlan,
    cols: AxisPlan,
    batch: int,
    overlap: int,
    border: Border,
    dtype: torch.dtype | None,
    channels_last: bool,
    report: Callable[[float], None],
    stats: TileStats,
    quantise: bool,
) -> np.ndarray:
    height, width = int(source.shape[0]), int(source.shape[1])
    s, c = desc.scale, desc.crop
    out_h, out_w, c_out = s * height, s * width, desc.out_channels
    canvas = np.empty((out_h, out_w, c_out), dtype=np.uint8 if quantise else np.float32)
    device = source.device
    scale_in = 1.0 / 255.0 if source.dtype == torch.uint8 else 1.0
    fade = s * overlap
    col_w = [ramp(s * (b - a), fade, i > 0, i < len(cols.starts) - 1, device) for i, (a, b) in enumerate(cols.cores)]
    col_idx = [border_index(torch.arange(x, x + cols.window, device=device), width, border) for x in cols.starts]
    band_rows = s * max(b - a for a, b in rows.cores)
    band = torch.zeros((c_out, band_rows, out_w), device=device)
    weight = torch.zeros((1, band_rows, out_w), device=device)
    band_top = 0  # output row held in band[:, 0]
    total, done = len(rows.starts) * len(cols.starts), 0
    stats.tiles = total
    stats.window = (rows.window, cols.window)
    stats.computed_pixels = rows.computed * cols.computed
    stats.actual_pixels = height * width
    with precision_context(device, dtype):
        for yi, (y, (ya, yb)) in enumerate(zip(rows.starts, rows.cores, strict=True)):
            strip = source.index_select(0, border_index(torch.arange(y, y + rows.window, device=device), height,
                                                        border))
            row_w = ramp(s * (yb - ya), fade, yi > 0, yi < len(rows.starts) - 1, device)
            offset = s * ya - band_top
            for first in range(0, len(cols.starts), batch):
                ctx.check_cancelled()
                group = range(first, min(first + batch, len(cols.starts)))
                x_in = torch.stack([strip.index_select(1, col_idx[i]) for i in group]).permute(0, 3, 1, 2)
                x_in = x_in.float().mul_(scale_in)
                if channels_last:
                    x_in = x_in.contiguous(memory_format=torch.channels_last)
                y_out = net(x_in)
                oy = s * (ya - y - c)
                for k, i in enumerate(group):
                    xa, xb = cols.cores[i]
                    ox = s * (xa - cols.starts[i] - c)
                    piece = y_out[k, :, oy : oy + s * (yb - ya), ox : ox + s * (xb - xa)].float()
                    w = row_w[:, None] * col_w[i][None, :]
                    band[:, offset : offset + s * (yb - ya), s * xa : s * xb].addcmul_(piece, w)
                    weight[:, offset : offset + s * (yb - ya), s * xa : s * xb] += w
                del y_out, x_in
                done += len(group)
                report(done / total)
            # Rows above the next tile row's core are final: convert them and slide the band up.
            final = (s * rows.cores[yi + 1][0] if yi + 1 < len(rows.starts) else s * yb) - band_top
            _flush(canvas, band[:, :final], weight[:, :final], band_top, out_h, out_w)
            keep = band_rows - final
            if keep > 0:
                band[:, :keep] = band[:, final:].clone()
                weight[:, :keep] = weight[:, final:].clone()
            band[:, keep:] = 0
            weight[:, keep:] = 0
            band_top += final
    return canvas


def _to_channels_last(net: torch.nn.Module) -> None:
    # Cached models are shared by the worker's threads: convert each once, under a lock, never mid-forward.
    with _layout_lock:
        if net not in _channels_last:
            # What `Module.to(memory_format=...)` does (its stub lacks the keyword): 4-D weights and buffers.
            for tensor in [*net.parameters(), *net.buffers()]:
                if tensor.dim() == 4:
                    tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)
            _channels_last.add(net)


def _flush(
    canvas: np.ndarray, acc: torch.Tensor, weight: torch.Tensor, top: int, out_h: int, out_w: int
) -> None:
    """Blend-normalise finished rows, clamp and quantise on the device, copy into the (uint8) canvas."""
    rows = min(acc.shape[1], out_h - top)
    if rows <= 0:
        return
    pixels = acc[:, :rows, :out_w] / weight[:, :rows, :out_w].clamp_min(1e-12)
    if canvas.dtype == np.uint8:
        pixels = pixels.clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8)
    canvas[top : top + rows] = pixels.permute(1, 2, 0).cpu().numpy()
