"""Loading official PyTorch checkpoints: state dicts saved from our own models under the official names
(BasicSR / ESRGAN / old ESRGAN for RRDBNet, nunif for Waifu2x) must load back to identical networks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from services.inference.checkpoint import CheckpointError
from services.inference.models.realsr import arch as realsr_arch
from services.inference.models.realsr import weights as realsr
from services.inference.models.waifu2x import weights as waifu2x
from services.inference.models.waifu2x.arch import CUNet, UpConv7
from tests.inference.helpers import param_path


def _randomised(net: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(3)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.05)
    return net.eval()


def _same_output(a: torch.nn.Module, b: torch.nn.Module, size: int) -> None:
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("style", "wrapper"),
    [("basicsr", "params_ema"), ("basicsr", None), ("esrgan", None), ("old", "state_dict")],
)
def test_rrdbnet_official_names(tmp_path: Path, style: str, wrapper: str | None) -> None:
    ours = _randomised(realsr_arch.RRDBNet(num_feat=16, num_block=2, num_grow_ch=8))
    mapping = realsr.official_key_map(2, style)
    state = {mapping[k]: v for k, v in ours.state_dict().items()}
    path = tmp_path / "net.pth"
    torch.save({wrapper: state} if wrapper else state, path)
    loaded = realsr.load_official(path)
    assert (loaded.num_block, loaded.conv_first.out_channels) == (2, 16)
    _same_output(ours, loaded, 12)


@pytest.mark.models
def test_rrdbnet_checkpoint_of_shipped_weights(tmp_path: Path) -> None:
    ours = realsr.load_ncnn(param_path("REALESRGAN_X4PLUSANIME_UP4X"))
    mapping = realsr.official_key_map(ours.num_block, "basicsr")
    # Real-ESRGAN's releases wrap the EMA weights as `params_ema`.
    torch.save({"params_ema": {mapping[k]: v for k, v in ours.state_dict().items()}}, tmp_path / "x.pth")
    _same_output(ours, realsr.load_official(tmp_path / "x.pth"), 16)


def test_rrdbnet_wrong_checkpoints_are_refused(tmp_path: Path) -> None:
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError):
        realsr.load_official(tmp_path / "other.pth")
    net = realsr_arch.RRDBNet(num_feat=8, num_block=1, num_grow_ch=4)
    state = net.state_dict()
    del state["conv_hr.bias"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match="missing"):
        realsr.load_official(tmp_path / "partial.pth")
    # weights_only refuses pickled objects: a checkpoint cannot run code.
    torch.save({"params": {"x": Path("evil")}}, tmp_path / "pickle.pth")
    with pytest.raises(CheckpointError):
        realsr.load_official(tmp_path / "pickle.pth")


def _nunif(net: torch.nn.Module, name: str, no_clip: bool) -> dict[str, object]:
    return {
        "nunif_model": 1,
        "name": name,
        "updated_at": "2023-01-01 00:00:00+00:00",
        "kwargs": {"in_channels": 3, "out_channels": 3, "no_clip": no_clip},
        "state_dict": net.state_dict(),
    }


@pytest.mark.models
@pytest.mark.parametrize(
    ("model_id", "name", "size"),
    [
        ("WAIFU2X_CUNET_UP2X_DENOISE1X", "waifu2x.upcunet", 40),
        ("WAIFU2X_CUNET_UP1X_DENOISE2X", "waifu2x.cunet", 60),
        ("WAIFU2X_ANIME_UP2X", "waifu2x.upconv_7", 20),
    ],
)
def test_waifu2x_nunif_checkpoint(tmp_path: Path, model_id: str, name: str, size: int) -> None:
    ours = waifu2x.load_ncnn(param_path(model_id))
    torch.save(_nunif(ours, name, no_clip=True), tmp_path / "m.pth")
    loaded = waifu2x.load_official(tmp_path / "m.pth")
    assert type(loaded) is type(ours) and loaded.scale == ours.scale
    _same_output(ours, loaded, size)
    if isinstance(loaded, CUNet):
        # nunif's default clamps UNet1's output before UNet2; a checkpoint trained so must run so.
        torch.save(_nunif(ours, name, no_clip=False), tmp_path / "clip.pth")
        assert waifu2x.load_official(tmp_path / "clip.pth").clip_unet1


def test_waifu2x_checkpoint_name_must_match(tmp_path: Path) -> None:
    torch.save(_nunif(UpConv7(), "waifu2x.upcunet", no_clip=False), tmp_path / "m.pth")
    with pytest.raises(CheckpointError, match="upconv_7"):
        waifu2x.load_official(tmp_path / "m.pth")


def test_safetensors_checkpoint(tmp_path: Path) -> None:
    safetensors_torch = pytest.importorskip("safetensors.torch")
    ours = _randomised(UpConv7())
    safetensors_torch.save_file(ours.state_dict(), str(tmp_path / "m.safetensors"))
    _same_output(ours, waifu2x.load_official(tmp_path / "m.safetensors"), 20)
