"""Running a shipped model through ncnn's own CPU runtime: the independent reference for our PyTorch ports, and
the engine under the `ncnn` backend (services/inference/ncnn_net.py).

`NcnnRunner.run` is the reference: a whole image, already padded as the network needs, in; the network's raw
output (unclamped) out. `upsampling_tail` reads from a `.param` graph where an upscaler's trunk ends and its
upsampling tail (nearest `Interp` and 3×3 convolutions only) begins: the ncnn backend runs that tail in small
pieces (see `NcnnRunner.run_split`), because at 4× resolution it holds most of the network's memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .ncnn_format import NcnnFormatError, parse_param_text

# Input and output blob names by model family (from the .param files).
_BLOBS = {"REALSR": ("data", "output"), "REALESRGAN": ("data", "output"), "WAIFU2X": ("Input1", "Eltwise4")}


def blob_names(model_id: str) -> tuple[str, str]:
    """The (input, output) blob names of a shipped model."""
    for prefix, names in _BLOBS.items():
        if model_id.startswith(prefix + "_"):
            return names
    raise KeyError(f"no known blob names for {model_id!r}")


TAIL_SIDE = 96
"""Trunk-resolution pixels per side of each piece of an upsampling tail (plus `margin` context a side): RRDBNet's
tail holds ~40 kB per trunk pixel (its last three convolutions at 4×), so a piece stays near 0.4 GiB; the
margins cost ~1 % more tail work, and the tail is ~8 % of RRDBNet's."""


@dataclass(frozen=True)
class UpsamplingTail:
    """The end of a network that only upsamples (nearest) and convolves locally: it can run in pieces with a
    small margin and give the same output as one whole run."""

    blob: str
    """The tail's input blob (the trunk's output)."""
    scale: int
    """Output pixels per tail-input pixel along each side."""
    margin: int
    """Tail-input pixels of context each piece needs on a side it shares with another piece."""


def upsampling_tail(param_path: Path | str, output_blob: str) -> UpsamplingTail | None:
    """The upsampling tail of a `.param` graph ending in `output_blob`: the layers from the first `Interp` on,
    when they form one chain of nearest-neighbour integer `Interp`s and stride-1, 'same'-padded convolutions;
    None for any other graph (CUNet, UpConv7)."""
    try:
        layers = parse_param_text(Path(param_path).read_text(encoding="ascii")).layers
    except (OSError, NcnnFormatError, ValueError):
        return None
    first = next((i for i, layer in enumerate(layers) if layer.type == "Interp"), None)
    if first is None:
        return None
    tail = layers[first:]
    scale, reach = 1, 0.0  # reach: the tail's receptive radius in tail-input pixels
    for previous, layer in zip([None, *tail], tail, strict=False):
        if len(layer.inputs) != 1 or len(layer.outputs) != 1:
            return None
        if previous is not None and layer.inputs[0] != previous.outputs[0]:
            return None
        if layer.type == "Interp":
            factor = layer.param(1, 1.0)
            if layer.int_param(0) != 1 or not isinstance(factor, float | int) or factor != int(factor) or factor < 1:
                return None
            if layer.param(2, 1.0) != factor:
                return None
            scale *= int(factor)
        elif layer.type == "Convolution":
            kernel = layer.int_param(1)
            same = layer.int_param(4) == kernel // 2 and kernel % 2 == 1
            if not same or layer.int_param(3, 1) != 1 or layer.int_param(2, 1) != 1 or 11 in layer.params:
                return None
            reach += (kernel // 2) / scale
        else:
            return None
    if tail[-1].outputs[0] != output_blob or scale == 1:
        return None
    return UpsamplingTail(tail[0].inputs[0], scale, math.ceil(reach) + 1)


class NcnnRunner:
    """One loaded ncnn network on the CPU, reference options (fp32, no bf16, no Vulkan)."""

    def __init__(self, param_path: Path | str, model_id: str | None = None, threads: int = 2) -> None:
        import ncnn  # test/benchmark dependency only (requirements-dev.txt)

        param_path = Path(param_path)
        self.input_blob, self.output_blob = blob_names(model_id or param_path.stem)
        self.threads = threads
        self.net = ncnn.Net()
        opt = self.net.opt
        opt.use_vulkan_compute = False
        opt.num_threads = threads
        # Reference runs in full fp32: reduced-precision storage/arithmetic costs 40+ dB of agreement.
        for flag in (
            "use_fp16_packed",
            "use_fp16_storage",
            "use_fp16_arithmetic",
            "use_bf16_packed",
            "use_bf16_storage",
        ):
            if hasattr(opt, flag):
                setattr(opt, flag, False)
        if (
            self.net.load_param(str(param_path)) != 0
            or self.net.load_model(str(param_path.with_suffix(".bin"))) != 0
        ):
            raise RuntimeError(f"ncnn could not load {param_path}")

    @classmethod
    def for_model(cls, model_id: str, threads: int = 2) -> NcnnRunner:
        """A runner for an installed model id of weights/manifest.json."""
        from shared.weights import weight_file

        path = weight_file(model_id)
        if path is None:
            raise FileNotFoundError(f"{model_id} is not installed (see weights/manifest.json)")
        return cls(path, model_id, threads)

    def run(self, chw: np.ndarray, source: str | None = None, target: str | None = None) -> np.ndarray:
        """Run one C×H×W float image (0…1 RGB) and return the raw C×H'×W' float32 output; `source` and `target`
        name other blobs to feed and extract (a part of the graph)."""
        import ncnn

        # ncnn.Mat borrows this buffer: contiguous float32, referenced until extract returns.
        data = np.ascontiguousarray(chw, dtype=np.float32)
        extractor = self.net.create_extractor()
        extractor.input(source or self.input_blob, ncnn.Mat(data))
        ret, out = extractor.extract(target or self.output_blob)
        if ret != 0:
            raise RuntimeError(f"ncnn extract failed with {ret}")
        result = np.array(out, dtype=np.float32, copy=True)
        del out, extractor, data  # only now may the input buffer go
        return result

    def run_split(self, chw: np.ndarray, tail: UpsamplingTail, side: int = TAIL_SIDE) -> np.ndarray:
        """`run`, with the upsampling tail in pieces of `side` trunk pixels (plus `tail.margin` context where
        pieces meet): the same output (a piece's border is the picture's border, where the convolutions
        zero-pad as in the whole run, or lies `margin` inside its context), without the tail's 4×-resolution
        activations for the whole image at once (RRDBNet: 54 kB per input pixel whole, ~14 kB split)."""
        features = self.run(chw, target=tail.blob)
        _, height, width = features.shape
        s, m = tail.scale, tail.margin
        out: np.ndarray | None = None
        for y0 in range(0, height, side):
            y1, ya, yb = min(height, y0 + side), max(0, y0 - m), min(height, y0 + side + m)
            for x0 in range(0, width, side):
                x1, xa, xb = min(width, x0 + side), max(0, x0 - m), min(width, x0 + side + m)
                piece = self.run(features[:, ya:yb, xa:xb], source=tail.blob)
                if out is None:
                    out = np.empty((piece.shape[0], s * height, s * width), np.float32)
                out[:, s * y0 : s * y1, s * x0 : s * x1] = piece[
                    :, s * (y0 - ya) : s * (y1 - ya), s * (x0 - xa) : s * (x1 - xa)
                ]
        assert out is not None
        return out
