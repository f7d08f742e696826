"""The `bopb` family (`restore`, `restore_scratch`): official BOPB when its checkpoints exist, else Renovo's.

The official Bringing-Old-Photos-Back-to-Life checkpoints cannot be downloaded everywhere (upstream's links
are reported dead). Without them the family is still served, by Renovo's own old-photo engine
(services/inference/models/oldphoto): scratch detection and inpainting, learned denoising, tone restoration
and optional face restoration, built from parts we ship. Every result says which one made it: `bopb` or
`renovo`, and Renovo's results carry notes when a stage was skipped (line art, a CPU budget).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import structlog
from PIL import Image

from ...engine import Availability, Engine, EngineResult, InputError, RunContext
from ...settings import DEFAULT_WEIGHTS_DIR
from . import pipeline as renovo

log = structlog.get_logger(__name__)

TYPES = {"restore": False, "restore_scratch": True}
"""Enhancement type → whether the scratch stage runs."""


def _bopb_module() -> Any | None:
    """services.inference.bopb, or None while it is absent or broken (it is developed separately)."""
    try:
        return importlib.import_module("services.inference.models.bopb")
    except Exception:  # an import failure there must only mean "use Renovo's engine"
        return None


def renovo_available() -> tuple[bool, str | None]:
    """Whether Renovo's engine can run: it needs OpenCV and torch (for the scratch net, if shipped)."""
    try:
        import cv2  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        return False, f"Renovo's old-photo engine needs {exc.name}"
    return True, None


class OldPhotoEngine(Engine):
    """Old-photo restoration; chooses the implementation once per run from what is installed.

    `weights_dir` is the worker's `weights_dir` setting (the registry passes it): BOPB's checkpoints and the
    scratch net are read from there."""

    family = "bopb"

    def __init__(self, weights_dir: Path = DEFAULT_WEIGHTS_DIR, device: str = "cpu") -> None:
        self.weights_dir = Path(weights_dir)
        self.device = device
        self._bopb: Any | None = None

    def _bopb_ready(self) -> bool:
        module = _bopb_module()
        if module is None:
            return False
        try:
            return bool(module.bopb_available(self.weights_dir))
        except Exception:
            return False

    def availability(self) -> Availability:
        if self._bopb_ready():
            return Availability(True, "bopb")
        ok, reason = renovo_available()
        return Availability(ok, "renovo", reason)

    def run(
        self, image: Image.Image, type_name: str, options: dict[str, Any], ctx: RunContext
    ) -> EngineResult:
        """Restore `image`; `restore_scratch` also finds and removes scratches."""
        if type_name not in TYPES:
            raise InputError(f"the old-photo engine does not serve type {type_name!r}")
        with_scratch = TYPES[type_name]
        face_enhance = bool(options.get("face_enhance", False))
        ctx.check_cancelled()
        if self._bopb_ready():
            if self._bopb is None:
                module = _bopb_module()
                assert module is not None  # _bopb_ready() just imported it
                self._bopb = module.BopbPipeline(self.weights_dir, ctx.device or self.device)
            restored = self._bopb.restore(image, with_scratch, face_enhance, ctx)
            return EngineResult(restored, "bopb")
        ok, reason = renovo_available()
        if not ok:
            raise InputError(reason or "no old-photo engine is installed")
        restored, report = renovo.restore_image(image, with_scratch, face_enhance, ctx, self.weights_dir)
        result = EngineResult(restored, "renovo")
        if report.notes:
            log.info("oldphoto.notes", notes=report.notes, content=report.content)
            result.notes = tuple(report.notes)
        return result
