"""The tile planner, torch-free (the ncnn backend runs without importing torch): where the tiles go.

Of the even splits (n tiles a side, equal windows) whose input windows fit the memory budget, the one computing the
fewest pixels: every window has the same size (so tiles batch), the picture's own border
gets only the `desc.crop` pixels the network itself consumes (a picture that fits is one window: the network sees
the picture as it is, as on ncnn's own runtime), and an edge between two tiles gets `desc.pad` pixels of context,
the context its seams need to stay at 50 dB against an untiled run (measured, in its descriptor), plus `overlap`
pixels both tiles compute and blend. `TileStats.pixel_ratio` is the computed/actual ratio of input pixels (1.0: no
waste)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .descriptor import ModelDescriptor

Border = Literal["replicate", "reflect"]

DEFAULT_OVERLAP = 8
"""Input pixels two neighbouring tile cores share and blend over (×scale output pixels)."""

CPU_BUDGET_BYTES = 3 << 29
"""At most this much activation memory per tile on the CPU: a bigger tile is not faster there (the network
computes the same pixels), it only raises the peak: 1.5 GiB of estimate (RRDBNet measures 12.3 kB per input
pixel against the 16 kB assumed) keeps `sr` x4 of 320x320 under 1.5 GiB and 4000x3000 under 3 GiB."""

# Peak activation memory per input pixel of one tile, fp32, batch 1. PyTorch (inference_mode): estimated from
# the widest tensors alive at once (RRDBNet: ~200 channels at 4x resolution in the upsampler; CUNet: UNet2 at
# 2x; UpConv7: 256 channels before the deconvolution) and rounded up; RRDBNet measures 12.3 kB.
TORCH_BYTES_PER_INPUT_PIXEL: dict[str, int] = {"rrdbnet": 16_000, "upcunet": 10_000, "cunet": 10_000,
                                               "upconv7": 5_000, "scratchnet": 1_000}
# The old-photo scratch detector (20 channels at full resolution) measures 590 B per input pixel at 256x256 and
# 380 at 512x512 (peak RSS growth of one forward pass); 1 kB keeps a 1.5 MP photo in one window.
# ncnn's CPU runtime, measured (peak RSS growth / input pixels of one run, fp32, 2 threads, ncnn 1.0.20261020):
# RRDBNet 12.7 kB at 256² with its upsampling tail run in pieces (ncnn_backend.run_split; whole it holds 47-54 kB,
# most of it the tail's 4x-resolution activations); CUNet 9.2-9.6 kB (200², 400²); UpConv7 4.7 kB (400²).
# Rounded up with room for the ~0.35 GiB a process holds besides (libraries, RRDBNet's Winograd-transformed
# weights): `sr` x4 of 320x320 as one 320² window would peak near 1.6 GiB, so it takes two.
NCNN_BYTES_PER_INPUT_PIXEL: dict[str, int] = {"rrdbnet": 16_000, "upcunet": 11_000, "cunet": 11_000,
                                              "upconv7": 6_000}
DEFAULT_BYTES_PER_INPUT_PIXEL = 16_000
MIN_TILE = 16


def default_border(desc: ModelDescriptor) -> Border:
    """realsr-ncnn-vulkan mirrors its borders; waifu2x-ncnn-vulkan clamps (replicates) them."""
    return "reflect" if desc.arch in ("rrdbnet", "esrgan") else "replicate"


def host_free_bytes() -> int:
    """`MemAvailable` from /proc/meminfo, bounded by the cgroup's limit in a container."""
    available = 2 << 30  # no /proc (not Linux): assume a modest 2 GiB rather than failing
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except OSError:
        pass
    # In a container the cgroup limit, not the host's free memory, is what the OOM killer enforces.
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return max(available, 0)


