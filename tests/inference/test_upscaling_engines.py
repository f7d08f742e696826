"""RealSR and Waifu2x engines with stand-in networks: scales, models, alpha, grayscale, 16-bit, registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torch import nn

from services.inference.descriptor import ModelDescriptor
from services.inference.engine import Cancelled, InputError, RunContext
from services.inference.imageio import decode
from services.inference.models.identity.engine import IdentityEngine
from services.inference.models.realsr.engine import RealSREngine
from services.inference.models.waifu2x.engine import Waifu2xEngine, plan
from services.inference.registry import BOPB_MODULE, Registry, Unavailable, parse_families
from services.inference.upscaling import Pass

Loader = Callable[[str, str], tuple[nn.Module, ModelDescriptor]]


def crop(path: Path, size: int = 24) -> Image.Image:
    image = decode(path)
    return image.crop((0, 0, min(size, image.width), min(size, image.height)))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_realsr_scales(loader: Loader, images: Path, scale: int) -> None:
    image = crop(images / "photo" / "00003.png", 21)
    seen: list[float] = []
    result = RealSREngine(loader=loader).run(image, "sr", {"scale": scale}, RunContext(progress=seen.append))
    assert result.image.size == (21 * scale, 21 * scale) and result.image.mode == "RGB"
    assert result.engine == "realsr" and seen == sorted(seen) and seen[-1] == 1.0
    if scale == 4:  # the stand-in is nearest ×4: every 4×4 block is the source pixel
        np.testing.assert_array_equal(np.asarray(result.image)[::4, ::4], np.asarray(image))


def test_realsr_alpha_gray_and_16bit(loader: Loader, images: Path) -> None:
    engine = RealSREngine(loader=loader)
    rgba = engine.run(
        crop(images / "photo" / "children-alpha.png", 40), "sr", {"scale": 2}, RunContext()
    ).image
    assert rgba.mode == "RGBA" and rgba.size == (80, 80)
    gray = engine.run(crop(images / "photo" / "wolf_gray.jpg"), "sr", {"scale": 3}, RunContext()).image
    assert gray.mode == "L" and gray.size == (72, 72)
    deep = decode(images / "photo" / "tree_alpha_16bit.png")
    out = engine.run(deep, "sr", {"scale": 4}, RunContext()).image
    assert out.mode == "RGBA" and out.size == (4 * 342, 4 * 256)
    expected = np.asarray(deep)[..., :3]  # 8-bit view; the float path must agree within a level
    assert np.abs(np.asarray(out)[::4, ::4, :3].astype(int) - expected).max() <= 1


def test_waifu2x_model_choice() -> None:
    assert plan(-1, 1, "art") == ([], [])
    assert plan(2, 1, "art") == ([Pass("WAIFU2X_CUNET_UP1X_DENOISE2X")], [])
    assert plan(-1, 2, "art") == ([Pass("WAIFU2X_CUNET_UP2X")], [Pass("WAIFU2X_CUNET_UP2X")])
    assert plan(0, 2, "photo")[0] == [Pass("WAIFU2X_PHOTO_UP2X_DENOISE0X")]
    assert plan(3, 4, "art")[0] == [Pass("WAIFU2X_CUNET_UP2X_DENOISE3X"), Pass("WAIFU2X_CUNET_UP2X")]
    assert plan(1, 1, "photo")[0] == [Pass("WAIFU2X_PHOTO_UP2X_DENOISE1X", out_scale=1)]
    with pytest.raises(InputError):
        plan(4, 2, "art")


def test_waifu2x_identity_and_scales(loader: Loader, images: Path) -> None:
    engine = Waifu2xEngine(loader=loader)
    image = crop(images / "anime" / "renpy_bg_uni_320x180_q25.jpg", 20)
    same = engine.run(image, "sr2d", {"noise": -1, "scale": 1, "style": "art"}, RunContext())
    assert same.image is image
    for scale, style in [(1, "photo"), (2, "art"), (4, "photo")]:
        out = engine.run(image, "sr2d", {"noise": 1, "scale": scale, "style": style}, RunContext()).image
        assert out.size == (20 * scale, 20 * scale)


def test_waifu2x_alpha_runs_through_the_model(loader: Loader, images: Path) -> None:
    engine = Waifu2xEngine(loader=loader)
    sprite = decode(images / "anime" / "renpy_eileen_happy.png").crop((30, 60, 60, 84))  # edge of the sprite
    out = engine.run(sprite, "sr2d", {"noise": 0, "scale": 4, "style": "art"}, RunContext()).image
    assert out.mode == "RGBA" and out.size == (120, 96)
    # colour: denoise + plain pass; alpha: two plain passes
    assert [s.tiles > 0 for s in engine.last_stats] == [True] * 4
    opaque = decode(images / "old" / "a.png").crop((0, 0, 16, 16))
    engine.run(opaque, "sr2d", {"noise": 0, "scale": 2, "style": "art"}, RunContext())
    assert len(engine.last_stats) == 1  # a constant alpha is refilled, not upscaled
    palette = engine.run(
        decode(images / "edge" / "palette_transparent.png"), "sr2d", {"scale": 2}, RunContext()
    )
    assert palette.image.mode == "RGBA"


def test_engines_cancel(loader: Loader, images: Path) -> None:
    ctx = RunContext(cancelled=lambda: True)
    with pytest.raises(Cancelled):
        Waifu2xEngine(loader=loader).run(crop(images / "photo" / "00003.png"), "sr2d", {}, ctx)
    with pytest.raises(Cancelled):
        RealSREngine(loader=loader).run(crop(images / "photo" / "00003.png"), "sr", {}, ctx)


def test_registry_serves_chosen_families() -> None:
    registry = Registry(families=parse_families("waifu2x, none"))
    assert registry.families == ("none", "waifu2x")
    assert isinstance(registry.engine("none"), IdentityEngine)
    assert isinstance(registry.engine("waifu2x"), Waifu2xEngine)
    assert registry.engine("waifu2x") is registry.engine("waifu2x")
    with pytest.raises(KeyError, match="does not serve"):
        registry.engine("realsr")
    with pytest.raises(ValueError, match="unknown engine families"):
        Registry(families=("gan",))
    assert parse_families("") == parse_families(None) and "bopb" in parse_families(None)


def test_bopb_import_failure_marks_family_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "services.inference.registry.BOPB_MODULE", "services.inference.models.no_such_module"
    )
    engine = Registry(families=("bopb",)).engine("bopb")
    assert isinstance(engine, Unavailable)
    available = engine.availability()
    assert not available.available and "no_such_module" in (available.reason or "")
    assert BOPB_MODULE == "services.inference.models.oldphoto.engine"
