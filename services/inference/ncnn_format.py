"""Reader for ncnn models: the `.param` text graph and the `.bin` weights stored in layer order.

Only what the shipped RealSR / Real-ESRGAN / Waifu2x files use is understood; a layer type that carries
weights but is unknown here is an error (its weights' size cannot be guessed, so everything after it would be
misread). The reader checks that it consumed the `.bin` file exactly — the one cheap proof that every layer
was read with the right size and precision.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

MAGIC = 7767517
"""First line of every `.param` file in the text format."""
TAG_FP16 = 0x01306B47
"""Weight blob tag: IEEE half floats follow (padded to 4 bytes)."""
TAG_FP32 = 0
"""Weight blob tag: raw float32 follows."""
# Keys below this encode arrays in ncnn's text format: key -23300-k holds the array of parameter k.
_ARRAY_KEY_BASE = -23300

ParamValue = int | float | list[int] | list[float]


class NcnnFormatError(ValueError):
    """The `.param` or `.bin` file does not have the structure this reader expects."""


@dataclass
class NcnnLayer:
    """One layer of the graph: its type, name, blob names, typed parameters and weights (if any)."""

    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, ParamValue]
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    """`weight` (flat float32, as stored) and `bias` / `slope` where the layer has them."""
    weight_dtype: str | None = None
    """`fp16` or `fp32`: how the main weight blob was stored."""

    def param(self, key: int, default: ParamValue = 0) -> ParamValue:
        """The parameter `key` or ncnn's default for it."""
        return self.params.get(key, default)

    def int_param(self, key: int, default: int = 0) -> int:
        """An integer parameter (ncnn writes them without a decimal point)."""
        value = self.params.get(key, default)
        if not isinstance(value, int):
            raise NcnnFormatError(f"layer {self.name}: parameter {key} is {value!r}, expected an integer")
        return value


@dataclass
class NcnnModel:
    """A parsed model: layers in file order, and the graph's blob count as declared."""

    layers: list[NcnnLayer]
    blob_count: int

    def by_type(self, *types: str) -> list[NcnnLayer]:
        """The layers of the given types, in file (= weight) order."""
        return [layer for layer in self.layers if layer.type in types]


def _parse_value(text: str) -> int | float:
    # ncnn decides by the characters present: a dot or an exponent means float.
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


