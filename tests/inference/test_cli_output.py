"""`renovo restore --format/--quality/--flatten`, the output file's extension deciding, metadata kept, and the
progress bar's time left."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.cli import main


def _rgba(path: Path) -> Path:
    rgba = np.zeros((24, 24, 4), np.uint8)
    rgba[..., 1] = 180
    rgba[..., 3] = np.tile(np.linspace(0, 255, 24, dtype=np.uint8), (24, 1))
    Image.fromarray(rgba).save(path)
    return path


def test_extension_decides_and_metadata_is_kept(images: Path, tmp_path: Path) -> None:
    source = images / "photo" / "wolf_gray.jpg"
    for name, fmt in (("a.webp", "WEBP"), ("b.png", "PNG"), ("c.jpeg", "JPEG")):
        # --format says png, the file name says otherwise: the name wins.
        assert main(["restore", str(source), "-o", str(tmp_path / name), "--type", "none", "--format", "png"]) == 0
        with Image.open(tmp_path / name) as result:
            assert result.format == fmt
            assert result.getexif().get(0x0132) == "2021:07:28 01:12:19"
            if fmt != "WEBP":  # WebP holds colour only: a gray profile cannot describe it
                assert result.info["icc_profile"][16:20] == b"GRAY"


def test_folder_output_follows_format_and_quality(images: Path, tmp_path: Path) -> None:
    source = images / "photo" / "00003.png"
    assert main(["restore", str(source), str(images / "edge" / "tiny_3x2.jpg"), "-o", str(tmp_path / "hi"),
                 "--type", "none", "--format", "webp", "--quality", "95"]) == 0
    assert main(["restore", str(source), "-o", str(tmp_path / "lo") + "/", "--type", "none", "--format", "jpg",
                 "--quality", "20"]) == 0
    assert sorted(p.name for p in (tmp_path / "hi").iterdir()) == ["00003.webp", "tiny_3x2.webp"]
    low = (tmp_path / "lo" / "00003.jpg").read_bytes()
    assert Image.open(io.BytesIO(low)).format == "JPEG"
    # auto on a lossless original gives PNG.
    assert main(["restore", str(source), "-o", str(tmp_path / "auto") + "/", "--type", "none"]) == 0
    assert (tmp_path / "auto" / "00003.png").is_file()


def test_jpeg_with_alpha_needs_flatten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _rgba(tmp_path / "sprite.png")
    assert main(["restore", str(source), "-o", str(tmp_path / "s.jpg"), "--type", "none"]) == 1
    assert "transparency" in capsys.readouterr().err and not (tmp_path / "s.jpg").exists()
    assert main(["restore", str(source), "-o", str(tmp_path / "s.jpg"), "--type", "none", "--flatten"]) == 0
    pixel = Image.open(tmp_path / "s.jpg").getpixel((0, 12))
    assert isinstance(pixel, tuple) and pixel[0] > 200  # transparent laid on white
    assert main(["restore", str(source), "-o", str(tmp_path / "q.jpg"), "--type", "none", "--quality", "0"]) == 2


def test_progress_bar_tells_the_time_left(images: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from services.cli.main import _duration

    assert _duration(42.2) == "42 s" and _duration(150) == "2 min" and _duration(4800) == "1 h 20 min"
    # A tiled sr2d run reports progress tile by tile: the bar shows "about … left" along the way. The picture
    # is large enough (about a second of CUNet) that the tiles' pace can be measured on a fast, idle machine.
    crop = Image.open(images / "anime" / "renpy_bg_uni_320x180_q25.jpg")
    crop.save(tmp_path / "crop.png")
    assert main(["restore", str(tmp_path / "crop.png"), "-o", str(tmp_path / "x.png"), "--type", "sr2d",
                 "--scale", "2", "--tile", "48", "--backend", "ncnn"]) == 0
    assert "left" in capsys.readouterr().err
