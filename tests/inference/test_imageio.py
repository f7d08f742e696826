"""Decoding real and edge-case files into what engines need, and back to PNG."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from services.inference.engine import InputError
from services.inference.imageio import (
    HIGH_DEPTH_KEY,
    decode,
    encode_png,
    from_planes,
    orient_array,
    to_planes,
)


def test_exif_orientation_is_applied(images: Path) -> None:
    image = decode(images / "edge" / "exif_orientation6.jpg")
    assert image.size == (48, 64)  # stored 64×48, Orientation 6
    with Image.open(images / "edge" / "exif_orientation6.jpg") as raw:
        expected = np.asarray(ImageOps.exif_transpose(raw).convert("RGB"))
    np.testing.assert_array_equal(np.asarray(image), expected)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_array_matches_pillow(orientation: int) -> None:
    pixels = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", exif=exif.tobytes())
    with Image.open(io.BytesIO(buffer.getvalue())) as stored:
        expected = np.asarray(ImageOps.exif_transpose(stored))
    np.testing.assert_array_equal(orient_array(pixels, orientation), expected)


def test_modes(images: Path) -> None:
    assert decode(images / "edge" / "cmyk.jpg").mode == "RGB"
    palette = decode(images / "edge" / "palette_transparent.png")
    assert palette.mode == "RGBA" and to_planes(palette).alpha is not None
    gif = decode(images / "edge" / "animated_3frames.gif")  # first frame
    assert gif.size == (40, 30) and gif.mode == "RGB"
    gray = to_planes(decode(images / "photo" / "wolf_gray.jpg"))
    assert gray.gray and gray.rgb.shape == (236, 236, 3) and gray.alpha is None
    opaque = to_planes(decode(images / "old" / "a.png"))
    assert opaque.alpha_constant() == 255


@pytest.mark.parametrize(
    "name,message",
    [
        ("fake.png", "not a recognised image"),
        ("truncated.jpg", "truncated"),
        ("bomb_30000x30000.png", "megapixel"),
    ],
)
def test_bad_files_raise_input_error(images: Path, name: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        decode(images / "edge" / name)


def test_pixel_limit_is_checked_before_decoding(images: Path) -> None:
    with pytest.raises(InputError, match="limit is 0 megapixels"):
        decode(images / "photo" / "00003.png", max_pixels=100_000)


def test_16bit_rgba_keeps_its_precision(images: Path) -> None:
    image = decode(images / "photo" / "tree_alpha_16bit.png")
    high = image.info[HIGH_DEPTH_KEY]
    assert high.dtype == np.uint16 and high.shape == (256, 342, 4)
    raw = cv2.imread(str(images / "photo" / "tree_alpha_16bit.png"), cv2.IMREAD_UNCHANGED)
    assert raw is not None
    np.testing.assert_array_equal(high, cv2.cvtColor(raw, cv2.COLOR_BGRA2RGBA))
    planes = to_planes(image)
    assert planes.rgb.dtype == np.float32 and planes.alpha is not None and not planes.gray
    np.testing.assert_allclose(planes.rgb, high[..., :3] / 65535.0, atol=1e-7)
    # The 8-bit view Pillow gives agrees to within one level: scaled, not truncated.
    assert np.abs(planes.rgb * 255 - np.asarray(image)[..., :3]).max() <= 1.0


def test_16bit_gray_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 256, 4096], [32768, 60000, 65535]], dtype=np.uint16)
    path = tmp_path / "gray16.png"
    cv2.imwrite(str(path), values)
    image = decode(path)
    assert image.mode == "I;16"
    planes = to_planes(image)
    assert planes.gray and planes.rgb.dtype == np.float32
    np.testing.assert_allclose(planes.rgb[..., 0], values / 65535.0, atol=1e-7)
    # The `none` type writes it back losslessly as 16 bits.
    back = cv2.imdecode(np.frombuffer(encode_png(image), np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back, values)


def test_16bit_rgb_round_trip_through_encode(tmp_path: Path) -> None:
    values = (np.random.default_rng(3).random((6, 9, 3)) * 65535).astype(np.uint16)
    path = tmp_path / "rgb16.png"
    cv2.imwrite(str(path), values)  # written as BGR
    image = decode(path)
    assert image.mode == "RGB"
    back = cv2.imdecode(np.frombuffer(encode_png(image), np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back, values)


@pytest.mark.parametrize("gray,alpha", [(False, False), (False, True), (True, False), (True, True)])
def test_from_planes_modes(gray: bool, alpha: bool) -> None:
    rgb = np.full((4, 5, 3), 100, np.uint8)
    image = from_planes(rgb, np.full((4, 5), 7, np.uint8) if alpha else None, gray)
    assert (
        image.mode
        == {(False, False): "RGB", (False, True): "RGBA", (True, False): "L", (True, True): "LA"}[
            (gray, alpha)
        ]
    )
    decoded = decode(encode_png(image))
    assert decoded.mode == image.mode and decoded.size == (5, 4)
    if alpha:
        assert to_planes(decoded).alpha_constant() == 7
