"""The committed scratch net is what the script makes: its checksum, its recorded behaviour, and a short
retraining from the script with the same seed that reproduces the recorded short run within a tolerance."""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

import pytest

from services.inference.models.oldphoto import scratch_net, train_scratch
from services.inference.settings import DEFAULT_WEIGHTS_DIR

ROOT = Path(__file__).resolve().parents[3]
WEIGHTS = scratch_net.weights_path(DEFAULT_WEIGHTS_DIR)
META = WEIGHTS.with_suffix(".json")


def meta() -> dict[str, object]:
    return json.loads(META.read_text())


def test_committed_weights_match_their_checksum_everywhere() -> None:
    digest = hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()
    assert WEIGHTS.stat().st_size < 2_000_000
    assert meta()["sha256"] == digest == scratch_net.WEIGHTS_SHA256
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"\b{digest}\b", makefile), "the Makefile's install check names another checksum"


def test_committed_net_scores_what_its_training_recorded() -> None:
    scores = train_scratch.evaluate(scratch_net.load(WEIGHTS))
    recorded = meta()
    assert scores["iou"] == pytest.approx(recorded["iou"], abs=0.01)
    assert scores["false_positive"] == pytest.approx(recorded["false_positive"], abs=0.002)


def test_mask_rule_is_the_one_training_chose_on_its_validation_scenes() -> None:
    # Threshold and minimum length come from train_scratch.choose_mask_rule (validation scenes), not from
    # the benchmark's photos: the constants the detector uses are the recorded choice.
    rule = meta()["rule"]
    assert rule["threshold"] == scratch_net.THRESHOLD  # type: ignore[index]
    assert rule["min_length"] == scratch_net.MIN_LENGTH  # type: ignore[index]


def test_short_retraining_reproduces_the_recorded_short_run() -> None:
    recorded = meta()["short"]
    again = train_scratch.short_check()
    assert again["loss_tail"] == pytest.approx(recorded["loss_tail"], rel=0.05)  # type: ignore[index]
    assert again["mean_probability"] == pytest.approx(recorded["mean_probability"], abs=0.02)  # type: ignore[index]


def test_training_reads_no_image_file_and_no_bench_code() -> None:
    tree = ast.parse(Path(train_scratch.__file__).read_text())
    modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.startswith("bench") for m in modules)
    called = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
              for n in ast.walk(tree) if isinstance(n, ast.Call)}  # fmt: skip
    assert not called & {"load_clean", "imread", "open", "clean_photos"}
