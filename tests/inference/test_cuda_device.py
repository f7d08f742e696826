"""The CUDA paths on a real GPU (skipped where none is usable; bench/gpu_check.sh runs them on one)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from prometheus_client import REGISTRY

from services.inference import device as dev
from services.inference.engine import PictureTooLarge, RunContext
from services.inference.metrics import initialise
from services.inference.tiling import TileStats, upscale
from tests.inference.standins import VALID, ValidConvNet

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no usable CUDA device")
RNG = np.random.default_rng(11)


def test_tiled_batched_cuda_run_matches_the_cpu() -> None:
    image = RNG.integers(0, 256, (150, 210, 3), dtype=np.uint8)
    cpu = upscale(ValidConvNet(), VALID, image, RunContext(), tile=48, quantise=False)
    stats = TileStats()
    gpu = upscale(ValidConvNet().cuda(), VALID, image, RunContext(device="cuda"), tile=48, batch=4, stats=stats,
                  quantise=False, precision="fp32")
    assert stats.batch == 4 and stats.tiles > 4
    np.testing.assert_allclose(gpu, cpu, rtol=0, atol=1e-3)
    half = upscale(ValidConvNet().cuda(), VALID, image, RunContext(device="cuda"), tile=48, precision="fp16")
    assert np.abs(half.astype(int) - np.clip(np.rint(cpu * 255), 0, 255)).max() <= 2


def test_real_oom_at_the_smallest_tile_fails_with_a_reason_and_frees_the_memory() -> None:
    before = torch.cuda.memory_allocated()

    def hungry(x: torch.Tensor) -> torch.Tensor:
        waste = torch.empty(1 << 50, dtype=torch.uint8, device=x.device)  # 1 PiB: always out of memory
        return waste

    with pytest.raises(PictureTooLarge, match="picture too large for this GPU"):
        upscale(hungry, VALID, np.zeros((64, 64, 3), np.uint8), RunContext(device="cuda"), tile=32)
    assert torch.cuda.memory_allocated() <= before + (1 << 20)


def test_cache_counts_as_free_and_the_gauge_is_sampled() -> None:
    block = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    initialise(("realsr",), "cuda:0")
    gauge = REGISTRY.get_sample_value("renovo_inference_gpu_memory_bytes", {"device": "cuda:0"})
    assert gauge is not None and gauge >= 256 << 20
    del block
    free_driver, _ = torch.cuda.mem_get_info()
    assert dev.free_memory_bytes(torch.device("cuda:0")) >= free_driver + (200 << 20)  # the freed block counts
    torch.cuda.empty_cache()


def test_devices_resolve_against_the_real_count() -> None:
    count = torch.cuda.device_count()
    assert dev.resolve_device(f"cuda:{count - 1}").index == count - 1
    with pytest.raises(RuntimeError, match="CUDA device"):
        dev.resolve_device(f"cuda:{count}")