def cpu_budget_pixels(desc: ModelDescriptor, backend: str, users: int = 1, free_bytes: int | None = None) -> int:
    """Input pixels one CPU tile window may have: a quarter of free memory shared by `users` threads, at most
    `CPU_BUDGET_BYTES`, over the backend's bytes per input pixel."""
    table = NCNN_BYTES_PER_INPUT_PIXEL if backend == "ncnn" else TORCH_BYTES_PER_INPUT_PIXEL
    per_pixel = table.get(desc.arch, DEFAULT_BYTES_PER_INPUT_PIXEL)
    free = host_free_bytes() if free_bytes is None else free_bytes
    budget = min(free * 0.25 / max(1, users), CPU_BUDGET_BYTES)
    return max(int(budget // per_pixel), (MIN_TILE + 2 * desc.pad) ** 2)


def round_down(value: int, multiple: int) -> int:
    return max(multiple, value // multiple * multiple)


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


@dataclass
class TileStats:
    """What a run did, for logs, the metric and the benchmark."""

    tile: int = 0
    """The largest tile side (input pixels, context excluded) of the last attempt."""
    batch: int = 0
    tiles: int = 0
    oom_retries: int = 0
    window: tuple[int, int] = (0, 0)
    """Input window (height, width) every tile was fed, context included."""
    computed_pixels: int = 0
    actual_pixels: int = 0

    @property
    def pixel_ratio(self) -> float:
        """Input pixels the network computed per pixel of the picture (1.0: no waste)."""
        return self.computed_pixels / self.actual_pixels if self.actual_pixels else 0.0


@dataclass(frozen=True)
class AxisPlan:
    """The tiles along one axis: equal windows of `window` input pixels starting at `starts` (relative to the
    picture; negative or past the end is border padding), and the part of each window's output a tile owns:
    input rows/columns `cores[i] = (a, b)`, which overlap their neighbours' by at least the blend width."""

    starts: list[int]
    window: int
    cores: list[tuple[int, int]]

    @property
    def computed(self) -> int:
        return self.window * len(self.starts)


def plan_axis(length: int, desc: ModelDescriptor, n: int, overlap: int) -> AxisPlan:
    """`n` equal windows covering `length` pixels: border windows need only `crop` pixels outside the picture,
    inner edges `pad` pixels of context plus `overlap` blended pixels."""
    m, c, p = desc.size_multiple, desc.crop, desc.pad
    padded = round_up(length, m)
    if n <= 1:
        window = round_up(max(padded + 2 * c, desc.min_size), m)
        return AxisPlan([-c], window, [(0, length)])
    # n·W ≥ L + (n−1)·(overlap + 2·pad) + 2·crop: border cores W−pad−crop, inner cores W−2·pad, n−1 overlaps.
    window = round_up(max(-(-(padded + (n - 1) * (overlap + 2 * p) + 2 * c) // n), desc.min_size), m)
    last = padded + c - window  # the last window ends `crop` past the (size-multiple) end
    span = last + c
    starts = [-c + m * ((i * span // m) // (n - 1)) if m > 1 else -c + i * span // (n - 1) for i in range(n)]
    starts[-1] = last
    cores = [
        (0 if i == 0 else x + p, length if i == n - 1 else min(length, x + window - p)) for i, x in enumerate(starts)
    ]
    return AxisPlan(starts, window, cores)


def _fewest(length: int, desc: ModelDescriptor, overlap: int, max_window: int) -> AxisPlan:
    n = 1
    while True:
        plan = plan_axis(length, desc, n, overlap)
        if plan.window <= max_window or plan.window <= 2 * desc.pad + overlap + desc.size_multiple or n > length:
            return plan
        n += 1


TILE_TIE = 0.01
"""Layouts within this fraction of the fewest computed pixels count as equal; then fewer tiles win."""


def plan_tiles(
    height: int,
    width: int,
    desc: ModelDescriptor,
    *,
    max_side: int | None = None,
    max_pixels: int | None = None,
    overlap: int = 8,
) -> tuple[AxisPlan, AxisPlan]:
    """The tiles whose windows fit: at most `max_side` input pixels of core per side (an explicit tile size), or
    at most `max_pixels` input pixels per window (the memory budget). Under a budget every row count is tried
    with the fewest columns that fit it, and the layout computing the fewest pixels wins (fewer tiles only
    within `TILE_TIE` of that: one more tile can cost less than the context a larger window drags in). With
    neither limit the whole picture is one tile."""
    if max_side is not None:
        limit = max_side + 2 * desc.pad
        return _fewest(height, desc, overlap, limit), _fewest(width, desc, overlap, limit)
    if max_pixels is None:
        return plan_axis(height, desc, 1, overlap), plan_axis(width, desc, 1, overlap)
    fitting: list[tuple[int, int, AxisPlan, AxisPlan]] = []  # (computed pixels, tiles, rows, cols)
    least = 0  # the fewest computed pixels of the layouts in `fitting`
    smallest: tuple[int, AxisPlan, AxisPlan] | None = None  # nothing fits: the smallest windows there are
    floor = 2 * desc.pad + overlap + desc.size_multiple
    for ny in range(1, height + 1):
        rows = plan_axis(height, desc, ny, overlap)
        cols = _fewest(width, desc, overlap, max(1, max_pixels // rows.window))
        if rows.window * cols.window <= max_pixels:
            computed = rows.computed * cols.computed
            least = min(least, computed) if fitting else computed
            fitting.append((computed, len(rows.starts) * len(cols.starts), rows, cols))
        elif smallest is None or rows.window * cols.window < smallest[0]:
            smallest = (rows.window * cols.window, rows, cols)
        # More rows only add context: once even `width` columns of these rows cost more, no layout beats `least`.
        if rows.window <= floor or (fitting and rows.computed * width > (1 + TILE_TIE) * least):
            break
    if not fitting:
        assert smallest is not None
        return smallest[1], smallest[2]
    _, _, rows, cols = min((f for f in fitting if f[0] <= (1 + TILE_TIE) * least), key=lambda f: (f[1], f[0]))
    return rows, cols


def tile_starts(length: int, tile: int, overlap: int, multiple: int) -> tuple[list[int], int]:
    """Core starts along one axis for cores of at most `tile` pixels, and the window length (a helper for
    callers that think in cores: `plan_axis` with no context)."""
    desc = ModelDescriptor("layout", "layout", 1, size_multiple=multiple)
    plan = _fewest(length, desc, overlap, tile)
    return [max(0, s) for s in plan.starts], plan.window


