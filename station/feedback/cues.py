"""What the bar and the buzzer say, as pure logic: states, events and time in; levels and a tone out.

No threads, no pins, no clock of its own: the worker passes `now`, so every pattern can be tested
by stepping time (tests/test_feedback_cues.py) and the worker stays a thin loop around it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from station.analysis import (
    AnalysisEvent,
    DepthReached,
    FrameState,
    LifterReady,
    RepCompleted,
    SetFinished,
    WinkWarning,
)
from station.analysis.summary import back_seen, judged_reps, short_reps
from station.config import FeedbackConfig

STALE_CUE_S = 0.5   # a cue that waited longer than this is noise: the lifter is already on the way up
# "cannot judge from here": the two end segments take turns, each lit this long. Slow and at both
# ends, so it reads as neither depth (fills from the bottom), target, wink (whole bar, fast) nor a
# fault (top segment alone).
SETUP_SWAP_S = 0.8
# the setup cue sounds when an issue appears, and not again within this long: a view gate that
# flickers between "ok" and "turn the camera" must not turn into a stream of beeps
SETUP_CUE_HOLDOFF_S = 20.0
TONE_HZ = {"high": 1760.0, "mid": 880.0, "rise": 1320.0, "low": 220.0, "fault": 110.0}
# (tone name or None for silence, seconds). Rhythm alone tells them apart on an active buzzer.
SOUNDS: dict[str, list[tuple[str | None, float]]] = {
    "ready": [("rise", 0.04)],
    "depth": [("high", 0.08)],
    "wink": [("low", 0.25), (None, 0.12), ("low", 0.25)],
    "set_clean": [("mid", 0.06), (None, 0.05), ("rise", 0.12)],
    "set_short": [("mid", 0.15)],
    "set_wink": [("low", 0.25), (None, 0.12), ("low", 0.25)],
    "fault": [("fault", 0.6)],
    "setup": [("mid", 0.05), (None, 0.07), ("mid", 0.05), (None, 0.07), ("mid", 0.05)],  # three pips
    # the self-test (docs/self-test.md): "next one a little deeper" is two short rising pips with a
    # clear gap (dit ... dit); "the test is over" is one long tone and two quick pips (daaah-dit-dit)
    "selftest_next": [("mid", 0.06), (None, 0.15), ("high", 0.06)],
    "selftest_done": [("rise", 0.45), (None, 0.1), ("high", 0.06), (None, 0.06), ("high", 0.06)],
}
ANIMATION_S = {"ready": 0.4, "wink": 1.5, "rep": 0.8, "set_clean": 2.0, "set_short": 2.0, "set_wink": 2.5,
               "selftest_next": 1.2, "selftest_done": 3.0}
SELFTEST_SWEEP_S = 0.6   # "next one deeper": one lit segment climbs the bar, twice


@dataclass(frozen=True)
class BarState:
    """What the bar shows now; the web page mirrors it."""

    levels: tuple[float, ...]
    pattern: str
    label: str

    def to_dict(self) -> dict:
        return {"levels": list(self.levels), "pattern": self.pattern, "label": self.label}


@dataclass(frozen=True)
class Render:
    """One step's output for the backends: the bar, the LED values to write, the tone, a detail line."""

    bar: BarState
    led_values: tuple[float, ...]    # levels times brightness; 0 or 1 unless the LEDs are PWM
    tone: str | None
    detail: str                      # "thigh  12.3 deg  rep 4" for the terminal, "" when not judged
    next_change_s: float | None      # when the picture changes by itself (None: only a post changes it)


@dataclass(frozen=True)
class _Cue:
    name: str
    posted: float
    event: object = None     # the analysis event (RepCompleted carries the rep number)
    label: str = ""          # the self-test's own words