def parse_param_text(text: str) -> NcnnModel:
    """Parse the text of a `.param` file (weights not yet attached)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].strip() != str(MAGIC):
        raise NcnnFormatError(f"not an ncnn text param file (first line must be {MAGIC})")
    try:
        layer_count, blob_count = (int(v) for v in lines[1].split())
    except ValueError as exc:
        raise NcnnFormatError(f"bad counts line: {lines[1]!r}") from exc
    layers: list[NcnnLayer] = []
    for line in lines[2:]:
        parts = line.split()
        if len(parts) < 4:
            raise NcnnFormatError(f"short layer line: {line!r}")
        ltype, name = parts[0], parts[1]
        n_in, n_out = int(parts[2]), int(parts[3])
        blobs_end = 4 + n_in + n_out
        if len(parts) < blobs_end:
            raise NcnnFormatError(f"layer {name}: fewer blob names than declared")
        params: dict[int, ParamValue] = {}
        for item in parts[blobs_end:]:
            key_text, _, value_text = item.partition("=")
            key = int(key_text)
            if key <= _ARRAY_KEY_BASE:
                count_text, *values = value_text.split(",")
                if int(count_text) != len(values):
                    raise NcnnFormatError(f"layer {name}: array parameter {key} length mismatch")
                # ncnn writes an array's numbers all as integers or all as floats: one list type or the other.
                params[_ARRAY_KEY_BASE - key] = cast(ParamValue, [_parse_value(v) for v in values])
            else:
                params[key] = _parse_value(value_text)
        layers.append(NcnnLayer(ltype, name, parts[4 : 4 + n_in], parts[4 + n_in : blobs_end], params))
    if len(layers) != layer_count:
        raise NcnnFormatError(f"declared {layer_count} layers, found {len(layers)}")
    return NcnnModel(layers, blob_count)


class _BinReader:
    """Sequential reader over the `.bin` bytes that knows ncnn's tagged weight blobs."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, nbytes: int, what: str) -> bytes:
        if self.pos + nbytes > len(self.data):
            raise NcnnFormatError(f"{what}: needs {nbytes} bytes at {self.pos}, file has {len(self.data)}")
        chunk = self.data[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def raw_fp32(self, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self._take(4 * count, what), dtype="<f4").astype(np.float32)

    def tagged(self, count: int, what: str) -> tuple[np.ndarray, str]:
        (tag,) = struct.unpack("<I", self._take(4, what))
        if tag == TAG_FP16:
            # fp16 payloads are padded so the next blob starts on a 4-byte boundary.
            padded = (2 * count + 3) // 4 * 4
            chunk = self._take(padded, what)[: 2 * count]
            return np.frombuffer(chunk, dtype="<f2").astype(np.float32), "fp16"
        if tag == TAG_FP32:
            return self.raw_fp32(count, what), "fp32"
        # int8 and 256-entry-table quantised blobs exist in ncnn but not in the files we ship.
        raise NcnnFormatError(f"{what}: unsupported weight tag 0x{tag:08X}")


# Layer types that never carry weights in the files we read; anything else unknown is refused.
_WEIGHTLESS = {
    "Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "Pooling", "Crop", "PixelShuffle",
    "ReLU", "Sigmoid", "Flatten", "Reshape", "Permute", "Softmax", "Dropout", "Padding", "Slice",
    "UnaryOp", "Clip", "TanH", "Noop",
}  # fmt: skip


def _load_layer_weights(layer: NcnnLayer, reader: _BinReader) -> None:
    what = f"{layer.type} {layer.name}"
    if layer.type in ("Convolution", "Deconvolution", "InnerProduct"):
        count = layer.int_param(2 if layer.type == "InnerProduct" else 6)
        layer.weights["weight"], layer.weight_dtype = reader.tagged(count, what)
        if layer.int_param(1 if layer.type == "InnerProduct" else 5):
            layer.weights["bias"] = reader.raw_fp32(layer.int_param(0), what + " bias")
    elif layer.type == "PReLU":
        layer.weights["slope"] = reader.raw_fp32(layer.int_param(0, 1), what + " slope")
    elif layer.type == "Scale":
        # -233 means "the scale comes from the second input blob" (CUNet's SE blocks): nothing stored.
        size = layer.int_param(0)
        if size != -233:
            layer.weights["weight"] = reader.raw_fp32(size, what)
            if layer.int_param(1):
                layer.weights["bias"] = reader.raw_fp32(size, what + " bias")
    elif layer.type not in _WEIGHTLESS:
        raise NcnnFormatError(f"{what}: layer type not supported by this reader")


def read_ncnn(param_path: Path | str, bin_path: Path | str | None = None) -> NcnnModel:
    """Read a `.param` and its `.bin` (default: same stem); raise NcnnFormatError unless the `.bin` is
    consumed exactly."""
    param_path = Path(param_path)
    bin_path = Path(bin_path) if bin_path is not None else param_path.with_suffix(".bin")
    model = parse_param_text(param_path.read_text(encoding="ascii"))
    reader = _BinReader(bin_path.read_bytes())
    for layer in model.layers:
        _load_layer_weights(layer, reader)
    if reader.pos != len(reader.data):
        raise NcnnFormatError(
            f"{bin_path.name}: read {reader.pos} of {len(reader.data)} bytes — layer sizes do not match"
        )
    return model


def conv_weight(layer: NcnnLayer) -> np.ndarray:
    """A Convolution / Deconvolution weight in PyTorch's layout.

    ncnn stores both as `[out][in][kh][kw]`. Conv2d uses that order; ConvTranspose2d wants
    `[in][out][kh][kw]`, so a Deconvolution is transposed here (wrong orders do not crash, they give
    errors of ~1 on a 0…1 scale).
    """
    out_ch = layer.int_param(0)
    kw = layer.int_param(1)
    kh = layer.int_param(11, kw)
    flat = layer.weights["weight"]
    in_ch, rest = divmod(flat.size, out_ch * kh * kw)
    if rest:
        raise NcnnFormatError(f"{layer.name}: {flat.size} weights do not divide into {out_ch}x?x{kh}x{kw}")
    weight = flat.reshape(out_ch, in_ch, kh, kw)
    if layer.type == "Deconvolution":
        weight = weight.transpose(1, 0, 2, 3)
    return np.ascontiguousarray(weight)
