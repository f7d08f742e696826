"""The one registry: which model family serves each enhancement type, and which families this process serves.

An enhancement type (`sr`, `sr2d`, `restore`, …; shared/enhancements.py) names its engine family; each family
lives in services/inference/models/<folder>/ with its networks, weight loader, descriptor and engine:

    none → models/identity   realsr → models/realsr   waifu2x → models/waifu2x   bopb → models/oldphoto

The worker and the CLI build one `Registry` at their entry point (with the families from
`RENOVO_INFERENCE_FAMILIES` or the command line) and ask it for engines by family or by type. Engines are
imported when first asked for, so a process serving only `none` never imports torch.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from shared.enhancements import FAMILIES, get_type
from shared.weights import DEFAULT_WEIGHTS_DIR  # not .settings: pydantic-settings costs the CLI 0.2-0.4 s

from .engine import Availability, Backend, Engine, EngineResult, RunContext

BOPB_MODULE = "services.inference.models.oldphoto.engine"
BOPB_CLASS = "OldPhotoEngine"
"""The `bopb` family's engine (old-photo restoration), built with the weights folder; if it cannot be imported
or built, the family is listed as unavailable with the error as the reason, and the other families work."""


BackendChoice = Literal["auto", "torch", "ncnn"]


def resolve_backend(backend: BackendChoice, device: str) -> Backend:
    """What `auto` means, for the CLI and the worker alike: ncnn's own runtime on the CPU when the `ncnn`
    package is installed (faster than PyTorch fp32 on CPUs, bench/models_bench.py), PyTorch on CUDA.
    `ncnn` with a CUDA device is refused: ncnn's Python package here runs on the CPU only."""
    on_cuda = device.startswith("cuda")
    if backend == "ncnn" and on_cuda:
        raise ValueError(
            f"the ncnn backend runs on the CPU only; with device {device!r} use --backend torch (or auto)"
        )
    if backend != "auto":
        return backend
    return "ncnn" if not on_cuda and importlib.util.find_spec("ncnn") is not None else "torch"


def family_of(type_name: str) -> str:
    """The engine family that serves an enhancement type (KeyError for an unknown type)."""
    return get_type(type_name).family


class Unavailable(Engine):
    """Stands in for a family that cannot run here; `availability()` says why."""

    def __init__(self, family: str, reason: str) -> None:
        self.family = family
        self.reason = reason

    def availability(self) -> Availability:
        return Availability(False, self.family, self.reason)

    def run(
        self, image: Image.Image, type_name: str, options: dict[str, Any], ctx: RunContext
    ) -> EngineResult:
        raise RuntimeError(f"engine family {self.family!r} is unavailable: {self.reason}")


def _load_bopb(weights_dir: Path) -> Engine:
    try:
        module = importlib.import_module(BOPB_MODULE)
        factory: Callable[..., Engine] = getattr(module, BOPB_CLASS)
        return factory(weights_dir=weights_dir)
    except Exception as exc:  # any failure to import or build it only disables this family
        return Unavailable("bopb", f"{BOPB_MODULE}.{BOPB_CLASS} could not be loaded: {exc}")


@dataclass
class Registry:
    """Engines by family, restricted to the families this process serves."""

    families: tuple[str, ...] = FAMILIES
    backend: Backend = "torch"
    threads: int | None = None
    weights_dir: Path = DEFAULT_WEIGHTS_DIR
    """Where the engines read weights files from (the worker's `weights_dir` setting)."""
    _engines: dict[str, Engine] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.families) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown engine families {unknown}; expected some of {list(FAMILIES)}")
        self.families = tuple(f for f in FAMILIES if f in self.families)

    def engine(self, family: str) -> Engine:
        """The (lazily built, then cached) engine of a family this process serves."""
        if family not in self.families:
            raise KeyError(f"this process does not serve family {family!r} (serving {list(self.families)})")
        if family not in self._engines:
            self._engines[family] = self._build(family)
        return self._engines[family]

    def engine_for(self, type_name: str) -> Engine:
        """The engine that serves an enhancement type."""
        return self.engine(family_of(type_name))

    def _build(self, family: str) -> Engine:
        # Imported here, not at the top: a process serving only `none` never imports torch.
        if family == "none":
            from .models.identity.engine import IdentityEngine

            return IdentityEngine()
        if family == "realsr":
            from .models.realsr.engine import RealSREngine

            return RealSREngine(backend=self.backend, threads=self.threads)
        if family == "waifu2x":
            from .models.waifu2x.engine import Waifu2xEngine

            return Waifu2xEngine(backend=self.backend, threads=self.threads)
        if family == "bopb":
            return _load_bopb(self.weights_dir)
        return Unavailable(family, "no engine is registered for this family")

    def availability(self) -> dict[str, Availability]:
        """Each served family's availability (what GET /api/models reports as installed)."""
        return {family: self.engine(family).availability() for family in self.families}


def parse_families(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """`RENOVO_INFERENCE_FAMILIES`-style input ("realsr,waifu2x", a list, or empty/None for all)."""
    if value is None:
        return FAMILIES
    items = value.split(",") if isinstance(value, str) else list(value)
    chosen = tuple(item.strip() for item in items if item.strip())
    return chosen or FAMILIES
