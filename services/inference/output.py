"""Encoding results: PNG, WebP or JPEG, with the original's EXIF and ICC profile.

`auto` gives PNG for an original that was lossless or had alpha (or a result with alpha), else JPEG at
quality 95. JPEG cannot hold alpha: a picture with alpha is refused (InputError) unless `flatten` lays it on
white. WebP is lossy at `quality` (default 90) and lossless at quality 100. PNG ignores `quality`.

Metadata: the original's EXIF with the orientation reset to 1 (the pixels are already upright), without the
thumbnail (IFD1) and without the TIFF layout tags that described the original's pixels, with the Exif pixel
dimensions set to the result's; the ICC profile when its colour space fits the result's pixels (an RGB
profile on an RGB result, a gray one on a gray result). PNG carries them in eXIf and iCCP chunks (the 16-bit
path writes the chunks itself), JPEG in APP1/APP2, WebP in its EXIF and ICCP chunks.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .engine import InputError
from .imageio import HIGH_DEPTH_KEY, SOURCE_KEY, Source

FORMATS = ("auto", "png", "webp", "jpeg")
EXTENSIONS = {"png": "png", "webp": "webp", "jpeg": "jpg"}
CONTENT_TYPES = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}
BY_EXTENSION = {".png": "png", ".webp": "webp", ".jpg": "jpeg", ".jpeg": "jpeg"}
DEFAULT_QUALITY = {"jpeg": 95, "webp": 90}
WEBP_MAX_SIDE = 16383
JPEG_MAX_SIDE = 65500
_JPEG_MAX_EXIF = 65000  # one APP1 segment
_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
# Tags of IFD0 that describe the original file's pixel layout (TIFF), wrong for the result.
_LAYOUT_TAGS = (0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0111, 0x0115, 0x0116, 0x0117, 0x011C, 0x0201, 0x0202)


@dataclass(frozen=True)
class Encoded:
    data: bytes
    format: str
    """png, webp or jpeg."""

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA")


def choose_format(requested: str, image: Image.Image, source: Source | None) -> str:
    """Resolve `auto`; other formats are returned as they are."""
    if requested != "auto":
        return requested
    if has_alpha(image) or source is None or source.lossless or source.alpha:
        return "png"
    return "jpeg"


def encode(image: Image.Image, format: str = "auto", quality: int | None = None, *, flatten: bool = False,
           source: Source | None = None) -> Encoded:
    """Encode a result. `source` (default: what decode left in `image.info`) gives the metadata to keep."""
    if source is None:
        found = image.info.get(SOURCE_KEY)
        source = found if isinstance(found, Source) else None
    fmt = choose_format({"jpg": "jpeg"}.get(format, format), image, source)
    if fmt not in EXTENSIONS:
        raise InputError(f"unknown output format {format!r}; use one of {', '.join(FORMATS)}")
    if fmt == "jpeg" and has_alpha(image):
        if not flatten:
            raise InputError("the result has transparency, which JPEG cannot hold: choose png, webp or auto, "
                             "or ask to flatten it on white")
        image = _flatten(image)
    limit = WEBP_MAX_SIDE if fmt == "webp" else JPEG_MAX_SIDE if fmt == "jpeg" else None
    if limit and max(image.size) > limit:
        raise InputError(f"the result is {image.width}x{image.height}; {fmt.upper()} holds at most {limit} pixels "
                         "a side: choose png")
    exif = _clean_exif(source.exif, image.size) if source and source.exif else None
    icc = source.icc if source and source.icc else None
    if fmt == "png":
        return Encoded(_png(image, exif, icc), fmt)
    picture = _eight_bit(image)
    if fmt == "webp" and picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA" if has_alpha(picture) else "RGB")
    icc = icc if icc and _fits(icc, picture.mode) else None
    q = quality or DEFAULT_QUALITY[fmt]
    out = io.BytesIO()
    extra: dict[str, object] = {}
    if exif and (fmt != "jpeg" or len(exif) <= _JPEG_MAX_EXIF):
        extra["exif"] = exif
    if icc:
        extra["icc_profile"] = icc
    if fmt == "jpeg":
        picture.save(out, format="JPEG", quality=q, optimize=picture.width * picture.height <= 4_000_000,
                     subsampling=0 if q >= 90 else 2, **extra)
    else:
        big = picture.width * picture.height > 4_000_000
        if q >= 100:
            # Lossless WebP reads `quality` as effort: 100 takes minutes at 12 MP for ~15 % less than 25 does.
            picture.save(out, format="WEBP", lossless=True, quality=25, method=0, **extra)
        else:  # method 2 halves the time of 4 on large pictures for ~4 % more bytes
            picture.save(out, format="WEBP", quality=q, method=2 if big else 4, **extra)
    return Encoded(out.getvalue(), fmt)


def format_for_path(suffix: str, requested: str = "auto") -> str:
    """The CLI's rule: an output file's extension decides; otherwise the requested format."""
    return BY_EXTENSION.get(suffix.lower(), requested)


def _flatten(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA") if image.mode != "RGBA" else image
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(background, rgba).convert("RGB")
    return flat.convert("L") if image.mode == "LA" else flat


def _eight_bit(image: Image.Image) -> Image.Image:
    if image.mode == "I;16" or image.mode.startswith("I"):
        return Image.fromarray((np.asarray(image, dtype=np.uint32) >> 8).clip(0, 255).astype(np.uint8))
    return image


def _fits(icc: bytes, mode: str) -> bool:
    """Whether an ICC profile's colour space (header bytes 16…20) describes pixels of this mode."""
    space = icc[16:20] if len(icc) >= 128 else b""
    return space == (b"GRAY" if mode in ("L", "LA", "I;16") else b"RGB ")


