"""LED bar and buzzer with gpiozero's MockFactory: pin states, their order, and a frame loop that never waits."""

from __future__ import annotations

import time

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from station.analysis import FrameState, RepCompleted, SquatAnalyzer, WinkWarning
from station.config import FeedbackConfig
from station.feedback import Feedback, TerminalBar
from station.sim.lifter import CameraParams, LifterParams, simulate_set
from station.sim.noise import NoiseParams, noisy_keypoints


class RecordingPin(MockPWMPin):
    """A mock pin that keeps (perf_counter, state) of every change."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = []

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed:
            self.log.append((time.perf_counter(), value))
        return changed


class SlowPin(RecordingPin):
    def _set_state(self, value):
        time.sleep(0.05)
        super()._set_state(value)


class FailingPin(RecordingPin):
    armed = False  # set after the devices are built: the driver dies mid-set

    def _set_state(self, value):
        if FailingPin.armed:
            raise OSError("pin driver gone")
        super()._set_state(value)


def _feedback(pin_class=RecordingPin, **overrides):
    cfg = FeedbackConfig(buzzer_type="active", **overrides)
    factory = MockFactory(pin_class=pin_class)
    return Feedback(cfg, pin_factory=factory), factory, cfg


def _state(fraction=0.0, target=False, present=True, calibrated=True, t=0.0):
    return FrameState(t, present, calibrated, "descent", fraction, target, 30.0, 90.0, 30.0, 0, False, True)


def _wait_for(predicate, timeout=2.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def _lit(factory, cfg):
    return [factory.pin(p).state for p in cfg.led_pins]


def test_bar_level_follows_depth_and_last_segment_only_at_target():
    fb, factory, cfg = _feedback()
    try:
        fb.post(_state(0.5))
        assert _wait_for(lambda: sum(_lit(factory, cfg)) == round(0.5 * 9))
        assert _lit(factory, cfg) == [1] * 4 + [0] * 6
        fb.post(_state(1.0, target=False))
        assert _wait_for(lambda: sum(_lit(factory, cfg)) == 9)
        assert _lit(factory, cfg)[-1] == 0, "the top segment means target reached, nothing less"
        fb.post(_state(1.0, target=True))
        assert _wait_for(lambda: sum(_lit(factory, cfg)) == 10)
        assert fb.bar.pattern == "depth" and fb.bar.label == "TARGET"
    finally:
        fb.close()


def _drive_set(fb, truth):
    analyzer = SquatAnalyzer()
    events_seen = []
    for kp in noisy_keypoints(truth, NoiseParams(0, 0, 0, 0)):
        state, events = analyzer.update(kp)
        fb.post(state, events)
        events_seen += events
        time.sleep(0.002)  # the worker gets time to act on each cue, as at 30 fps
    return events_seen


def _buzzer_pulses(factory, cfg):
    log = factory.pin(cfg.buzzer_pin).log
    ons = [t for t, v in log if v]
    offs = [t for t, v in log if not v]
    return [(on, next((off for off in offs if off > on), None)) for on in ons]


def test_scripted_clean_set_chirps_once_per_rep_at_depth_and_never_winks():
    truth = simulate_set(LifterParams(reps=3, target_depth_deg=-10, depth_jitter_deg=0), CameraParams(), seed=1)
    fb, factory, cfg = _feedback()
    try:
        events = _drive_set(fb, truth)
        time.sleep(0.4)
    finally:
        fb.close()
    pulses = _buzzer_pulses(factory, cfg)
    depth_chirps = [p for p in pulses if p[1] is not None and p[1] - p[0] < 0.15]
    long_tones = [p for p in pulses if p[1] is not None and p[1] - p[0] >= 0.2]
    assert len([e for e in events if isinstance(e, RepCompleted)]) == 3
    # ready tick (40 ms) + 3 depth chirps (80 ms); no wink tones (250 ms)
    assert len(depth_chirps) == 1 + 3
    assert long_tones == []


def test_wink_rep_plays_the_two_low_tones_and_flashes_the_bar():
    """The wink warning as the analysis hands it over at the bottom of a rep (whether the detector
    fires on a given lifter is test_analysis.py's business, not the bar's)."""
    fb, factory, cfg = _feedback()
    patterns = []
    try:
        for i in range(20):  # down to the bottom, where the warning comes, and a moment there
            events = [WinkWarning(i / 30, 1, -4.0)] if i == 10 else []
            fb.post(_state(min(1.0, i / 10), t=i / 30), events)
            time.sleep(0.02)
            patterns.append(fb.bar.pattern)

        def long_tones():
            return [p for p in _buzzer_pulses(factory, cfg) if p[1] is not None and p[1] - p[0] >= 0.2]
        # waited for, not timed: on a loaded machine the tones come later, never shorter
        _wait_for(lambda: len(long_tones()) >= 2, timeout=10.0)
    finally:
        fb.close()
    assert len(long_tones()) >= 2, "two low tones, distinct from the 80 ms depth chirp"
    assert "wink" in patterns


def test_everything_off_and_pins_released_after_close():
    fb, factory, cfg = _feedback()
    fb.post(_state(1.0, target=True))
    assert _wait_for(lambda: sum(_lit(factory, cfg)) == 10)
    fb.close()
    assert _lit(factory, cfg) == [0] * 10
    assert factory.pin(cfg.buzzer_pin).state == 0
    from gpiozero import LED

    LED(cfg.led_pins[0], pin_factory=factory).close()  # the pin is free again


def test_slow_pins_never_delay_the_frame_loop():
    fb, factory, cfg = _feedback(pin_class=SlowPin)
    try:
        worst = 0.0
        for i in range(60):
            start = time.perf_counter()
            fb.post(_state((i % 10) / 10, t=i / 30))
            worst = max(worst, time.perf_counter() - start)
        assert worst < 0.01, f"post() took {worst * 1000:.1f} ms with 50 ms pins"
    finally:
        fb.close()


def test_failing_pins_are_logged_not_raised(caplog):
    fb, factory, cfg = _feedback(pin_class=FailingPin)
    FailingPin.armed = True
    try:
        fb.post(_state(0.8))
        assert _wait_for(lambda: fb.pin_errors > 0)
        fb.post(_state(0.2))
        assert _wait_for(lambda: fb.bar.label == "depth  20%")
    finally:
        fb.close()
        FailingPin.armed = False
    assert "GPIO write failed" in caplog.text


def test_no_gpio_keeps_a_virtual_bar(caplog):
    from gpiozero.pins.mock import MockFactory as MF

    factory = MF(pin_class=MockPWMPin)
    from gpiozero import LED

    blocker = LED(17, pin_factory=factory)  # pin 17 already taken: LEDBarGraph must fail
    cfg = FeedbackConfig()
    fb = Feedback(cfg, pin_factory=factory)
    try:
        assert fb.outputs.bar is None
        fb.post(_state(0.5))
        assert _wait_for(lambda: fb.bar.pattern == "depth")
        assert sum(v > 0 for v in fb.bar.levels) == 4 or sum(v > 0 for v in fb.bar.levels) == 5
    finally:
        fb.close()
        blocker.close()
    assert "running with the virtual LED bar only" in caplog.text


def test_lights_only_mode_is_silent_and_passive_buzzer_plays_tones():
    fb, factory, cfg = _feedback(mode="lights_only")
    try:
        from station.analysis import DepthReached

        fb.post(_state(1.0, target=True), [DepthReached(0.0, 1, -1.0)])
        assert _wait_for(lambda: sum(_lit(factory, cfg)) == 10)
        time.sleep(0.15)
        assert factory.pin(cfg.buzzer_pin).log == []
    finally:
        fb.close()
    cfg = FeedbackConfig(buzzer_type="passive")
    factory = MockFactory(pin_class=RecordingPin)
    fb = Feedback(cfg, pin_factory=factory)
    try:
        from station.analysis import DepthReached

        fb.post(_state(1.0, target=True), [DepthReached(0.0, 1, -1.0)])
        assert _wait_for(lambda: factory.pin(cfg.buzzer_pin).frequency is not None)
        assert factory.pin(cfg.buzzer_pin).frequency == pytest.approx(1760, rel=0.01)
    finally:
        fb.close()


def test_fault_blinks_the_top_segment():
    fb, factory, cfg = _feedback()
    try:
        fb.set_fault("camera stopped delivering frames")
        assert _wait_for(lambda: fb.bar.pattern == "fault")
        assert _wait_for(lambda: _lit(factory, cfg)[-1] == 1, 1.5)
        assert sum(_lit(factory, cfg)[:-1]) == 0
    finally:
        fb.close()


def test_terminal_bar_draws_only_on_a_tty():
    import io

    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = FakeTTY(), io.StringIO()
    from station.feedback import BarState

    bar = BarState((1.0, 1.0, 0.0), "depth", "depth 50%")
    TerminalBar(tty).draw(bar)
    TerminalBar(pipe).draw(bar)
    assert "██·" in tty.getvalue() and tty.getvalue().startswith("\r")
    assert pipe.getvalue() == ""


ADVICE = "Cannot judge from here: the camera sees you from the front. Turn the camera (or yourself) so it sees your side."


def _setup_state(issue="front_view", advice=ADVICE, t=0.0):
    """What the view gate hands over when it cannot judge: no depth, one sentence of advice."""
    return FrameState(t, True, False, "waiting", 0.0, False, None, None, None, 0, False, False,
                      setup_issue=issue, setup_advice=advice)


def test_cannot_judge_alternates_the_end_segments_and_clears():
    fb, factory, cfg = _feedback()
    try:
        fb.post(_setup_state())
        assert _wait_for(lambda: fb.bar.pattern == "setup")
        assert fb.bar.label == ADVICE, "the page shows the advice sentence from the bar state"
        # only an end segment, one at a time, and both ends take their turn
        seen = set()

        def ends_alternate():
            lit = _lit(factory, cfg)
            assert sum(lit[1:-1]) == 0 and sum(lit) == 1, lit
            seen.add(lit.index(1))
            return seen == {0, len(lit) - 1}

        assert _wait_for(ends_alternate, 3.0), f"only segment(s) {seen} lit"
        fb.post(_state(0.5))
        assert _wait_for(lambda: fb.bar.pattern == "depth")
        assert _wait_for(lambda: _lit(factory, cfg) == [1] * 4 + [0] * 6)
    finally:
        fb.close()


def test_cannot_judge_is_unlike_every_other_pattern():
    """Glanceable: no depth fill, no full bar, not the fault's top segment alone."""
    from station.feedback import SETUP_SWAP_S

    fb, _, _ = _feedback()
    fb.close()  # drive _levels directly at chosen moments
    frames = [fb._levels(10.0 + k * SETUP_SWAP_S, _setup_state(), None)[0] for k in range(4)]
    assert frames[0] != frames[1] and frames[0] == frames[2]
    assert {tuple(f) for f in frames} == {(1.0,) + (0.0,) * 9, (0.0,) * 9 + (1.0,)}
    fault_frames = [fb._levels(10.0 + k * 0.5, None, "camera gone")[0] for k in range(2)]
    assert all(f[0] == 0.0 for f in fault_frames), "the fault never lights the bottom segment"


