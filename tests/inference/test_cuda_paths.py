"""The CUDA code paths, exercised on the CPU with torch.cuda's functions monkeypatched."""

from __future__ import annotations

import io
import threading
import weakref
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from prometheus_client import REGISTRY

from services.cli import main as cli_main
from services.inference import device as dev
from services.inference import tiling
from services.inference.app import check_device
from services.inference.engine import Engine, EngineResult, InputError, PictureTooLarge, RunContext
from services.inference.metrics import initialise
from services.inference.processing import process
from services.inference.settings import Settings
from services.inference.tiling import upscale
from tests.inference.standins import VALID, ValidConvNet


@pytest.fixture
def fake_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_cuda_without_a_usable_gpu_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="is_available"):
        check_device(Settings(device="cuda", families=("realsr",)))
    check_device(Settings(device="cuda", families=("none",)))  # `none` needs no device at all


def test_cuda_index_is_checked_against_the_device_count(fake_gpus: None) -> None:
    assert dev.resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(RuntimeError, match="2 CUDA device"):
        dev.resolve_device("cuda:2")
    with pytest.raises(RuntimeError, match="unsupported device"):
        dev.resolve_device("tpu")


def test_ncnn_backend_with_a_cuda_device_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="CPU only"):
        Settings(device="cuda", backend="ncnn").resolved_backend()
    assert Settings(device="cuda", backend="auto").resolved_backend() == "torch"
    assert cli_main(["restore", "a.png", "-o", "b.png", "--type", "sr", "--backend", "ncnn", "--device", "cuda"]) == 2
    assert "CPU only" in capsys.readouterr().err


@pytest.mark.parametrize(
    "message,oom",
    [
        ("CUDA out of memory. Tried to allocate 2.00 GiB", True),
        ("cuDNN error: CUDNN_STATUS_ALLOC_FAILED", True),
        ("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`", True),
        ("CUDNN_STATUS_NOT_ENOUGH_WORKSPACE", True),
        ("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes", True),
        ("shape mismatch", False),
    ],
)
def test_allocation_failures_are_recognised(message: str, oom: bool) -> None:
    assert dev.is_out_of_memory(RuntimeError(message)) is oom


def test_oom_at_the_smallest_tile_fails_the_picture_with_a_reason() -> None:
    def never_fits(x: torch.Tensor) -> torch.Tensor:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")

    with pytest.raises(PictureTooLarge, match="picture too large") as caught:
        upscale(never_fits, VALID, np.zeros((40, 40, 3), np.uint8), RunContext(), tile=64)
    assert isinstance(caught.value, InputError)  # the worker reports job.failed with it, never requeues


class _OomEngine(Engine):
    family = "realsr"

    def availability(self) -> Any:
        return None

    def run(self, image: Image.Image, type_name: str, options: dict[str, Any], ctx: RunContext) -> EngineResult:
        # e.g. the model's `.to(device)` or a BOPB network: outside any tile retry loop
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")


def test_oom_outside_the_tile_loop_fails_the_job_with_a_reason() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 120, 30)).save(buffer, format="PNG")
    data = buffer.getvalue()
    with pytest.raises(InputError, match="picture too large for this GPU"):
        process(_OomEngine(), data, "sr", {}, lambda f: None, lambda: False, device="cuda")


def test_cache_is_emptied_after_the_failed_attempt_is_freed(monkeypatch: pytest.MonkeyPatch) -> None:
    net, alive, seen = ValidConvNet(), list[weakref.ref[torch.Tensor]](), list[bool]()

    def small_only(x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] > 30:
            alive.append(weakref.ref(x))
            raise torch.OutOfMemoryError("CUDA out of memory")
        return net(x)

    def release(device: torch.device) -> None:
        seen.append(all(ref() is None for ref in alive))

    monkeypatch.setattr(tiling, "release_cached_memory", release)
    upscale(small_only, VALID, np.zeros((40, 50, 3), np.uint8), RunContext(), tile=64)
    assert seen and all(seen)


def test_pytorch_cache_counts_as_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (1 << 30, 80 << 30))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device=None: 5 << 30)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 1 << 30)
    assert dev.free_memory_bytes(torch.device("cuda:0")) == (1 << 30) + (4 << 30)


def test_threads_on_one_device_share_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dev, "_device_threads", {})
    alone, _ = dev.tile_budget(VALID, torch.device("cpu"), None, free_bytes=1 << 30)
    dev.register_device_user("cpu")
    dev.register_device_user("cpu")
    shared, _ = dev.tile_budget(VALID, torch.device("cpu"), None, free_bytes=1 << 30)
    assert shared == pytest.approx(alone / 2, rel=0.01)


def test_several_gpus_are_spread_over_the_worker_threads(fake_gpus: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dev, "_next_gpu", [0])
    monkeypatch.setattr(dev, "_thread_devices", threading.local())
    chosen: list[str] = []

    def pick() -> None:
        chosen.extend([dev.thread_device("cuda"), dev.thread_device("cuda")])

    threads = [threading.Thread(target=pick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(chosen) == ["cuda:0", "cuda:0", "cuda:1", "cuda:1"]  # sticky per thread, both GPUs used
    assert dev.thread_device("cuda:1") == "cuda:1" and dev.thread_device("cpu") == "cpu"


def test_bopb_does_not_switch_tf32_off_for_the_process(tmp_path: Any) -> None:
    from services.inference.models.bopb import BopbPipeline

    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cudnn.allow_tf32 = True
    try:
        BopbPipeline(tmp_path, device="cuda")
        assert torch.backends.cudnn.allow_tf32 is True
        with dev.exact_fp32("cuda:0"):
            assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cudnn.allow_tf32 is True
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def test_gpu_memory_gauge_is_sampled(fake_gpus: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 123456789)
    initialise(("realsr",), "cuda:0")
    assert REGISTRY.get_sample_value("renovo_inference_gpu_memory_bytes", {"device": "cuda:0"}) == 123456789
