"""The LED depth bar and the buzzer: the station's voice during a set.

The frame loop only calls ``post()`` (a lock, a deque append and a notify: microseconds). A worker
thread owns the pins: it turns FrameStates into bar levels, plays cue animations and tone
sequences, and writes to gpiozero devices, so a slow or failing pin can never stall the camera.
Stale cues (queued longer than STALE_CUE_S) are dropped: a chirp that arrives after the lifter
is on the way up is noise.

The same code drives real pins, gpiozero's MockFactory (tests, demo) or nothing at all (GPIO
unavailable: the virtual bar still feeds the terminal and the web page).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass

from station.analysis import (DepthReached, FrameState, LifterReady, RepCompleted, SetFinished, WinkWarning)

log = logging.getLogger(__name__)

STALE_CUE_S = 0.5
# "cannot judge from here": the two end segments take turns, each lit this long. Slow and at both
# ends, so it reads as neither depth (fills from the bottom), target, wink (whole bar, fast) nor a
# fault (top segment alone).
SETUP_SWAP_S = 0.8
# the setup cue sounds when an issue appears, and not again within this long: a view gate that
# flickers between "ok" and "turn the camera" must not turn into a stream of beeps
SETUP_CUE_HOLDOFF_S = 20.0
TERMINAL_LABEL_CHARS = 60  # the terminal line stays one line; the page shows the whole label
TONE_HZ = {"high": 1760.0, "mid": 880.0, "rise": 1320.0, "low": 220.0, "fault": 110.0}
# (tone name or None for silence, seconds). Rhythm alone tells them apart on an active buzzer.
SOUNDS = {
    "ready": [("rise", 0.04)],
    "depth": [("high", 0.08)],
    "wink": [("low", 0.25), (None, 0.12), ("low", 0.25)],
    "set_clean": [("mid", 0.06), (None, 0.05), ("rise", 0.12)],
    "set_wink": [("low", 0.25), (None, 0.12), ("low", 0.25)],
    "fault": [("fault", 0.6)],
    "setup": [("mid", 0.05), (None, 0.07), ("mid", 0.05), (None, 0.07), ("mid", 0.05)],  # three pips
    # the self-test (docs/self-test.md): "next one a little deeper" is two short rising pips with a
    # clear gap (dit ... dit); "the test is over" is one long tone and two quick pips (daaah-dit-dit)
    "selftest_next": [("mid", 0.06), (None, 0.15), ("high", 0.06)],
    "selftest_done": [("rise", 0.45), (None, 0.1), ("high", 0.06), (None, 0.06), ("high", 0.06)],
}
ANIMATION_S = {"ready": 0.4, "wink": 1.5, "rep": 0.8, "set_clean": 2.0, "set_wink": 2.5, "selftest_next": 1.2,
               "selftest_done": 3.0}
SELFTEST_SWEEP_S = 0.6   # "next one deeper": one lit segment climbs the bar, twice


@dataclass(frozen=True)
class BarState:
    """What the bar shows now; the web page mirrors it."""

    levels: tuple[float, ...]
    pattern: str
    label: str

    def to_dict(self) -> dict:
        return {"levels": list(self.levels), "pattern": self.pattern, "label": self.label}


def make_pin_factory(kind: str):
    """'auto': gpiozero's own choice (lgpio on a Pi, honours GPIOZERO_PIN_FACTORY); 'mock': MockFactory."""
    if kind == "mock":
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        return MockFactory(pin_class=MockPWMPin)
    return None


