"""The one tiled renderer every model shares: overlapping tiles, a feathered seam-free blend, OOM fallback.

The picture is cut into equal tiles (so they batch) whose cores overlap by `overlap` input pixels; each tile
is fed with `desc.pad` pixels of context on every side (real neighbours inside the picture, reflect/replicate
padding outside it) plus, at the right and bottom, whatever the network needs to reach `size_multiple` and
`min_size`, as waifu2x's own ncnn tool does. Tile starts are multiples of `size_multiple`, so networks with
stride-2 stages see the same pixel phase as on the whole picture.

Outputs are blended as in nunif: each tile's output is weighted by a separable linear ramp that falls towards
its inner edges, accumulated with the weights, and divided by the summed weights. Networks whose receptive
field fits in `pad` (UpConv7) therefore reproduce the whole-picture output exactly; the others (RRDBNet, CUNet
with its squeeze-excitation pooling) get differences that fade in smoothly instead of seams.

Memory: only one row of tiles is held in float (a band of `scale·tile` output rows, on the device); rows that
no later tile touches are clamped, converted to uint8 on the device and copied into the preallocated uint8
canvas. A 4000×3000 x4 run holds the 576 MB canvas plus a ~260 MB band, never all tiles in fp32.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .descriptor import ModelDescriptor
from .device import (
    MIN_TILE,
    Precision,
    autocast_dtype,
    choose_tile_and_batch,
    is_out_of_memory,
    precision_context,
    release_cached_memory,
    resolve_device,
    round_down,
    round_up,
)
from .engine import RunContext
from .metrics import OOM_RETRIES, TILES

Network = Callable[[torch.Tensor], torch.Tensor]
Border = Literal["replicate", "reflect"]

_layout_lock = threading.Lock()
_channels_last: weakref.WeakSet[torch.nn.Module] = weakref.WeakSet()

DEFAULT_OVERLAP = 8
"""Input pixels two neighbouring tile cores share and blend over (×scale output pixels)."""


@dataclass
class TileStats:
    """What a run did, for logs and the benchmark."""

    tile: int = 0
    batch: int = 0
    tiles: int = 0
    oom_retries: int = 0


def default_border(desc: ModelDescriptor) -> Border:
    """realsr-ncnn-vulkan mirrors its borders; waifu2x-ncnn-vulkan clamps (replicates) them."""
    return "reflect" if desc.arch in ("rrdbnet", "esrgan") else "replicate"


def border_index(positions: torch.Tensor, length: int, border: Border) -> torch.Tensor:
    """Map positions that may fall outside [0, length) to source indices (reflect is reflect-101)."""
    if border == "replicate" or length == 1:
        return positions.clamp(0, length - 1)
    period = 2 * (length - 1)
    folded = positions.abs() % period
    return torch.where(folded >= length, period - folded, folded)


def tile_starts(length: int, tile: int, overlap: int, multiple: int) -> tuple[list[int], int]:
    """Start positions of the tiles along one axis, and the tile length actually used on that axis.

    The axis is first rounded up to `multiple` (the network's size multiple); if that fits in one tile, the
    single tile is exactly that long. Otherwise starts are multiples of `multiple`, spread evenly between 0
    and `padded − tile`, with gaps no larger than `tile − overlap`.
    """
    padded = round_up(length, multiple)
    if padded <= tile:
        return [0], padded
    step = round_down(tile - overlap, multiple) if tile - overlap >= multiple else multiple
    units = (padded - tile) // multiple
    n = -(-(padded - tile) // step) + 1
    return [multiple * (i * units // (n - 1)) for i in range(n)], tile


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
) -> np.ndarray:
    """Run `net` over `image` (H×W×C, uint8 or float32 in 0…1) tile by tile; return uint8 (sH)×(sW)×C_out.

    With `quantise=False` the result is the blended raw float32 output instead (unclamped), for fidelity
    comparisons with a reference runtime.

    `tile` (input pixels) and `batch` default to what free memory allows (`ctx.tile` is used when set).
    Progress goes to `ctx.progress`, mapped into `span`; cancellation is checked before every batch. On an
    out-of-memory error the batch, then the tile, is halved and the whole picture restarted
    (`stats.oom_retries` counts them); progress never goes backwards.
    """
    if image.ndim != 3 or image.shape[2] != desc.in_channels:
        raise ValueError(f"expected H×W×{desc.in_channels} input, got shape {image.shape}")
    stats = stats if stats is not None else TileStats()
    device = resolve_device(ctx.device)
    dtype = autocast_dtype(device, desc, precision)
    auto_tile, auto_batch = choose_tile_and_batch(desc, device, dtype)
    tile = tile or ctx.tile or auto_tile
    tile = round_down(max(tile, MIN_TILE), desc.size_multiple)
    # On CUDA the memory-derived batch was sized for auto_tile: scale it to the tile actually used (capped).
    # On the CPU batching buys nothing and would coarsen progress and cancellation: one tile at a time.
    batch = batch or (min(16, max(1, auto_batch * auto_tile**2 // tile**2)) if device.type == "cuda" else 1)
    overlap = min(overlap, tile // 4)
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
    source = torch.from_numpy(array).to(device)
    while True:
        try:
            stats.tile, stats.batch = tile, batch
            tiles_before = stats.tiles
            result = _render(
                net,
                desc,
                source,
                ctx,
                tile,
                batch,
                overlap,
                border or default_border(desc),
                dtype,
                channels_last,
                report,
                stats,
                quantise,
            )
            TILES.labels(_family(ctx, desc)).inc(stats.tiles - tiles_before)
            return result
        except Exception as exc:  # only OOM is retried; everything else goes up unchanged
            if not is_out_of_memory(exc):
                raise
            release_cached_memory(device)
            if batch > 1:
                batch //= 2
            elif tile // 2 >= MIN_TILE:
                tile = round_down(tile // 2, desc.size_multiple)
                overlap = min(overlap, tile // 4)
            else:
                raise
            stats.oom_retries += 1
            OOM_RETRIES.labels(_family(ctx, desc)).inc()


def _family(ctx: RunContext, desc: ModelDescriptor) -> str:
    """The metrics label: the engine family the worker put in the context (the architecture otherwise)."""
    return str(ctx.extra.get("family", desc.arch))


def _render(
    net: Network,
    desc: ModelDescriptor,
    source: torch.Tensor,
    ctx: RunContext,
    tile: int,
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
    s, m = desc.scale, desc.size_multiple
    ys, tile_h = tile_starts(height, tile, overlap, m)
    xs, tile_w = tile_starts(width, tile, overlap, m)
    # Extra right/bottom context so that the padded tile meets size_multiple and min_size.
    extra_h = _extra(tile_h + 2 * desc.pad, m, desc.min_size)
    extra_w = _extra(tile_w + 2 * desc.pad, m, desc.min_size)
    skip = s * (desc.pad - desc.crop)  # output pixels of context to drop at the top/left of each tile
    out_h, out_w, c_out = s * height, s * width, desc.out_channels
    canvas = np.empty((out_h, out_w, c_out), dtype=np.uint8 if quantise else np.float32)
    device = source.device
    scale_in = 1.0 / 255.0 if source.dtype == torch.uint8 else 1.0
    fade = s * overlap
    col_w = [ramp(s * tile_w, fade, i > 0, i < len(xs) - 1, device) for i in range(len(xs))]
    col_idx = [
        border_index(
            torch.arange(x - desc.pad, x + tile_w + desc.pad + extra_w, device=device), width, border
        )
        for x in xs
    ]
    band_rows = s * tile_h
    band_w = s * (xs[-1] + tile_w)
    band = torch.zeros((c_out, band_rows, band_w), device=device)
    weight = torch.zeros((1, band_rows, band_w), device=device)
    band_top = 0  # output row held in band[:, 0]
    total, done = len(ys) * len(xs), 0
    stats.tiles = total
    with precision_context(device, dtype):
        for yi, y in enumerate(ys):
            rows = border_index(
                torch.arange(y - desc.pad, y + tile_h + desc.pad + extra_h, device=device), height, border
            )
            strip = source.index_select(0, rows)
            row_w = ramp(s * tile_h, fade, yi > 0, yi < len(ys) - 1, device)
            offset = s * y - band_top
            for first in range(0, len(xs), batch):
                ctx.check_cancelled()
                group = range(first, min(first + batch, len(xs)))
                x_in = torch.stack([strip.index_select(1, col_idx[i]) for i in group]).permute(0, 3, 1, 2)
                x_in = x_in.float().mul_(scale_in)
                if channels_last:
                    x_in = x_in.contiguous(memory_format=torch.channels_last)
                y_out = net(x_in)
                y_out = y_out[:, :, skip : skip + s * tile_h, skip : skip + s * tile_w].float()
                for k, i in enumerate(group):
                    w = row_w[:, None] * col_w[i][None, :]
                    x0 = s * xs[i]
                    band[:, offset : offset + s * tile_h, x0 : x0 + s * tile_w].addcmul_(y_out[k], w)
                    weight[:, offset : offset + s * tile_h, x0 : x0 + s * tile_w] += w
                done += len(group)
                report(done / total)
            # Rows above the next tile row's start are final: convert them and slide the band up.
            final = (s * ys[yi + 1] if yi + 1 < len(ys) else s * (y + tile_h)) - band_top
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
            net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # the stub lacks it
            _channels_last.add(net)


def _extra(size: int, multiple: int, min_size: int) -> int:
    target = round_up(max(size, min_size), multiple)
    return target - size


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
