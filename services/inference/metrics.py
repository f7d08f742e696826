"""Prometheus metrics of the model layer (the worker's per-job metrics are in worker.py).

Label sets are created up front for the families a worker serves, so that dashboards and alerts see zeros
rather than missing series.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TILES = Counter("renovo_inference_tiles_total", "Tiles run through a network", ["family"])
OOM_RETRIES = Counter("renovo_inference_oom_retries_total", "Out-of-memory errors retried with smaller tiles",
                      ["family"])
MODEL_LOAD = Histogram("renovo_model_load_seconds", "Time to load a model's weights", ["model"],
                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
PIXEL_RATIO = Histogram(
    "renovo_inference_tile_pixel_ratio",
    "Input pixels the network computed (tile windows with their context) per pixel of the picture",
    ["family"], buckets=(1.0, 1.02, 1.05, 1.1, 1.15, 1.25, 1.5, 2, 3),
)
GPU_MEMORY = Gauge("renovo_inference_gpu_memory_bytes", "GPU memory allocated by this worker (0 on CPU)",
                   ["device"])


def initialise(families: tuple[str, ...], device: str) -> None:
    for family in families:
        TILES.labels(family)
        OOM_RETRIES.labels(family)
        PIXEL_RATIO.labels(family)
    GPU_MEMORY.labels(device).set(0)
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():  # sampled at every scrape, not only when something remembers to
            gauge_device = torch.device(device)
            GPU_MEMORY.labels(device).set_function(lambda: float(torch.cuda.memory_allocated(gauge_device)))
