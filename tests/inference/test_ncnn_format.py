"""The ncnn reader: synthetic files (tags, fp16 padding, array params, deconvolution order checked against
ncnn's own runtime) and every shipped file consumed exactly."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from services.inference.ncnn_format import (
    TAG_FP16,
    TAG_FP32,
    NcnnFormatError,
    conv_weight,
    parse_param_text,
    read_ncnn,
)
from tests.inference.helpers import shipped_params

RNG = np.random.default_rng(7)


def _tagged(values: np.ndarray, fp16: bool) -> bytes:
    if fp16:
        raw = values.astype("<f2").tobytes()
        return struct.pack("<I", TAG_FP16) + raw + b"\0" * (-len(raw) % 4)
    return struct.pack("<I", TAG_FP32) + values.astype("<f4").tobytes()


def _write(tmp_path: Path, param: str, blob: bytes) -> Path:
    (tmp_path / "m.param").write_text(param)
    (tmp_path / "m.bin").write_bytes(blob)
    return tmp_path / "m.param"


def test_param_values_are_typed() -> None:
    model = parse_param_text(
        "7767517\n2 2\nInput in 0 1 data\n"
        "Convolution c 1 1 data out 0=4 1=3 4=1 5=1 6=108 9=2 -23310=1,2.000000e-01\n"
    )
    conv = model.layers[1]
    assert (conv.type, conv.name, conv.inputs, conv.outputs) == ("Convolution", "c", ["data"], ["out"])
    assert conv.params == {0: 4, 1: 3, 4: 1, 5: 1, 6: 108, 9: 2, 10: [0.2]}
    assert isinstance(conv.params[0], int)


def test_bad_header_and_counts_are_refused() -> None:
    with pytest.raises(NcnnFormatError):
        parse_param_text("123\n1 1\nInput in 0 1 data\n")
    with pytest.raises(NcnnFormatError):
        parse_param_text("7767517\n2 1\nInput in 0 1 data\n")


def test_fp16_padding_and_fp32_blobs(tmp_path: Path) -> None:
    # 3 fp16 weights (6 bytes) are padded to 8: the next layer must start after the padding.
    w1, b1 = RNG.standard_normal(3), RNG.standard_normal(1)
    w2, b2 = RNG.standard_normal(2), RNG.standard_normal(2)
    param = (
        "7767517\n3 3\nInput in 0 1 data\n"
        "Convolution a 1 1 data x 0=1 1=1 5=1 6=3\n"
        "Convolution b 1 1 x y 0=2 1=1 5=1 6=2\n"
    )
    blob = (
        _tagged(w1, fp16=True)
        + b1.astype("<f4").tobytes()
        + _tagged(w2, fp16=False)
        + b2.astype("<f4").tobytes()
    )
    model = read_ncnn(_write(tmp_path, param, blob))
    a, b = model.layers[1], model.layers[2]
    assert (a.weight_dtype, b.weight_dtype) == ("fp16", "fp32")
    np.testing.assert_allclose(a.weights["weight"], w1.astype(np.float16), rtol=0)
    np.testing.assert_allclose(a.weights["bias"], b1.astype(np.float32), rtol=0)
    np.testing.assert_allclose(b.weights["weight"], w2.astype(np.float32), rtol=0)


def test_size_mismatch_and_unknown_tag_are_refused(tmp_path: Path) -> None:
    param = "7767517\n2 2\nInput in 0 1 data\nConvolution a 1 1 data x 0=1 1=1 5=0 6=2\n"
    good = _tagged(np.ones(2), fp16=False)
    read_ncnn(_write(tmp_path, param, good))
    with pytest.raises(NcnnFormatError, match="read"):
        read_ncnn(_write(tmp_path, param, good + b"\0\0\0\0"))
    with pytest.raises(NcnnFormatError, match="needs"):
        read_ncnn(_write(tmp_path, param, good[:-4]))
    with pytest.raises(NcnnFormatError, match="tag"):
        read_ncnn(_write(tmp_path, param, struct.pack("<I", 0x000D4B38) + good[4:]))


def test_deconvolution_order_matches_ncnn_runtime(tmp_path: Path) -> None:
    """ncnn stores Deconvolution as [out][in][kh][kw]; conv_weight must hand ConvTranspose2d [in][out]."""
    ncnn = pytest.importorskip("ncnn")
    channels = 3  # in == out, so the wrong order would load without error and give wrong values
    weight = RNG.standard_normal((channels, channels, 4, 4)).astype(np.float32)
    bias = RNG.standard_normal(channels).astype(np.float32)
    param = (
        "7767517\n2 2\nInput in 0 1 data\n"
        f"Deconvolution d 1 1 data out 0={channels} 1=4 3=2 4=3 5=1 6={weight.size}\n"
    )
    path = _write(tmp_path, param, _tagged(weight.ravel(), fp16=False) + bias.tobytes())
    layer = read_ncnn(path).layers[1]
    x = RNG.random((channels, 9, 11), dtype=np.float32)

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 1
    assert net.load_param(str(path)) == 0 and net.load_model(str(path.with_suffix(".bin"))) == 0
    extractor = net.create_extractor()
    extractor.input("data", ncnn.Mat(x))  # x stays referenced until extract returns
    ret, out = extractor.extract("out")
    assert ret == 0
    reference = np.array(out)

    def ours(w: np.ndarray) -> np.ndarray:
        tensor = F.conv_transpose2d(
            torch.from_numpy(x)[None], torch.from_numpy(w), torch.from_numpy(bias), 2, 3
        )
        return tensor[0].numpy()

    np.testing.assert_allclose(ours(conv_weight(layer)), reference, atol=1e-4)
    stored_order = layer.weights["weight"].reshape(weight.shape)
    assert np.abs(ours(stored_order) - reference).max() > 0.1


@pytest.mark.models
@pytest.mark.parametrize("param", shipped_params(), ids=lambda p: p.stem)
def test_every_shipped_file_is_consumed_exactly(param: Path) -> None:
    model = read_ncnn(param)  # raises unless the .bin is read to its last byte
    weighted = [layer for layer in model.layers if layer.weight_dtype]
    assert weighted, "no weights read"
    if param.stem.startswith("WAIFU2X_CUNET"):
        # MODELS.md: CUNet's deconvolutions are stored fp32, every other blob fp16.
        assert {layer.weight_dtype for layer in model.by_type("Deconvolution")} == {"fp32"}
        assert {layer.weight_dtype for layer in model.by_type("Convolution", "InnerProduct")} == {"fp16"}
    if param.stem in ("REALSR_DF2K_UP4X", "REALESRGAN_X4PLUS_UP4X"):
        assert len(model.by_type("Convolution")) == 351
