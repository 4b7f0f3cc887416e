"""The LED bar and the buzzer (station.feedback), on gpiozero's MockFactory pins.

Time is the test's own: Feedback(start=False) renders only when the test calls step(now), so the
tone lengths and blink phases below are measured on a virtual clock, never by sleeping. The few
tests that need the real worker thread wait on events (a deadlock fails by timeout, nothing is timed).
"""

from __future__ import annotations

import dataclasses
import threading

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from station.analysis import DepthReached, FrameState, RepCompleted, SquatAnalyzer, WinkWarning
from station.config import FeedbackConfig
from station.feedback import BarLogic, Feedback, TerminalBar
from station.feedback.cues import (
    ANIMATION_S,
    SELFTEST_SWEEP_S,
    SETUP_CUE_HOLDOFF_S,
    SETUP_SWAP_S,
    STALE_CUE_S,
    animation_levels,
)
from station.sim.lifter import CameraParams, LifterParams, simulate_set
from station.sim.noise import NoiseParams, noisy_keypoints


class Clock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def _feedback(pin_class=MockPWMPin, **overrides):
    cfg = FeedbackConfig(buzzer_type="active", **overrides)
    factory = MockFactory(pin_class=pin_class)
    clock = Clock()
    return Feedback(cfg, pin_factory=factory, clock=clock, start=False), factory, cfg, clock


def _state(fraction=0.0, target=False, present=True, calibrated=True, t=0.0):
    return FrameState(t, present, calibrated, "descent", fraction, target, 30.0, 90.0, 30.0, 0, False, True)


ADVICE = ("Cannot judge from here: the camera sees you from the front. "
          "Turn the camera (or yourself) so it sees your side.")


def _setup_state(issue="front_view", advice=ADVICE, t=0.0):
    """What the view gate hands over when it cannot judge: no depth, one sentence of advice."""
    return FrameState(t, True, False, "waiting", 0.0, False, None, None, None, 0, False, False,
                      setup_issue=issue, setup_advice=advice)


def _lit(factory, cfg):
    return [factory.pin(p).state for p in cfg.led_pins]


class ToneLog:
    """Steps the worker on the virtual clock, as its own loop would, and keeps the tone changes."""

    def __init__(self, fb: Feedback, clock: Clock):
        self.fb, self.clock = fb, clock
        self.changes: list[tuple[float, str | None]] = []
        self.patterns: list[str] = []

    def run_until(self, end: float, tick: float = 0.005) -> None:
        while self.clock.t < end:
            frame = self.fb.step()
            self.patterns.append(frame.bar.pattern)
            if not self.changes or self.changes[-1][1] != frame.tone:
                self.changes.append((self.clock.t, frame.tone))
            self.clock.t += min(tick, frame.next_change_s or tick)

    def pulses(self) -> list[tuple[float, float]]:
        """(start, length) of every sounded tone."""
        out = []
        for (t0, tone), (t1, _) in zip(self.changes, self.changes[1:]):
            if tone is not None:
                out.append((t0, t1 - t0))
        return out


# --- the depth bar ------------------------------------------------------------------------------

def test_bar_level_follows_depth_and_last_segment_only_at_target():
    fb, factory, cfg, clock = _feedback()
    fb.post(_state(0.5))
    fb.step()
    assert _lit(factory, cfg) == [1] * 4 + [0] * 6
    fb.post(_state(1.0, target=False))
    fb.step()
    assert _lit(factory, cfg) == [1] * 9 + [0], "the top segment means target reached, nothing less"
    fb.post(_state(1.0, target=True))
    fb.step()
    assert _lit(factory, cfg) == [1] * 10
    assert fb.bar.pattern == "depth" and fb.bar.label == "TARGET"
    factory.pin(cfg.led_pins[4]).assert_states([False, True])   # on once at half depth, never flickered
    factory.pin(cfg.led_pins[9]).assert_states([False, True])   # the top one: only at the target
    fb.close()


