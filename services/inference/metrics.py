"""Prometheus metrics of the model layer (the worker's per-job metrics are in worker.py).

They exist only in a process that serves them: the worker's `initialise` enables them (label sets created up
front for its families, so that dashboards and alerts see zeros rather than missing series). Anywhere else —
`renovo restore`, the benchmarks — the record functions do nothing, and prometheus_client is never imported
(a tenth of the command's start-up on a small picture).
"""

from __future__ import annotations


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.tiles = Counter("renovo_inference_tiles_total", "Tiles run through a network", ["family"])
        self.oom_retries = Counter("renovo_inference_oom_retries_total",
                                   "Out-of-memory errors retried with smaller tiles", ["family"])
        self.model_load = Histogram("renovo_model_load_seconds", "Time to load a model's weights", ["model"],
                                    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.pixel_ratio = Histogram(
            "renovo_inference_tile_pixel_ratio",
            "Input pixels the network computed (tile windows with their context) per pixel of the picture",
            ["family"], buckets=(1.0, 1.02, 1.05, 1.1, 1.15, 1.25, 1.5, 2, 3),
        )
        self.gpu_memory = Gauge("renovo_inference_gpu_memory_bytes", "GPU memory allocated by this worker (0 on CPU)",
                                ["device"])


_METRICS: _Metrics | None = None


def enable() -> _Metrics:
    """Create the metrics (once per process) and record from now on."""
    global _METRICS
    if _METRICS is None:
        _METRICS = _Metrics()
    return _METRICS


def initialise(families: tuple[str, ...], device: str) -> None:
    m = enable()
    for family in families:
        m.tiles.labels(family)
        m.oom_retries.labels(family)
        m.pixel_ratio.labels(family)
    m.gpu_memory.labels(device).set(0)
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():  # sampled at every scrape, not only when something remembers to
            gauge_device = torch.device(device)
            m.gpu_memory.labels(device).set_function(lambda: float(torch.cuda.memory_allocated(gauge_device)))


def tiles_run(family: str, tiles: int, pixel_ratio: float) -> None:
    """A picture went through a network: its tiles and its computed/actual pixel ratio."""
    if _METRICS is not None:
        _METRICS.tiles.labels(family).inc(tiles)
        _METRICS.pixel_ratio.labels(family).observe(pixel_ratio)


def oom_retried(family: str) -> None:
    if _METRICS is not None:
        _METRICS.oom_retries.labels(family).inc()


def model_loaded(model_id: str, seconds: float) -> None:
    if _METRICS is not None:
        _METRICS.model_load.labels(model_id).observe(seconds)