def test_cannot_judge_beeps_once_when_it_appears_not_continuously():
    fb, factory, cfg = _feedback()
    try:
        fb.post(_state(0.3))
        for i in range(30):  # the issue holds for a second of frames
            fb.post(_setup_state(t=i / 30))
            time.sleep(0.005)
        fb.post(_state(0.3))      # fixed ...
        fb.post(_setup_state())   # ... and back at once: within the hold-off, no second cue
        assert _wait_for(lambda: fb.bar.pattern == "setup")
        time.sleep(0.5)
    finally:
        fb.close()
    pulses = _buzzer_pulses(factory, cfg)
    assert len(pulses) == 3, f"one cue of three short pips, got {len(pulses)} pulses"
    assert all(off is not None and off - on < 0.2 for on, off in pulses), "pips, not the wink's long tones"


def test_cannot_judge_cues_again_after_the_hold_off():
    from station.feedback import SETUP_CUE_HOLDOFF_S

    clock = [100.0]
    cfg = FeedbackConfig(buzzer_type="active")
    fb = Feedback(cfg, pin_factory=MockFactory(pin_class=RecordingPin), clock=lambda: clock[0])
    try:
        fb.post(_setup_state())
        assert fb._setup_cued_at == 100.0
        fb.post(_state(0.2))
        clock[0] += 1.0
        fb.post(_setup_state())
        assert fb._setup_cued_at == 100.0, "back within the hold-off: no second cue"
        clock[0] += SETUP_CUE_HOLDOFF_S
        fb.post(_state(0.2))
        fb.post(_setup_state())
        assert fb._setup_cued_at == clock[0], "a new appearance after the hold-off cues again"
    finally:
        fb.close()


