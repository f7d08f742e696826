"""The worker's ETA: from the tiles' pace, through a real tiled engine run (stand-in network)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from services.inference.eta import Eta
from services.inference.models.realsr.engine import RealSREngine
from services.inference.processing import process
from tests.inference.standins import standin_loader


def test_estimate_follows_the_pace_and_leaves_out_the_start_up() -> None:
    now = [0.0]
    eta = Eta(clock=lambda: now[0])
    assert eta.current() is None
    now[0] = 10.0  # e.g. 4 s of model loading and 6 s for the first quarter
    assert eta.update(0.25) == 30.0  # from the start: 10 s per quarter
    now[0] = 16.0  # second report: the pace since the first report (6 s per quarter), the loading left out
    assert eta.update(0.5) == 12.0
    now[0] = 22.0
    assert eta.update(0.75) == 6.0
    now[0] = 25.0
    assert eta.current() == 3.0  # heartbeats between reports count down


def test_no_estimate_before_anything_is_done() -> None:
    now = [0.0]
    eta = Eta(clock=lambda: now[0])
    now[0] = 5.0
    assert eta.update(0.0) is None


def test_a_tiled_run_reports_estimates_that_count_down() -> None:
    rng = np.random.default_rng(0)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(out, "PNG")
    ticks = iter(range(10_000))
    eta = Eta(clock=lambda: float(next(ticks)))  # one second per look at the clock: no dependence on the load
    seen: list[tuple[float, float | None]] = []

    def progress(fraction: float) -> None:
        seen.append((fraction, eta.update(fraction)))

    process(RealSREngine(loader=standin_loader), out.getvalue(), "sr", {"scale": 4}, progress, lambda: False,
            tile=32)
    estimates = [e for f, e in seen if f < 1.0 and e is not None]
    assert len(estimates) >= 3, seen
    assert all(e >= 0 for e in estimates)
    # At a steady pace (one tick a report) the time left shrinks as the tiles get done.
    assert estimates[-1] < estimates[0]
