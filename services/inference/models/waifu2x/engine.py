"""The `waifu2x` family (`sr2d`): noise -1…3, scale 1/2/4, style art (CUNet) or photo (UpConv7 photo).

Model choice follows waifu2x-ncnn-vulkan: noise −1 → the plain x2 model; scale 1 with noise n → the x1
denoise model (`noise{n}_model`); scale 2 with noise n → `noise{n}_scale2.0x_model`. Beyond that tool:
- scale 4 is two x2 passes, denoising in the first only (as waifu2x-caffe does: the second pass sees a
  clean picture, and denoising twice flattens it);
- scale 1 with noise −1 has nothing to do and returns the picture unchanged;
- UpConv7 photo ships no x1 denoise model, so photo scale 1 runs its x2 denoise model and area-averages back.
A non-constant alpha runs through the style's plain x2 model (replicated to 3 channels) once per x2 pass.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from ...engine import EngineResult, InputError, RunContext
from ...imageio import from_planes, to_planes
from ...upscaling import Pass, UpscalingEngine

_PREFIX = {"art": "WAIFU2X_CUNET", "photo": "WAIFU2X_PHOTO"}


def plan(noise: int, scale: int, style: str) -> tuple[list[Pass], list[Pass]]:
    """The colour passes and the alpha passes for these options (both empty: identity)."""
    if noise not in (-1, 0, 1, 2, 3) or scale not in (1, 2, 4) or style not in _PREFIX:
        raise InputError(f"unsupported Waifu2x options noise={noise} scale={scale} style={style!r}")
    prefix = _PREFIX[style]
    plain = Pass(f"{prefix}_UP2X")
    if scale == 1:
        if noise == -1:
            return [], []
        if style == "art":
            return [Pass(f"{prefix}_UP1X_DENOISE{noise}X")], []
        return [Pass(f"{prefix}_UP2X_DENOISE{noise}X", out_scale=1)], []
    first = plain if noise == -1 else Pass(f"{prefix}_UP2X_DENOISE{noise}X")
    passes = [first] if scale == 2 else [first, plain]
    return passes, [plain] * len(passes)


class Waifu2xEngine(UpscalingEngine):
    """Waifu2x CUNet / UpConv7 photo through the shared tiling engine."""

    family = "waifu2x"
    name = "waifu2x"
    probe_model = "WAIFU2X_CUNET_UP2X"

    def run(
        self, image: Image.Image, type_name: str, options: dict[str, Any], ctx: RunContext
    ) -> EngineResult:
        """Denoise and/or upscale `image` per options noise/scale/style (defaults as shared.enhancements)."""
        noise = int(options.get("noise", 1))
        scale = int(options.get("scale", 2))
        style = str(options.get("style", "art"))
        passes, alpha_passes = plan(noise, scale, style)
        ctx.check_cancelled()
        if not passes:
            ctx.progress(1.0)
            return EngineResult(image, self.engine_name())
        planes = to_planes(image)
        rgb, alpha = self.run_passes(passes, planes, ctx, alpha="model", alpha_passes=alpha_passes)
        return EngineResult(from_planes(rgb, alpha, planes.gray), self.engine_name())
