"""The official BOPB inference (`run.py`) as functions: scratch detection → global restoration (quality path,
or scratch path with its mask, HR variant for large pictures) → optional face enhancement and blending.

Each stage works on the uint8 pictures upstream writes to disk between its scripts, so what one stage hands
the next is exactly what upstream's next script would read back.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from ...device import exact_fp32, precision_context, resolve_device
from ...engine import InputError, RunContext
from . import preprocess as pp
from .face_align import AlignedFace, FaceAligner, FaceStageUnavailable, paste_faces
from .weights import FACE_LOAD_SIZE, CheckpointError, bopb_root, load_network, missing_checkpoints

MIN_SIDE = 16
"""Smallest input side: the scratch path rounds sides to multiples of 16, and the VAE needs a latent of 2+."""
HR_MIN_PIXELS = 768 * 768
"""Pictures with more pixels than this take the HR path (official `--HR`) when the caller does not choose:
the non-HR non-local attention grows with the square of the pixel count, which is why upstream has `--HR`."""


def _run(net: nn.Module, *args: torch.Tensor) -> torch.Tensor:
    device = next(net.parameters()).device
    # Plain fp32 (no autocast: BOPB's goldens are fp32), and TF32 off for BOPB's calls only: it costs about
    # 1e-3 against the float32 reference (README of the goldens).
    with precision_context(device, None), exact_fp32(device):
        return net(*(a.to(device) for a in args)).cpu()


def _submodule(net: nn.Module, name: str) -> nn.Module:
    """`net.<name>`, checked: the VAE's encoder and decoder halves."""
    part = net.get_submodule(name)
    return part


def detect_scratches(resized: Image.Image, unet: nn.Module) -> np.ndarray:
    """detection.py on a picture already resized to multiples of 16: the H×W×3 uint8 mask (0/255)."""
    logits = _run(unet, pp.detection_input(resized))
    return pp.detection_mask(logits, (resized.height, resized.width))


def global_restore(
    network_input: torch.Tensor,
    encoder: nn.Module,
    mapping: nn.Module,
    decoder: nn.Module,
    mask: torch.Tensor | None = None,
) -> np.ndarray:
    """Domain-A encoder → mapping (with the scratch mask if given) → domain-B decoder → saved picture."""
    latent = _run(_submodule(encoder, "encoder"), network_input)
    mapped = _run(mapping, latent) if mask is None else _run(mapping, latent, mask)
    out = _run(_submodule(decoder, "decoder"), mapped)
    # test.py saves (out + 1) / 2 with normalize=True: a min-max stretch over the whole picture.
    return pp.save_image_uint8((out + 1.0) / 2.0, normalize=True)


def restore_quality(
    image: Image.Image, encoder: nn.Module, mapping: nn.Module, decoder: nn.Module
) -> np.ndarray:
    """Quality path (`test.py --test_mode Full --Quality_restore`) on an RGB picture."""
    resized = pp.restoration_resize(image)
    return global_restore(pp.to_network_input(np.asarray(resized)), encoder, mapping, decoder)


def restore_scratch(
    resized: np.ndarray,
    mask: np.ndarray,
    encoder: nn.Module,
    mapping: nn.Module,
    decoder: nn.Module,
    hr: bool,
) -> np.ndarray:
    """Scratch path (`test.py --Scratch_and_Quality_restore [--HR]`) on detection's resized picture + mask."""
    mask = pp.as_rgb_mask(mask)
    if hr:
        mask = pp.dilate_mask(mask)
    hole = pp.hole_synthesize(resized, mask)
    return global_restore(pp.to_network_input(hole), encoder, mapping, decoder, pp.mask_tensor(mask))


def enhance_face_crop(crop: np.ndarray, generator: nn.Module, load_size: int) -> np.ndarray:
    """test_face.py on one aligned crop: resize to load_size (BICUBIC; a no-op for upstream's crops), run the
    SPADE generator, save without normalisation."""
    face = Image.fromarray(crop)
    if face.size != (load_size, load_size):
        face = face.resize((load_size, load_size), Image.Resampling.BICUBIC)
    out = _run(generator, pp.to_network_input(np.asarray(face)))
    return pp.save_image_uint8((out + 1) / 2, normalize=False)


