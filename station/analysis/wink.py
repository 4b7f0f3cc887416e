"""Butt-wink detection from the trunk line, per rep (the method is defended in docs/butt-wink.md).

COCO-17 has no pelvis, so the wink is inferred from what it does to the trunk line (hip -> ear and
shoulder, on the side facing the camera). Real lifters stop adding trunk lean near the bottom:
over the last 20 deg of depth the lean grows at a median 0.23 times its mid-descent rate, and
some hold it flat. That flattening is normal mechanics, and the earlier pooled hinge fit called it
a wink. A wink is more than flattening: the pelvis tucks under, the lumbar spine flexes and the
trunk line tilts *back*, against the direction it has been leaning all the way down. So:

    back   = the highest lean on the way down minus the lean held at the bottom (+- 0.25 s)
    onset  = the deepest point of the descent where the lean is still on that peak (within noise):
             from there on the trunk tips back. Real lifters hold a plateau near the bottom (the
             flattening), so the onset is where the plateau ends, not where the lean first peaked.

A rep winks when `back` clears the sensitivity threshold and three times the rep's own
frame-to-frame lean noise, the torso is seen surely at the bottom (no plate or bar hiding it),
and the onset is a real change at least MIN_ONSET_ABOVE_BOTTOM_DEG above the bottom and not in the
descent's first frames. The whole descent is searched, so the onset is a depth the lifter passed
through with data on both sides, never the edge of a search range. Only the descent and the bottom are used, so the live
warning at the turn and the rep's final flag come from the same frames and agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from station.analysis.filters import running_median3

# back-tilt of the trunk line (deg) that counts as a wink, per sensitivity. Measured on the real
# no-wink clips: up to 6.1 deg as filmed, 7.6 mirrored (docs/butt-wink.md), so 'normal' sits above that.
SENSITIVITY_THRESHOLD_DEG = {"low": 11.0, "normal": 9.0, "high": 7.0}
# Times, not frame counts: at a Pi 4's 10 fps a 3-frame median spans 0.3 s and flattened the lean's
# peak (the demo's wink lifter: back-tilt 11 -> 7.8 deg, flagged on 5 -> 3 of 5 reps, 0 of 5 with a
# 1.2 s descent), and two edge frames were a fifth of a quick descent.
LEAN_MEDIAN_FRAME_S = 0.045         # the lean's 3-frame median only at frame intervals up to this (>= 22 fps)
EDGE_S = 0.067                      # an onset in the descent's first 0.067 s (2 frames at 30 fps) is no change
MIN_DESCENT_FRAMES = 4              # sure frames before the bottom needed to judge at all
PLATEAU_MIN_DEG = 1.5               # within this of the peak lean (or PLATEAU_NOISE x noise) ...
PLATEAU_NOISE = 2.0                 # ... the trunk has not started tipping back yet
MIN_ONSET_ABOVE_BOTTOM_DEG = 2.0    # an onset at the very bottom is no change at all
BOTTOM_HOLD_S = 0.25                # the lean 'held at the bottom': the median over +- this
NOISE_FACTOR = 3.0                  # back-tilt must clear this many times the lean noise
MIN_SURE_TORSO = 0.7                # share of bottom frames with the torso seen surely
MAX_CUT_DESCENT_SHARE = 1 / 3       # the shoulder or ear on the top edge in this share of the descent: not judged
#                                     (the head cut off: kham with its head out read "no rounding" on a real wink)
# A flag's confidence is the chance that the pelvis really tucked (> 3 deg of posterior tilt, the
# benchmark's no-wink limit) given the trunk's back-tilt: a logistic fitted on the synthetic
# benchmark's realistic population (seed 0, 300 sets, 1308 judged reps; half the lifters wink) and
# checked on seed 2026 by scripts/bench_accuracy.py (docs/butt-wink.md, "What the confidence means").
CONFIDENCE_MIDPOINT_DEG = 4.1       # back-tilt at which half the reps had a real tuck
CONFIDENCE_SCALE_DEG = 1.35         # logistic width


@dataclass(frozen=True)
class WinkEstimate:
    detected: bool
    onset_deg: float | None      # depth (top-of-thigh convention) where the trunk started tilting back
    confidence: float            # a flag's chance of being a real tuck (0 without a flag); see flag_confidence
    back_tilt_deg: float = 0.0   # the measured trunk-line back-tilt
    judged: bool = True          # False: the torso was hidden at the bottom, no verdict
    head_out: bool = False       # not judged because the shoulder or ear left the picture on the way down


NO_WINK = WinkEstimate(False, None, 0.0)
NOT_JUDGED = WinkEstimate(False, None, 0.0, judged=False)
HEAD_OUT = WinkEstimate(False, None, 0.0, judged=False, head_out=True)


def estimate_wink(t: np.ndarray, depth_deg: np.ndarray, lean_deg: np.ndarray, torso_sure: np.ndarray,
                  sensitivity: str = "normal", upper_cut: np.ndarray | None = None) -> WinkEstimate:
    """One rep (descent and bottom are enough). depth_deg: top-of-thigh angle per frame;
    lean_deg: trunk line against vertical, forward positive; torso_sure: 1/0 per frame. The trunk
    line is read only from the frames with the torso seen surely: behind a plate, or on a frame
    whose hip came from a second look at the legs, it jumps."""
    if len(t) < 5:
        return NO_WINK
    bottom = int(np.argmin(depth_deg))
    at_bottom = np.abs(t - t[bottom]) <= BOTTOM_HOLD_S
    if float(np.mean(torso_sure[at_bottom])) < MIN_SURE_TORSO:
        return NOT_JUDGED
    if upper_cut is not None and float(np.mean(upper_cut[:bottom + 1])) >= MAX_CUT_DESCENT_SHARE:
        return HEAD_OUT       # the head out of the picture on the way down: the lean's peak was not seen
    sure = torso_sure > 0.5
    t, depth_deg, lean_deg = t[sure], depth_deg[sure], lean_deg[sure]
    if len(t) < 5:
        return NOT_JUDGED
    bottom = int(np.argmin(depth_deg))
    at_bottom = np.abs(t - t[bottom]) <= BOTTOM_HOLD_S
    frame_s = float(np.median(np.diff(t)))
    lean = running_median3(lean_deg) if frame_s <= LEAN_MEDIAN_FRAME_S else lean_deg.astype(float)
    edge_frames = max(1, int(round(EDGE_S / frame_s)))
    if bottom < max(MIN_DESCENT_FRAMES, 2 * edge_frames + 2):
        return NO_WINK        # too few frames on the way down to see a tip-back (8 fps, a quick rep)
    descent = lean[:bottom + 1]
    held = float(np.median(lean[at_bottom]))
    peak = float(np.max(descent))
    back = peak - held
    # frame noise of the lean: second differences remove the steady lean of the descent itself
    # (white noise of s gives second differences of s * sqrt(6)); robust to the odd glitch
    bends = np.abs(np.diff(descent, 2))
    noise = 1.48 * float(np.median(bends)) / np.sqrt(6.0) if len(bends) >= 3 else 0.0
    # the onset: the deepest point still on the lean's plateau; from there on the trunk tips back
    plateau = np.flatnonzero(descent >= peak - max(PLATEAU_MIN_DEG, PLATEAU_NOISE * noise))
    onset_i = int(plateau[-1])
    onset = float(depth_deg[onset_i])
    threshold = SENSITIVITY_THRESHOLD_DEG[sensitivity]
    real_change = onset_i >= edge_frames and onset >= depth_deg[bottom] + MIN_ONSET_ABOVE_BOTTOM_DEG
    detected = bool(real_change and back >= threshold and back >= NOISE_FACTOR * noise)
    return WinkEstimate(detected, onset if detected else None, flag_confidence(back) if detected else 0.0,
                        back_tilt_deg=back)


def flag_confidence(back_tilt_deg: float) -> float:
    """The share of benchmark reps with this trunk back-tilt whose pelvis really tucked: what
    "confidence 97 %" on the page means. Calibrated on synthetic lifters; on the real dev clips
    no-wink reps reach 6 deg of back-tilt, so below the flag threshold it is optimistic, which is
    one reason only flagged reps carry it."""
    return float(1.0 / (1.0 + np.exp(-(back_tilt_deg - CONFIDENCE_MIDPOINT_DEG) / CONFIDENCE_SCALE_DEG)))
