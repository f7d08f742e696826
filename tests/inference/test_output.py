"""Result encoding through the worker's compute (decode → engine → encode): every type, every output format,
originals with alpha, 16 bits, grayscale and CMYK, EXIF and ICC kept. Stand-in networks replace the real
models (tests/inference/standins.py); the `restore` types run Renovo's own old-photo engine on tiny inputs."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms

from services.inference.descriptor import ModelDescriptor
from services.inference.engine import Engine, InputError
from services.inference.models.identity.engine import IdentityEngine
from services.inference.models.oldphoto.engine import OldPhotoEngine
from services.inference.models.realsr.engine import RealSREngine
from services.inference.models.waifu2x.engine import Waifu2xEngine
from services.inference.output import encode, format_for_path
from services.inference.processing import process
from tests.inference.standins import IMAGES, _ScaleNet

SRGB = bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
DATE = "2019:08:17 10:11:12"
TYPES: dict[str, dict[str, Any]] = {
    "none": {}, "sr": {"scale": 2}, "sr2d": {"scale": 2, "noise": 1}, "restore": {"face_enhance": False},
    "restore_scratch": {"face_enhance": False},
}
MAGIC = {"png": b"\x89PNG", "jpeg": b"\xff\xd8", "webp": b"RIFF"}


def _exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Renovo Test Camera"
    exif[0x0132] = DATE
    exif.get_ifd(0x8769)[0x9003] = DATE  # DateTimeOriginal
    return exif


def _gradient(w: int, h: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 127 // max(w + h - 2, 1)],
                    axis=2).astype(np.uint8)


def _rgb_jpeg() -> bytes:
    out = io.BytesIO()
    Image.fromarray(_gradient(24, 18)).save(out, "JPEG", quality=95, exif=_exif(), icc_profile=SRGB)
    return out.getvalue()


def _rgba_png() -> bytes:
    rgba = np.dstack([_gradient(24, 18), np.tile(np.linspace(0, 255, 24, dtype=np.uint8), (18, 1))])
    out = io.BytesIO()
    Image.fromarray(rgba).save(out, "PNG", exif=_exif(), icc_profile=SRGB)
    return out.getvalue()


def _rgba16_png() -> bytes:
    """16-bit RGBA with alpha; the metadata from the 8-bit file written by Pillow is carried over by chunks."""
    rgba = np.dstack([_gradient(24, 18), np.tile(np.linspace(0, 255, 24, dtype=np.uint8), (18, 1))])
    high = (rgba.astype(np.uint16) * 257)
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(high, cv2.COLOR_RGBA2BGRA))
    assert ok
    from services.inference.output import _add_png_chunks

    return _add_png_chunks(buffer.tobytes(), _exif().tobytes(), SRGB)


def _gray_jpeg() -> bytes:
    """A real camera-style file: wolf_gray.jpg's EXIF (with an IFD1 thumbnail) and gray ICC profile."""
    wolf = Image.open(IMAGES / "photo" / "wolf_gray.jpg")
    out = io.BytesIO()
    wolf.crop((100, 100, 124, 118)).save(out, "JPEG", quality=95, exif=wolf.info["exif"],
                                        icc_profile=wolf.info["icc_profile"])
    return out.getvalue()


def _cmyk_jpeg() -> bytes:
    out = io.BytesIO()
    Image.fromarray(_gradient(24, 18)).convert("CMYK").save(out, "JPEG", quality=95, exif=_exif())
    return out.getvalue()


ORIGINALS: dict[str, Callable[[], bytes]] = {
    "rgb_jpeg": _rgb_jpeg, "rgba_png": _rgba_png, "rgba16_png": _rgba16_png, "gray_jpeg": _gray_jpeg,
    "cmyk_jpeg": _cmyk_jpeg,
}


def _nearest_loader(model_id: str, device: str) -> tuple[Any, ModelDescriptor]:
    """Every model as a nearest-neighbour upscaler of its scale: values (alpha included) are preserved."""
    scale = 4 if "UP4X" in model_id else 1 if "UP1X" in model_id else 2
    return _ScaleNet(scale).to(device), ModelDescriptor(model_id, "standin", scale, crop=0, pad=0)


def _engine(type_name: str, tmp_path: Path) -> Engine:
    if type_name == "none":
        return IdentityEngine()
    if type_name == "sr":
        return RealSREngine(loader=_nearest_loader)
    if type_name == "sr2d":
        return Waifu2xEngine(loader=_nearest_loader)
    return OldPhotoEngine(weights_dir=tmp_path)


def _run(type_name: str, original: bytes, tmp_path: Path, output: dict[str, Any] | None) -> tuple[Any, Image.Image]:
    processed = process(_engine(type_name, tmp_path), original, type_name, TYPES[type_name], lambda f: None,
                        lambda: False, output=output)
    return processed, Image.open(io.BytesIO(processed.data))