def test_no_depth_pattern_before_the_view_is_known():
    """For the first 0.23 s of a lifter the view gate has no verdict and the frame no depth: the bar
    said "0% to target" with the depth pattern, for a lifter filmed from the front too. It shows the
    lifter in view, as before a lifter is known."""
    fb, factory, cfg, clock = _feedback()
    unknown = dataclasses.replace(_state(0.0), thigh_deg=None)
    fb.post(unknown)
    fb.step()
    assert fb.bar.pattern == "idle" and fb.bar.label == "lifter in view"
    fb.post(_state(0.5))
    fb.step()
    assert fb.bar.pattern == "depth"
    fb.close()


def test_everything_off_and_pins_released_after_close():
    fb, factory, cfg, _ = _feedback()
    fb.post(_state(1.0, target=True))
    fb.step()
    assert sum(_lit(factory, cfg)) == 10
    fb.close()
    assert _lit(factory, cfg) == [0] * 10
    assert factory.pin(cfg.buzzer_pin).state == 0
    from gpiozero import LED

    LED(cfg.led_pins[0], pin_factory=factory).close()  # the pin is free again


def test_passive_buzzer_is_released_on_close():
    """A TonalBuzzer has stop(), not off(): close() must still release its pin."""
    cfg = FeedbackConfig(buzzer_type="passive")
    factory = MockFactory(pin_class=MockPWMPin)
    fb = Feedback(cfg, pin_factory=factory, clock=Clock(), start=False)
    fb.post(_state(1.0, target=True), [DepthReached(0.0, 1, -1.0)])
    fb.step()
    assert factory.pin(cfg.buzzer_pin).frequency == pytest.approx(1760, rel=0.01)
    fb.close()
    from gpiozero import Buzzer

    Buzzer(cfg.buzzer_pin, pin_factory=factory).close()   # raises GPIOPinInUse if close() skipped it


def test_failing_pins_are_logged_not_raised(caplog):
    class FailingPin(MockPWMPin):
        armed = False

        def _set_state(self, value):
            if FailingPin.armed:
                raise OSError("pin driver gone")
            super()._set_state(value)

    fb, factory, cfg, _ = _feedback(pin_class=FailingPin)
    FailingPin.armed = True
    try:
        fb.post(_state(0.8))
        fb.step()
        assert fb.pin_errors > 0
        fb.post(_state(0.2))
        fb.step()
        assert fb.bar.label == "20% to target", "the virtual bar (page, terminal) carries on"
    finally:
        FailingPin.armed = False
        fb.close()
    assert "GPIO write failed" in caplog.text


def test_no_gpio_keeps_a_virtual_bar_and_says_why(caplog):
    factory = MockFactory(pin_class=MockPWMPin)
    from gpiozero import LED

    blocker = LED(17, pin_factory=factory)  # pin 17 already taken: LEDBarGraph must fail
    fb = Feedback(FeedbackConfig(), pin_factory=factory, clock=Clock(), start=False)
    try:
        assert fb.pins.bar is None and "GPIO17 is already in use" in fb.pins.error
        fb.post(_state(0.5))
        fb.step()
        assert fb.bar.pattern == "depth" and sum(v > 0 for v in fb.bar.levels) == 4
    finally:
        fb.close()
        blocker.close()
    assert "running with the virtual LED bar only" in caplog.text


def test_lights_only_is_silent_and_a_passive_buzzer_plays_the_tone():
    fb, factory, cfg, clock = _feedback(mode="lights_only")
    fb.post(_state(1.0, target=True), [DepthReached(0.0, 1, -1.0)])
    log = ToneLog(fb, clock)
    log.run_until(clock.t + 0.3)
    assert sum(_lit(factory, cfg)) == 10
    assert log.pulses() == [] and factory.pin(cfg.buzzer_pin).states[-1].state == 0
    factory.pin(cfg.buzzer_pin).assert_states([False])
    fb.close()


def test_a_stale_cue_is_dropped():
    """A chirp that waited longer than STALE_CUE_S (a stalled worker) is noise: not played late."""
    fb, factory, cfg, clock = _feedback()
    fb.post(_state(1.0, target=True), [DepthReached(0.0, 1, -1.0)])
    clock.t += STALE_CUE_S + 0.1
    log = ToneLog(fb, clock)
    log.run_until(clock.t + 0.3)
    assert log.pulses() == []
    fb.close()