class GpioOutputs:
    """gpiozero devices for the bar and the buzzer, or a clear log line and nothing."""

    def __init__(self, cfg, pin_factory=None):
        self.bar = None
        self.buzzer = None
        self.tonal = False
        self.error: str | None = None
        try:
            import warnings

            from gpiozero import Buzzer, LEDBarGraph, TonalBuzzer

            warnings.filterwarnings("ignore", message="Falling back from")  # our own log line says it once
            self.bar = LEDBarGraph(*cfg.led_pins, pwm=cfg.led_pwm, active_high=cfg.led_active_high,
                                   pin_factory=pin_factory)
            if cfg.buzzer_type == "active":
                self.buzzer = Buzzer(cfg.buzzer_pin, pin_factory=pin_factory)
            elif cfg.buzzer_type == "passive":
                self.buzzer = TonalBuzzer(cfg.buzzer_pin, octaves=3, pin_factory=pin_factory)
                self.tonal = True
        except Exception as exc:  # gpiozero raises many kinds: no factory, pin in use, no PWM...
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("GPIO unavailable (%s): running with the virtual LED bar only", self.error)
            self.close()

    @property
    def leds(self):
        return self.bar.leds if self.bar is not None else ()

    def set_tone(self, tone: str | None) -> None:
        if self.buzzer is None:
            return
        if self.tonal:
            if tone is None:
                self.buzzer.stop()
            else:
                from gpiozero.tones import Tone

                self.buzzer.play(Tone.from_frequency(TONE_HZ[tone]))
        elif tone is None:
            self.buzzer.off()
        else:
            self.buzzer.on()

    def close(self) -> None:
        for device in (self.bar, self.buzzer):
            if device is not None:
                try:
                    device.off()
                    device.close()
                except Exception:  # closing must release what it can
                    log.debug("closing %r failed", device, exc_info=True)
        self.bar = self.buzzer = None


