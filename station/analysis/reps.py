"""Reps and the lifter's baseline. No calibration gate.

The rep signal is an angle, 90 standing and 0 at parallel: the thigh angle side-on, the hip's drop
below the knee in other views (angles.py; the analyzer picks by the view gate's verdict). The
standing level is learnt from the lifter as they go: the running maximum of the (median filtered)
signal, which decays slowly, from a population prior. So the first rep counts, a clip that starts
mid-descent works, and nothing waits for the lifter to stand still.

    standing --(falls START_DROP_DEG below standing)-------> descent
    descent  --(rises TURN_DEG above its lowest point)-----> ascent
    ascent   --(within END_DROP_DEG of standing)-----------> standing: the rep is complete
    ascent   --(falls TURN_DEG below its highest point)----> a new rep if it had come NEXT_REP_SHARE
                                                             of the way up (no lockout), else the
                                                             same rep's descent (a wobble)
The share is measured from the bottom the ascent rose from: a fall past that bottom is the same rep
going deeper (a glitch that jumped up and landed low), never 'up and down again'.
A rep counts when it went MIN_RANGE deep, lasted MIN_REP_S..MAX_REP_S and the feet stayed put
(walking in, unracking and stepping back move the feet). A rep without lockout goes MIN_RANGE below
its own top (the previous rep's highest point), not below standing: a glitch that drops an ascent
for a moment is not a squat from where it left off. Times are in seconds, never frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STILL_DEG = 3.0              # within this of standing: still standing (the rep's start time)
STILL_BAND_DEG = 6.0         # within this of the running maximum the lifter is standing, noise and all
START_DROP_DEG = 15.0        # below standing: a descent has begun
TURN_DEG = 8.0               # hysteresis of the turn at the bottom (keypoint noise is 2-4 deg)
END_DROP_DEG = 10.0          # back within this of standing: the rep is over (lockout; see NEXT_REP_SHARE)
# Shorter 'reps' are not squats: real ones take 0.77 s and more on the dev clips (quarter squats). The
# fragments a glitch split off a rep are stopped where they begin, at a top only trusted frames may
# make (RepCounter.step); this is the second guard (a timelapse played twice as fast, bench_real.py
# --transform fast2, has reps under it: 0.3 s counted them and changed nothing else, but no real
# squat needs it).
MIN_REP_S = 0.6
MAX_REP_S = 20.0
MAX_FOOT_SHIFT_LEGS = 0.35   # ankle travel during a rep (x leg length) that means walking
STANDING_DECAY_DEG_PER_S = 0.5   # the standing level forgets slowly (a camera nudged, a new lifter)
NEXT_REP_SHARE = 0.6         # back up this share of the rep, then down again: a new rep (no lockout)
# Before the lifter has stood up in view, assume they stand like most people do (thigh 80 deg from
# horizontal); the running maximum replaces it as soon as they stand taller, and it decays towards a
# lower standing level. So a clip that starts in the middle of a descent still counts its first rep.
STANDING_PRIOR_DEG = 80.0
MEDIAN_WINDOW = 3            # frames in the running median that feeds the state machine, at most ...
# ... those within this many seconds: 3 frames from 25 fps up, 2 (their mean) at 12-20 fps, none at
# 10 fps. A 3-frame median at 10 fps spans 0.3 s and removes a quick squat's one-frame bottom: a
# quarter squat whose thigh reached 37 deg read 47, short of the 35 deg range, and was not counted.
MEDIAN_SPAN_S = 0.09


FOLLOW_RATE = 0.1             # a standing reference moves this share towards each new standing frame
MAX_UPPER_CUT_SHARE = 0.5     # standing with the shoulder or ear this often on the top edge: no trunk reference
UPPER_CUT_TAU_S = 1.0         # ... over about this many seconds of standing


def _follow(average: float, value: float) -> float:
    """A slow average that starts at its first value: keypoint noise averages out, a lifter who
    really changed (stepped closer, re-gripped) is followed within a few dozen frames."""
    return value if math.isnan(average) else average + FOLLOW_RATE * (value - average)


@dataclass
class Baseline:
    """What the station knows about the lifter so far. Learnt continuously, never a gate."""

    standing_drop_deg: float = STANDING_PRIOR_DEG   # the rep signal when standing tall
    standing_ankle_y: float = math.nan     # ankle height when standing (heel lift reference)
    standing_shin_deg: float = math.nan    # shin angle when standing (knee travel reference)
    standing_trunk_deg: float = math.nan   # trunk lean when standing (trunk lean reference)
    upper_cut_share: float = math.nan      # how often, standing, the shoulder or ear sat on the top edge
    still_deg: float = math.nan            # the rep signal's average when standing still (tempo reference)
    thigh_px: float = 0.0                  # stable bone lengths (pixels)
    shank_px: float = 0.0

    known: bool = False                    # the lifter has been seen (the standing level is theirs)

    @property
    def leg_px(self) -> float:
        return self.thigh_px + self.shank_px

    def learn_standing_feet(self, ankle_y: float) -> None:
        """Follow the standing ankle height (the heel-lift reference): the feet stay put as a descent
        begins, so every frame between reps teaches it."""
        self.standing_ankle_y = _follow(self.standing_ankle_y, ankle_y)

    def learn_standing_tall(self, shin_deg: float | None, trunk_deg: float | None) -> None:
        """Follow the shin and trunk angles standing tall (the knee-travel and trunk-lean references),
        each when it was seen. Only while tall: both tip forward in the first degrees of a descent,
        well before the thigh has dropped the 15 deg that start a rep, and learnt there the
        references leaned forward (the rendered suite's knee travel read up to 17 cm short)."""
        if shin_deg is not None:
            self.standing_shin_deg = _follow(self.standing_shin_deg, shin_deg)
        if trunk_deg is not None:
            self.standing_trunk_deg = _follow(self.standing_trunk_deg, trunk_deg)

    def learn_upper_cut(self, cut: bool, weight: float) -> None:
        """Follow how often the standing lifter's shoulder or ear sits on the picture's top edge (or
        is not seen), over the last UPPER_CUT_TAU_S of standing at any frame rate (`weight`: this
        frame's, from the tracker). With the head out of the picture MoveNet also invents a shoulder
        inside it now and then (the chest, at 0.2 of the height), and those frames alone would teach
        the trunk's standing reference."""
        value = 1.0 if cut else 0.0
        share = self.upper_cut_share
        self.upper_cut_share = value if math.isnan(share) else share + weight * (value - share)

    @property
    def trunk_reference_deg(self) -> float:
        """The trunk's standing angle, or NaN when the upper body was mostly cut off standing."""
        return self.standing_trunk_deg if not self.upper_cut_share >= MAX_UPPER_CUT_SHARE else math.nan

    def learn_still(self, signal_deg: float) -> None:
        """Follow the rep signal's average while standing still: the running maximum that starts
        reps sits at the top of the keypoint noise, this is where the lifter actually stands."""
        if signal_deg < self.standing_drop_deg - STILL_BAND_DEG:
            return
        self.still_deg = _follow(self.still_deg, signal_deg)


class RepCounter:
    """The rep state machine. ``step()`` returns 'start', 'turn', 'bounce', 'complete' or None."""

    def __init__(self, min_range_deg: float = 35.0):
        self.min_range_deg = min_range_deg
        self.baseline = Baseline()
        self.phase = "standing"
        self.lowest_deg = math.inf
        self.lowest_t = 0.0
        self.highest_since_turn = -math.inf
        self.highest_t = 0.0
        self.start_t = 0.0
        self.top_deg = math.inf          # where this rep began: standing, or the top of a rep without lockout
        self.top_t: float | None = None  # ... and when it was there (None: it began from standing)
        self._top_without_lockout = math.inf
        self.top_without_lockout_t: float | None = None   # a rep that ended without lockout: its top's time
        self._recent = [math.nan] * MEDIAN_WINDOW
        self._recent_t = [-math.inf] * MEDIAN_WINDOW
        self._recent_i = 0
        self._last_t: float | None = None
        self._untrusted_t = -math.inf   # the last frame not trusted to make a rep's top (see step)
        self._still_t = 0.0          # the last moment the lifter was at standing height

    def reset(self) -> None:
        RepCounter.__init__(self, self.min_range_deg)

    def _median(self, value: float, t: float) -> float:
        self._recent[self._recent_i] = value
        self._recent_t[self._recent_i] = t
        self._recent_i = (self._recent_i + 1) % MEDIAN_WINDOW
        finite = sorted(v for v, vt in zip(self._recent, self._recent_t)
                        if not math.isnan(v) and t - vt <= MEDIAN_SPAN_S)
        return finite[len(finite) // 2] if len(finite) != 2 else (finite[0] + finite[1]) / 2

    def step(self, t: float, drop_deg: float, trusted: bool = True) -> str | None:
        """trusted: this frame's legs were taken from it with the torso seen surely (not held over by the
        tracker, no plate over the hips). Only such frames make a rep's top: a glitch the tracker held
        at the end of an ascent (a hip put on the plate's rim) ended reps early and its next frames
        started a fragment of one, which only MIN_REP_S stopped (in slow motion it lasts long enough)."""
        drop = self._median(drop_deg, t)
        base = self.baseline
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        base.known = True
        if self.phase == "standing":
            base.standing_drop_deg = max(drop, base.standing_drop_deg - STANDING_DECAY_DEG_PER_S * dt)
        standing = base.standing_drop_deg
        if self.phase == "standing":
            if drop >= standing - STILL_DEG:
                self._still_t = t
            if drop >= standing - END_DROP_DEG:
                self._top_without_lockout, self.top_without_lockout_t = math.inf, None   # locked out
            if drop < standing - START_DROP_DEG:
                self.phase = "descent"
                self.top_deg, self._top_without_lockout = self._top_without_lockout, math.inf
                self.top_t, self.top_without_lockout_t = self.top_without_lockout_t, None
                self.start_t = self._still_t if t - self._still_t < 2.0 else t
                self.lowest_deg, self.lowest_t = drop, t
                return "start"
            return None
        bottom = self.lowest_deg         # the lowest point before this frame: where an ascent rose from
        if drop < self.lowest_deg:
            self.lowest_deg, self.lowest_t = drop, t
        if t - self.start_t > MAX_REP_S:     # sitting on a box, kneeling, re-racking: not a rep
            self.phase = "standing"
            return "abandon"
        if self.phase == "descent":
            if drop > self.lowest_deg + TURN_DEG and self.rep_range_deg() >= self.min_range_deg:
                self.phase = "ascent"
                self.highest_since_turn, self.highest_t = (drop, t) if trusted else (-math.inf, t)
                return "turn"
            if drop >= standing - END_DROP_DEG + 5.0 and self.rep_range_deg() < self.min_range_deg:
                self.phase = "standing"          # a dip, not a squat (unracking, a stumble)
                return "abandon"
            return None
        # ascent
        if not trusted:
            self._untrusted_t = t
            return None
        if t - self._untrusted_t <= MEDIAN_SPAN_S:
            drop = drop_deg   # the median still holds untrusted frames: this one's own value, not theirs
        if drop > self.highest_since_turn:
            self.highest_since_turn, self.highest_t = drop, t
        if drop >= standing - END_DROP_DEG:
            self.phase = "standing"
            self._still_t = t
            return "complete"
        if drop < self.highest_since_turn - TURN_DEG:
            # measured from the bottom it rose from: a fall past that bottom is the same rep going deeper
            risen = self.highest_since_turn - bottom
            if risen >= NEXT_REP_SHARE * (standing - bottom) and drop >= bottom:
                self.phase = "standing"          # most of the way up and down again: the next rep
                self._still_t = t
                self._top_without_lockout, self.top_without_lockout_t = self.highest_since_turn, self.highest_t
                return "complete"
            self.phase = "descent"               # a wobble near the bottom: the same rep
            return "bounce"
        return None

    @property
    def in_rep(self) -> bool:
        return self.phase in ("descent", "ascent")

    def rep_range_deg(self) -> float:
        """How deep this rep went: from standing, or from its own top when it began without lockout."""
        return min(self.baseline.standing_drop_deg, self.top_deg) - self.lowest_deg