# --- sounds on a scripted set -------------------------------------------------------------------

def _drive_set(fb, clock, truth):
    """The analysis on a synthetic set, posting each frame at its time and stepping the worker between."""
    analyzer = SquatAnalyzer()
    log = ToneLog(fb, clock)
    events_seen = []
    start = clock.t
    for kp in noisy_keypoints(truth, NoiseParams(0, 0, 0, 0)):
        log.run_until(start + kp.timestamp)
        state, events = analyzer.update(kp)
        fb.post(state, events)
        events_seen += events
    log.run_until(clock.t + 1.0)
    return events_seen, log


def test_scripted_clean_set_chirps_once_per_rep_at_depth_and_never_winks():
    truth = simulate_set(LifterParams(reps=3, target_depth_deg=-10, depth_jitter_deg=0), CameraParams(), seed=1)
    fb, factory, cfg, clock = _feedback()
    events, log = _drive_set(fb, clock, truth)
    fb.close()
    assert len([e for e in events if isinstance(e, RepCompleted)]) == 3
    lengths = [round(length, 2) for _, length in log.pulses()]
    # the ready tick (40 ms), 3 depth chirps (80 ms), and the clean set's two notes at its end
    assert lengths[:4] == [0.04, 0.08, 0.08, 0.08]
    assert not any(length >= 0.2 for length in lengths), "no wink tones (250 ms)"
    assert factory.pin(cfg.buzzer_pin).states[-1].state == 0


def test_wink_rep_plays_two_low_tones_and_flashes_the_bar():
    """The wink warning as the analysis hands it over at the bottom of a rep (whether the detector
    fires on a given lifter is test_analysis.py's business, not the bar's)."""
    fb, factory, cfg, clock = _feedback()
    log = ToneLog(fb, clock)
    for i in range(20):  # down to the bottom, where the warning comes, and a moment there
        fb.post(_state(min(1.0, i / 10), t=i / 30), [WinkWarning(i / 30, 1, -4.0)] if i == 10 else [])
        log.run_until(clock.t + 1 / 30)
    log.run_until(clock.t + 1.0)
    fb.close()
    long_tones = [length for _, length in log.pulses() if length >= 0.2]
    assert [round(length, 2) for length in long_tones] == [0.25, 0.25], "two low tones, unlike the 80 ms chirp"
    assert "wink" in log.patterns


def test_fault_blinks_the_top_segment_alone():
    fb, factory, cfg, clock = _feedback()
    fb.set_fault("camera stopped delivering frames")
    ToneLog(fb, clock).run_until(clock.t + ANIMATION_S["set_wink"])   # past the fault tone
    tops = set()
    for k in range(4):
        clock.t = 200.0 + 0.25 + k * 0.5
        fb.step()
        lit = _lit(factory, cfg)
        assert sum(lit[:-1]) == 0 and fb.bar.pattern == "fault"
        tops.add(lit[-1])
    assert tops == {0, 1}, "the top segment blinks"
    fb.close()


def test_terminal_bar_draws_only_on_a_tty():
    import io

    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = FakeTTY(), io.StringIO()
    logic = BarLogic(FeedbackConfig(led_pins=[2, 3, 4]))
    logic.post(_state(0.5), [], 0.0)
    frame = logic.render(0.0)
    TerminalBar(tty).show(frame)
    TerminalBar(pipe).show(frame)
    assert "█··" in tty.getvalue() or "██·" in tty.getvalue()
    assert tty.getvalue().startswith("\r") and pipe.getvalue() == ""
    bar = TerminalBar(tty)
    bar.show(frame)
    bar.break_line()
    assert tty.getvalue().endswith("\n"), "a log line never runs into the bar's line"


# --- "cannot judge from here" -------------------------------------------------------------------

