"""`renovo restore` on real files: outputs, one-line errors, exit status."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from services.cli import main


def test_none_writes_oriented_results_into_a_folder(images: Path, tmp_path: Path) -> None:
    inputs = [images / "edge" / "exif_orientation6.jpg", images / "edge" / "cmyk.jpg"]
    assert main(["restore", *map(str, inputs), "-o", str(tmp_path / "out"), "--type", "none"]) == 0
    # --format auto (the default): JPEG originals give JPEG results.
    with Image.open(tmp_path / "out" / "exif_orientation6.jpg") as result:
        assert result.format == "JPEG" and result.size == (48, 64)
    assert (tmp_path / "out" / "cmyk.jpg").is_file()


def test_bad_files_fail_clearly_and_the_rest_go_on(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [
        images / "edge" / "fake.png",
        images / "edge" / "tiny_3x2.jpg",
        images / "edge" / "truncated.jpg",
    ]
    status = main(["restore", *map(str, inputs), "-o", str(tmp_path), "--type", "none"])
    assert status == 1
    err = capsys.readouterr().err
    assert "fake.png: not a recognised image file" in err and "truncated.jpg: image file is damaged" in err
    assert "2 of 3 input(s) failed" in err
    assert (tmp_path / "tiny_3x2.jpg").is_file() and not (tmp_path / "fake.png").exists()


def test_missing_file_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["restore", str(tmp_path / "nope.png"), "-o", str(tmp_path / "x.png"), "--type", "none"]) == 1
    assert main(["restore", "a.png", "-o", "b.png", "--type", "sr", "--scale", "5"]) == 2
    assert main(["restore", "a.png", "-o", "b.png", "--type", "sr", "--noise", "1"]) == 2
    assert "unknown option" in capsys.readouterr().err


@pytest.mark.models
def test_sr2d_with_the_real_model(images: Path, tmp_path: Path) -> None:
    source = tmp_path / "small.png"
    with Image.open(images / "anime" / "renpy_lucy_happy.png") as art:
        art.crop((150, 100, 182, 124)).save(source)  # RGBA, 32×24, sprite edge
    target = tmp_path / "big.png"
    status = main(
        ["restore", str(source), "-o", str(target), "--type", "sr2d", "--scale", "2", "--noise", "1"]
    )
    assert status == 0
    with Image.open(target) as result:
        assert result.size == (64, 48) and result.mode == "RGBA"


def test_admin_goes_through_the_jobs_service_entry_point(capfd: pytest.CaptureFixture[str]) -> None:
    """`renovo admin` runs the jobs service's own command (`python -m services.jobs.admin`), in its own process:
    the CLI does not import another service's insides."""
    import subprocess
    import sys

    assert main(["admin", "--help"]) == 0
    assert "dead-letters" in capfd.readouterr().out
    probe = "import sys; from services.cli import main; main(['admin', '--help']); print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "services.jobs" not in loaded


@pytest.mark.models
def test_a_picture_on_the_ncnn_backend_loads_no_module_it_does_not_need(images: Path, tmp_path: Path) -> None:
    """Start-up is a real share of a small picture's time (bench/models_bench.py --process): `sr2d` on the CPU's
    default backend runs without PyTorch, OpenCV (only 16-bit PNGs and resizing passes need it) or the worker's
    metrics."""
    import subprocess
    import sys

    source = tmp_path / "small.png"
    with Image.open(images / "anime" / "renpy_lucy_happy.png") as art:
        art.convert("RGB").crop((150, 100, 182, 124)).save(source)
    target = tmp_path / "big.png"
    probe = (
        "import sys; from services.cli import main; "
        f"status = main(['restore', {str(source)!r}, '-o', {str(target)!r}, '--type', 'sr2d', '--scale', '2', "
        "'--backend', 'ncnn']); print(status, sorted(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    status, loaded = out.split(" ", 1)
    assert status == "0" and target.is_file()
    for heavy in ("'torch'", "'cv2'", "'prometheus_client'", "'importlib.resources'"):
        assert heavy not in loaded, heavy
