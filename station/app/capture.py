"""Capture: a thread that reads the source and a one-slot mailbox that keeps only the newest frame.

Latency before throughput: on a live camera the frame loop always gets the newest frame and never a
backlog; file replays in --fast mode hand over every frame (lossless).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from station.sources import SourceError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CapturedFrame:
    timestamp: float        # the source's clock, seconds
    frame: np.ndarray       # HxWx3 uint8 RGB
    captured_at: float      # time.perf_counter() when capture handed it over (latency benchmarks)


class FrameMailbox:
    """One slot. Live: put() replaces an unread frame (counted as dropped). Lossless: put() waits."""

    def __init__(self, lossless: bool = False):
        self.lossless = lossless
        self._cond = threading.Condition()
        self._item: CapturedFrame | None = None
        self.dropped = 0
        self.closed = False

    def put(self, item: CapturedFrame) -> None:
        with self._cond:
            if self.lossless:
                while self._item is not None and not self.closed:
                    self._cond.wait(0.5)
            elif self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()

    def take(self, timeout: float) -> CapturedFrame | None:
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class CaptureThread(threading.Thread):
    """Pulls frames from a source; reopens a failed camera with back-off (1, 2, 4 ... 30 s)."""

    def __init__(self, open_source: Callable, mailbox: FrameMailbox, on_fault: Callable[[str | None], None],
                 retry: bool, stop: threading.Event):
        super().__init__(name="capture", daemon=True)
        self._open = open_source
        self._mailbox = mailbox
        self._on_fault = on_fault
        self._retry = retry
        self._stop_event = stop
        self.finished = threading.Event()
        self.frames = 0
        self.error: str | None = None      # why capture ended for good (None: the source just ended)
        self.error_is_config = False       # True: a file that never delivered a frame (exit 2, no restart);
        #                                    one that broke part-way may work next time (exit 1)
        self.damage: str | None = None     # what a video source skipped as damaged (its damage_report())

    def run(self) -> None:
        backoff = 1.0
        try:
            while not self._stop_event.is_set():
                try:
                    source = self._open()
                    try:
                        for timestamp, frame in source:
                            if self._stop_event.is_set():
                                return
                            if backoff > 1.0:
                                self._on_fault(None)
                                backoff = 1.0
                            self.frames += 1
                            self._mailbox.put(CapturedFrame(timestamp, frame, time.perf_counter()))
                    finally:
                        source.close()
                        self.damage = source.damage_report() if hasattr(source, "damage_report") else None
                    if not self._retry:
                        return
                    raise SourceError("the source ended")
                except SourceError as exc:
                    if not self._retry or not exc.retryable:
                        self.error, self.error_is_config = str(exc), self.frames == 0 or not exc.retryable
                        self._on_fault(str(exc))
                        return
                    log.error("%s; retrying in %.0f s", exc, backoff)
                    self._on_fault(str(exc))
                    self._stop_event.wait(backoff)
                    backoff = min(30.0, backoff * 2)
        except Exception as exc:  # a bug or a broken library (numpy ABI): say so, never carry on blind
            log.exception("capture failed")
            self.error = f"capture failed: {type(exc).__name__}: {exc}"
            self._on_fault(self.error)
        finally:
            self.finished.set()
