"""The tile planner: fewest tiles within the memory budget, even split, context only where tiles meet."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from prometheus_client import REGISTRY

from services.inference import metrics
from services.inference.device import tile_budget
from services.inference.engine import RunContext
from services.inference.models import descriptor
from services.inference.tiling import TileStats, plan_axis, plan_tiles, upscale
from tests.inference.standins import GLOBAL, VALID, GlobalBiasNet, ValidConvNet, whole_image

REALSR = descriptor("REALSR_DF2K_UP4X")
CUNET = descriptor("WAIFU2X_CUNET_UP2X")
CPU = torch.device("cpu")
RNG = np.random.default_rng(3)


def _ratio(rows: object, cols: object, height: int, width: int) -> float:
    from services.inference.tiling import AxisPlan

    assert isinstance(rows, AxisPlan) and isinstance(cols, AxisPlan)
    return rows.computed * cols.computed / (height * width)


def test_a_picture_that_fits_is_one_tile_without_context() -> None:
    rows, cols = plan_tiles(320, 320, REALSR, max_pixels=10**6)
    assert (rows.starts, cols.starts) == ([0], [0]) and rows.window == cols.window == 320
    assert _ratio(rows, cols, 320, 320) == 1.0
    # CUNet consumes 18 pixels a side itself: only those are added.
    rows, cols = plan_tiles(320, 320, CUNET, max_pixels=10**6)
    assert rows.starts == [-18] and rows.window == 356


@pytest.mark.parametrize("length,n", [(1000, 3), (320, 2), (4000, 11), (129, 5)])
def test_even_split_with_equal_windows_covers_and_overlaps(length: int, n: int) -> None:
    for desc in (REALSR, CUNET, VALID):
        plan = plan_axis(length, desc, n, overlap=8)
        assert len(plan.starts) == n and len(plan.cores) == n
        assert plan.cores[0][0] == 0 and plan.cores[-1][1] == length
        for (_, b0), (a1, _) in zip(plan.cores, plan.cores[1:], strict=False):
            assert b0 - a1 >= 8 - desc.size_multiple + 1  # neighbours overlap by the blend width
        for x, (a, b) in zip(plan.starts, plan.cores, strict=True):
            # every core lies inside its window, with `pad` context towards neighbours, `crop` at the border
            assert x + desc.crop <= a and b <= x + plan.window - desc.crop
            assert (a == 0 or a - x >= desc.pad) and (b == length or x + plan.window - b >= desc.pad)
            assert (x + desc.crop) % desc.size_multiple == 0  # the whole picture's pixel phase
        # evenly: windows differ in start spacing by at most the size multiple
        gaps = np.diff(plan.starts)
        assert gaps.max() - gaps.min() <= desc.size_multiple


def _layouts(height: int, width: int, desc: object, budget: int) -> list[tuple[int, int]]:
    """(computed pixels, tiles) of every even split up to 12x12 whose windows fit the budget."""
    from services.inference.descriptor import ModelDescriptor

    assert isinstance(desc, ModelDescriptor)
    found = []
    for ny in range(1, 13):
        for nx in range(1, 13):
            rows, cols = plan_axis(height, desc, ny, 8), plan_axis(width, desc, nx, 8)
            if rows.window * cols.window <= budget:
                found.append((rows.computed * cols.computed, ny * nx))
    return found


@pytest.mark.parametrize("model_id,height,width,budget", [
    ("REALSR_DF2K_UP4X", 500, 500, 300 * 200),
    ("REALSR_DF2K_UP4X", 1000, 1000, None),  # fewest tiles (2x7) would compute 1.35x, 3x5 computes 1.31x
    ("WAIFU2X_CUNET_UP2X", 1000, 1500, None),
    ("WAIFU2X_PHOTO_UP2X", 3000, 4000, None),
])
def test_the_layout_computing_the_fewest_pixels_within_the_budget(
    model_id: str, height: int, width: int, budget: int | None
) -> None:
    desc = descriptor(model_id)
    pixels = budget or tile_budget(desc, CPU, None, free_bytes=64 << 30)[0]
    rows, cols = plan_tiles(height, width, desc, max_pixels=pixels)
    assert rows.window * cols.window <= pixels
    computed, tiles = rows.computed * cols.computed, len(rows.starts) * len(cols.starts)
    layouts = _layouts(height, width, desc, pixels)
    least = min(c for c, _ in layouts)
    assert computed <= 1.01 * least  # no layout that fits computes noticeably less
    assert all(n >= tiles for c, n in layouts if c <= 1.01 * least)  # and of those, the fewest tiles


@pytest.mark.parametrize("height,width", [(1000, 1000), (800, 1280), (864, 1152)])
def test_a_one_megapixel_photo_computes_little_more_than_its_pixels_on_the_cpu(height: int, width: int) -> None:
    """Both backends' CPU budgets (1.5 GiB of activations a window). UpConv7 needs only its own 7 pixels of
    context: at most 15 % more. RRDBNet's 50-dB seams need 20 pixels of context a side and CUNet consumes 18
    itself: their windows of about 350 pixels cost 25-31 % (the old layout, 256-pixel tiles with 8 px of
    overlap and pad 10 on every side, computed about 1.4x for RealSR)."""
    bounds = {"WAIFU2X_PHOTO_UP2X": 1.15, "REALSR_DF2K_UP4X": 1.32, "WAIFU2X_CUNET_UP2X": 1.28}
    for model_id, bound in bounds.items():
        desc = descriptor(model_id)
        for backend in ("torch", "ncnn"):
            pixels, _ = tile_budget(desc, CPU, None, free_bytes=64 << 30, backend=backend)
            rows, cols = plan_tiles(height, width, desc, max_pixels=pixels)
            assert _ratio(rows, cols, height, width) <= bound, (model_id, backend)


def test_the_scratch_detector_sees_a_photo_of_a_few_megapixels_whole() -> None:
    """Its own small budget (1 kB per pixel), not the 16 kB default that cut a 1.5 MP photo into 1.8x the pixels."""
    from services.inference.models.oldphoto.scratch_net import DESCRIPTOR

    pixels, _ = tile_budget(DESCRIPTOR, CPU, None, free_bytes=64 << 30)
    rows, cols = plan_tiles(1000, 1500, DESCRIPTOR, max_pixels=pixels)
    assert len(rows.starts) * len(cols.starts) == 1 and _ratio(rows, cols, 1000, 1500) == 1.0


def test_tiled_run_reports_its_pixel_ratio_as_metric_and_stats() -> None:
    metrics.enable()  # as the worker does (`renovo restore` records none)
    image = RNG.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    stats = TileStats()
    before = REGISTRY.get_sample_value("renovo_inference_tile_pixel_ratio_count", {"family": "planner-test"}) or 0
    out = upscale(ValidConvNet(), VALID, image, RunContext(family="planner-test"), tile=32, stats=stats,
                  quantise=False)
    np.testing.assert_allclose(out, whole_image(ValidConvNet(), VALID, image, quantise=False), rtol=0, atol=2e-6)
    assert stats.tiles > 1 and stats.pixel_ratio == stats.computed_pixels / (70 * 90) > 1.0
    after = REGISTRY.get_sample_value("renovo_inference_tile_pixel_ratio_count", {"family": "planner-test"})
    assert after == before + 1
    whole = TileStats()
    upscale(GlobalBiasNet(4), GLOBAL, image, RunContext(), stats=whole)  # fits the budget: one tile
    assert whole.tiles == 1 and whole.pixel_ratio == 1.0


class _NumpyNet:
    """The ncnn backend's interface (`run(chw) -> chw`), computed by a stand-in network."""

    def __init__(self, net: torch.nn.Module) -> None:
        self.net = net

    def run(self, chw: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.net(torch.from_numpy(chw)[None])[0].numpy()


@pytest.mark.parametrize("tile", [16, 40, None])
def test_the_torch_free_ncnn_renderer_matches_the_torch_tiler(tile: int | None) -> None:
    from services.inference.ncnn_net import upscale_numpy

    image = RNG.integers(0, 256, (45, 70, 3), dtype=np.uint8)
    stats = TileStats()
    ours = upscale_numpy(_NumpyNet(ValidConvNet()), VALID, image, RunContext(), tile=tile, stats=stats)
    reference = upscale(ValidConvNet(), VALID, image, RunContext(), tile=tile)
    assert ours.dtype == np.uint8 and ours.shape == reference.shape
    assert np.abs(ours.astype(int) - reference).max() <= 1
    assert stats.tiles == (1 if tile is None else stats.tiles) and stats.pixel_ratio >= 1.0