class BarLogic:
    """The bar's and buzzer's state machine. The caller holds the lock; every method is cheap."""

    def __init__(self, cfg: FeedbackConfig):
        self.cfg = cfg
        self.count = len(cfg.led_pins)
        self.latest: FrameState | None = None
        self._cues: deque[_Cue] = deque(maxlen=8)
        self._fault: str | None = None
        self._setup_issue: str | None = None      # the issue of the last posted state (cue on change)
        self._setup_cued_at = float("-inf")
        self._selftest_label: str | None = None   # while a self-test runs: "self-test rep 3 to 11°"
        self._animation: tuple[str, float, int, str] | None = None
        self._sound: list[tuple[str | None, float]] = []
        self.bar = BarState((0.0,) * self.count, "idle", "waiting for a lifter")
        self.dirty = True    # something was posted since the last render

    # --- inputs ---------------------------------------------------------------------------------
    def post(self, state: FrameState, events: Iterable[AnalysisEvent], now: float) -> None:
        self.latest = state
        issue = state.setup_issue
        if issue is not None and self._setup_issue is None and now - self._setup_cued_at >= SETUP_CUE_HOLDOFF_S:
            self._cues.append(_Cue("setup", now))
            self._setup_cued_at = now
        self._setup_issue = issue
        for event in events:
            name = cue_for(event)
            if name:
                self._cues.append(_Cue(name, now, event))
        self.dirty = True

    def cue(self, name: str, label: str, now: float) -> None:
        self._cues.append(_Cue(name, now, label=label))
        self.dirty = True

    def set_selftest(self, label: str | None) -> None:
        self._selftest_label = label
        self.dirty = True

    def set_fault(self, message: str | None, now: float) -> None:
        if message and not self._fault:
            self._cues.append(_Cue("fault", now))
        self._fault = message
        self.dirty = True

    def configure(self, cfg: FeedbackConfig) -> None:
        """Brightness and mode change live; pins and buzzer type need a restart."""
        self.cfg = cfg
        self.dirty = True

    # --- output ---------------------------------------------------------------------------------
    def render(self, now: float) -> Render:
        self.dirty = False
        while self._cues:
            cue = self._cues.popleft()
            if now - cue.posted <= STALE_CUE_S:
                self._start(cue, now)
        state = self.latest
        levels, pattern, label, next_change = self._levels(now, state)
        if self.cfg.mode == "off":
            levels = [0.0] * self.count
        self.bar = BarState(tuple(levels), pattern, label)
        if self.cfg.led_pwm:
            values = tuple(v * self.cfg.brightness for v in levels)
        else:
            values = tuple(1.0 if v >= 0.5 else 0.0 for v in levels)
        while self._sound and self._sound[0][1] <= now:
            self._sound.pop(0)
        tone = None
        if self._sound:
            tone = self._sound[0][0]
            next_change = min(next_change if next_change is not None else 1e9, self._sound[0][1] - now)
        detail = ""
        if state is not None and state.thigh_deg is not None and state.setup_issue is None:
            detail = f"thigh {state.thigh_deg:5.1f} deg  rep {state.rep_count}"
        return Render(self.bar, values, tone, detail,
                      max(0.005, next_change) if next_change is not None else None)

    def _start(self, cue: _Cue, now: float) -> None:
        if cue.name in ANIMATION_S:
            count = 0
            if isinstance(cue.event, RepCompleted):
                count = cue.event.rep.index
            elif isinstance(cue.event, SetFinished):
                count = len(short_reps(cue.event.result))
            self._animation = (cue.name, now, count, cue.label)
        if cue.name in SOUNDS and self.cfg.mode == "full":
            elapsed = 0.0
            self._sound = []
            for tone, seconds in SOUNDS[cue.name]:
                elapsed += seconds
                self._sound.append((tone, now + elapsed))

    def _levels(self, now: float, state: FrameState | None) -> tuple[list[float], str, str, float | None]:
        n = self.count
        if self._animation:
            name, start, count, text = self._animation
            elapsed = now - start
            if elapsed < ANIMATION_S[name]:
                return animation_levels(name, elapsed, count, n, text) + (0.05,)
            self._animation = None
        if self._fault:
            on = (now % 1.0) < 0.5
            return [0.0] * (n - 1) + [1.0 if on else 0.0], "fault", f"check the page: {self._fault}", 0.5 - now % 0.5
        if state is not None and state.setup_issue is not None:
            bottom = (now % (2 * SETUP_SWAP_S)) < SETUP_SWAP_S
            levels = [0.0] * n
            levels[0 if bottom else n - 1] = 1.0
            label = state.setup_advice or "cannot judge from here: check the camera"
            return levels, "setup", label, SETUP_SWAP_S - now % SETUP_SWAP_S
        # no depth to show (before the view gate's first verdict): the lifter is in view, no more
        if state is None or not state.lifter_present or not state.calibrated or state.thigh_deg is None:
            on = (now % 2.0) < 0.15
            label = "waiting for a lifter" if state is None or not state.lifter_present else "lifter in view"
            return [1.0 if on else 0.0] + [0.0] * (n - 1), "idle", label, (0.15 - now % 2.0) if on else 2.0 - now % 2.0
        lit = int(round(state.depth_fraction * (n - 1)))
        if state.target_reached:
            lit = n
        elif lit >= n:
            lit = n - 1
        # the raw angle can pass the target a moment before the settled depth counts it reached (and
        # the top LED lights): never "100%" beside a dark top LED
        label = "TARGET" if state.target_reached else f"{min(99, int(round(100 * state.depth_fraction, 6)))}% to target"
        if self._selftest_label:
            label = f"{self._selftest_label}: {label}"
        return [1.0] * lit + [0.0] * (n - lit), "depth", label, None


def cue_for(event: AnalysisEvent) -> str | None:
    if isinstance(event, DepthReached):
        return "depth"
    if isinstance(event, WinkWarning):
        return "wink"
    if isinstance(event, RepCompleted):
        return "rep"
    if isinstance(event, LifterReady):
        return "ready"
    if isinstance(event, SetFinished):
        result = event.result
        if not back_seen(result):    # judged reps only: none in a set the view gate did not pass
            # a set the view gate did not pass, or whose lower back was never seen, is neither clean
            # nor rounded: fix the camera (the page says what was not seen)
            return "setup"
        # a flagged rep played the wink warning during the set: the set's end does not call it clean,
        # nor a set with a rep that stopped short of the target
        if any(r.wink for r in judged_reps(result)):
            return "set_wink"
        return "set_short" if short_reps(result) else "set_clean"
    return None


def animation_levels(name: str, elapsed: float, count: int, n: int,
                     text: str = "") -> tuple[list[float], str, str]:
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
    if name == "set_short":   # the whole bar but the target segment: the set is over, the target was missed
        # "4 short of target" read as 4 degrees short: it counts reps
        return [1.0] * (n - 1) + [0.0], "set_short", \
            f"set done: {count} rep{'s' if count != 1 else ''} short of target"
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
