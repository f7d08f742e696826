"""Decoding uploads into what engines need, and encoding results as PNG.

`decode` returns a PIL image with the EXIF orientation applied, in one of the modes RGB, RGBA, L, LA or
I;16 (16-bit grayscale). Pillow reads 16-bit colour PNGs as 8-bit; for those the full 16-bit pixels
(RGB/RGBA order, orientation applied) ride along in `image.info[HIGH_DEPTH_KEY]` so that engines can feed the
network the exact values (see `to_planes`), while code that only wants an 8-bit picture (the `none` engine,
thumbnails) sees an ordinary one.

Alpha policy (see `Planes`): engines upscale a non-constant alpha separately from the colour — Waifu2x runs
its plain 2x model on the alpha replicated to three channels (crisp sprite edges are the point of 2D art),
RealSR resizes it bicubically (photo masks are smooth and RRDBNet x4 would double an already long run).
A constant alpha (e.g. an opaque RGBA scan) is simply refilled.
"""

from __future__ import annotations

import functools
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .engine import InputError

MAX_PIXELS = 50_000_000
"""Decompression-bomb limit on decoded pixels (the output of a x4 run is 16 times more)."""
HIGH_DEPTH_KEY = "renovo.high_depth"
SOURCE_KEY = "renovo.source"
"""`image.info[SOURCE_KEY]`: the original's `Source` (EXIF, ICC profile, whether it was lossless), set by decode."""
_ORIENTATION_TAG = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Source:
    """What the result keeps of the original (see services.inference.output)."""

    exif: bytes | None
    """The original's EXIF as Pillow reads it (orientation still in it; output.py resets it)."""
    icc: bytes | None
    """The ICC profile of the decoded pixels (None when a conversion made the original's profile wrong)."""
    lossless: bool
    """PNG, BMP, TIFF, GIF, lossless WebP…: `auto` answers with a PNG."""
    alpha: bool
    """The original's mode carries alpha."""


@dataclass
class Planes:
    """A picture split for the networks: colour always three channels, values uint8 or float32 in 0…1."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    """H×W alpha (uint8 or float32 0…1), None when the picture has none."""
    gray: bool
    """The picture was grayscale: engines run it as RGB and return L/LA."""

    def alpha_constant(self) -> int | None:
        """The alpha value as uint8 when it is the same everywhere (nothing to upscale), else None."""
        if self.alpha is None or self.alpha.size == 0 or self.alpha.min() != self.alpha.max():
            return None
        value = self.alpha.flat[0]
        return int(round(float(value) * 255)) if self.alpha.dtype != np.uint8 else int(value)


def decode(source: bytes | str | os.PathLike[str], *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode bytes or a path; raise InputError (with a message for the user) for anything unusable."""
    data = Path(source).read_bytes() if isinstance(source, str | os.PathLike) else bytes(source)
    try:
        with warnings.catch_warnings():
            # Our own limit below is stricter than Pillow's warning threshold; keep its warning quiet.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        pixels = image.width * image.height
        if pixels > max_pixels:
            raise InputError(
                f"image is {image.width}x{image.height} ({pixels / 1e6:.0f} megapixels); "
                f"the limit is {max_pixels / 1e6:.0f} megapixels"
            )
        # Animated files: the first frame is the picture people see as the thumbnail; use it.
        image.seek(0)
        image.load()
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(f"image is over the {max_pixels / 1e6:.0f}-megapixel limit ({exc})") from None
    except Image.UnidentifiedImageError:
        raise InputError("not a recognised image file") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"image file is damaged or truncated: {exc}") from None
    orientation = image.getexif().get(_ORIENTATION_TAG, 1)
    high = _read_high_depth(data)
    origin = _source(image, data)
    picture: Image.Image = ImageOps.exif_transpose(image) or image
    picture = _to_srgb(picture, origin.icc) if picture.mode == "CMYK" and origin.icc else picture
    if picture.mode == "CMYK" or picture.info.get("renovo.srgb"):
        # Pillow's plain CMYK conversion ignores the profile; a CMYK profile cannot describe RGB pixels.
        origin = Source(origin.exif, _srgb_icc() if picture.info.get("renovo.srgb") else None, origin.lossless,
                        origin.alpha)
    picture = _normalise_mode(picture)
    picture.info[SOURCE_KEY] = origin
    if high is not None:
        high = orient_array(high, orientation)
        if high.shape[:2] == (picture.height, picture.width):
            picture.info[HIGH_DEPTH_KEY] = high
    return picture


