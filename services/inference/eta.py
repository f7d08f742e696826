"""The worker's estimate of a job's time left, from the progress its engine reports tile by tile.

At the engine's first report the pace is measured from the start of the compute (so one tile done of four
already gives an estimate); from the second report on it is measured from the first report, so that decoding
and loading the model (paid before the first tile; seconds on a worker's first job) stop counting as the
tiles' pace. The
estimate is the remaining fraction at that pace. None until something was done.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MIN_SECONDS = 0.2


class Eta:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._begin = clock()
        self._first: tuple[float, float] | None = None
        self._reports = 0
        self._estimate: tuple[float, float] | None = None  # (seconds left, at)

    def update(self, fraction: float) -> float | None:
        """Record progress `fraction` (0…1) now; the seconds left, or None while it cannot tell."""
        now = self._clock()
        if fraction <= 0:
            return self.current()
        self._reports += 1
        if self._first is None:
            self._first = (now, fraction)
        t0, f0 = self._first if self._reports >= 2 and fraction > self._first[1] else (self._begin, 0.0)
        done, spent = fraction - f0, now - t0
        if done <= 0 or spent < MIN_SECONDS:
            return self.current()
        left = max(0.0, (1.0 - fraction) * spent / done)
        self._estimate = (left, now)
        return round(left, 1)

    def current(self) -> float | None:
        """The last estimate, less the time since it was made (for heartbeats between progress reports)."""
        if self._estimate is None:
            return None
        left, at = self._estimate
        return round(max(0.0, left - (self._clock() - at)), 1)