def enhance_faces(
    image: np.ndarray, aligner: FaceAligner, generator: nn.Module, load_size: int, ctx: RunContext
) -> np.ndarray:
    """Stages 2–4 of run.py on the restored picture: align every face to a load_size² crop, enhance it, and
    blend it back. A picture without faces comes back unchanged, as upstream copies stage 1's result."""
    faces: list[AlignedFace] = aligner.align(image, load_size)
    restored: list[np.ndarray] = []
    for i, face in enumerate(faces):
        ctx.check_cancelled()
        restored.append(enhance_face_crop(face.crop, generator, load_size))
        ctx.progress(0.7 + 0.25 * (i + 1) / len(faces))
    return paste_faces(image, faces, restored) if faces else image


class BopbPipeline:
    """The official pipeline over checkpoints in the official layout under `weights_dir` (the platform's
    weights folder or its `bopb` subfolder). The device is checked (device.resolve_device) when the first
    network is loaded.

    Networks are loaded on first use and kept. One instance may serve several threads; runs are serialised
    because the networks are large and share one device.
    """

    def __init__(
        self,
        weights_dir: Path,
        device: str = "cpu",
        hr_min_pixels: int = HR_MIN_PIXELS,
        allow_pickle: bool = False,
    ) -> None:
        self.weights_dir = bopb_root(weights_dir)
        self.device = device
        self.hr_min_pixels = hr_min_pixels
        self.allow_pickle = allow_pickle
        self._nets: dict[str, nn.Module] = {}
        self._aligner: FaceAligner | None = None
        self._lock = threading.Lock()

    def _net(self, name: str) -> nn.Module:
        if name not in self._nets:
            device = str(resolve_device(self.device))
            self._nets[name] = load_network(self.weights_dir, name, device, self.allow_pickle)
        return self._nets[name]

    def restore(
        self,
        image: Image.Image,
        with_scratch: bool,
        face_enhance: bool,
        ctx: RunContext,
        hr: bool | None = None,
    ) -> Image.Image:
        """Restore one picture as `run.py [--with_scratch] [--HR]` does.

        The result has upstream's size: sides rounded to multiples of 4 (quality path) or 16 (scratch path).
        `hr` None picks the HR variant for pictures above `hr_min_pixels`; it selects the patch-attention
        mapping (scratch path) and the 512² face generator. Alpha is dropped and grey pictures become RGB,
        as upstream's `convert("RGB")`. Raises InputError for pictures or installations it cannot serve.
        """
        rgb = image.convert("RGB")
        if min(rgb.size) < MIN_SIDE:
            raise InputError(
                f"picture too small for old-photo restoration: {rgb.size}, minimum {MIN_SIDE}px a side"
            )
        missing = missing_checkpoints(self.weights_dir, with_faces=face_enhance)
        if missing:
            raise InputError(f"BOPB checkpoints missing under {self.weights_dir}: {', '.join(missing)}")
        with self._lock:
            try:
                return self._restore(rgb, with_scratch, face_enhance, ctx, hr)
            except CheckpointError as exc:
                raise InputError(str(exc)) from exc

    def _restore(
        self, rgb: Image.Image, with_scratch: bool, face_enhance: bool, ctx: RunContext, hr: bool | None
    ) -> Image.Image:
        ctx.check_cancelled()
        if with_scratch:
            resized = pp.detection_resize(rgb)
            use_hr = resized.width * resized.height > self.hr_min_pixels if hr is None else hr
            mask = detect_scratches(resized, self._net("detection"))
            ctx.progress(0.15)
            ctx.check_cancelled()
            mapping = self._net("mapping_Patch_Attention" if use_hr else "mapping_scratch")
            restored = restore_scratch(
                np.asarray(resized),
                mask,
                self._net("VAE_A_quality"),
                mapping,
                self._net("VAE_B_scratch"),
                use_hr,
            )
        else:
            use_hr = rgb.width * rgb.height > self.hr_min_pixels if hr is None else hr
            restored = restore_quality(
                rgb, self._net("VAE_A_quality"), self._net("mapping_quality"), self._net("VAE_B_quality")
            )
        ctx.progress(0.7)
        if face_enhance:
            ctx.check_cancelled()
            restored = self._faces(restored, use_hr, ctx)
        ctx.progress(1.0)
        return Image.fromarray(restored)

    def _faces(self, image: np.ndarray, hr: bool, ctx: RunContext) -> np.ndarray:
        if self._aligner is None:
            try:
                self._aligner = FaceAligner(self.weights_dir)
            except FaceStageUnavailable as exc:
                raise InputError(f"face enhancement unavailable: {exc}") from exc
        name = "FaceSR_512" if hr else "Setting_9_epoch_100"
        return enhance_faces(image, self._aligner, self._net(name), FACE_LOAD_SIZE[name], ctx)
