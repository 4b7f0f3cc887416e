"""Self-test results for the web tests and the browser check: one real run of the synthetic self-test
lifter through the analysis (keypoint level, so its evidence is a real rep's joints) and two older,
shallower results, so the history shows the onset moving deeper over the weeks."""

from __future__ import annotations

import time
from pathlib import Path

from station.analysis import AnalysisParams, RepCompleted, SquatAnalyzer
from station.analysis.selftest import ROUNDING, SelfTestPlan, SelfTestRep, SelfTestResult, SelfTestTracker, evidence
from station.store import Store


def run_selftest_programme(seed: int = 3):
    """(tracker, RepResults in order, params) of the synthetic self-test lifter at the keypoint level."""
    from station.sim.noise import noisy_keypoints
    from station.sim.source import selftest_truth

    truth, press_s = selftest_truth()
    params = AnalysisParams(hip_point_offset_deg=0.0)
    analyzer = SquatAnalyzer(params)
    test = SelfTestTracker(SelfTestPlan(margin_deg=params.safe_depth_margin_deg), "maria")
    reps = []
    for kp in noisy_keypoints(truth, seed=seed):
        if test.started_t is None and kp.timestamp >= press_s:
            test.begin(kp.timestamp)
            params.target_depth_deg = test.target_deg
            analyzer.update_params(params)
        _, events = analyzer.update(kp)
        for event in events:
            if isinstance(event, RepCompleted) and test.started_t is not None and not test.done:
                reps.append(event.rep)
                test.feed(event.rep, 1)
                params.target_depth_deg = test.target_deg
                analyzer.update_params(params)
    return test, reps, params


def _older(lifter: str, onset: float, deepest: float) -> SelfTestResult:
    reps = [SelfTestRep(1, 1, 1, 25.0, True, 22.0, note="No rounding."),
            SelfTestRep(2, 2, 1, 18.0, True, deepest, True, onset, 0.9, note="Lower back rounded.")]
    return SelfTestResult(outcome=ROUNDING, lifter=lifter, onset_deg=onset, safe_depth_deg=onset + 5.0,
                          confirmed=True, deepest_deg=deepest, evidence_rep=2, reps=reps,
                          message=f"Your lower back starts to round at {onset:.0f}°.")


def seed_selftests(path: Path, lifter: str = "maria") -> dict:
    """Two older results (6 and 3 weeks ago) and the real run just now, its reps stored as a set.
    Returns {"latest": id, "result": SelfTestResult, "ids": [oldest ... newest]}."""
    test, reps, params = run_selftest_programme()
    result = test.result
    assert result is not None and result.outcome == ROUNDING, "the seed needs the detector to see the rounding"
    result.lifter = lifter
    store = Store(path)
    now = time.time()
    ids = [store.add_selftest(now - weeks * 7 * 86400, now - weeks * 7 * 86400 + 90, _older(lifter, onset, onset - 12))
           for weeks, onset in ((6, 6.0), (3, 1.0))]
    set_id = None
    for rep in reps:
        set_id = store.add_rep(set_id, lifter, now - 120, now - 120, 25.0, rep)
    entry = result.reps[result.evidence_rep - 1]
    proof = evidence(test.rep_results[result.evidence_rep], result.onset_deg)
    ids.append(store.add_selftest(now - 120, now - 60, result, set_id, entry.rep_index, proof))
    store.close()
    return {"latest": ids[-1], "result": result, "ids": ids}
