"""Running a shipped model through ncnn's own CPU runtime: the independent reference for our PyTorch ports.

Used by the fidelity tests and benchmarks, not by the service. The input is a whole image (no tiling),
already padded as the network needs; the output is the network's raw output (unclamped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Input and output blob names by model family (from the .param files).
_BLOBS = {"REALSR": ("data", "output"), "REALESRGAN": ("data", "output"), "WAIFU2X": ("Input1", "Eltwise4")}


def blob_names(model_id: str) -> tuple[str, str]:
    """The (input, output) blob names of a shipped model."""
    for prefix, names in _BLOBS.items():
        if model_id.startswith(prefix + "_"):
            return names
    raise KeyError(f"no known blob names for {model_id!r}")


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

    def run(self, chw: np.ndarray) -> np.ndarray:
        """Run one C×H×W float image (0…1 RGB) and return the raw C×H'×W' float32 output."""
        import ncnn

        # ncnn.Mat borrows this buffer: contiguous float32, referenced until extract returns.
        data = np.ascontiguousarray(chw, dtype=np.float32)
        extractor = self.net.create_extractor()
        extractor.input(self.input_blob, ncnn.Mat(data))
        ret, out = extractor.extract(self.output_blob)
        if ret != 0:
            raise RuntimeError(f"ncnn extract failed with {ret}")
        result = np.array(out, dtype=np.float32, copy=True)
        del data  # only now may the input buffer go
        return result
