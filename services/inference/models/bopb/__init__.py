"""Bringing Old Photos Back to Life (Wan et al., CVPR 2020), re-implemented to load the official checkpoints.

`pipeline.BopbPipeline` runs the official inference; `weights.bopb_available` says whether the official
checkpoints are installed under the weights folder (`make weights` fetches them where there is internet).
"""

from .pipeline import BopbPipeline
from .weights import bopb_available, missing_checkpoints

__all__ = ["BopbPipeline", "bopb_available", "missing_checkpoints"]
