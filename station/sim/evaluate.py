"""Scores the analysis against the synthetic lifter's ground truth (tests and the benchmark)."""

from __future__ import annotations

from dataclasses import dataclass, field

from station.analysis import AnalysisParams, RepCompleted, SetFinished, SquatAnalyzer
from station.keypoints import Keypoints
from station.sim.lifter import SetTruth


@dataclass
class SetScore:
    true_reps: int
    counted_reps: int
    depth_errors: list = field(default_factory=list)      # detected - true max thigh angle, per matched rep
    wink_pairs: list = field(default_factory=list)        # (true magnitude, detected?, onset error or None)
    reps: list = field(default_factory=list)


def run_analysis(keypoints: list[Keypoints], params: AnalysisParams | None = None):
    analyzer = SquatAnalyzer(params or AnalysisParams())
    reps, sets = [], []
    for kp in keypoints:
        _, events = analyzer.update(kp)
        for event in events:
            if isinstance(event, RepCompleted):
                reps.append(event.rep)
            elif isinstance(event, SetFinished):
                sets.append(event.result)
    for event in analyzer.finish(keypoints[-1].timestamp if keypoints else 0.0):
        if isinstance(event, SetFinished):
            sets.append(event.result)
    return reps, sets


def score_set(truth: SetTruth, reps) -> SetScore:
    score = SetScore(true_reps=len(truth.reps), counted_reps=len(reps), reps=reps)
    t = truth.timestamps
    for true_rep in truth.reps:
        bottom_t = t[true_rep.bottom_frame]
        match = next((r for r in reps if r.start_t - 0.1 <= bottom_t <= r.end_t + 0.1), None)
        if match is None:
            continue
        score.depth_errors.append(match.max_depth_deg - true_rep.max_depth_deg)
        onset_error = None
        if match.wink and true_rep.wink_onset_thigh_deg is not None:
            onset_error = match.wink_onset_deg - true_rep.wink_onset_thigh_deg
        score.wink_pairs.append((true_rep.wink_magnitude_deg, match.wink, onset_error))
    return score
