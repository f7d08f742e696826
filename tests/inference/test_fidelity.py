"""The model cache and the descriptors of every shipped model.

Each family's network against ncnn's own runtime lives in tests/inference/models/test_<family>.py.
"""

from __future__ import annotations

import pytest

from services.inference import models

pytestmark = pytest.mark.models


def test_models_are_loaded_once_and_frozen() -> None:
    first, desc = models.load_model("WAIFU2X_PHOTO_UP2X")
    second, _ = models.load_model("WAIFU2X_PHOTO_UP2X")
    assert first is second and not first.training
    assert not any(p.requires_grad for p in first.parameters())
    assert desc.id == "WAIFU2X_PHOTO_UP2X" and desc.pad >= desc.crop


def test_every_registered_model_has_a_descriptor_that_fits() -> None:
    for model_id in models.model_ids():
        desc = models.descriptor(model_id)
        assert desc.id == model_id and desc.pad >= desc.crop
        assert desc.min_size % desc.size_multiple == 0
        assert models.model_path(model_id).with_suffix(".bin").is_file()
    with pytest.raises(KeyError):
        models.load_model("NO_SUCH_MODEL")
