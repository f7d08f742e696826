"""FROZEN COPY of the previous old-photo engine (commit f528249, services/inference/oldphoto), kept only so
bench/oldphoto_bench.py can compare against it; not used by the service. Its scratch net is the checkpoint its
`make install` left (weights/cache/scratch_net.partial, an interrupted run), copied as scratch_net.pt.
The Real-ESRGAN blend (CUDA only) and restore_image were dropped.

Renovo's own old-photo engine, used for `restore`/`restore_scratch` when BOPB's checkpoints are absent.

Stages (pipeline.py): scratch detection (scratch_net.py, trained on synthetic scratches; scratch.py's
classical detector as fallback) and inpainting, tone restoration (tone.py), denoising and sharpening
(cleanup.py), optional face-region care (faces.py). Quality is measured by bench/oldphoto_bench.py.
"""

from .pipeline import MIN_SIDE, Report, Stages, restore_array

__all__ = ["MIN_SIDE", "Report", "Stages", "restore_array"]