def test_cannot_judge_alternates_the_end_segments_and_clears():
    fb, factory, cfg, clock = _feedback()
    fb.post(_setup_state())
    fb.step()
    assert fb.bar.pattern == "setup" and fb.bar.label == ADVICE, "the page shows the advice sentence"
    seen = set()
    for k in range(4):
        clock.t = 300.0 + 0.1 + k * SETUP_SWAP_S
        fb.step()
        lit = _lit(factory, cfg)
        assert sum(lit[1:-1]) == 0 and sum(lit) == 1, lit
        seen.add(lit.index(1))
    assert seen == {0, 9}, "both ends take their turn"
    fb.post(_state(0.5))
    fb.step()
    assert fb.bar.pattern == "depth" and _lit(factory, cfg) == [1] * 4 + [0] * 6
    fb.close()


def test_cannot_judge_is_unlike_every_other_pattern():
    """Glanceable: no depth fill, no full bar, not the fault's top segment alone."""
    logic = BarLogic(FeedbackConfig())
    logic.post(_setup_state(), [], 0.0)
    frames = [logic.render(10.0 + k * SETUP_SWAP_S).bar.levels for k in range(4)]
    assert frames[0] != frames[1] and frames[0] == frames[2]
    assert set(frames) == {(1.0,) + (0.0,) * 9, (0.0,) * 9 + (1.0,)}
    faulty = BarLogic(FeedbackConfig())
    faulty.set_fault("camera gone", 0.0)
    fault_frames = [faulty.render(10.0 + k * 0.5).bar.levels for k in range(2)]
    assert all(f[0] == 0.0 for f in fault_frames), "the fault never lights the bottom segment"


def test_cannot_judge_beeps_once_when_it_appears_not_continuously():
    fb, factory, cfg, clock = _feedback()
    log = ToneLog(fb, clock)
    fb.post(_state(0.3))
    for i in range(30):  # the issue holds for a second of frames
        fb.post(_setup_state(t=i / 30))
        log.run_until(clock.t + 1 / 30)
    fb.post(_state(0.3))      # fixed ...
    fb.post(_setup_state())   # ... and back at once: within the hold-off, no second cue
    log.run_until(clock.t + 1.0)
    fb.close()
    lengths = [round(length, 2) for _, length in log.pulses()]
    assert lengths == [0.05, 0.05, 0.05], "one cue of three short pips, not the wink's long tones"


def test_cannot_judge_cues_again_after_the_hold_off():
    logic = BarLogic(FeedbackConfig())
    t = 100.0
    logic.post(_setup_state(), [], t)
    assert [c.name for c in logic._cues] == ["setup"]
    logic.render(t)
    logic.post(_state(0.2), [], t + 1.0)
    logic.post(_setup_state(), [], t + 1.0)
    assert list(logic._cues) == [], "back within the hold-off: no second cue"
    t += 1.0 + SETUP_CUE_HOLDOFF_S
    logic.post(_state(0.2), [], t)
    logic.post(_setup_state(), [], t)
    assert [c.name for c in logic._cues] == ["setup"], "a new appearance after the hold-off cues again"


# --- the self-test's cues (docs/self-test.md, docs/wiring.md) -----------------------------------

def _cue_pulses(name, label):
    fb, factory, cfg, clock = _feedback()
    fb.post(_state(0.0))
    fb.cue(name, label)
    log = ToneLog(fb, clock)
    log.run_until(clock.t + 0.9)
    label_seen = next(p for p in log.patterns if p == name) and fb.bar.label
    fb.close()
    return log.pulses(), label_seen


def test_self_test_next_cue_is_two_short_pips_with_a_gap_and_a_climbing_light():
    pulses, label = _cue_pulses("selftest_next", "self-test: rep 3 a little deeper, to 11° above")
    assert [round(length, 2) for _, length in pulses] == [0.06, 0.06], "two short pips"
    gap = pulses[1][0] - (pulses[0][0] + pulses[0][1])
    assert gap >= 0.1, "a clear gap between them (unlike the setup's quick three)"
    assert label == "self-test: rep 3 a little deeper, to 11° above"


def test_self_test_done_cue_is_a_long_tone_and_two_pips():
    pulses, label = _cue_pulses("selftest_done", "self-test done: safe depth 3° below")
    lengths = [round(length, 2) for _, length in pulses]
    assert lengths[0] >= 0.35 and lengths[1:] == [0.06, 0.06], "one long tone, then two quick pips"
    assert label == "self-test done: safe depth 3° below"