@pytest.mark.parametrize("original", ORIGINALS)
@pytest.mark.parametrize("fmt", ["png", "webp", "jpeg"])
@pytest.mark.parametrize("type_name", TYPES)
def test_every_type_and_format_keeps_exif_and_icc(type_name: str, fmt: str, original: str, tmp_path: Path) -> None:
    data = ORIGINALS[original]()
    source = Image.open(io.BytesIO(data))
    processed, result = _run(type_name, data, tmp_path, {"format": fmt, "flatten": True})
    assert processed.format == fmt and processed.data.startswith(MAGIC[fmt])
    assert result.format == {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG"}[fmt]
    exif = result.getexif()
    # The date people sort by survives; the orientation is applied, so the tag says upright.
    assert exif.get(0x0132) == source.getexif().get(0x0132) is not None
    assert exif.get(0x0112, 1) == 1
    assert exif.get_ifd(0x8769).get(0x9003) == source.getexif().get_ifd(0x8769).get(0x9003)
    assert not exif.get_ifd(ExifTags.IFD.IFD1), "the original's EXIF thumbnail must not be carried"
    icc = result.info.get("icc_profile")
    if original == "cmyk_jpeg":
        assert not icc  # no CMYK profile may describe RGB pixels
    elif original == "gray_jpeg" and result.mode not in ("L", "LA"):
        assert not icc  # a gray profile cannot describe colour pixels
    else:
        assert icc == source.info["icc_profile"]
    if original == "rgb_jpeg":  # orientation 6: the upright result is portrait
        assert result.height > result.width


@pytest.mark.parametrize("type_name", TYPES)
def test_alpha_is_kept_in_png_and_webp(type_name: str, tmp_path: Path) -> None:
    for fmt in ("png", "webp", "auto"):
        processed, result = _run(type_name, _rgba_png(), tmp_path, {"format": fmt})
        assert result.mode in ("RGBA", "LA"), (fmt, result.mode)
        alpha = np.asarray(result.getchannel("A"))
        assert alpha.min() < 40 and alpha.max() > 215, "the alpha gradient is the original's"
        assert processed.format == ("png" if fmt == "auto" else fmt)


@pytest.mark.parametrize("type_name", TYPES)
def test_jpeg_refuses_alpha_unless_flattened(type_name: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="transparency"):
        _run(type_name, _rgba_png(), tmp_path, {"format": "jpeg"})
    processed, result = _run(type_name, _rgba_png(), tmp_path, {"format": "jpeg", "flatten": True})
    assert result.mode in ("RGB", "L")
    # Transparent pixels were laid on white.
    assert np.asarray(result.convert("L"))[:, : max(1, result.width // 20)].mean() > 200


def test_16_bit_png_stays_16_bit_for_none() -> None:
    processed = process(IdentityEngine(), _rgba16_png(), "none", {}, lambda f: None, lambda: False,
                        output={"format": "png"})
    back = cv2.imdecode(np.frombuffer(processed.data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert back is not None and back.dtype == np.uint16
    result = Image.open(io.BytesIO(processed.data))
    assert result.info.get("icc_profile") == SRGB and result.getexif().get(0x0132) == DATE


def test_grayscale_stays_grayscale_with_its_profile(tmp_path: Path) -> None:
    for fmt in ("png", "jpeg"):
        _, result = _run("none", _gray_jpeg(), tmp_path, {"format": fmt})
        assert result.mode == "L"
        assert result.info["icc_profile"][16:20] == b"GRAY"


@pytest.mark.parametrize(("original", "expected"), [("rgb_jpeg", "jpeg"), ("gray_jpeg", "jpeg"),
                                                     ("rgba_png", "png"), ("rgba16_png", "png"),
                                                     ("cmyk_jpeg", "jpeg")])
def test_auto_is_png_for_lossless_or_alpha_else_jpeg_95(original: str, expected: str, tmp_path: Path) -> None:
    processed, result = _run("none", ORIGINALS[original](), tmp_path, None)
    assert processed.format == expected


def test_auto_is_png_for_an_opaque_lossless_original(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.fromarray(_gradient(24, 18)).save(out, "PNG")
    processed, _ = _run("sr", out.getvalue(), tmp_path, {"format": "auto"})
    assert processed.format == "png"


def test_quality_changes_the_lossy_result() -> None:
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    for fmt in ("jpeg", "webp"):
        low, high = encode(image, fmt, 30).data, encode(image, fmt, 95).data
        assert len(low) < len(high)
    lossless = encode(image, "webp", 100)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(lossless.data)).convert("RGB")), np.asarray(image))


def test_webp_refuses_what_it_cannot_hold() -> None:
    with pytest.raises(InputError, match="16383"):
        encode(Image.new("RGB", (16400, 8)), "webp")


def test_huge_exif_is_left_out_of_jpeg_not_fatal() -> None:
    from services.inference.imageio import Source

    exif = _exif()
    exif[0x010E] = "x" * 70_000  # ImageDescription larger than a JPEG APP1 segment
    encoded = encode(Image.new("RGB", (8, 8)), "jpeg", source=Source(exif.tobytes(), None, False, False))
    assert Image.open(io.BytesIO(encoded.data)).size == (8, 8)


def test_cli_rule_extension_decides() -> None:
    assert format_for_path(".JPG") == "jpeg" and format_for_path(".webp", "png") == "webp"
    assert format_for_path(".png", "jpeg") == "png" and format_for_path(".tif", "webp") == "webp"
