"""The `none` family: the picture as decoded (EXIF orientation already applied by the caller)."""

from __future__ import annotations

from typing import Any

from PIL import Image

from ...engine import Availability, Engine, EngineResult, RunContext


class IdentityEngine(Engine):
    family = "none"

    def availability(self) -> Availability:
        return Availability(True, "identity")

    def run(self, image: Image.Image, type_name: str, options: dict[str, Any], ctx: RunContext) -> EngineResult:
        ctx.check_cancelled()
        ctx.progress(1.0)
        return EngineResult(image, "identity")
