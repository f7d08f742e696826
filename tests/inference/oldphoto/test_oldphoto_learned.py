"""Learned denoising: Waifu2x's photo UpConv7 chosen by the noise estimate, within a CPU budget."""

from __future__ import annotations

import numpy as np
import pytest

from services.inference.engine import RunContext
from services.inference.models.oldphoto import cleanup, learned, restore_array
from services.inference.models.oldphoto.synthetic import DamageSpec, damage

from .conftest import CASE_SEED, clean_crop


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


def test_level_and_weight_follow_the_noise() -> None:
    assert [learned.level_for(s) for s in (2.0, 4.0, 8.0)] == [1, 2, 3]
    assert learned.weight_for(0.5) == 0.0 and learned.weight_for(10.0) == 1.0
    assert 0 < learned.weight_for((learned.MIN_SIGMA + learned.FULL_SIGMA) / 2) < 1


def test_cpu_budget_by_size_and_full_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learned, "installed", lambda model_id: True)
    assert learned.plan((1000, 1000), 5.0, "cpu").mode == "full"
    assert learned.plan((2000, 2000), 5.0, "cpu").mode == "half"
    assert learned.plan((4000, 3000), 5.0, "cpu").mode == "nlm"
    cuda = learned.plan((4000, 3000), 5.0, "cuda")
    assert cuda.mode == "full" and cuda.esrgan
    assert not learned.plan((100, 100), 5.0, "cpu").esrgan


def test_without_the_weights_non_local_means_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learned, "installed", lambda model_id: False)
    clean = clean_crop("ADE_val_00000114.jpg", 96)
    d = damage(clean, CASE_SEED, DamageSpec(scratches=(0, 0)))
    out, report = restore_array(d.damaged, False, False)
    assert report.denoiser == "nlm" and psnr(out, clean) > psnr(d.damaged, clean)


@pytest.mark.models
def test_learned_denoising_beats_non_local_means_on_grain() -> None:
    if not learned.installed(learned.waifu2x_id(2)):
        pytest.skip("Waifu2x photo weights are not installed")
    clean = clean_crop("wolf_gray.jpg", 160)
    # Grain, blur and JPEG only (no fading), so that PSNR measures the denoising.
    spec = DamageSpec(
        contrast=(1.0, 1.0), lift=(0.0, 0.0), warm=(0.0, 0.0), desaturate=(0.0, 0.0), scratches=(0, 0),
        grain_sigma=(8.0, 8.0),
    )  # fmt: skip
    d = damage(clean, CASE_SEED, spec)
    sigma = cleanup.estimate_noise(d.damaged)
    p = learned.plan(d.damaged.shape[:2], sigma, "cpu", "off")
    assert p.mode == "full" and p.weight > 0.5
    net = learned.denoise(d.damaged, p, RunContext(), (0.0, 1.0))
    nlm = cleanup.denoise(d.damaged, sigma)
    assert psnr(net, clean) > psnr(nlm, clean) > psnr(d.damaged, clean)
