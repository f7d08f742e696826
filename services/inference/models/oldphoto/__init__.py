"""Renovo's own old-photo engine, used for `restore`/`restore_scratch` when BOPB's checkpoints are absent.

Stages (pipeline.py): scratch detection (scratch_net.py, trained on synthetic scratches; scratch.py's
classical detector as fallback) and inpainting, tone restoration (tone.py), denoising and sharpening
(cleanup.py), optional face-region care (faces.py). Quality is measured by bench/oldphoto_bench.py.
"""

from .pipeline import MIN_SIDE, Report, Stages, restore_array, restore_image

__all__ = ["MIN_SIDE", "Report", "Stages", "restore_array", "restore_image"]
