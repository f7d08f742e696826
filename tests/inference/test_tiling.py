"""The shared tiling engine against whole-image runs of stand-in networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from services.inference.descriptor import ModelDescriptor
from services.inference.device import choose_tile_and_batch
from services.inference.engine import Cancelled, RunContext
from services.inference.tiling import TileStats, border_index, tile_starts, upscale
from tests.inference.standins import (
    GLOBAL,
    STRIDE,
    VALID,
    GlobalBiasNet,
    StrideNet,
    ValidConvNet,
    whole_image,
)

RNG = np.random.default_rng(7)
SIZES = [(1, 1), (2, 3), (3, 2), (5, 7), (37, 53), (64, 64), (65, 129), (100, 31)]


@pytest.mark.parametrize(
    "net,desc", [(ValidConvNet(), VALID), (StrideNet(), STRIDE)], ids=["valid", "stride"]
)
@pytest.mark.parametrize("height,width", SIZES)
def test_tiled_equals_whole_image(
    net: torch.nn.Module, desc: ModelDescriptor, height: int, width: int
) -> None:
    image = RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)
    stats = TileStats()
    raw = upscale(net, desc, image, RunContext(), tile=16, stats=stats, quantise=False)
    assert raw.shape == (2 * height, 2 * width, 3) and raw.dtype == np.float32
    np.testing.assert_allclose(raw, whole_image(net, desc, image, quantise=False), rtol=0, atol=2e-6)
    assert stats.tiles >= (2 if max(height, width) > 16 else 1)
    out = upscale(net, desc, image, RunContext(), tile=16)
    assert out.dtype == np.uint8
    # Bytes may differ by one level only where float noise straddles a rounding boundary.
    difference = np.abs(out.astype(int) - whole_image(net, desc, image))
    assert difference.max() <= 1 and (difference > 0).mean() < 1e-3


def test_float_input_and_batches_match_float_whole_image() -> None:
    """16-bit sources arrive as float32; batched tiles give the same bytes as one tile at a time."""
    image = RNG.random((45, 70, 3), dtype=np.float32)
    reference = whole_image(ValidConvNet(), VALID, image, quantise=False)
    for batch in (1, 3, 8):
        out = upscale(
            ValidConvNet(),
            VALID,
            image,
            RunContext(),
            tile=16,
            batch=batch,
            channels_last=batch == 3,
            quantise=False,
        )
        np.testing.assert_allclose(out, reference, rtol=0, atol=2e-6)


def test_blend_hides_tile_dependent_output() -> None:
    """A network whose output shifts per tile would show steps at tile edges; the feathered blend must not."""
    ramp = np.linspace(0, 1, 96, dtype=np.float32)
    image = np.repeat(np.repeat(ramp[None, :, None], 80, axis=0), 3, axis=2)  # smooth horizontal ramp
    seamless = upscale(GlobalBiasNet(4), GLOBAL, image, RunContext(), tile=32, overlap=8).astype(int)
    hard = upscale(GlobalBiasNet(4), GLOBAL, image, RunContext(), tile=32, overlap=0).astype(int)
    whole = whole_image(GlobalBiasNet(4), GLOBAL, image, mode="reflect").astype(int)

    def step(out: np.ndarray) -> int:
        return int(np.abs(np.diff(out, axis=1)).max())

    assert step(hard) >= step(whole) + 8  # without overlap the per-tile bias is a visible step
    assert step(seamless) <= step(whole) + 1  # with the feathered blend it spreads to ≤ 1 level per pixel


@pytest.mark.parametrize("multiple", [1, 2, 4])
def test_tile_layout_covers_aligned_and_overlapping(multiple: int) -> None:
    for length in [1, 3, 16, 17, 31, 64, 65, 100, 257, 1000]:
        for tile in (16, 32, 48):
            tile = tile // multiple * multiple
            starts, size = tile_starts(length, tile, 8, multiple)
            assert starts[0] == 0 and starts[-1] + size >= length
            assert all(s % multiple == 0 for s in starts) and size % multiple == 0
            gaps = np.diff(starts)
            assert (gaps > 0).all() and (gaps <= tile - 8).all()


def test_border_index_matches_numpy_padding() -> None:
    for length in (1, 2, 5):
        positions = torch.arange(-12, length + 12)
        row = np.arange(length)
        np.testing.assert_array_equal(
            border_index(positions, length, "reflect").numpy(),
            np.pad(row, 12, mode="reflect" if length > 1 else "edge"),
        )
        np.testing.assert_array_equal(
            border_index(positions, length, "replicate").numpy(), np.pad(row, 12, mode="edge")
        )


def test_progress_is_monotone_and_reaches_one() -> None:
    seen: list[float] = []
    upscale(
        ValidConvNet(),
        VALID,
        RNG.integers(0, 256, (50, 70, 3), dtype=np.uint8),
        RunContext(progress=seen.append),
        tile=16,
        span=(0.2, 0.9),
    )
    assert len(seen) >= 12 and seen == sorted(seen) and seen[0] > 0.2 and seen[-1] == pytest.approx(0.9)
    seen.clear()
    upscale(
        ValidConvNet(),
        VALID,
        RNG.integers(0, 256, (50, 70, 3), dtype=np.uint8),
        RunContext(progress=seen.append),
    )
    assert seen[-1] == pytest.approx(1.0)


def test_cancellation_stops_between_tiles() -> None:
    calls = {"net": 0, "progress": 0}
    net = ValidConvNet()

    def counting(x: torch.Tensor) -> torch.Tensor:
        calls["net"] += 1
        return net(x)

    def progress(_: float) -> None:
        calls["progress"] += 1

    ctx = RunContext(progress=progress, cancelled=lambda: calls["progress"] >= 3)
    with pytest.raises(Cancelled):
        upscale(counting, VALID, RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8), ctx, tile=16)
    assert calls["net"] == 3  # the fourth tile never started


def test_out_of_memory_halves_the_tile_and_retries() -> None:
    net = ValidConvNet()

    def small_only(x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] > 30:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return net(x)

    image = RNG.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    stats, seen = TileStats(), list[float]()
    ctx = RunContext(progress=seen.append)
    out = upscale(small_only, VALID, image, ctx, tile=64, stats=stats, quantise=False)
    np.testing.assert_allclose(out, whole_image(net, VALID, image, quantise=False), rtol=0, atol=2e-6)
    assert stats.oom_retries == 2 and stats.tile == 16 and seen == sorted(seen)


def test_other_errors_are_not_retried() -> None:
    def broken(x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        upscale(broken, VALID, np.zeros((8, 8, 3), np.uint8), RunContext())


def test_tile_from_free_memory() -> None:
    cpu = torch.device("cpu")
    big, _ = choose_tile_and_batch(VALID, cpu, None, free_bytes=64 << 30)
    small, _ = choose_tile_and_batch(VALID, cpu, None, free_bytes=64 << 20)
    # No fixed CPU cap: the tile is what the memory budget allows (at most CPU_BUDGET_BYTES of activations).
    assert big > 256 and 16 <= small < big
    tile, _ = choose_tile_and_batch(STRIDE, cpu, None, free_bytes=100 << 20)
    assert tile % 2 == 0


def test_reduced_precision_autocast_runs_close_to_fp32() -> None:
    image = RNG.integers(0, 256, (40, 36, 3), dtype=np.uint8)
    fp32 = upscale(ValidConvNet(), VALID, image, RunContext(), tile=16, precision="fp32")
    bf16 = upscale(ValidConvNet(), VALID, image, RunContext(), tile=16, precision="bf16")
    assert bf16.dtype == np.uint8 and np.abs(bf16.astype(int) - fp32).max() <= 8
