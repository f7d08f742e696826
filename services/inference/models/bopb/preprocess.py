"""The official BOPB pre- and post-processing, restated operation for operation.

Upstream uses torchvision's `ToTensor`, `Normalize(0.5, 0.5)` and `save_image`; their arithmetic is repeated
here in plain torch with the same operations in the same order, so results are bit-identical.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

DETECTION_MULTIPLE = 16
"""detection.py `--input_size full_size` resizes to multiples of 16 (PIL BICUBIC)."""
RESTORATION_MULTIPLE = 4
"""test.py `--test_mode Full` resizes to multiples of 4 (PIL BILINEAR)."""
DETECTION_SHORT_SIDE = 256
"""The UNet always sees the grey picture rescaled so that its short side is 256."""
DETECTION_THRESHOLD = 0.4
"""Scratch where the sigmoid probability is ≥ this."""
HR_MASK_DILATION = 3
"""`--HR` dilates the scratch mask with a 3×3 kernel this many times before hole synthesis."""


def round_to_multiple(size: float, multiple: int) -> int:
    """`int(round(size / multiple) * multiple)` with Python's round (halves go to even), as upstream."""
    return int(round(size / multiple) * multiple)


def resize_to_multiple(image: Image.Image, multiple: int, method: Image.Resampling) -> Image.Image:
    """Resize to the nearest multiples (upstream `data_transforms`); the picture is returned as is if the
    size does not change. Pillow antialiases when shrinking, which no OpenCV/torch resize reproduces."""
    w, h = image.size
    nw, nh = round_to_multiple(w, multiple), round_to_multiple(h, multiple)
    if (nw, nh) == (w, h):
        return image
    return image.resize((nw, nh), method)


def detection_resize(image: Image.Image) -> Image.Image:
    """detection.py: multiples of 16, BICUBIC; also the restoration input of the scratch path."""
    return resize_to_multiple(image, DETECTION_MULTIPLE, Image.Resampling.BICUBIC)


def restoration_resize(image: Image.Image) -> Image.Image:
    """test.py quality path ("Full"): multiples of 4, BILINEAR."""
    return resize_to_multiple(image, RESTORATION_MULTIPLE, Image.Resampling.BILINEAR)


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """torchvision `ToTensor` for uint8: HWC (or HW) → CHW float32 / 255."""
    t = torch.from_numpy(np.array(array, copy=True))  # PIL arrays are read-only
    if t.ndim == 2:
        t = t.unsqueeze(2)
    return t.permute(2, 0, 1).contiguous().to(torch.float32).div(255)


def to_network_input(array: np.ndarray) -> torch.Tensor:
    """uint8 picture → 1×C×H×W in [-1, 1]: `Normalize(0.5, 0.5)` after `ToTensor`, batch of one."""
    return to_tensor(array).sub_(0.5).div_(0.5).unsqueeze(0)


def save_image_uint8(tensor: torch.Tensor, normalize: bool) -> np.ndarray:
    """torchvision `save_image` of a 1×C×H×W (or C×H×W) tensor, returned as the H×W×3 uint8 array it writes.

    One channel is repeated to three. With `normalize`, the whole tensor is min-max stretched first (a
    constant tensor therefore comes out all zeros, as upstream).
    """
    t = tensor.detach().to("cpu", torch.float32)
    if t.ndim == 4:
        if t.size(0) != 1:
            raise ValueError("save_image_uint8 takes a batch of one")
        t = t[0]
    if t.size(0) == 1:
        t = torch.cat((t, t, t), 0)
    if normalize:
        t = t.clone()
        low, high = float(t.min()), float(t.max())
        t.clamp_(min=low, max=high)
        t.sub_(low).div_(max(high - low, 1e-5))
    out = t.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8)
    return out.numpy()


def grayscale(image: Image.Image) -> np.ndarray:
    """Pillow's `convert("L")` (ITU-R 601-2 luma with Pillow's integer rounding) as an H×W uint8 array."""
    return np.asarray(image.convert("L"))


def detection_input(resized: Image.Image) -> torch.Tensor:
    """Grey, [-1, 1], then bilinear (no antialias) to short side 256 with both sides rounded to 16."""
    gray = to_tensor(grayscale(resized)).sub_(0.5).div_(0.5).unsqueeze(0)
    h, w = gray.shape[2:]
    # Upstream names these the other way round; what matters is that the short side becomes 256.
    nh: float
    nw: float
    if h < w:
        nh, nw = DETECTION_SHORT_SIDE, w / h * DETECTION_SHORT_SIDE
    else:
        nw, nh = DETECTION_SHORT_SIDE, h / w * DETECTION_SHORT_SIDE
    size = [round_to_multiple(nh, DETECTION_MULTIPLE), round_to_multiple(nw, DETECTION_MULTIPLE)]
    return F.interpolate(gray, size, mode="bilinear")


def detection_mask(logits: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Logits → the mask PNG detection.py writes: H×W×3 uint8, 0 or 255 (all 0 for a uniform prediction)."""
    prob = torch.sigmoid(logits).cpu()
    prob = F.interpolate(prob, list(size), mode="nearest")
    return save_image_uint8((prob >= DETECTION_THRESHOLD).float(), normalize=True)


def dilate_mask(mask: np.ndarray, iterations: int = HR_MASK_DILATION) -> np.ndarray:
    """`cv2.dilate` with a 3×3 ones kernel, as test.py does under `--HR`."""
    return cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=iterations)


def as_rgb_mask(mask: np.ndarray) -> np.ndarray:
    """A H×W mask becomes the H×W×3 array upstream gets by opening the mask PNG as RGB."""
    return np.repeat(mask[:, :, None], 3, axis=2) if mask.ndim == 2 else mask


def hole_synthesize(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Scratched pixels become white: `img·(1 − m/255) + m/255·255` in float64, truncated to uint8."""
    m = as_rgb_mask(mask).astype(np.uint8) / 255
    out = image.astype(np.uint8) * (1 - m) + m * 255
    return out.astype(np.uint8)


def mask_tensor(mask: np.ndarray) -> torch.Tensor:
    """`ToTensor(mask)[:1]` with a batch axis: 1×1×H×W in {0, 1}."""
    return to_tensor(as_rgb_mask(mask))[:1].unsqueeze(0)