class TerminalBar:
    """One line, redrawn in place, only on a TTY: the demo's view of the bar."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = ""

    def draw(self, bar: BarState, extra: str = "") -> None:
        if not self.enabled:
            return
        cells = "".join("█" if v >= 0.5 else ("▒" if v > 0 else "·") for v in bar.levels)
        label = bar.label if len(bar.label) <= TERMINAL_LABEL_CHARS else bar.label[:TERMINAL_LABEL_CHARS - 1] + "…"
        line = f"\r[{cells}] {label:<28s} {extra}"
        if line != self._last:
            self.stream.write(line + "\x1b[K")
            self.stream.flush()
            self._last = line

    def close(self) -> None:
        if self.enabled and self._last:
            self.stream.write("\n")
            self.stream.flush()


class Feedback:
    """Posts from the frame loop; a worker thread drives the outputs."""

    def __init__(self, cfg, pin_factory=None, terminal: TerminalBar | None = None, clock=time.monotonic):
        self.cfg = cfg
        self.count = len(cfg.led_pins)
        self._clock = clock
        self.outputs = GpioOutputs(cfg, pin_factory) if cfg.mode != "off" else None
        self.terminal = terminal
        self._cond = threading.Condition()
        self._latest: FrameState | None = None
        self._cues: deque = deque(maxlen=8)
        self._fault: str | None = None
        self._setup_issue: str | None = None     # the issue of the last posted state (cue on change)
        self._setup_cued_at = float("-inf")
        self._selftest_label: str | None = None  # while a self-test runs: "self-test rep 3 to 11°"
        self._running = True
        self._bar = BarState((0.0,) * self.count, "idle", "waiting for a lifter")
        self._written: list[float] = [0.0] * self.count
        self._animation: tuple[str, float, int] | None = None
        self._sound: list = []
        self._tone: str | None = None
        self.pin_errors = 0
        self.applied_log: list | None = None  # benchmarks: (state timestamp, perf_counter) per LED write
        self._thread = threading.Thread(target=self._run, name="feedback", daemon=True)
        self._thread.start()

    # --- called from the frame loop (must stay cheap) -----------------------------------------
    def post(self, state: FrameState, events=()) -> None:
        now = self._clock()
        with self._cond:
            self._latest = state
            issue = state.setup_issue
            if issue is not None and self._setup_issue is None and now - self._setup_cued_at >= SETUP_CUE_HOLDOFF_S:
                self._cues.append(("setup", now, None))
                self._setup_cued_at = now
            self._setup_issue = issue
            for event in events:
                cue = _cue_for(event)
                if cue:
                    self._cues.append((cue, now, event))
            self._cond.notify()

    def cue(self, name: str, label: str = "") -> None:
        """A cue that is no analysis event (the self-test's): its sound, and its animation with `label`."""
        with self._cond:
            self._cues.append((name, self._clock(), label))
            self._cond.notify()

    def set_selftest(self, label: str | None) -> None:
        """While a self-test runs, the depth label names it (the page and the terminal show it)."""
        with self._cond:
            self._selftest_label = label
            self._cond.notify()

    def set_fault(self, message: str | None) -> None:
        with self._cond:
            if message and not self._fault:
                self._cues.append(("fault", self._clock(), None))
            self._fault = message
            self._cond.notify()

    def apply_config(self, cfg) -> None:
        """Brightness and mode change live; pins and buzzer type need a restart."""
        with self._cond:
            self.cfg = cfg
            self._cond.notify()

    @property
    def bar(self) -> BarState:
        return self._bar

    def close(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify()
        self._thread.join(timeout=2)
        if self.outputs is not None:
            try:
                for led in self.outputs.leds:
                    led.off()
                self.outputs.set_tone(None)
            except Exception:
                log.debug("turning outputs off failed", exc_info=True)
            self.outputs.close()
        if self.terminal:
            self.terminal.close()

    # --- worker -----------------------------------------------------------------------------
    def _run(self) -> None:
        wait: float | None = None
        while True:
            with self._cond:
                if self._running and not self._cues:
                    self._cond.wait(timeout=wait)
                if not self._running:
                    return
                state, fault = self._latest, self._fault
                cues = list(self._cues)
                self._cues.clear()
            now = self._clock()
            for cue, posted, event in cues:
                if now - posted > STALE_CUE_S:
                    continue  # too late to mean anything
                self._start_cue(cue, now, event)
            wait = self._render(now, state, fault)

    def _start_cue(self, cue: str, now: float, event) -> None:
        if cue in ANIMATION_S:
            count = event.rep.index if isinstance(event, RepCompleted) else 0
            self._animation = (cue, now, count, event if isinstance(event, str) else "")
        if cue in SOUNDS and self.cfg.mode == "full":
            self._sound = [(tone, now + sum(d for _, d in SOUNDS[cue][:i + 1])) for i, (tone, _) in
                           enumerate(SOUNDS[cue])]

    def _render(self, now: float, state: FrameState | None, fault: str | None) -> float | None:
        """Write the outputs for `now`; return seconds until something must change (None = idle)."""
        levels, pattern, label, next_change = self._levels(now, state, fault)
        brightness = self.cfg.brightness if self.cfg.led_pwm else 1.0
        if self.cfg.mode == "off":
            levels = [0.0] * self.count
        self._bar = BarState(tuple(levels), pattern, label)
        self._write_leds([v * brightness for v in levels])
        if self.applied_log is not None and state is not None:
            self.applied_log.append((state.timestamp, time.perf_counter()))
        tone = None
        while self._sound and self._sound[0][1] <= now:
            self._sound.pop(0)
        if self._sound:
            tone = self._sound[0][0]
            next_change = min(next_change or 1e9, self._sound[0][1] - now)
        self._write_tone(tone)
        if self.terminal:
            judged = state is not None and state.thigh_deg is not None and state.setup_issue is None
            extra = f"thigh {state.thigh_deg:5.1f} deg  rep {state.rep_count}" if judged else ""
            self.terminal.draw(self._bar, extra)
        return max(0.005, next_change) if next_change is not None else None

    def _levels(self, now, state, fault):
        n = self.count
        if self._animation:
            name, start, count, text = self._animation
            elapsed = now - start
            if elapsed < ANIMATION_S[name]:
                return _animation_levels(name, elapsed, count, n, text) + (0.05,)
            self._animation = None
        if fault:
            on = (now % 1.0) < 0.5
            return [0.0] * (n - 1) + [1.0 if on else 0.0], "fault", f"check the page: {fault}", 0.5 - now % 0.5
        if state is not None and state.setup_issue is not None:
            bottom = (now % (2 * SETUP_SWAP_S)) < SETUP_SWAP_S
            levels = [0.0] * n
            levels[0 if bottom else n - 1] = 1.0
            label = state.setup_advice or "cannot judge from here: check the camera"
            return levels, "setup", label, SETUP_SWAP_S - now % SETUP_SWAP_S
        if state is None or not state.lifter_present or not state.calibrated:
            on = (now % 2.0) < 0.15
            label = "waiting for a lifter" if state is None or not state.lifter_present else "lifter in view"
            return [1.0 if on else 0.0] + [0.0] * (n - 1), "idle", label, (0.15 - now % 2.0) if on else 2.0 - now % 2.0
        lit = int(round(state.depth_fraction * (n - 1)))
        if state.target_reached:
            lit = n
        elif lit >= n:
            lit = n - 1
        label = "TARGET" if state.target_reached else f"depth {100 * state.depth_fraction:3.0f}%"
        if self._selftest_label:
            label = f"{self._selftest_label}: {label}"
        return [1.0] * lit + [0.0] * (n - lit), "depth", label, None

    def _write_leds(self, levels) -> None:
        if self.outputs is None or self.outputs.bar is None:
            return
        for i, (led, value) in enumerate(zip(self.outputs.leds, levels)):
            if value != self._written[i]:
                try:
                    led.value = value if self.cfg.led_pwm else (1 if value >= 0.5 else 0)
                    self._written[i] = value
                except Exception as exc:
                    self._pin_error(exc)

    def _write_tone(self, tone: str | None) -> None:
        if tone == self._tone or self.outputs is None:
            return
        try:
            self.outputs.set_tone(tone)
            self._tone = tone
        except Exception as exc:
            self._pin_error(exc)

    def _pin_error(self, exc) -> None:
        self.pin_errors += 1
        if self.pin_errors in (1, 100, 10000):
            log.warning("GPIO write failed (%s); feedback continues on the remaining outputs", exc)


def _cue_for(event) -> str | None:
    if isinstance(event, DepthReached):
        return "depth"
    if isinstance(event, WinkWarning):
        return "wink"
    if isinstance(event, RepCompleted):
        return "rep"
    if isinstance(event, LifterReady):
        return "ready"
    if isinstance(event, SetFinished):
        return "set_wink" if event.result.wink_onset_deg is not None else "set_clean"
    return None


def _animation_levels(name: str, elapsed: float, count: int, n: int, text: str = ""):
    if name == "ready":
        lit = min(n, int(elapsed / ANIMATION_S["ready"] * n) + 1)
        return [1.0] * lit + [0.0] * (n - lit), "ready", "ready"
    if name == "wink":
        on = (elapsed % 0.25) < 0.125
        return [1.0 if on else 0.0] * n, "wink", "BUTT WINK"
    if name == "rep":
        lit = min(count, n)
        return [1.0] * lit + [0.0] * (n - lit), "rep", f"rep {count}"
    if name == "set_clean":
        return [1.0] * n, "set_clean", "set done: clean"
    if name == "selftest_next":  # one segment climbs the bar, twice: "next one a little deeper"
        lit = min(n - 1, int((elapsed % SELFTEST_SWEEP_S) / SELFTEST_SWEEP_S * n))
        return [1.0 if i == lit else 0.0 for i in range(n)], "selftest_next", text or "self-test: a little deeper"
    if name == "selftest_done":  # odd and even segments take turns: "the test is over, see the page"
        odd = (elapsed % 0.5) < 0.25
        return ([1.0 if (i % 2 == 1) == odd else 0.0 for i in range(n)], "selftest_done",
                text or "self-test done: see the page")
    on = (elapsed % 0.5) < 0.25
    half = n // 2
    levels = ([1.0] * half + [0.0] * (n - half)) if on else ([0.0] * half + [1.0] * (n - half))
    return levels, "set_wink", "set done: back rounded"