# --- the self-test's cues (docs/self-test.md, docs/wiring.md) -----------------------------------------

def _cue_pulses(name, label="self-test"):
    fb, factory, cfg = _feedback()
    try:
        fb.post(_state(0.0))
        fb.cue(name, label)
        assert _wait_for(lambda: fb.bar.pattern == name)
        seen_label = fb.bar.label
        time.sleep(0.9)
    finally:
        fb.close()
    return _buzzer_pulses(factory, cfg), seen_label


def test_self_test_next_cue_is_two_short_pips_with_a_gap_and_a_climbing_light():
    pulses, label = _cue_pulses("selftest_next", "self-test: rep 3 a little deeper, to 11° above")
    assert len(pulses) == 2, f"two pips, got {len(pulses)}"
    assert all(off is not None and off - on < 0.12 for on, off in pulses), "short pips"
    assert pulses[1][0] - pulses[0][1] >= 0.1, "a clear gap between them (unlike the setup's quick three)"
    assert label == "self-test: rep 3 a little deeper, to 11° above"


def test_self_test_done_cue_is_a_long_tone_and_two_pips():
    pulses, label = _cue_pulses("selftest_done", "self-test done: safe depth 3° below")
    assert len(pulses) == 3
    (on0, off0), *pips = pulses
    assert off0 - on0 >= 0.35, "one long tone first"
    assert all(off - on < 0.12 for on, off in pips), "then two quick pips"
    assert label == "self-test done: safe depth 3° below"


