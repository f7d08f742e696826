"""ncnn's CPU runtime as a tile network for the shared tiling engine (the `ncnn` CPU backend).

On two CPU cores ncnn's hand-tuned x86 kernels beat PyTorch eager on these convolution stacks (see
bench/models_bench.py); wrapping its runtime as a `Network` keeps our tiling, blending, alpha/grayscale
handling and cancellation for it, so only the convolutions change hands.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import torch


def ncnn_available() -> bool:
    """Whether the `ncnn` Python package is installed."""
    return importlib.util.find_spec("ncnn") is not None


class NcnnNetwork:
    """Callable N×3×H×W float tensor → raw output tensor, computed by ncnn one batch item at a time."""

    def __init__(self, param_path: Path, model_id: str, threads: int | None = None) -> None:
        from .metrics import MODEL_LOAD
        from .ncnn_backend import NcnnRunner

        self.model_id = model_id
        started = time.perf_counter()
        self.runner = NcnnRunner(param_path, model_id, threads or torch.get_num_threads())
        MODEL_LOAD.labels(model_id).observe(time.perf_counter() - started)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        outputs = [
            torch.from_numpy(self.runner.run(item.float().contiguous().numpy())) for item in batch.cpu()
        ]
        return torch.stack(outputs).to(batch.device)
