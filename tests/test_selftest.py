"""The self-test's logic (station/analysis/selftest.py) with hand-made RepResults, and the synthetic self-test
lifter through the real analysis at the keypoint level (the demo test in test_runner.py adds the model)."""

from __future__ import annotations

import numpy as np
import pytest

from station.analysis import AnalysisParams, RepResult, RepSeries
from station.analysis.selftest import (
    CANCELLED,
    IDLE_LIMIT_S,
    INCOMPLETE,
    NO_ROUNDING,
    ROUNDING,
    SelfTestPlan,
    SelfTestTracker,
    evidence,
)

from selftestseed import run_selftest_programme

PLAN = SelfTestPlan()


def rep(depth, wink=False, onset=None, confidence=0.0, side_view=True, wink_judged=True, start=None, index=1,
        setup_issue=None):
    start = start if start is not None else 10.0 * index
    return RepResult(index=index, start_t=start, bottom_t=start + 2, end_t=start + 4, max_depth_deg=depth,
                     below_parallel=depth < -3, reached_target=False, tut_s=4, down_s=2, up_s=2,
                     max_trunk_lean_deg=40.0, knee_travel_cm=10.0, heel_lift_cm=0.0, wink=wink,
                     wink_onset_deg=onset if wink else None, wink_magnitude_deg=20.0 if wink else 0.0,
                     wink_confidence=confidence, depth_verdict="below" if depth < -3 else "above",
                     side_view=side_view, view="side" if side_view else "front", setup_issue=setup_issue,
                     wink_judged=wink_judged)


def started(plan=PLAN) -> SelfTestTracker:
    test = SelfTestTracker(plan, "maria")
    test.begin(5.0)
    return test


def test_the_plan_starts_high_and_steps_down_to_full_depth():
    assert [PLAN.target(k) for k in range(11)] == [25, 18, 11, 4, -3, -10, -17, -24, -30, -30, -30]
    test = started()
    assert test.target_deg == 25 and test.rep_number == 1 and "25° above parallel" in test.message


def test_each_clean_rep_asks_for_a_little_deeper():
    test = started()
    for k, depth in enumerate((24.0, 17.0, 10.0)):
        step = test.feed(rep(depth, index=k + 1))
        assert step.counted and not step.done and step.deeper
        assert step.target_deg == PLAN.target(k + 1) == test.target_deg
    assert "Rep 4: a little deeper, to 4° above parallel" in step.message


def test_rounding_on_two_reps_in_a_row_ends_with_the_shallowest_onset_and_a_safe_depth_above_it():
    test = started()
    for k, depth in enumerate((24.0, 17.0, 10.0, 3.0, -4.0)):
        test.feed(rep(depth, index=k + 1))
    first = test.feed(rep(-11.0, wink=True, onset=-7.0, confidence=0.975, index=6))
    assert not first.done and not first.deeper and first.target_deg == -10.0, "same depth again, to confirm"
    assert "once more, to confirm" in first.message
    second = test.feed(rep(-12.0, wink=True, onset=-8.5, confidence=0.98, index=7))
    assert second.done
    result = test.result
    assert result.outcome == ROUNDING and result.confirmed and result.sets_target
    assert result.onset_deg == -7.0, "the shallowest depth at which rounding was seen"
    assert result.safe_depth_deg == -2.0 and result.margin_deg == 5.0
    assert result.evidence_rep == 6 and test.rep_results[6].wink_onset_deg == -7.0
    assert "two reps in a row" in result.message and "7° below parallel" in result.message
    assert result.deepest_deg == -12.0 and [r.number for r in result.reps] == list(range(1, 8))


def test_one_rep_with_high_confidence_is_enough():
    test = started(SelfTestPlan(margin_deg=4.0))
    test.feed(rep(24.0))
    step = test.feed(rep(15.0, wink=True, onset=19.0, confidence=0.995, index=2))
    assert step.done and test.result.outcome == ROUNDING and test.result.confirmed
    assert test.result.onset_deg == 19.0 and test.result.safe_depth_deg == 23.0 and test.result.evidence_rep == 2


