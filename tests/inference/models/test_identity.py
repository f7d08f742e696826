"""The `none` family: the picture as decoded, pixel for pixel. The independent reference is Pillow's own
EXIF transpose of the file (the decoder applies the orientation; the engine must not touch the pixels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from services.inference.engine import RunContext
from services.inference.imageio import decode
from services.inference.models.identity.engine import IdentityEngine


def test_output_is_the_upright_picture(images: Path) -> None:
    for relative in ("edge/exif_orientation6.jpg", "photo/children-alpha.png", "edge/tiny_1x1.png"):
        seen: list[float] = []
        out = IdentityEngine().run(decode(images / relative), "none", {}, RunContext(progress=seen.append))
        with Image.open(images / relative) as original:
            upright = ImageOps.exif_transpose(original)
            assert upright is not None
            expected = np.asarray(upright.convert(out.image.mode))
        np.testing.assert_array_equal(np.asarray(out.image), expected)
        assert out.engine == "identity" and seen == [1.0]
