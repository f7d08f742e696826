"""The progress line of `renovo restore`, on standard error: the picture being done, a bar over all the inputs,
how many are done (with the current one's fraction), the time spent and the time left.

Written here rather than taken from tqdm: it is the only thing the command needed of it, and importing tqdm
cost a tenth of the command's start-up on a small picture.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

WIDTH = 24


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Progress:
    """`n` of `total` done (fractions allowed); `description` and `postfix` frame the bar. On a terminal the line
    is redrawn in place; elsewhere (a log, a pipe) a line is written when the whole percentage changes."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = max(1, total)
        self.n = 0.0
        self.description = ""
        self.postfix = ""
        self.stream = stream or sys.stderr
        self._started = time.monotonic()
        self._tty = self.stream.isatty()
        self._last_percent = -1
        self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.refresh()
        if self._tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()

    def line(self) -> str:
        fraction = min(max(self.n / self.total, 0.0), 1.0)
        filled = round(fraction * WIDTH)
        name = f"{self.description}: " if self.description else ""
        return (f"{name}{fraction * 100:3.0f}%|{'█' * filled}{' ' * (WIDTH - filled)}| {self.n:.2f}/{self.total} "
                f"[{_clock(time.monotonic() - self._started)}{self.postfix}]")

    def refresh(self) -> None:
        percent = int(min(max(self.n / self.total, 0.0), 1.0) * 100)
        if self._tty:
            self.stream.write("\r\x1b[K" + self.line())
        elif percent != self._last_percent:
            self.stream.write(self.line() + "\n")
        else:
            return
        self._last_percent = percent
        self._drawn = True
        self.stream.flush()

    def write(self, message: str) -> None:
        """A message on its own line, the bar redrawn below it."""
        if self._tty and self._drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(message + "\n")
        if self._tty and self._drawn:
            self.stream.write(self.line())
        self.stream.flush()
