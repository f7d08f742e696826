"""RealSR DF2K ×4 and Real-ESRGAN ×4plus: ESRGAN's RRDBNet, loaded from ncnn files or official checkpoints."""

from .arch import RRDBNet
from .weights import load_ncnn, load_official, official_key_map

__all__ = ["RRDBNet", "load_ncnn", "load_official", "official_key_map"]
