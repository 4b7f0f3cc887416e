"""The bar as one terminal line, redrawn in place, only on a TTY: the demo's view of the bar.

Log lines go to stderr on the same terminal; `LineAwareHandler` (station.app.cli) ends the bar's
line before a log line is written, so the two never run into each other.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from station.feedback.cues import Render

TERMINAL_LABEL_CHARS = 60  # the terminal line stays one line; the page shows the whole label


class TerminalBar:
    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.error: str | None = None
        self._last = ""
        self._lock = threading.Lock()

    def show(self, frame: Render) -> None:
        if not self.enabled:
            return
        bar = frame.bar
        cells = "".join("█" if v >= 0.5 else ("▒" if v > 0 else "·") for v in bar.levels)
        label = bar.label if len(bar.label) <= TERMINAL_LABEL_CHARS else bar.label[:TERMINAL_LABEL_CHARS - 1] + "…"
        line = f"\r[{cells}] {label:<28s} {frame.detail}"
        with self._lock:
            if line != self._last:
                self.stream.write(line + "\x1b[K")
                self.stream.flush()
                self._last = line

    def break_line(self) -> None:
        """Before someone else writes to the terminal: end the bar's line (it is redrawn next step)."""
        with self._lock:
            if self.enabled and self._last:
                self.stream.write("\n")
                self.stream.flush()
                self._last = ""

    def close(self) -> None:
        self.break_line()