def test_a_rounding_the_next_rep_does_not_show_is_not_the_onset():
    test = started()
    test.feed(rep(24.0, wink=True, onset=26.0, confidence=0.975, index=1))   # a false alarm at the top
    step = test.feed(rep(23.0, index=2))
    assert step.deeper and "not seen again" in test.reps[-1].note
    test.feed(rep(16.0, index=3))
    test.feed(rep(9.0, wink=True, onset=12.0, confidence=0.975, index=4))
    test.feed(rep(8.0, wink=True, onset=11.0, confidence=0.975, index=5))
    assert test.result.outcome == ROUNDING and test.result.onset_deg == 12.0 and test.result.evidence_rep == 4


def test_full_depth_twice_without_rounding_means_no_limit():
    test = started()
    depths = (24.0, 17.0, 10.0, 3.0, -4.0, -11.0, -18.0, -25.0, -30.0, -31.0)
    for k, depth in enumerate(depths):
        step = test.feed(rep(depth, index=k + 1))
        if step.done:
            break
    assert k == 9, "the plan reaches full depth on rep 9; the second rep there ends the test"
    result = test.result
    assert result.outcome == NO_ROUNDING and result.reached_full_depth and result.sets_target
    assert result.onset_deg is None and result.safe_depth_deg is None
    assert result.evidence_rep == 10 and result.deepest_deg == -31.0
    assert "No rounding down to 31° below parallel (full depth)" in result.message
    assert "rounding that leaves your trunk line still can escape it" in result.message, "what 'none' cannot promise"


def test_the_rep_limit_without_full_depth_says_how_deep_it_went():
    test = started(SelfTestPlan(max_reps=3))
    for k, depth in enumerate((24.0, 17.0, 12.0)):
        test.feed(rep(depth, index=k + 1))
    result = test.result
    assert result.outcome == NO_ROUNDING and not result.reached_full_depth
    assert "No rounding down to 12° above parallel, your deepest rep" in result.message
    assert "not reached" in result.message


def test_the_rep_limit_with_one_rounding_rep_keeps_it_unconfirmed():
    test = started(SelfTestPlan(max_reps=2))
    test.feed(rep(24.0))
    test.feed(rep(17.0, wink=True, onset=20.0, confidence=0.975, index=2))
    result = test.result
    assert result.outcome == ROUNDING and not result.confirmed and result.safe_depth_deg == 25.0
    assert "repeat the test to confirm" in result.message


@pytest.mark.parametrize("kwargs,why,depth", [
    (dict(side_view=False, setup_issue="front_view"), "sees you from the front", None),
    (dict(wink_judged=False), "lower back was hidden", -20.0),   # seen side-on: the depth its set shows
])
def test_a_rep_that_could_not_be_judged_does_not_count_and_the_lifter_is_told_why(kwargs, why, depth):
    test = started()
    test.feed(rep(24.0))
    step = test.feed(rep(-20.0, wink=False, index=2, **kwargs))
    assert step.counted and not step.done and not step.deeper and step.target_deg == 18.0, "same target again"
    assert why in step.message and "did not count" in step.message
    entry = test.reps[-1]
    assert not entry.judged and entry.depth_deg == depth and why in entry.note
    assert test.result is None or test.result.deepest_deg != -20.0, "a rep that did not count is not the deepest"
    assert test.feed(rep(17.0, index=3)).target_deg == 11.0, "the plan goes on from where it was"


def test_a_rep_the_camera_set_up_kept_from_being_judged_says_what_to_fix():
    """Feet out of the picture block the depth (the knees at the picture's edge): the rep does not
    count, and it says so in those words, not 'the camera did not see it side-on', once, with one
    full stop."""
    test = started()
    step = test.feed(rep(24.0, side_view=False, setup_issue="feet_out"))
    assert "did not count: your feet are out of the picture. Move the camera back" in step.message
    assert ".." not in step.message and "side-on" not in step.message
    entry = test.reps[-1]
    assert not entry.judged and entry.reason == "feet out" and ".." not in entry.note
    step = test.feed(rep(24.0, side_view=False, setup_issue="front_view", index=2))
    assert "did not count: the camera sees you from the front. Turn the camera" in step.message
    assert "Cannot judge" not in step.message and test.reps[-1].reason == "not side-on"
    from station.analysis.selftest import OFF_VIEW_REASONS
    assert max(map(len, OFF_VIEW_REASONS.values())) <= len("not side-on"), "the table's cell fits a phone"


