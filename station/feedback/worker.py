"""The LED depth bar and the buzzer: the station's voice during a set, off the frame loop.

The frame loop only calls ``post()`` (a lock, a few appends and a notify: microseconds). A worker
thread renders the pure BarLogic (station.feedback.cues) and writes the result to the output
backends (gpio, terminal, null), so a slow or failing pin can never stall the camera. Tests call
``step()`` with their own clock instead of starting the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from station.analysis import AnalysisEvent, FrameState
from station.config import FeedbackConfig
from station.feedback.cues import BarLogic, BarState, Render
from station.feedback.gpio import GpioOutputs
from station.feedback.null import NullOutputs
from station.feedback.terminal import TerminalBar

if TYPE_CHECKING:
    from gpiozero import Factory

log = logging.getLogger(__name__)

RENDER_RETRY_S = 0.2       # after a failed step, the next try waits this much longer each time ...
RENDER_RETRY_MAX_S = 2.0   # ... up to this: a lasting bug costs a log line and a try every 2 s


class Outputs(Protocol):
    error: str | None

    def show(self, frame: Render) -> None: ...

    def close(self) -> None: ...


class Feedback:
    """Posts from the frame loop; a worker thread (or the test's step()) drives the outputs."""

    def __init__(self, cfg: FeedbackConfig, pin_factory: Factory | None = None, terminal: TerminalBar | None = None,
                 clock: Callable[[], float] = time.monotonic, start: bool = True):
        self._clock = clock
        self._pin_factory = pin_factory
        self.pins: GpioOutputs | NullOutputs = GpioOutputs(cfg, pin_factory) if cfg.mode != "off" else NullOutputs()
        self.terminal = terminal
        self._outputs: list[Outputs] = [self.pins] + ([terminal] if terminal is not None else [])
        self._cond = threading.Condition()
        self._logic = BarLogic(cfg)
        self._running = True
        self.applied_log: list | None = None  # benchmarks: (state timestamp, perf_counter) per render
        self.render_errors = 0                # steps that raised (a bug): the bar went dark, the worker went on
        self.last_error: str | None = None    # the last such error while it lasts, for the page; None once well
        self._thread = threading.Thread(target=self._run, name="feedback", daemon=True) if start else None
        if self._thread is not None:
            self._thread.start()

    # --- called from the frame loop and the web threads (must stay cheap) -----------------------
    def post(self, state: FrameState, events: Iterable[AnalysisEvent] = ()) -> None:
        with self._cond:
            self._logic.post(state, events, self._clock())
            self._cond.notify()

    def cue(self, name: str, label: str = "") -> None:
        """A cue that is no analysis event (the self-test's): its sound, and its animation with `label`."""
        with self._cond:
            self._logic.cue(name, label, self._clock())
            self._cond.notify()

    def set_selftest(self, label: str | None) -> None:
        """While a self-test runs, the depth label names it (the page and the terminal show it)."""
        with self._cond:
            self._logic.set_selftest(label)
            self._cond.notify()

    def set_fault(self, message: str | None) -> None:
        with self._cond:
            self._logic.set_fault(message, self._clock())
            self._cond.notify()

    def apply_config(self, cfg: FeedbackConfig) -> None:
        if cfg.mode != "off" and isinstance(self.pins, NullOutputs):
            # started with the lights off: the pins were never claimed; claim them now, or the page
            # would show the bar working while the rack stays dark until a restart
            try:
                pins = GpioOutputs(cfg, self._pin_factory)
            except Exception as exc:      # a pin in use, no GPIO: say so, keep running dark
                log.error("cannot switch the lights on: %s", exc)
                self.set_fault(f"the LED bar and buzzer could not be switched on: {exc}")
            else:
                with self._cond:
                    self.pins = pins
                    self._outputs = [pins] + self._outputs[1:]   # a new list: step() may be iterating the old
        with self._cond:
            self._logic.configure(cfg)
            self._cond.notify()

    @property
    def cfg(self) -> FeedbackConfig:
        return self._logic.cfg

    @property
    def bar(self) -> BarState:
        return self._logic.bar

    @property
    def pin_errors(self) -> int:
        return getattr(self.pins, "pin_errors", 0)

    # --- the worker ---------------------------------------------------------------------------
    def step(self, now: float | None = None) -> Render:
        """Render for `now` and write every output; returns what was written."""
        with self._cond:
            frame = self._logic.render(self._clock() if now is None else now)
            state = self._logic.latest
        for output in self._outputs:
            output.show(frame)
        if self.applied_log is not None and state is not None:
            self.applied_log.append((state.timestamp, time.perf_counter()))
        return frame

    @property
    def alive(self) -> bool:
        """The worker thread runs (always true for a test's start=False): the watchdog's question."""
        return self._thread is None or self._thread.is_alive()

    def _run(self) -> None:
        wait: float | None = None
        failures = 0
        while True:
            with self._cond:
                # a post that lands while the last step was writing sets `dirty`: never wait past it
                if self._running and not self._logic.dirty:
                    self._cond.wait(timeout=wait)
                if not self._running:
                    return
            try:
                wait = self.step().next_change_s
                failures, self.last_error = 0, None
            except Exception as exc:
                # an uncaught error ended this thread silently: the bar froze as it was, a tone could
                # stay on, and the frame loop went on feeding the watchdog. Dark and silent, say so, retry.
                failures += 1
                self.render_errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                if failures == 1:
                    log.exception("the LED bar and buzzer failed; dark and silent until the next step works")
                self._go_dark()
                wait = min(RENDER_RETRY_MAX_S, RENDER_RETRY_S * failures)

    def _go_dark(self) -> None:
        n = len(self.cfg.led_pins)
        dark = Render(BarState((0.0,) * n, "off", "feedback error"), (0.0,) * n, None, "", None)
        for output in self._outputs:
            try:
                output.show(dark)
            except Exception:
                log.debug("%r could not go dark", output, exc_info=True)

    def close(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for output in self._outputs:
            try:
                output.close()
            except Exception:
                log.debug("closing %r failed", output, exc_info=True)
