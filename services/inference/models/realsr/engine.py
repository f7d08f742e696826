"""The `realsr` family: photo super-resolution with RealSR DF2K x4 (`sr`, option scale 2/3/4).

Scales 2 and 3 run the x4 network and bring its output down with area averaging: the network only exists
at x4, and averaging its sharper-than-needed output loses less detail than any 2x/3x substitute would add.
Alpha is resized bicubically (see services/inference/imageio.py for why).
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from ...engine import EngineResult, InputError, RunContext
from ...imageio import from_planes, to_planes
from ...upscaling import Pass, UpscalingEngine

MODEL_ID = "REALSR_DF2K_UP4X"


class RealSREngine(UpscalingEngine):
    """RealSR DF2K x4 through the shared tiling engine."""

    family = "realsr"
    name = "realsr"
    probe_model = MODEL_ID

    def run(
        self, image: Image.Image, type_name: str, options: dict[str, Any], ctx: RunContext
    ) -> EngineResult:
        """Super-resolve `image` by options['scale'] (2, 3 or 4; default 4)."""
        scale = int(options.get("scale", 4))
        if scale not in (2, 3, 4):
            raise InputError(f"RealSR scale must be 2, 3 or 4, got {scale}")
        ctx.check_cancelled()
        planes = to_planes(image)
        step = Pass(MODEL_ID, None if scale == 4 else scale)
        rgb, alpha = self.run_passes([step], planes, ctx, alpha="bicubic", alpha_passes=[])
        return EngineResult(from_planes(rgb, alpha, planes.gray), self.engine_name())
