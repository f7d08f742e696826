"""The progress line of `renovo restore` in a log or a pipe: one line per whole percent, messages on their own
lines, the picture's name and the time left on the line."""

from __future__ import annotations

import io

from services.cli.progress import Progress


def test_a_log_gets_a_line_per_whole_percent_with_name_and_time_left() -> None:
    out = io.StringIO()
    with Progress(total=2, stream=out) as bar:
        bar.description = "a.png"
        for fraction in (0.0, 0.001, 0.5, 0.5004, 1.0):
            bar.n = fraction
            bar.postfix = ", about 3 s left" if fraction else ""
            bar.refresh()
        bar.write("renovo: b.png: not a recognised image file")
        bar.description, bar.n = "b.png", 2.0
        bar.refresh()
    lines = out.getvalue().splitlines()
    assert [line.split("%")[0].split(": ")[-1].strip() for line in lines if "%" in line] == ["0", "25", "50", "100"]
    assert "a.png:  25%|" in lines[1] and "| 0.50/2 [" in lines[1] and lines[1].endswith(", about 3 s left]")
    assert "renovo: b.png: not a recognised image file" in lines
    assert lines[-1].startswith("b.png: 100%|") and lines.count(lines[-1]) == 1


def test_a_terminal_line_is_redrawn_in_place() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    with Progress(total=1, stream=out) as bar:
        bar.n = 0.5
        bar.refresh()
        bar.write("a message")
    text = out.getvalue()
    assert text.count("\n") == 2 and "\r\x1b[K" in text and "a message\n" in text
