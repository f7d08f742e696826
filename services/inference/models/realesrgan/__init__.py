"""Real-ESRGAN x4plus (photo, anime): ESRGAN's RRDBNet like RealSR (its network and loader live in
models/realsr), run by the old-photo family's fallback engine (models/oldphoto/esrgan.py)."""

from .descriptor import SPECS

__all__ = ["SPECS"]