def test_self_test_bar_patterns_are_unlike_the_others():
    n = 10
    sweep = [animation_levels("selftest_next", k * SELFTEST_SWEEP_S / n + 0.01, 0, n)[0] for k in range(n)]
    assert all(sum(levels) == 1.0 for levels in sweep), "one segment lit at a time (depth fills, ready sweeps full)"
    assert [levels.index(1.0) for levels in sweep] == list(range(n)), "it climbs from the bottom to the top"
    assert ANIMATION_S["selftest_next"] >= 2 * SELFTEST_SWEEP_S - 1e-9, "twice"
    done = [animation_levels("selftest_done", t, 0, n)[0] for t in (0.1, 0.35)]
    assert done[0] != done[1] and all(sum(levels) == n / 2 for levels in done), "odd and even segments take turns"
    assert all(done[0][i] != done[0][i + 1] for i in range(n - 1))
    wink_halves = animation_levels("set_wink", 0.1, 0, n)[0]
    assert wink_halves != done[0] and wink_halves != done[1], "not the back-rounded set's halves"


def test_self_test_names_itself_in_the_depth_label_and_lights_only_mutes_its_cues():
    fb, factory, cfg, clock = _feedback(mode="lights_only")
    log = ToneLog(fb, clock)
    fb.set_selftest("self-test rep 2 to 18° above")
    fb.post(_state(0.4))
    fb.step()
    assert fb.bar.label.startswith("self-test rep 2 to 18° above: ") and fb.bar.label.endswith("% to target")
    fb.cue("selftest_next", "next")
    log.run_until(clock.t + 0.5)
    assert "selftest_next" in log.patterns
    fb.set_selftest(None)
    fb.post(_state(0.4, t=1.0))
    log.run_until(clock.t + ANIMATION_S["selftest_next"])
    assert fb.bar.label == "40% to target"
    fb.close()
    assert log.pulses() == [], "lights only: no sound"


# --- the worker thread --------------------------------------------------------------------------

class GatedPin(MockPWMPin):
    """A pin whose writes block until the test opens the gate: a slow or hung driver."""

    gate = threading.Event()
    entered = threading.Event()

    def _set_state(self, value):
        GatedPin.entered.set()
        GatedPin.gate.wait(5)
        super()._set_state(value)


def test_a_hung_pin_never_blocks_the_frame_loop_and_no_post_is_lost():
    """post() returns while the worker is stuck in a pin write; the state posted meanwhile is the
    one the bar shows once the write returns (no lost wake-up: nothing else is posted after it)."""
    GatedPin.gate.clear()
    GatedPin.entered.clear()
    cfg = FeedbackConfig(buzzer_type="none")
    factory = MockFactory(pin_class=GatedPin)
    GatedPin.gate.set()                      # building the devices writes their pins
    fb = Feedback(cfg, pin_factory=factory)
    try:
        GatedPin.gate.clear()
        GatedPin.entered.clear()
        fb.post(_state(0.3))
        assert GatedPin.entered.wait(5), "the worker writes the first state"
        posted = threading.Event()
        threading.Thread(target=lambda: (fb.post(_state(0.8)), posted.set()), daemon=True).start()
        assert posted.wait(5), "post() waited for a hung pin"
        shown = threading.Event()
        original = fb.pins.show

        def watching(frame):
            original(frame)
            if frame.bar.levels[6] == 1.0:
                shown.set()
        fb.pins.show = watching
        GatedPin.gate.set()   # nothing more is posted: the worker must render the 0.8 state on its own
        assert shown.wait(5), "the state posted during the write was lost"
    finally:
        GatedPin.gate.set()
        fb.close()


