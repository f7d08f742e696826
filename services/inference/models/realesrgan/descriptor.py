"""Real-ESRGAN's typed descriptors: the RRDBNet x4 models `REALESRGAN_X4PLUS_UP4X` and its anime variant."""

from __future__ import annotations

from ...descriptor import ModelSpec
from ..realsr.descriptor import rrdbnet

MODEL_IDS = ("REALESRGAN_X4PLUS_UP4X", "REALESRGAN_X4PLUSANIME_UP4X")
SPECS: dict[str, ModelSpec] = {m: rrdbnet(m, "realesrgan") for m in MODEL_IDS}