def test_a_test_whose_reps_the_view_gate_mostly_failed_gives_no_verdict():
    """Its set would not be judged (a third of the reps off the view), so a safe depth from the others
    would be published from reps the pages hide: the test ends incomplete instead."""
    test = started()
    test.feed(rep(24.0, index=1))
    test.feed(rep(20.0, side_view=False, setup_issue="three_quarter_view", index=2))
    test.feed(rep(17.0, side_view=False, setup_issue="three_quarter_view", index=3))
    test.feed(rep(17.0, index=4))
    test.feed(rep(10.0, wink=True, onset=12.0, confidence=0.999, index=5))
    assert test.done and test.result.outcome == INCOMPLETE and not test.result.sets_target
    assert "2 of 5 reps could not be judged from the camera" in test.result.message and test.result.safe_depth_deg is None


def test_too_many_reps_that_cannot_be_judged_end_without_a_verdict():
    test = started()
    for k in range(PLAN.max_unjudged):
        step = test.feed(rep(10.0, wink_judged=False, index=k + 1))
    assert step.done and test.result.outcome == INCOMPLETE and not test.result.sets_target
    assert test.result.safe_depth_deg is None and "start it again" in test.result.message


def test_reps_that_began_before_the_start_are_ignored_and_a_finished_test_takes_no_more():
    test = started()
    assert not test.feed(rep(24.0, start=4.0)).counted and test.reps == []
    test.feed(rep(24.0, wink=True, onset=28.0, confidence=1.0, start=6.0))
    assert test.done
    assert not test.feed(rep(10.0, start=30.0)).counted and len(test.reps) == 1


def test_cancel_and_idle_expiry():
    test = started()
    assert not test.expired(5.0 + IDLE_LIMIT_S - 1) and test.expired(5.0 + IDLE_LIMIT_S + 1)
    result = test.cancel()
    assert test.done and result.outcome == CANCELLED and not result.sets_target
    assert test.status()["running"] is False and test.status()["outcome"] == CANCELLED


def test_status_for_the_page():
    test = started()
    test.feed(rep(23.0))
    status = test.status()
    assert status["running"] and status["rep"] == 2 and status["target_deg"] == 18.0
    assert status["target_words"] == "18° above"
    assert status["reps"][0]["depth_deg"] == 23.0 and status["lifter"] == "maria"
    test.cancel()
    over = test.status()
    assert not over["running"] and over["rep"] is None and over["target_deg"] is None, "no stale step"
    assert over["reps"][0]["depth_deg"] == 23.0, "its reps stay"


def test_a_target_is_rounded_once_in_the_words_the_bar_and_the_pages_share():
    """8.49 went to the page as 8.5 and the page rounded it again to "9° above", beside the bar's
    "self-test rep 3 to 8° above"."""
    from station.analysis.selftest import target_words

    assert target_words(8.49) == "8° above" and target_words(-12.5) == "12° below"
    assert target_words(0.4) == target_words(-0.4) == "parallel" and target_words(0.6) == "1° above"


def test_evidence_is_the_frame_nearest_the_onset_on_the_way_down_and_the_bottom():
    thigh = np.array([71, 51, 31, 11, 1, -9, -14, -19, -14, 1, 31, 71], np.float32)  # depth (top of thigh)
    joints = np.zeros((len(thigh), 6, 2), np.float32)
    joints[:, :, 0] = np.arange(len(thigh))[:, None]     # frame number in x, to tell frames apart
    series = RepSeries(t=np.arange(len(thigh), dtype=np.float32) / 10, thigh_deg=thigh, hip_deg=thigh,
                       trunk_lean_deg=thigh, knee_deg=thigh, joints=joints, frame_size=(640, 480))
    result = rep(-19.0, wink=True, onset=-9.0)
    result.series = series
    ev = evidence(result, -9.0)
    assert ev["onset"]["index"] == 5 and ev["onset"]["depth_deg"] == -9.0, "the frame at the onset"
    # the picture nearest the number it illustrates: -9 is nearer -10 than -14 is
    assert evidence(result, -10.0)["onset"]["index"] == 5 and evidence(result, -12.0)["onset"]["index"] == 6
    assert evidence(result, -10.0)["onset"]["depth_deg"] == -10.0, "the panel says the onset the page says"
    assert ev["bottom"]["index"] == 7 and ev["bottom"]["depth_deg"] == -19.0
    assert ev["bottom"]["joints"][2] == [7.0, 0.0] and ev["joint_names"][2] == "hip"
    assert ev["frame_size"] == [640, 480]
    assert evidence(result, None)["onset"] is None
    result.max_depth_deg = -17.5   # the rep's depth held over 0.3 s, shallower than its deepest frame
    assert evidence(result, -9.0)["bottom"]["depth_deg"] == -17.5, "the panel says what the rep table says"
    assert evidence(result, -9.0)["bottom"]["index"] == 7
    result.series = None
    assert evidence(result, -9.0) is None