def test_the_set_end_cue_says_what_the_page_says():
    """'Set done: clean' only when the page says no rounding: not for a set the view gate did not pass
    or whose lower back was never seen (the setup cue), not after a flagged rep ("possible rounding",
    and the lifter heard the wink warning during it)."""
    from station.analysis import SetResult
    from station.analysis.summary import summarise_set
    from station.analysis.types import SetFinished
    from station.feedback.cues import cue_for

    from webseed import _rep

    def finished(issue=None, flagged=(), back_seen=True, short=()):
        reps = [_rep(i, 9.0 if i in short else -8.0, "above" if i in short else "below", back_seen=back_seen)
                for i in range(1, 6)]
        for i in flagged:
            reps[i - 1].wink, reps[i - 1].wink_onset_deg = True, -3.0
        result = SetResult(index=1, start_t=0.0, end_t=9.0, end_reason="idle", target_depth_deg=0.0, reps=reps)
        summarise_set(result, margin_deg=5.0)
        if issue:
            result.setup_issue = issue
        return SetFinished(9.0, result)
    assert cue_for(finished("front_view")) == "setup"
    assert cue_for(finished(back_seen=False)) == "setup"
    assert cue_for(finished(flagged=(2, 3))) == "set_wink"
    one = finished(flagged=(3,))
    assert "Possible" in one.result.summary and cue_for(one) == "set_wink"
    assert cue_for(finished()) == "set_clean"
    # every rep short of a parallel target (9 deg above): "clean" would say the set went as planned
    all_short = finished(short=(1, 2, 3, 4, 5))
    assert "reps 1-5 stopped short" in all_short.result.summary and cue_for(all_short) == "set_short"
    assert cue_for(finished(short=(4,))) == "set_short"
    assert cue_for(finished(short=(4,), flagged=(2, 3))) == "set_wink"


def test_a_set_with_reps_short_of_the_target_ends_on_the_bar_without_its_top_segment():
    from station.analysis import SetResult
    from station.analysis.summary import summarise_set
    from station.analysis.types import SetFinished
    from station.config import FeedbackConfig
    from station.feedback.cues import BarLogic

    from webseed import _rep

    reps = [_rep(1, -6.0, "below"), _rep(2, 12.0, "above"), _rep(3, 10.0, "above")]
    result = SetResult(index=1, start_t=0.0, end_t=9.0, end_reason="idle", target_depth_deg=0.0, reps=reps)
    summarise_set(result, margin_deg=5.0)
    logic = BarLogic(FeedbackConfig())
    logic.post(_state(0.0), [SetFinished(9.0, result)], now=100.0)
    shown = logic.render(100.0)
    n = logic.count
    assert shown.bar.pattern == "set_short" and shown.bar.label == "set done: 2 reps short of target"
    assert shown.bar.levels == (1.0,) * (n - 1) + (0.0,)
    assert shown.tone == "mid"


def test_lights_switched_on_from_the_page_after_starting_with_them_off_really_light():
    """Started with mode "off", the pins were never claimed: the page showed the bar at TARGET while
    every pin stayed low until a restart."""
    import dataclasses

    from station.config import FeedbackConfig

    factory = MockFactory(pin_class=MockPWMPin)
    fb = Feedback(FeedbackConfig(mode="off"), pin_factory=factory, start=False)
    try:
        fb.apply_config(dataclasses.replace(FeedbackConfig(), mode="full"))
        fb.post(_state(1.0, target=True))
        frame = fb.step()
        assert frame.bar.label == "TARGET"
        assert all(factory.pin(pin).state for pin in FeedbackConfig().led_pins)
    finally:
        fb.close()


