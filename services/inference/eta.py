"""The worker's estimate of a job's time left, from the progress its engine reports tile by tile.

The clock starts at the first progress report, so decoding and loading the model (paid before the first
tile) do not count as the tiles' pace; the estimate is the remaining fraction at the pace measured since. It
stays None until the job is a little way in (a pace from one tile is mostly noise).
"""

from __future__ import annotations

import time
from collections.abc import Callable

MIN_FRACTION = 0.02
MIN_SECONDS = 0.5


class Eta:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._start: tuple[float, float] | None = None
        self._estimate: tuple[float, float] | None = None  # (seconds left, at)

    def update(self, fraction: float) -> float | None:
        """Record progress `fraction` (0…1) now; the seconds left, or None while it cannot tell."""
        now = self._clock()
        if self._start is None:
            self._start = (now, fraction)
            return None
        t0, f0 = self._start
        done, spent = fraction - f0, now - t0
        if done < MIN_FRACTION or spent < MIN_SECONDS or fraction <= 0:
            return None
        left = max(0.0, (1.0 - fraction) * spent / done)
        self._estimate = (left, now)
        return round(left, 1)

    def current(self) -> float | None:
        """The last estimate, less the time since it was made (for heartbeats between progress reports)."""
        if self._estimate is None:
            return None
        left, at = self._estimate
        return round(max(0.0, left - (self._clock() - at)), 1)