def _run_the_programme(seed):
    """The runner's loop in small (selftestseed): the result and each rep's (depth, wink, onset)."""
    test, reps, _ = run_selftest_programme(seed)
    seen = [(round(r.max_depth_deg), r.wink, None if r.wink_onset_deg is None else round(r.wink_onset_deg, 1))
            for r in reps]
    return test.result, seen


def test_the_synthetic_self_test_lifter_through_the_analysis_finds_the_onset():
    """Keypoint level (MoveNet-like noise, no model): the programme the demo renders, ten noise draws.
    The safe depth must be within 5 deg of the truth onset + margin on at least 8 of them; when the
    detector does not see this lifter's rounding, the message says so, rep by rep."""
    from station.sim.source import selftest_truth, selftest_truth_onset_deg

    truth, _ = selftest_truth()
    truth_onset = selftest_truth_onset_deg(truth)
    assert truth_onset is not None and -11 < truth_onset < -5, "the programme's lifter rounds 5-10 deg below parallel"
    expected = truth_onset + AnalysisParams().safe_depth_margin_deg
    runs = {seed: _run_the_programme(seed) for seed in range(10)}
    good = [seed for seed, (result, _) in runs.items()
            if result is not None and result.outcome == ROUNDING and abs(result.safe_depth_deg - expected) <= 5.0]
    report = "\n".join(
        f"  seed {seed}: " + ("the programme ended before the test did" if result is None else
                             f"{result.outcome}, safe depth {result.safe_depth_deg}")
        + f"; reps (depth, wink, onset) {seen}" for seed, (result, seen) in runs.items())
    assert any(r is not None and r.outcome == ROUNDING for r, _ in runs.values()), (
        "the wink detector does not see the synthetic self-test lifter's rounding "
        f"(truth onset {truth_onset:.1f} deg):\n" + report)
    assert len(good) >= 8, (f"safe depth within 5 deg of truth onset {truth_onset:.1f} + margin = {expected:.1f} deg "
                            f"on only {len(good)} of 10 noise draws:\n" + report)


def test_a_self_test_set_and_its_result_tell_the_same_story():
    """Nine reps stepping deeper, the last three flagged: the self-test confirms rounding after two,
    and the set's own sentence must say 'started to round', not 'possible rounding'."""
    from station.analysis import SetResult
    from station.analysis.summary import summarise_set

    test = started()
    depths = (24.0, 17.0, 10.0, 3.0, -4.0, -11.0)
    reps = [rep(depth, index=k + 1) for k, depth in enumerate(depths)]
    reps += [rep(-18.0, wink=True, onset=-12.0, confidence=0.975, index=7),
             rep(-18.5, wink=True, onset=-13.0, confidence=0.975, index=8),
             rep(-19.0, wink=True, onset=-12.5, confidence=0.975, index=9)]
    for r in reps[:8]:
        step = test.feed(r)
    assert step.done and test.result.outcome == ROUNDING
    result = SetResult(index=1, start_t=0.0, end_t=100.0, end_reason="idle", target_depth_deg=0.0, reps=reps)
    summarise_set(result, margin_deg=5.0)
    assert result.wink_onset_deg == pytest.approx(-12.5)
    assert "started to round 12 deg below parallel on reps 7-9" in result.summary
    assert "Possible" not in result.summary
    one = SetResult(index=2, start_t=0.0, end_t=50.0, end_reason="idle", target_depth_deg=0.0, reps=reps[:7])
    summarise_set(one, margin_deg=5.0)
    assert one.wink_onset_deg is None and "Possible lower-back rounding on rep 7 only" in one.summary