def test_a_rep_cut_off_by_the_end_is_not_called_short_and_every_means_every_judged_rep():
    """ceylin_squat_side ends near the bottom of a 4th rep: "rep 4 stopped short of your target depth",
    and the set's end said so. A set with a rep not judged said "every rep reached your target"."""
    import dataclasses

    from station.analysis import SetResult
    from station.analysis.summary import summarise_set
    from station.analysis.types import SetFinished
    from station.feedback.cues import cue_for

    from webseed import _rep

    def summed(reps):
        result = SetResult(index=1, start_t=0.0, end_t=12.0, end_reason="shutdown", target_depth_deg=0.0, reps=reps)
        summarise_set(result, margin_deg=5.0)
        return result

    cut = dataclasses.replace(_rep(4, 14.0, "above"), cut_off_end=True)
    result = summed([_rep(i, -6.0, "below") for i in (1, 2, 3)] + [cut])
    assert result.summary.endswith("No lower-back rounding seen and the other reps reached your target depth. "
                                   "Rep 4 was cut off before it ended."), result.summary
    assert "short" not in result.summary and cue_for(SetFinished(12.0, result)) == "set_clean"
    assert summed([cut]).summary.endswith("No lower-back rounding seen. Rep 4 was cut off before it ended.")
    # a cut-off rep that went deep enough is not mentioned
    deep = dataclasses.replace(_rep(4, -6.0, "below"), cut_off_end=True)
    assert summed([_rep(1, -6.0, "below"), deep]).summary.endswith("every rep reached your target depth.")

    unjudged = _rep(3, -6.0, "unknown", side_view=False)
    unjudged.setup_issue = "too_dark"
    mixed = summed([_rep(i, -6.0, "below") for i in (1, 2, 4, 5)] + [unjudged])
    assert mixed.summary.endswith("No lower-back rounding seen and every judged rep reached your target depth. "
                                  "Rep 3 was not judged: the camera cannot see you clearly. Add light, keep bright "
                                  "windows out of the picture, and make sure no plates or rack uprights stand "
                                  "between it and your hips."), mixed.summary


def test_a_failing_step_leaves_the_worker_running_dark_and_silent(caplog):
    """Feedback._run had no guard: one exception in a step ended the thread silently, the bar froze
    as it was (a tone could stay on) and the frame loop went on feeding the watchdog."""
    cfg = FeedbackConfig(buzzer_type="active")
    fb = Feedback(cfg, pin_factory=MockFactory())
    try:
        lit = threading.Event()
        original_show = fb.pins.show

        def watching(frame):
            original_show(frame)
            if any(frame.led_values):
                lit.set()
        fb.pins.show = watching
        fb.post(_state(0.8))
        assert lit.wait(5), "the bar lights first"
        assert any(led.value for led in fb.pins.bar.leds)
        failed, recovered = threading.Event(), threading.Event()
        original_render = fb._logic.render

        def render_once_broken(now):
            if not failed.is_set():
                failed.set()
                raise RuntimeError("a bug in a pattern")
            frame = original_render(now)
            recovered.set()
            return frame
        fb._logic.render = render_once_broken
        fb.post(_state(0.9))
        assert failed.wait(5) and recovered.wait(5), "the worker went on after the error"
        assert fb.alive and fb.render_errors == 1
        assert "the LED bar and buzzer failed" in caplog.text and "a bug in a pattern" in caplog.text
    finally:
        fb.close()


def test_the_bar_goes_dark_and_silent_when_a_step_fails():
    cfg = FeedbackConfig(buzzer_type="active")
    fb = Feedback(cfg, pin_factory=MockFactory(), start=False)
    try:
        fb.cue("depth", "depth reached")    # the chirp: a tone on at the step
        fb.post(_state(0.8))
        assert fb.step(0.0).tone is not None
        assert any(led.value for led in fb.pins.bar.leds) and fb.pins.buzzer.value
        fb._go_dark()
        assert not any(led.value for led in fb.pins.bar.leds) and not fb.pins.buzzer.value
    finally:
        fb.close()


@pytest.mark.parametrize("fraction, said, top_led", [(0.996, "99% to target", 0.0), (1.02, "99% to target", 0.0),
                                                     (0.29, "29% to target", 0.0)])
def test_the_label_never_says_100_percent_beside_a_dark_top_led(fraction, said, top_led):
    """the raw angle passes the target a moment before the settled depth counts it reached: the page
    read "100% to target" while the top LED stayed dark (30 of 1090 samples of a demo run)"""
    fb, _, _, _ = _feedback()
    fb.post(_state(fraction))
    fb.step()
    assert fb.bar.label == said and fb.bar.levels[-1] == top_led
    fb.post(_state(fraction, target=True, t=0.1))
    fb.step()
    assert fb.bar.label == "TARGET" and fb.bar.levels[-1] == 1.0
    fb.close()
