"""What every source is: an iterable of (timestamp_seconds, frame), frame an HxWx3 uint8 RGB array,
plus close(); and the error a source raises when it cannot deliver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Protocol

import numpy as np

from station.errors import StationError


class SourceError(StationError):
    """The source cannot deliver frames; the message says which and why.

    `retryable`: a camera that stalled, was unplugged or is busy may come back, so the capture thread
    reopens it; one whose library cannot load (picamera2 missing, the wrong numpy) never will."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class FrameSource(Protocol):
    name: str
    nominal_fps: float

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]: ...

    def close(self) -> None: ...


class Pacer:
    """Sleeps so frames come out at their timestamps (for replaying files as if live)."""

    def __init__(self, realtime: bool):
        self.realtime = realtime
        self._start: float | None = None

    def wait(self, timestamp: float) -> None:
        if not self.realtime:
            return
        now = time.monotonic()
        if self._start is None:
            self._start = now - timestamp
        delay = self._start + timestamp - now
        if delay > 0:
            time.sleep(delay)
