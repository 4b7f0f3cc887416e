"""Scores the analysis against the synthetic lifter's ground truth (tests and the benchmark)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from station.pose.keypoints import KP, Keypoints
from station.sim.lifter import SetTruth, lean_flattening_ratio

if TYPE_CHECKING:
    from station.analysis import AnalysisParams
    from station.analysis.types import RepResult, SetResult

# Secondary per-rep numbers: (name, unit, RepResult attribute, RepTruth attribute, tolerance).
# A RepResult value of None means "not measurable from this view": counted as not reported.
SECONDARY = (
    ("max trunk lean", "deg", "max_trunk_lean_deg", "trunk_lean_from_standing_deg", 5.0),  # from standing
    ("knee travel", "cm", "knee_travel_cm", "knee_travel_cm", 4.0),
    ("heel lift", "cm", "heel_lift_cm", "heel_lift_cm", 3.0),   # the station's noise floor (docs/depth.md)
    ("tempo down", "s", "down_s", "down_s", 0.3),
    ("tempo up", "s", "up_s", "up_s", 0.3),
    ("peak pelvic tilt", "deg", "wink_magnitude_deg", "peak_pelvic_tilt_deg", 5.0),
)


@dataclass
class SetScore:
    true_reps: int
    counted_reps: int
    depth_errors: list = field(default_factory=list)      # detected - true max thigh angle, per matched judged rep
    depth_abstained: int = 0                              # matched reps given no depth ("cannot judge from here")
    wink_pairs: list = field(default_factory=list)        # (true magnitude, detected?, onset error or None)
    flag_confidence: list = field(default_factory=list)   # (true magnitude, confidence), per flagged rep
    reps: list = field(default_factory=list)
    secondary: list = field(default_factory=list)         # (name, true value, measured value or None), per matched rep


def run_analysis(keypoints: list[Keypoints],
                 params: AnalysisParams | None = None) -> tuple[list[RepResult], list[SetResult]]:
    """(reps, sets) from running the analysis over keypoints; params: AnalysisParams or None."""
    # imported here: the generator, scoring and realism metrics do not need the analysis package
    from station.analysis import AnalysisParams, RepCompleted, SetFinished, SquatAnalyzer

    analyzer = SquatAnalyzer(params or AnalysisParams())
    reps: list[RepResult] = []
    sets: list[SetResult] = []
    for kp in keypoints:
        _, events = analyzer.update(kp)
        for event in events:
            if isinstance(event, RepCompleted):
                reps.append(event.rep)
            elif isinstance(event, SetFinished):
                sets.append(event.result)
    for event in analyzer.finish(keypoints[-1].timestamp if keypoints else 0.0, "source_ended"):
        if isinstance(event, SetFinished):
            sets.append(event.result)
    return reps, sets


def score_set(truth: SetTruth, reps: list[RepResult], sets: list[SetResult] | None = None) -> SetScore:
    """sets: the analysis's sets, to score what the page shows (a rep of a set the view gate did not
    pass shows no depth and no rounding); without them each rep's own gate decides."""
    from station.analysis.analyzer import THIGH_TAPER_DEG
    from station.analysis.summary import judged_reps

    shown = None if sets is None else {id(r) for s in sets for r in judged_reps(s)}
    score = SetScore(true_reps=len(truth.reps), counted_reps=len(reps), reps=reps)
    t = truth.timestamps
    for true_rep in truth.reps:
        bottom_t = t[true_rep.bottom_frame]
        match = next((r for r in reps if r.start_t - 0.1 <= bottom_t <= r.end_t + 0.1), None)
        if match is None:
            continue
        # the station reports the top of the thigh (parallel as judged); the truth is the joint line

        judged = match.side_view if shown is None else id(match) in shown
        if judged:   # a rep the view gate did not judge shows no depth: it is an abstention
            score.depth_errors.append(match.max_depth_deg - (true_rep.max_depth_deg - THIGH_TAPER_DEG))
        else:
            score.depth_abstained += 1
        flagged = match.wink and judged
        onset_error = None
        if flagged and match.wink_onset_deg is not None and true_rep.wink_onset_thigh_deg is not None:
            onset_error = match.wink_onset_deg - (true_rep.wink_onset_thigh_deg - THIGH_TAPER_DEG)
        score.wink_pairs.append((true_rep.wink_magnitude_deg, flagged, onset_error))
        if flagged:
            score.flag_confidence.append((true_rep.wink_magnitude_deg, match.wink_confidence))
        for name, _, measured_attr, true_attr, _ in SECONDARY:
            measured = getattr(match, measured_attr, None)
            if measured_attr == "wink_magnitude_deg" and not match.wink:
                measured = None     # shown only on a flagged rep (report.py): score what the page shows
            score.secondary.append((name, getattr(true_rep, true_attr),
                                    None if measured is None else float(measured)))
    return score