def test_self_test_bar_patterns_are_unlike_the_others():
    from station.feedback import ANIMATION_S, SELFTEST_SWEEP_S, _animation_levels

    n = 10
    sweep = [_animation_levels("selftest_next", k * SELFTEST_SWEEP_S / n + 0.01, 0, n)[0] for k in range(n)]
    assert all(sum(levels) == 1.0 for levels in sweep), "one segment lit at a time (depth fills, ready sweeps full)"
    assert [levels.index(1.0) for levels in sweep] == list(range(n)), "it climbs from the bottom to the top"
    assert ANIMATION_S["selftest_next"] >= 2 * SELFTEST_SWEEP_S - 1e-9, "twice"
    done = [_animation_levels("selftest_done", t, 0, n)[0] for t in (0.1, 0.35)]
    assert done[0] != done[1] and all(sum(levels) == n / 2 for levels in done), "odd and even segments take turns"
    assert all(done[0][i] != done[0][i + 1] for i in range(n - 1))
    wink_halves = _animation_levels("set_wink", 0.1, 0, n)[0]
    assert wink_halves != done[0] and wink_halves != done[1], "not the back-rounded set's halves"


def test_self_test_names_itself_in_the_depth_label_and_lights_only_mutes_its_cues():
    fb, factory, cfg = _feedback(mode="lights_only")
    try:
        fb.set_selftest("self-test rep 2 to 18° above")
        fb.post(_state(0.4))
        assert _wait_for(lambda: fb.bar.label.startswith("self-test rep 2 to 18° above: depth"))
        fb.cue("selftest_next", "next")
        assert _wait_for(lambda: fb.bar.pattern == "selftest_next")
        time.sleep(0.5)
        fb.set_selftest(None)
        fb.post(_state(0.4, t=1.0))
        assert _wait_for(lambda: fb.bar.label.startswith("depth"), timeout=3.0)
    finally:
        fb.close()
    assert _buzzer_pulses(factory, cfg) == [], "lights only: no sound"
