"""What the RealSR and Waifu2x engines share: model access, backends, passes, alpha, progress spans."""

from __future__ import annotations

import dataclasses
import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from .descriptor import ModelDescriptor
from .engine import Availability, Backend, Engine, RunContext
from .imageio import Planes
from .ncnn_net import NcnnNetwork, upscale_numpy
from .planner import TileStats

if TYPE_CHECKING:  # torch is imported only by the torch backend: the ncnn backend runs without it
    import torch

    from .tiling import Network

Loader = Callable[[str, str], "tuple[torch.nn.Module, ModelDescriptor]"]
AlphaMode = Literal["model", "bicubic"]


def default_loader(model_id: str, device: str) -> tuple[torch.nn.Module, ModelDescriptor]:
    """The cached loader of services/inference/models.py, imported late (torch-free imports stay cheap)."""
    from .models import load_model

    return load_model(model_id, device)


@dataclass(frozen=True)
class Pass:
    """One network pass of a run: the model, and the scale (relative to the pass input) to resize its output
    to by area averaging when that differs from the model's own (RealSR x4 → x2/x3, photo x2 → x1)."""

    model_id: str
    out_scale: int | None = None

    def factor(self) -> int:
        if self.out_scale is not None:
            return self.out_scale
        return 4 if "UP4X" in self.model_id else 1 if "UP1X" in self.model_id else 2


class UpscalingEngine(Engine):
    """Base of engines that run ncnn-shipped upscalers through the shared tiling engine."""

    name: str = ""
    probe_model: str = ""
    """A model id whose installed weights mean the family can run (checked by `availability`)."""

    def __init__(
        self, *, backend: Backend = "torch", loader: Loader | None = None, threads: int | None = None
    ) -> None:
        self.backend: Backend = backend
        self.loader: Loader = loader or default_loader
        self.threads = threads
        self._ncnn: dict[str, NcnnNetwork] = {}
        self._lock = threading.Lock()
        self.last_stats: list[TileStats] = []

    def availability(self) -> Availability:
        """Available when the probe model's weights (and, for the ncnn backend, ncnn) are installed."""
        engine = self.engine_name()
        if self.backend == "ncnn" and importlib.util.find_spec("ncnn") is None:
            return Availability(False, engine, "the ncnn backend needs the ncnn package (pip install ncnn)")
        if self.loader is not default_loader:
            return Availability(True, engine)
        try:
            from .models import model_path

            model_path(self.probe_model)
        except (ImportError, FileNotFoundError, KeyError) as exc:
            return Availability(False, engine, str(exc))
        return Availability(True, engine)

    def engine_name(self) -> str:
        """The implementation reported with each job: the family, suffixed `-ncnn` on the ncnn backend."""
        return self.name if self.backend == "torch" else f"{self.name}-ncnn"

    def network(self, model_id: str, ctx: RunContext) -> tuple[Network, ModelDescriptor]:
        """The network for one model id: our PyTorch port (cached by the loader) or ncnn's runtime."""
        if self.backend == "torch":
            return self.loader(model_id, ctx.device)
        from .models import descriptor, model_path

        with self._lock:  # one ncnn.Net per model, shared by the worker's threads like the torch cache
            if model_id not in self._ncnn:
                self._ncnn[model_id] = NcnnNetwork(model_path(model_id), model_id, self.threads)
            return self._ncnn[model_id], descriptor(model_id)

    def run_pass(self, step: Pass, rgb: np.ndarray, ctx: RunContext, span: tuple[float, float]) -> np.ndarray:
        """One tiled pass, then the area resize if the pass asks for one."""
        if self.backend == "torch":
            from .device import thread_device

            ctx = dataclasses.replace(ctx, device=thread_device(ctx.device))
        net, desc = self.network(step.model_id, ctx)
        stats = TileStats()
        if isinstance(net, NcnnNetwork):
            out = upscale_numpy(net, desc, rgb, _cpu_context(ctx), span=span, stats=stats)
        else:
            from .tiling import upscale

            out = upscale(net, desc, rgb, ctx, span=span, stats=stats, precision=ctx.precision)
        self.last_stats.append(stats)
        if step.out_scale is None or step.out_scale == desc.scale:
            return out
        return shrink(out, (rgb.shape[1] * step.out_scale, rgb.shape[0] * step.out_scale))

    def run_passes(
        self, passes: list[Pass], planes: Planes, ctx: RunContext, alpha: AlphaMode, alpha_passes: list[Pass]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Colour through `passes`; a non-constant alpha through `alpha_passes` (or bicubic).

        Progress is split between the runs by the input pixels each one processes."""
        self.last_stats = []
        size = (planes.rgb.shape[1], planes.rgb.shape[0])
        alpha_runs = alpha_passes if (planes.alpha_constant() is None and planes.alpha is not None) else []
        if alpha != "model":
            alpha_runs = []
        jobs = [("rgb", p) for p in passes] + [("alpha", p) for p in alpha_runs]
        costs = _costs(passes) + _costs(alpha_runs)
        total, done = float(sum(costs)) or 1.0, 0.0
        rgb: np.ndarray = planes.rgb
        alpha3 = (
            np.repeat(planes.alpha[..., None], 3, axis=2) if alpha_runs and planes.alpha is not None else None
        )
        for (kind, step), cost in zip(jobs, costs, strict=True):
            span = (done / total, (done + cost) / total)
            if kind == "rgb":
                rgb = self.run_pass(step, rgb, ctx, span)
            elif alpha3 is not None:
                alpha3 = self.run_pass(step, alpha3, ctx, span)
            done += cost
        out_alpha = self._finish_alpha(planes, alpha3, (rgb.shape[1], rgb.shape[0]), size)
        ctx.progress(1.0)
        return rgb, out_alpha

    @staticmethod
    def _finish_alpha(
        planes: Planes, alpha3: np.ndarray | None, out_size: tuple[int, int], in_size: tuple[int, int]
    ) -> np.ndarray | None:
        if planes.alpha is None:
            return None
        constant = planes.alpha_constant()
        if constant is not None:
            return np.full((out_size[1], out_size[0]), constant, dtype=np.uint8)
        if alpha3 is not None:
            return np.ascontiguousarray(alpha3.mean(axis=2).round().astype(np.uint8))
        alpha = planes.alpha.astype(np.float32) / (255.0 if planes.alpha.dtype == np.uint8 else 1.0)
        resized: np.ndarray = alpha
        if out_size != in_size:
            # Bicubic overshoots at hard edges; the clip keeps alpha in range.
            import cv2

            resized = cv2.resize(alpha, out_size, interpolation=cv2.INTER_CUBIC)
        return (np.clip(resized, 0.0, 1.0) * 255.0).round().astype(np.uint8)


def _costs(passes: list[Pass]) -> list[float]:
    """Relative work of each pass: the input pixels it processes (a second x2 pass sees 4× the pixels)."""
    costs, factor = [], 1.0
    for step in passes:
        costs.append(factor * factor)
        factor *= step.factor()
    return costs


def _cpu_context(ctx: RunContext) -> RunContext:
    return dataclasses.replace(ctx, device="cpu")


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Downscale to `size` (W×H) with area averaging.

    Area averaging is the alias-free choice for bringing a network's ×4 (or ×2) output down: it is the mean
    over each destination pixel's footprint, so it neither rings on the sharp upscaled edges like Lanczos nor
    aliases like nearest/bilinear.
    """
    if (image.shape[1], image.shape[0]) == size:
        return image
    import cv2  # only passes that resize need OpenCV (imported late: start-up of small jobs)

    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
