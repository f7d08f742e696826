"""Waifu2x: CUNet (×2, ×1 denoise) and UpConv7 (anime, photo), from ncnn files or nunif checkpoints."""

from .arch import CUNet, UpConv7
from .weights import load_ncnn, load_official

__all__ = ["CUNet", "UpConv7", "load_ncnn", "load_official"]
