"""Reduced-width networks with the official weights layout reproduce the official outputs (goldens' README:
≤ 5e-4 on float tensors, exact masks and uint8 pre-processing, ±1 level on saved pictures)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, cast

import numpy as np
import torch
from PIL import Image

from services.inference.models.bopb import preprocess as pp
from services.inference.models.bopb.detection_net import DetectionUNet
from services.inference.models.bopb.face_generator import SpadeFaceGenerator
from services.inference.models.bopb.mapping import MappingModel, MappingModelWithMask
from services.inference.models.bopb.mapping_hr import MappingModelWithMask2
from services.inference.models.bopb.pipeline import enhance_face_crop, restore_quality, restore_scratch
from services.inference.models.bopb.vae import GlobalGeneratorDCDCv2
from services.inference.models.bopb.weights import build_network

TOL = 5e-4


def close(a: torch.Tensor, b: torch.Tensor, tol: float = TOL) -> None:
    assert a.shape == b.shape
    err = (a.float() - b.float()).abs().max().item()
    assert err <= tol, f"max abs diff {err:.3g} > {tol}"


def uint8_close(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> None:
    a, b = np.asarray(a).astype(int), np.asarray(b).astype(int)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= 1


def loaded(factory: Callable[[], torch.nn.Module], state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """Build on the meta device (random initialisation of 74M parameters costs seconds) and load strictly."""
    with torch.device("meta"):
        net = factory()
    net.load_state_dict(state, strict=True, assign=True)
    return net.eval()


def test_vae_generator(load_golden: Any) -> None:
    g = load_golden("vae_netG")
    net = loaded(
        partial(GlobalGeneratorDCDCv2, ngf=g["options"]["ngf"], mc=g["options"]["mc"]), g["state_dict"]
    )
    assert torch.equal(pp.to_network_input(g["input_uint8"].numpy()), g["input"])
    with torch.no_grad():
        close(net(g["input"], flow="enc"), g["intermediates"]["latent"])
        close(net(g["input"], flow="enc_dec"), g["output"])


def test_mapping_quality(load_golden: Any) -> None:
    g = load_golden("mapping_quality")
    net = loaded(partial(MappingModel, mc=g["options"]["map_mc"]), g["state_dict"])
    with torch.no_grad():
        close(net(g["input"]), g["output"])


def test_mapping_scratch_nonlocal(load_golden: Any) -> None:
    g = load_golden("mapping_scratch")
    net = loaded(partial(MappingModelWithMask, mc=g["options"]["map_mc"]), g["state_dict"])
    mask = g["mask"].clone()
    with torch.no_grad():
        close(net(g["input"], mask), g["output"])
        assert torch.equal(mask, g["mask"]), "the caller's mask must not be modified"
        # Chunked attention rows give the same result as one chunk holding them all.
        net.NL.chunk_elements = 7 * 320  # type: ignore[union-attr]
        close(net(g["input"], mask), g["output"])


def test_mapping_patch_attention(load_golden: Any) -> None:
    g = load_golden("mapping_patch_attention")
    net = loaded(partial(MappingModelWithMask2, mc=g["options"]["map_mc"]), g["state_dict"])
    assert torch.equal(pp.mask_tensor(pp.dilate_mask(g["mask_undilated_uint8"].numpy())), g["mask"])
    with torch.no_grad():
        close(net(g["input"], g["mask"].clone()), g["output"])


def test_detection_unet_and_processing(load_golden: Any) -> None:
    g = load_golden("detection_unet")
    pre, post = g["preprocessing"], g["postprocessing"]
    resized = pp.detection_resize(Image.fromarray(pre["raw_uint8"].numpy()))
    assert np.array_equal(np.asarray(resized), pre["resized_uint8"].numpy())
    assert np.array_equal(pp.grayscale(resized), pre["gray_uint8"].numpy())
    close(pp.detection_input(resized), g["input"], tol=0.0)
    net = loaded(partial(DetectionUNet, wf=g["options"]["wf"], depth=g["options"]["depth"]), g["state_dict"])
    with torch.no_grad():
        logits = net(g["input"])
    close(logits, g["output"])
    prob = torch.nn.functional.interpolate(torch.sigmoid(logits), [80, 96], mode="nearest")
    close(prob, post["prob_full"])
    assert torch.equal((prob >= pp.DETECTION_THRESHOLD).float(), post["mask"])
    assert np.array_equal(pp.detection_mask(logits, (80, 96)), post["mask_png_uint8"].numpy())


def test_face_generator_both_cases(load_golden: Any) -> None:
    g = load_golden("face_generator")
    net_a = loaded(partial(SpadeFaceGenerator, ngf=8, load_size=g["options"]["load_size"]), g["state_dict"])
    net_b = loaded(
        partial(SpadeFaceGenerator, ngf=8, load_size=g["options_case_b"]["load_size"]), g["state_dict"]
    )
    for i in range(g["input"].shape[0]):
        assert torch.equal(pp.to_network_input(g["input_uint8"][i].numpy()), g["input"][i : i + 1])
    with torch.no_grad():
        out = net_a(g["input"])
        close(out, g["output"])
        close(net_b(g["input_case_b"]), g["output_case_b"])
    for i in range(out.shape[0]):
        uint8_close(pp.save_image_uint8((out[i : i + 1] + 1) / 2, normalize=False), g["output_uint8"][i])
        uint8_close(enhance_face_crop(g["input_uint8"][i].numpy(), net_a, 64), g["output_uint8"][i])


def _e2e_nets(g: dict[str, Any], mapping: str) -> tuple[torch.nn.Module, torch.nn.Module, torch.nn.Module]:
    sd = g["state_dicts"]
    return (
        build_network("VAE_A_quality", sd["netG_A"]),
        build_network(mapping, sd["mapping_net"]),
        build_network("VAE_B_scratch", sd["netG_B"]),
    )


class StageRecorder:
    """Captures what the encoder, the mapping and the decoder return while the pipeline function runs, so
    that one run checks every stage (the HR mapping is the slow part of the suite)."""

    def __init__(self, nets: tuple[torch.nn.Module, torch.nn.Module, torch.nn.Module]) -> None:
        enc, mapping, dec = nets
        stages = {"latent_A": enc.encoder, "latent_mapped": mapping, "output": dec.decoder}
        self.out: dict[str, torch.Tensor] = {}
        self.handles = [
            cast(torch.nn.Module, module).register_forward_hook(partial(self._keep, name))
            for name, module in stages.items()
        ]

    def _keep(self, name: str, module: torch.nn.Module, args: Any, output: torch.Tensor) -> None:
        self.out[name] = output.detach().clone()

    def check(self, g: dict[str, Any], saved: np.ndarray) -> None:
        for h in self.handles:
            h.remove()
        close(self.out["latent_A"], g["intermediates"]["latent_A"])
        close(self.out["latent_mapped"], g["intermediates"]["latent_mapped"])
        close(self.out["output"], g["output"])
        uint8_close(saved, g["postprocessed_uint8"])


def test_e2e_quality(load_golden: Any) -> None:
    g = load_golden("e2e_quality")
    pre = g["preprocessing"]
    resized = pp.restoration_resize(Image.fromarray(pre["raw_uint8"].numpy()))
    assert np.array_equal(np.asarray(resized), pre["resized_uint8"].numpy())
    assert torch.equal(pp.to_network_input(np.asarray(resized)), g["input"])
    nets = _e2e_nets(g, "mapping_quality")
    recorder = StageRecorder(nets)
    recorder.check(g, restore_quality(Image.fromarray(pre["raw_uint8"].numpy()), *nets))


def test_e2e_scratch(load_golden: Any) -> None:
    g = load_golden("e2e_scratch")
    pre = g["preprocessing"]
    raw, mask = pre["raw_uint8"].numpy(), pre["raw_mask_uint8"].numpy()
    assert np.array_equal(pp.hole_synthesize(raw, mask), pre["hole_synthesized_uint8"].numpy())
    assert torch.equal(pp.to_network_input(pre["hole_synthesized_uint8"].numpy()), g["input"])
    assert torch.equal(pp.mask_tensor(mask), g["mask"])
    nets = _e2e_nets(g, "mapping_scratch")
    recorder = StageRecorder(nets)
    recorder.check(g, restore_scratch(raw, mask, *nets, hr=False))


def test_e2e_scratch_hr(load_golden: Any) -> None:
    g = load_golden("e2e_scratch_hr")
    pre = g["preprocessing"]
    raw, mask = pre["raw_uint8"].numpy(), pre["raw_mask_uint8"].numpy()
    dilated = pp.dilate_mask(pp.as_rgb_mask(mask))
    assert np.array_equal(dilated[:, :, 0], pre["dilated_mask_uint8"].numpy())
    assert np.array_equal(pp.hole_synthesize(raw, dilated), pre["hole_synthesized_uint8"].numpy())
    assert torch.equal(pp.mask_tensor(dilated), g["mask"])
    nets = _e2e_nets(g, "mapping_Patch_Attention")
    recorder = StageRecorder(nets)
    recorder.check(g, restore_scratch(raw, mask, *nets, hr=True))