def test_a_rep_at_parallel_is_worded_as_its_sets_table_words_it():
    """The set table said "-3°, at parallel" and the self-test "3° below parallel" for the same rep."""
    import dataclasses

    from station.analysis.selftest import rep_depth_words

    test = started()
    for k, depth in enumerate((24.0, 17.0, 10.0)):
        test.feed(rep(depth, index=k + 1))
    step = test.feed(dataclasses.replace(rep(-3.2, index=4), depth_verdict="parallel"))
    assert step.message.startswith("Rep 4: at parallel (3° below), no rounding seen.")
    assert test.reps[-1].verdict == "parallel"
    assert rep_depth_words(-6.0, "below") == "6° below parallel" and rep_depth_words(0.3, "parallel") == "parallel"
    assert rep_depth_words(2.0, "parallel") == "at parallel (2° above)"


def test_a_rep_that_went_past_its_next_target_gets_a_next_target_deeper_than_it_went():
    """Rep 2 (target 18 deg above) went to 11 deg above: the station said 'a little deeper, to 11 deg
    above parallel', a depth already shown clean. The next target is now at least min_step_deg deeper
    than the rep went; a rep that stays near its target keeps the plan's steps."""
    test = started()
    step = test.feed(rep(24.0, index=1))
    assert step.target_deg == PLAN.target(1) == 18.0
    step = test.feed(rep(11.0, index=2))
    assert step.deeper and step.target_deg == 11.0 - PLAN.min_step_deg
    assert "a little deeper, to 8° above parallel" in step.message
    step = test.feed(rep(7.0, index=3))            # on its target: a plan step on from there
    assert step.deeper and step.target_deg == 8.0 - PLAN.step_deg


def test_a_set_that_went_past_the_lifters_self_test_onset_says_so_even_though_the_target_was_reached():
    """After a self-test the target is "deep enough, still safe" (onset + margin). A set that went on
    past the onset, with no rounding seen this time, was summed up as "every rep reached your target
    depth": true, and not what a lifter who did the test needs to hear."""
    import dataclasses

    from station.analysis import SetResult
    from station.analysis.summary import summarise_set

    onset, safe = -7.0, -2.0
    reps = [dataclasses.replace(rep(depth, index=k + 1), reached_target=True)
            for k, depth in enumerate((-3.0, -9.4, -7.4, -12.0))]
    result = SetResult(index=1, start_t=0.0, end_t=50.0, end_reason="idle", target_depth_deg=safe, reps=reps,
                       lifter_onset_deg=onset)
    summarise_set(result, margin_deg=5.0)
    # -7.4 shows as -7, the onset's own number: not past it
    assert result.summary.endswith("No lower-back rounding seen. Reps 2, 4 went deeper than where your lower "
                                   "back began to round in your self-test (7 deg below parallel): stop at your "
                                   "target."), result.summary
    # it said "every rep reached your target depth. Reps 2, 4 went deeper ...": praise, then a warning
    assert "reached" not in result.summary
    without = SetResult(index=2, start_t=0.0, end_t=50.0, end_reason="idle", target_depth_deg=safe, reps=reps)
    summarise_set(without, margin_deg=5.0)
    assert without.summary.endswith("every rep reached your target depth."), "no self-test, nothing to pass"


def test_no_rounding_seen_names_the_reps_whose_lower_back_was_hidden():
    """The table said "not seen" for rep 3 under a sentence that spoke for every rep: "No lower-back
    rounding seen and every rep reached your target depth"."""
    import dataclasses

    from station.analysis import SetResult
    from station.analysis.summary import summarise_set

    reps = [dataclasses.replace(rep(-5.0, index=k + 1, wink_judged=k != 2), reached_target=True) for k in range(4)]
    result = SetResult(index=1, start_t=0.0, end_t=50.0, end_reason="idle", target_depth_deg=0.0, reps=reps)
    summarise_set(result, margin_deg=5.0)
    assert result.summary.endswith("No lower-back rounding seen (lower back hidden on rep 3) and every rep "
                                   "reached your target depth."), result.summary
    reps = [dataclasses.replace(r, wink_judged=True) for r in reps]
    seen = SetResult(index=2, start_t=0.0, end_t=50.0, end_reason="idle", target_depth_deg=0.0, reps=reps)
    summarise_set(seen, margin_deg=5.0)
    assert seen.summary.endswith("No lower-back rounding seen and every rep reached your target depth.")