# --- realism: the same numbers as measured on real clips, from the synthetic keypoints -------

def _side_angles(points: np.ndarray, side: str, facing: int) -> tuple[np.ndarray, np.ndarray]:
    """Thigh angle (0 = parallel, + = hip above knee) and trunk lean (hip->shoulder from vertical,
    + = forward) per frame from one label side of (N, 17, 2+) image points."""
    s, h, k = (points[:, KP[f"{side}_{j}"]] for j in ("SHOULDER", "HIP", "KNEE"))
    thigh = np.degrees(np.arctan2(k[:, 1] - h[:, 1], np.abs(k[:, 0] - h[:, 0])))
    lean = np.degrees(np.arctan2(facing * (s[:, 0] - h[:, 0]), h[:, 1] - s[:, 1]))
    return thigh, lean


def _running_median(x: np.ndarray, width: int = 5) -> np.ndarray:
    pad = width // 2
    padded = np.concatenate([np.full(pad, np.nan), x, np.full(pad, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)
    out = np.full(len(x), np.nan)
    ok = np.isfinite(windows).sum(axis=1) >= (width + 1) // 2
    out[ok] = np.nanmedian(windows[ok], axis=1)
    return out


def realism_metrics(truth: SetTruth, keypoints: list[Keypoints] | None = None,
                    min_score: float = 0.2) -> list[dict[str, float | None]]:
    """Per rep: the lean flattening ratio (lean_flattening_ratio of the near side's trunk lean
    against its thigh angle) and the near-minus-far thigh angle at the bottom (deg, + = the near
    thigh reads shallower), from keypoints as a real clip would give them; and the rep's true
    peak pelvic tilt (a wink also bends the lean curve at the bottom).

    keypoints: list of Keypoints (noisy; low scores dropped, 5-frame running median) or None for
    the ideal projected points (truth.keypoints_px, no keypoint noise).
    """
    facing = 1 if truth.visible_side == "right" else -1
    near, far = ("RIGHT", "LEFT") if truth.visible_side == "right" else ("LEFT", "RIGHT")
    if keypoints is None:
        points = truth.keypoints_px
        clean = True
    else:
        points = np.stack([kp.points for kp in keypoints]).astype(float)
        points[points[:, :, 2] < min_score, :2] = np.nan
        clean = False
    angles: dict[str, tuple[np.ndarray, ...]] = {side: _side_angles(points, side, facing) for side in (near, far)}
    if not clean:
        angles = {side: tuple(_running_median(a) for a in pair) for side, pair in angles.items()}
    out = []
    for rep in truth.reps:
        span = slice(rep.start_frame, rep.end_frame + 1)
        pause = int(round(rep.bottom_pause_s * truth.fps))
        bottom = slice(max(rep.bottom_frame - 2, 0), rep.bottom_frame + pause + 3)
        diff = angles[near][0][bottom] - angles[far][0][bottom]
        out.append({
            "true_tilt_deg": rep.peak_pelvic_tilt_deg,
            "flattening": lean_flattening_ratio(angles[near][0][span], angles[near][1][span]),
            "near_minus_far_deg": float(np.nanmedian(diff)) if np.isfinite(diff).any() else None,
        })
    return out