def _source(image: Image.Image, data: bytes) -> Source:
    exif = image.getexif()
    raw = image.info.get("exif")
    fmt = image.format or ""
    lossy = fmt in ("JPEG", "MPO") or (fmt == "WEBP" and b"VP8L" not in data[12:40])
    alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode in ("P", "L") and "transparency" in image.info)
    icc = image.info.get("icc_profile")
    return Source(raw if isinstance(raw, bytes) else (exif.tobytes() if len(exif) else None),
                  icc if isinstance(icc, bytes) and icc else None, not lossy, alpha)


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """CMYK through its own profile to sRGB (printing profiles map ink to colour very differently)."""
    from PIL import ImageCms

    try:
        converted = ImageCms.profileToProfile(
            image, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image
    assert converted is not None
    converted.info["renovo.srgb"] = True
    return converted


@functools.cache
def _srgb_icc() -> bytes:
    from PIL import ImageCms

    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def _read_high_depth(data: bytes) -> np.ndarray | None:
    """16-bit colour PNG pixels (RGB or RGBA order) that Pillow would reduce to 8 bits; None otherwise."""
    if len(data) < 26 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    bit_depth, colour_type = data[24], data[25]
    if bit_depth != 16 or colour_type not in (2, 4, 6):  # truecolour, gray+alpha, truecolour+alpha
        return None
    import cv2  # OpenCV only for 16-bit PNGs: its import is a tenth of a small job's start-up

    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint16 or array.ndim != 3:
        return None
    if array.shape[2] == 4 and colour_type == 4:  # OpenCV expands gray+alpha to BGRA; keep it gray
        return np.ascontiguousarray(array[..., [0, 3]])
    if array.shape[2] == 4:
        return cv2.cvtColor(array, cv2.COLOR_BGRA2RGBA)
    if array.shape[2] == 3:
        return cv2.cvtColor(array, cv2.COLOR_BGR2RGB)
    return None


def orient_array(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1…8) to an H×W[×C] array exactly as ImageOps.exif_transpose does."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(array)) if op else array


def _normalise_mode(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA", "I;16"):
        return image
    if mode in ("P", "PA"):
        transparent = mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if transparent else "RGB")
    if mode == "1":
        return image.convert("L")
    if mode in ("La", "RGBa"):
        return image.convert(mode.upper())
    if mode.startswith("I;16") or mode == "I":
        # Pillow's I→L conversion clips at 255 (white wash-out); keep 16 bits and scale later.
        values = np.asarray(image, dtype=np.int64).clip(0, 65535).astype(np.uint16)
        return Image.fromarray(values)  # uint16 2-D → I;16
    if mode == "F":
        return Image.fromarray(np.asarray(image).clip(0, 255).astype(np.uint8))
    # CMYK, YCbCr, LAB, HSV, RGBX…: Pillow's conversion to RGB (Adobe-inverted CMYK JPEGs are handled by it).
    return image.convert("RGB")


def to_planes(image: Image.Image) -> Planes:
    """Split a decoded picture into colour (3 channels) and alpha, using the 16-bit data when present."""
    high = image.info.get(HIGH_DEPTH_KEY)
    if isinstance(high, np.ndarray) and high.shape[:2] == (image.height, image.width):
        values = high.astype(np.float32) / 65535.0
        if values.shape[2] == 4:
            return Planes(np.ascontiguousarray(values[..., :3]), np.ascontiguousarray(values[..., 3]), False)
        if values.shape[2] == 2:
            return Planes(np.repeat(values[..., :1], 3, axis=2), np.ascontiguousarray(values[..., 1]), True)
        return Planes(values, None, False)
    image = _normalise_mode(image)
    if image.mode == "I;16":
        gray = np.asarray(image, dtype=np.uint16).astype(np.float32) / 65535.0
        return Planes(np.repeat(gray[..., None], 3, axis=2), None, True)
    array = np.asarray(image)
    if image.mode == "RGB":
        return Planes(array, None, False)
    if image.mode == "RGBA":
        return Planes(np.ascontiguousarray(array[..., :3]), np.ascontiguousarray(array[..., 3]), False)
    if image.mode == "L":
        return Planes(np.repeat(array[..., None], 3, axis=2), None, True)
    return Planes(np.repeat(array[..., :1], 3, axis=2), np.ascontiguousarray(array[..., 1]), True)  # LA


def from_planes(rgb: np.ndarray, alpha: np.ndarray | None, gray: bool) -> Image.Image:
    """Join uint8 colour (H×W×3) and alpha (H×W) back into a PIL image: RGB/RGBA, or L/LA for grayscale."""
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    if gray:
        image = image.convert("L")  # ITU-R 601 luma; the channels are near-identical anyway
    if alpha is None:
        return image
    image.putalpha(Image.fromarray(np.ascontiguousarray(alpha, dtype=np.uint8)))
    return image


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes; large results get a faster compression level (zlib dominates the time there).

    A picture still carrying its 16-bit pixels (the `none` type) is written as a 16-bit PNG, losslessly.
    """
    high = image.info.get(HIGH_DEPTH_KEY)
    if isinstance(high, np.ndarray) and high.shape[:2] == (image.height, image.width):
        import cv2

        order = {4: cv2.COLOR_RGBA2BGRA, 3: cv2.COLOR_RGB2BGR}.get(high.shape[2])
        pixels = cv2.cvtColor(high, order) if order is not None else high
        ok, buffer = cv2.imencode(".png", pixels)
        if ok:
            return buffer.tobytes()
    out = io.BytesIO()
    # zlib level 6 costs 8x the time of level 1 on large pictures (16 s vs 2 s at 12 MP) for ~15% less size.
    level = 6 if image.width * image.height <= 1_000_000 else 1
    image.save(out, format="PNG", compress_level=level)
    return out.getvalue()