def test_a_self_test_set_speaks_of_its_reps_own_targets_not_of_passing_the_onset():
    """The self-test goes a little deeper on each rep on purpose. Its own set, summed up once the test
    had stored an onset, told the lifter that its reps "went deeper than where your lower back began to
    round ...: stop at your target", beside a green tick on every rep (each reached its own target)."""
    import dataclasses

    from station.analysis import SetResult
    from station.analysis.summary import summarise_set

    reps = [dataclasses.replace(rep(depth, index=k + 1), reached_target=True)
            for k, depth in enumerate((25.0, 18.0, 11.0, 4.0, -3.0))]
    guided = SetResult(index=1, start_t=0.0, end_t=50.0, end_reason="idle", target_depth_deg=1.0, reps=reps,
                       lifter_onset_deg=-4.0, selftest=True)
    summarise_set(guided, margin_deg=5.0)
    assert guided.summary.endswith("No lower-back rounding seen and every rep reached its self-test target."), \
        guided.summary
    short = dataclasses.replace(guided, reps=reps[:4] + [dataclasses.replace(reps[4], reached_target=False)])
    summarise_set(short, margin_deg=5.0)
    assert short.summary.endswith("rep 5 stopped short of its self-test target."), short.summary


def test_a_set_with_rounding_never_advises_deeper_than_the_lifters_self_test_safe_depth():
    """After a self-test (onset 4 below, safe depth 1 above) the demo's deep set rounded from 5 below
    on every rep; its page said "try stopping at parallel", a safe depth of its own beside the
    test's, and did not say its reps went past the test's onset."""
    import dataclasses

    from station.analysis import SetResult
    from station.analysis.summary import summarise_set

    onset, safe = -4.0, 1.0
    deep = [dataclasses.replace(rep(depth, wink=True, onset=-5.0, confidence=0.99, index=k + 1))
            for k, depth in enumerate((-26.0, -30.0, -33.0))]
    result = SetResult(index=1, start_t=0.0, end_t=50.0, end_reason="idle", target_depth_deg=safe, reps=deep,
                       lifter_onset_deg=onset)
    summarise_set(result, margin_deg=5.0)
    assert result.wink_onset_deg == -5.0, "the set's own finding stays"
    assert result.suggested_depth_deg == safe, "not the set's own onset + margin (parallel), deeper than safe"
    assert result.summary.endswith(
        "Your lower back started to round 5 deg below parallel on reps 1-3. Reps 1-3 went deeper than where "
        "your lower back began to round in your self-test (4 deg below parallel): stop at your target, "
        "1 deg above parallel (your self-test's safe depth)."), result.summary
    # rounding earlier than in the test (under load, tired): the set's shallower advice stands
    early = [dataclasses.replace(r, wink_onset_deg=10.0) for r in deep]
    result = SetResult(index=2, start_t=0.0, end_t=50.0, end_reason="idle", target_depth_deg=safe, reps=early,
                       lifter_onset_deg=onset)
    summarise_set(result, margin_deg=5.0)
    assert result.suggested_depth_deg == 15.0
    assert "started to round 10 deg above parallel on reps 1-3: try stopping at 15 deg above parallel. " \
           "That is shallower than your self-test's safe depth (1 deg above parallel): your back rounded " \
           "earlier in this set. Reps 1-3 went deeper than where your lower back began to round in your " \
           "self-test" in result.summary
    # an advice within a degree of the safe depth is the safe depth, in the words a lifter reads: it said
    # "try stopping at 5 deg below parallel. That is shallower than your self-test's safe depth (5 deg below)"
    near = [dataclasses.replace(r, wink_onset_deg=-9.6) for r in deep]
    result = SetResult(index=4, start_t=0.0, end_t=50.0, end_reason="idle", target_depth_deg=-5.0, reps=near,
                       lifter_onset_deg=-10.0)
    summarise_set(result, margin_deg=5.0)
    assert "stop at your target, 5 deg below parallel (your self-test's safe depth)." in result.summary
    assert "shallower" not in result.summary
    # no self-test: the set's own advice, as before
    result = SetResult(index=3, start_t=0.0, end_t=50.0, end_reason="idle", target_depth_deg=0.0, reps=deep)
    summarise_set(result, margin_deg=5.0)
    assert result.suggested_depth_deg == 0.0 and result.summary.endswith("try stopping at parallel.")