def _clean_exif(raw: bytes, size: tuple[int, int]) -> bytes | None:
    """Orientation 1, no thumbnail, no layout tags, the result's pixel dimensions; None when unreadable."""
    exif = Image.Exif()
    try:
        exif.load(raw)
        if _ORIENTATION in exif:
            exif[_ORIENTATION] = 1
        for tag in _LAYOUT_TAGS:
            exif.pop(tag, None)
        sub = exif.get_ifd(_EXIF_IFD)
        if _PIXEL_X in sub or _PIXEL_Y in sub:
            sub[_PIXEL_X], sub[_PIXEL_Y] = size
        data = exif.tobytes()  # writes IFD0 and its sub-IFDs; IFD1 (the thumbnail) is left out
    except Exception:  # damaged EXIF: better none than a broken file
        return None
    return data if len(data) > 14 else None


def _png(image: Image.Image, exif: bytes | None, icc: bytes | None) -> bytes:
    high = image.info.get(HIGH_DEPTH_KEY)
    if isinstance(high, np.ndarray) and high.shape[:2] == (image.height, image.width):
        # 16-bit colour (the `none` type): OpenCV writes it, the metadata chunks are added here.
        import cv2  # imported here: most results are 8-bit and never need it

        order = {4: cv2.COLOR_RGBA2BGRA, 3: cv2.COLOR_RGB2BGR}.get(high.shape[2])
        pixels = cv2.cvtColor(high, order) if order is not None else high
        ok, buffer = cv2.imencode(".png", pixels)
        if ok:
            mode = "LA" if high.shape[2] == 2 else "RGB"
            return _add_png_chunks(buffer.tobytes(), exif, icc if icc and _fits(icc, mode) else None)
    out = io.BytesIO()
    # zlib level 6 costs 8x the time of level 1 on large pictures (16 s vs 2 s at 12 MP) for ~15% less size.
    level = 6 if image.width * image.height <= 1_000_000 else 1
    extra: dict[str, object] = {}
    if exif:
        extra["exif"] = exif
    if icc and _fits(icc, image.mode):
        extra["icc_profile"] = icc
    image.save(out, format="PNG", compress_level=level, **extra)
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _add_png_chunks(png: bytes, exif: bytes | None, icc: bytes | None) -> bytes:
    """Insert iCCP and eXIf right after IHDR (both must come before IDAT)."""
    end = 8 + 8 + 13 + 4  # signature, IHDR length/type, IHDR data, CRC
    extra = b""
    if icc:
        extra += _chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00"))
    return png[:end] + extra + png[end:]
