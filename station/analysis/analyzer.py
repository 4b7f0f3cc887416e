"""Per-frame squat analysis: Keypoints in, FrameState and events out. Pure computation, no I/O.

Each frame goes through the stages in their own modules:
    tracking.BodyTracker   both legs, bone-length checks, gaps, One Euro smoothing -> midline joints
    angles.update_angles   thigh (depth), drop (reps in any view), hip, knee, trunk, shin
    quality.ViewGate       side / three-quarter / front, cut off, too small, camera high, too dark
    reps.RepCounter        standing level learnt as we go, descent / ascent / complete
    summary.build_rep      a finished rep's numbers; summary.summarise_set at the end of a set
    wink.estimate_wink     per rep, at the turn (live warning) and at its end (the same frames: they agree)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from station.analysis.angles import ANGLE_COLUMNS, Angles, update_angles
from station.analysis.filters import SettledDepth, running_median3
from station.analysis.quality import (
    BLOCKING,
    DEEP_FOR_PARALLAX_DEG,
    EDGE_SHARE,
    FEET_EDGE_SHARE,
    FEET_SURE_SCORE,
    MIN_SEEN_AT_BOTTOM,
    MIN_SURE_AT_BOTTOM,
    OBSTRUCTED_SHARE,
    SETUP_ADVICE,
    SETUP_NOTES_LIVE,
    TOP_EDGE_SHARE,
    ViewGate,
)
from station.analysis.reps import (
    MAX_FOOT_SHIFT_LEGS,
    MAX_REP_S,
    MIN_REP_S,
    STILL_DEG,
    UPPER_CUT_TAU_S,
    Baseline,
    RepCounter,
)
from station.analysis.summary import BOTTOM_HALF_WINDOW_S, build_rep, reached, summarise_set
from station.analysis.tracking import ANKLE, KNEE, LABELS, MIDLINE, NEAR_EAR, NEAR_SHOULDER, BodyTracker
from station.analysis.types import (
    DepthReached,
    FrameState,
    LifterReady,
    RepCompleted,
    RepStarted,
    SetFinished,
    SetResult,
    WinkWarning,
)
from station.analysis.wink import NO_WINK, WinkEstimate, estimate_wink
from station.pose.keypoints import KP, Keypoints

if TYPE_CHECKING:   # the config types only: the analysis imports nothing that reads files
    from station.config import AnalysisConfig, PoseConfig

SIDE_OR_UNKNOWN = ("side", "unknown")
# The thigh is thicker at the hip than at the knee: when its top surface is level (parallel, as a
# judge sees it: hip crease level with the top of the knee) the joint line still dips ~4 deg to the
# hip (thigh radius ~8.5 cm at the crease, ~5 cm at the knee, over a ~43 cm femur).
THIGH_TAPER_DEG = 4.0
CUT_OFF_START_S = 0.3        # a rep starting this soon after the lifter appeared was cut off by the start
MIN_CUT_OFF_REP_S = 0.3      # ... and may be this short (its descent is missing)
# ... but only when the thigh was seen going down before its deepest point: a clip that begins after a
# rep's bottom shows an ascent alone, whose first frame is no bottom (kham cut 0.5 s after its bottom
# read +16 deg "above" where the rep went 26 below). Keypoint noise between frames is 2-4 deg.
SEEN_DESCENT_DEG = 4.0
# The end's mirror image: a rep the footage (or a shutdown) cuts off counts once the thigh was seen
# rising SEEN_DESCENT_DEG from its deepest point, or braking into the hole: over the last BRAKING_S it
# fell under BRAKING_SHARE of its fastest fall over as long (a cosine rep ending at its bottom: 0.26;
# relative, as a slow descent falls under 4 deg in 0.2 s all the way down). Cut mid-descent, its
# "deepest" is just the last frame: a stopped run stored pasan's rep cut on the way down as 27 deg
# "above" (its reps go to +3), and the set's average with it.
BRAKING_S = 0.2
BRAKING_SHARE = 1 / 3
READY_AFTER_S = 0.3          # seen this long with a standing level: the lifter is ready (a chirp)
LEAD_IN_S = 0.5              # the replay starts this long before the rep (its start_t): standing
LEAD_IN_ROWS = 64            # its ring holds 0.5 s up to 120 fps (fewer seconds above that)


FloatOrArray = TypeVar("FloatOrArray", float, np.ndarray)


@dataclass
class AnalysisParams:
    """The analysis stage's settings: the [analysis] section under its own names, the pose stage's
    score threshold, and the method's calibration constants, named here so nothing is hidden."""

    # [analysis] (station.config.AnalysisConfig: same names, same defaults)
    target_depth_deg: float = 0.0
    wink_sensitivity: str = "normal"
    safe_depth_margin_deg: float = 5.0
    set_idle_s: float = 20.0
    min_rep_range_deg: float = 35.0
    smoothing_min_cutoff_hz: float = 1.5
    smoothing_beta: float = 0.05
    # [pose]
    min_score: float = 0.2
    # calibration, not settings (docs/depth.md)
    lifter_height_cm: float = 175.0    # turns knee travel and heel lift from pixels into cm
    # MoveNet puts the hip point above the hip joint on real people (docs/depth.md): the thigh line
    # reads this much shallow at parallel. 0 for keypoints placed on the joints (clean simulation).
    hip_point_offset_deg: float = 5.0
    max_gap_s: float = 0.5             # a joint unseen this long is dropped, not held
    leave_after_s: float = 3.0         # nobody seen this long: the lifter left, the set ends
    # not configured: the active lifter's self-test onset (the runner reads it from the store)
    lifter_onset_deg: float | None = None

    def depth_from_thigh(self, thigh_deg: FloatOrArray) -> FloatOrArray:
        """Depth as lifters and judges mean it: the top of the thigh against the horizontal, from
        the hip->knee keypoint line (0 = parallel: hip crease level with the top of the knee)."""
        return thigh_deg - self.hip_point_offset_deg - THIGH_TAPER_DEG

    @classmethod
    def from_config(cls, analysis_cfg: AnalysisConfig, pose_cfg: PoseConfig | None = None) -> AnalysisParams:
        params = cls(**dataclasses.asdict(analysis_cfg))
        if pose_cfg is not None:
            params.min_score = pose_cfg.min_score
        return params


# columns of the per-rep record: time, angles, set-up evidence (quality.ViewGate.FEATURES order),
# legs seen and whether taken this frame (not held over), ankle height, then the six midline
# joints' x, y (the replay's skeleton)
COLUMN_NAMES = ("t",) + ANGLE_COLUMNS + ViewGate.FEATURES + ("legs_seen", "legs_fresh", "ankle_y", "hips_sure",
                                                                "torso_sure", "upper_cut", "obstructed",
                                                                "passing")
COLUMNS = {name: i for i, name in enumerate(COLUMN_NAMES)}
COLUMNS["joints"] = len(COLUMN_NAMES)
ROW_WIDTH = len(COLUMN_NAMES) + 2 * MIDLINE
# the angles whose sign is the way the lifter faces (forward positive)
FACING_COLUMNS = [COLUMNS[name] for name in ("trunk_lean_deg", "shin_deg", "upper_lean_deg")]


class RepRecord:
    """Growable per-rep row store (amortised: no allocation on most frames)."""

    def __init__(self, capacity: int = 256):
        self.data = np.empty((capacity, ROW_WIDTH))
        self.size = 0

    def clear(self) -> None:
        self.size = 0

    def next_row(self) -> np.ndarray:
        """A view of the next row to fill in place."""
        if self.size == len(self.data):
            self.data = np.concatenate([self.data, np.empty_like(self.data)])
        self.size += 1
        return self.data[self.size - 1]

    def view(self) -> np.ndarray:
        return self.data[: self.size]

    def column(self, name: str) -> np.ndarray:
        return self.data[: self.size, COLUMNS[name]]


class LeadIn:
    """The last frames between reps, overwritten in place (no allocation per frame): a rep's own
    frames begin 15 deg into the descent, and its replay should start where the lifter still stood."""

    def __init__(self, capacity: int = LEAD_IN_ROWS):
        self.data = np.empty((capacity, ROW_WIDTH))
        self.count = 0     # rows written since the last clear (the newest is at (count - 1) % capacity)

    def clear(self) -> None:
        self.count = 0

    def next_row(self) -> np.ndarray:
        row = self.data[self.count % len(self.data)]
        self.count += 1
        return row

    def since(self, t: float) -> np.ndarray:
        """The rows from time t on, oldest first (a copy: taken once per rep)."""
        n = min(self.count, len(self.data))
        rows = self.data[np.arange(self.count - n, self.count) % len(self.data)]
        return rows[rows[:, 0] >= t]


class SquatAnalyzer:
    def __init__(self, params: AnalysisParams | None = None):
        self.p = params or AnalysisParams()
        self.tracker = BodyTracker(self.p.min_score, self.p.max_gap_s, self.p.smoothing_min_cutoff_hz,
                                   self.p.smoothing_beta)
        self.gate = ViewGate()
        self.counter = RepCounter(self.p.min_rep_range_deg)
        self.angles = Angles()
        self._rep = RepRecord()
        # the depth as the rep will store it, and not where the rep will be "not judged"
        self._settled = SettledDepth(BOTTOM_HALF_WINDOW_S, MIN_SURE_AT_BOTTOM, MIN_SEEN_AT_BOTTOM, OBSTRUCTED_SHARE)
        self._lead_in = LeadIn()
        self._lead_rows = np.empty((0, ROW_WIDTH))   # the frames before this rep (for its replay)
        self._features = np.full(len(ViewGate.FEATURES), np.nan)
        self.set_index = 0
        self._frame_size = (0, 0)
        self._second_look = False
        self._obstructed = math.nan     # this frame's obstruction check: 1, 0, or NaN (not looked)
        self._upper_cut = False     # the near shoulder or ear on the picture's top edge this frame
        self._reset_lifter()

    # --- lifecycle --------------------------------------------------------------------------
    def _reset_lifter(self) -> None:
        self.tracker.reset()
        self.gate.reset()
        self.counter.reset()
        self._present_since: float | None = None
        self._arrived_t: float | None = None     # when this lifter first came into view
        self._absent_since: float | None = None
        self._ready = False
        self._set: SetResult | None = None
        self._bottoms_hidden = self._bottoms_seen = 0
        self._last_activity_t = 0.0
        self._facing = 0.0                       # the sign the angles were taken with (0: none yet)
        self._lead_in.clear()
        self._reset_rep()

    def _reset_rep(self) -> None:
        self._rep.clear()
        self._settled.forget_deepest()
        self._depth_reached = False
        self._live_wink = NO_WINK

    @property
    def baseline(self) -> Baseline:
        return self.counter.baseline

    def update_params(self, params: AnalysisParams) -> None:
        """Apply new settings (target depth, sensitivity...) without losing the set in progress."""
        self.p = params
        self.tracker.filter.min_cutoff = params.smoothing_min_cutoff_hz
        self.tracker.filter.beta = params.smoothing_beta
        self.counter.min_range_deg = params.min_rep_range_deg

    # --- per frame --------------------------------------------------------------------------
    def update(self, kp: Keypoints) -> tuple[FrameState, list]:
        events: list = []
        t = kp.timestamp
        self._frame_size = (kp.frame_width, kp.frame_height)
        self._second_look = kp.second_look
        self._obstructed = math.nan if kp.obstructed is None else float(kp.obstructed)
        if not self.tracker.update(kp):
            return self._absent(t, events), events
        self._absent_since = None
        tracker = self.tracker
        facing = 1.0 if tracker.facing >= 0 else -1.0
        if facing != self._facing:
            self._turn_round(facing)
        if not update_angles(self.angles, tracker.points, facing,
                             tracker.upright_thigh_px, self.p.hip_point_offset_deg):
            return self._state(t, True), events
        self._collect_evidence(kp)
        # the near shoulder or ear on the picture's top edge (a camera too close, or tilted up): the
        # trunk line ends where the frame does, not at the body, so it is no reading of the lean
        top = TOP_EDGE_SHARE * kp.frame_height
        # a shoulder or ear not seen lately is held where it was last seen (or stands in at the hip):
        # no reading of the trunk either
        points = tracker.points
        self._upper_cut = bool(not tracker.joint_fresh(NEAR_SHOULDER, t) or points[NEAR_SHOULDER, 1] < top
                               or not tracker.joint_fresh(NEAR_EAR, t) or points[NEAR_EAR, 1] < top)
        base = self.counter.baseline
        base.thigh_px, base.shank_px = tracker.thigh_px, tracker.shank_px
        if self._present_since is None:
            self._present_since = t
        if self._arrived_t is None:
            self._arrived_t = t
        if not self._ready and t - self._present_since >= READY_AFTER_S:
            self._ready = True
            events.append(LifterReady(t))
        # from the side the thigh angle is the clean signal; from the front only the drop is meaningful
        rep_signal = self.angles.thigh_deg if self.gate.view in SIDE_OR_UNKNOWN else self.angles.drop_deg
        step = self.counter.step(t, rep_signal, trusted=tracker.fresh and not tracker.torso_unsure)
        if self.counter.phase == "standing" and step is None:
            base.learn_still(rep_signal)
            feet_seen = tracker.joint_fresh(ANKLE, t)
            if feet_seen:
                base.learn_standing_feet(float(tracker.points[ANKLE, 1]))
            # standing tall, not setting off. The shin shares the knee point with the thigh angle, so
            # frames picked at the top of the thigh's noise (the running maximum) would pick the knee's
            # noise too: its reference is learnt within 3 deg of the standing average instead.
            base.learn_upper_cut(self._upper_cut, tracker.frame_weight(UPPER_CUT_TAU_S))
            torso_seen = not tracker.torso_unsure and not self._second_look and not self._upper_cut
            shin_tall = feet_seen and rep_signal >= (base.still_deg if math.isfinite(base.still_deg)
                                                     else base.standing_drop_deg) - STILL_DEG
            trunk_tall = torso_seen and rep_signal >= base.standing_drop_deg - STILL_DEG
            base.learn_standing_tall(self.angles.shin_deg if shin_tall else None,
                                     self.angles.trunk_lean_deg if trunk_tall else None)
        if step == "start":
            self._start_rep(t, events)
        # a frame counts as unsure once most of the set's bottoms were hidden: build_rep will not
        # judge this rep either (plates_hid_set), so its windows give no depth
        self._settled.push(t, self.angles.thigh_deg, not self.tracker.torso_unsure and not self._plates_hid_set(),
                           self.tracker.fresh, self._obstructed)
        if self.counter.in_rep or step in ("complete", "abandon"):
            self._record(self._rep.next_row(), t)
            self._last_activity_t = t
        else:
            self._record(self._lead_in.next_row(), t)
        if step == "turn":
            self._live_wink_check(t, events)
        elif step == "complete":
            self._end_rep(t, events)
        elif step == "abandon":
            self._reset_rep()
        deepest = self._settled.deepest
        if self.counter.in_rep and not self._depth_reached and self._side_on() and deepest is not None:
            depth = self.p.depth_from_thigh(deepest)
            if reached(depth, self.p.target_depth_deg):
                self._depth_reached = True
                events.append(DepthReached(t, self._rep_number(), depth))
        if (self._set is not None and not self.counter.in_rep and self._set.reps
                and t - self._last_activity_t >= self.p.set_idle_s):
            self._finish_set(t, "idle", events)
        return self._state(t, True), events

    def finish(self, t: float, reason: str = "shutdown") -> list:
        """End of stream ("source_ended": a file or the demo ran out; "source_failed": it broke) or
        shutdown: a rep cut off past its bottom is kept, then the set closes."""
        events: list = []
        self._close_set(t, reason, events)
        return events

    def end_set(self, t: float, reason: str) -> list:
        """End the set between reps, before it goes idle: a self-test that is done ends its set, so the
        reps after it are a set of their own, not more "self-test" reps past the test's own result."""
        events: list = []
        if not self.counter.in_rep:
            self._finish_set(t, reason, events)
        return events

    def _close_set(self, t: float, reason: str, events: list) -> None:
        """A rep cut off past its bottom is kept (it was a real bottom), then the set ends."""
        if (self.counter.in_rep and self.counter.rep_range_deg() >= self.p.min_rep_range_deg
                and self._bottom_reached(self._rep.view())):
            self._end_rep(t, events, cut_off=True)
        self._finish_set(t, reason, events)

    def _turn_round(self, facing: float) -> None:
        """The facing changed sign: the knees corrected the nose (MoveNet often puts a side-on nose
        behind the ear), in the first descent. The trunk and shin angles taken so far, this rep's and
        the standing references, were taken backwards; they change sign with it, so the first rep's
        trunk lean does not jump 30 deg in one frame, nor its knee travel start from a mirrored shin."""
        if self._facing:
            for rows in (self._rep.view(), self._lead_in.data, self._lead_rows):
                rows[:, FACING_COLUMNS] *= -1.0
            base = self.counter.baseline
            base.standing_trunk_deg, base.standing_shin_deg = -base.standing_trunk_deg, -base.standing_shin_deg
        self._facing = facing

    def _absent(self, t: float, events: list) -> FrameState:
        self._present_since = None
        if self._absent_since is None:
            self._absent_since = t
        if t - self._absent_since >= self.p.leave_after_s:
            if self._set is not None or self._ready:
                self._close_set(t, "left", events)
                self._reset_lifter()
        return self._state(t, False)

    # --- evidence for the view gate ---------------------------------------------------------
    def _collect_evidence(self, kp: Keypoints) -> None:
        pts, tracker, f = kp.points, self.tracker, self._features
        ok = pts[:, 2] >= self.p.min_score
        body = pts[ok, 1]
        height = kp.frame_height
        f[0] = tracker.width_ratio
        f[1] = float(body.max() - body.min()) if len(body) > 1 else 0.0
        ankles = LABELS[ANKLE]
        f[4] = float(any(ok[a] and pts[a, 1] < (1 - EDGE_SHARE) * height
                         and (pts[a, 2] >= FEET_SURE_SCORE or pts[a, 1] < (1 - FEET_EDGE_SHARE) * height)
                         for a in ankles))
        # how well the body is seen: shoulders, hips, knees and ankles, unless the ankles sit on the
        # picture's bottom edge (feet cut off by the frame score low however bright the gym: the advice
        # is then the feet's); a dim ankle inside the picture still counts (that advice is the light's)
        on_edge = all(pts[a, 1] >= (1 - FEET_EDGE_SHARE) * height for a in ankles)
        last = ANKLE if on_edge and not f[4] else ANKLE + 1
        f[2] = float(np.maximum(pts[LABELS[1:last, 0], 2], pts[LABELS[1:last, 1], 2]).mean())
        legs = tracker.raw_legs
        f[3] = np.nan
        if tracker.leg_ok.all() and self.angles.drop_deg < DEEP_FOR_PARALLAX_DEG:
            thighs = np.degrees(np.arctan2(legs[:, 1, 1] - legs[:, 0, 1], np.abs(legs[:, 1, 0] - legs[:, 0, 0])))
            f[3] = abs(float(thighs[0] - thighs[1]))
        head = (KP.NOSE, KP.LEFT_EYE, KP.RIGHT_EYE, KP.LEFT_EAR, KP.RIGHT_EAR)
        f[5] = float(any(ok[h] and pts[h, 1] > EDGE_SHARE * height for h in head))
        # room for the feet below the higher knee, in stable thigh lengths (quality.FEET_ROOM_THIGHS); from
        # the first thigh seen: waiting for the tracker's 16 lengths said "too dark" for 1.6 s at 10 fps,
        # and an early thigh would have to read twice its length to call the dev clips' feet out
        left, right = LABELS[KNEE]
        knee_y = min(pts[left, 1] if ok[left] else math.inf, pts[right, 1] if ok[right] else math.inf)
        f[6] = (height - knee_y) / tracker.thigh_px if tracker.thigh_px > 0 and knee_y < math.inf else np.nan
        self.gate.add(kp.timestamp, f)

    def _depth_deg(self) -> float:
        """The live depth: the midline thigh angle, corrected for MoveNet's hip point."""
        return self.p.depth_from_thigh(self.angles.thigh_deg)

    def _side_on(self) -> bool:
        """Side-on as far as the gate knows: not before its first verdict (the view is not known)."""
        return self.gate.has_verdict and self.gate.issue not in BLOCKING

    # --- reps -------------------------------------------------------------------------------
    def _rep_number(self) -> int:
        return (len(self._set.reps) if self._set else 0) + 1

    def _start_rep(self, t: float, events: list) -> None:
        self._reset_rep()
        if self._set is None:
            self.set_index += 1
            self._set = SetResult(index=self.set_index, start_t=self.counter.start_t, end_t=t, end_reason="",
                                  target_depth_deg=self.p.target_depth_deg, lifter_onset_deg=self.p.lifter_onset_deg)
            self._bottoms_hidden = self._bottoms_seen = 0   # this set's bottoms, each by its own evidence
        self._lead_rows = self._lead_in.since(self.counter.start_t - LEAD_IN_S)
        self._lead_in.clear()     # the next rep's lead-in begins after this one
        events.append(RepStarted(t, self._rep_number()))

    def _record(self, row: np.ndarray, t: float) -> None:
        """One frame's row, filled in place: the rep's record, or the lead-in ring between reps."""
        row[0] = t
        self.angles.as_row(row[1:1 + len(ANGLE_COLUMNS)])
        start = COLUMNS["spread"]
        row[start:start + len(self._features)] = self._features
        row[COLUMNS["legs_seen"]] = float(self.tracker.leg_ok.sum())
        row[COLUMNS["legs_fresh"]] = 1.0 if self.tracker.fresh else 0.0
        # the ankle where it was seen lately (NaN otherwise): the feet-moved and heel checks use it
        row[COLUMNS["ankle_y"]] = self.tracker.points[ANKLE, 1] if self.tracker.joint_fresh(ANKLE, t) else math.nan
        # hips_sure: the depth can be read (a second look at the legs may have found the hips behind
        # a plate); torso_sure: the trunk line can be too, which a plate over the torso rules out
        row[COLUMNS["hips_sure"]] = 0.0 if self.tracker.torso_unsure else 1.0
        row[COLUMNS["torso_sure"]] = 0.0 if self.tracker.torso_unsure or self._second_look or self._upper_cut else 1.0
        row[COLUMNS["upper_cut"]] = 1.0 if self._upper_cut else 0.0
        row[COLUMNS["obstructed"]] = self._obstructed
        row[COLUMNS["passing"]] = 1.0 if self.tracker.passing else 0.0
        row[COLUMNS["joints"]:] = self.tracker.points[:MIDLINE].reshape(-1)

    def _wink(self) -> WinkEstimate:
        """The wink estimate from this rep's frames so far (descent and bottom decide it)."""
        rep = self._rep
        depth = self.p.depth_from_thigh(rep.column("thigh_deg"))
        return estimate_wink(rep.column("t"), depth, rep.column("upper_lean_deg"), rep.column("torso_sure"),
                             self.p.wink_sensitivity, upper_cut=rep.column("upper_cut"))

    def _live_wink_check(self, t: float, events: list) -> None:
        """At the turn from bottom to ascent: the bottom is known, the lifter is still in the rep."""
        if not self._side_on():
            return
        self._live_wink = self._wink()
        if self._live_wink.detected and self._live_wink.onset_deg is not None:
            events.append(WinkWarning(t, self._rep_number(), self._live_wink.onset_deg))

    def _end_rep(self, t: float, events: list, cut_off: bool = False) -> None:
        rows = self._rep.view()
        start_t = self.counter.start_t
        base = self.baseline
        if len(rows) < 3:
            self._reset_rep()
            return
        duration = float(rows[-1, 0] - start_t)
        ankle_x = rows[np.isfinite(rows[:, COLUMNS["ankle_y"]]), COLUMNS["joints"] + 2 * ANKLE]
        # where the feet stand at the rep's start and end, as seen (no feet seen: no evidence they moved)
        ankle_shift = abs(float(np.median(ankle_x[:3]) - np.median(ankle_x[-3:]))) if len(ankle_x) else 0.0
        # a rep already under way when the lifter came into view is cut off by the start: shorter is fine
        cut_off_start = self._arrived_t is not None and start_t - self._arrived_t < CUT_OFF_START_S
        too_short = duration < (MIN_CUT_OFF_REP_S if cut_off or cut_off_start else MIN_REP_S)
        if cut_off_start and not self._bottom_seen(rows):
            self._reset_rep()
            return  # its bottom came before the footage: not a rep seen (labels: neither N nor M)
        if too_short or duration > MAX_REP_S or ankle_shift > MAX_FOOT_SHIFT_LEGS * base.leg_px:
            self._reset_rep()
            return  # too quick, too long, or the feet moved: walking, unracking, stepping back
        rep, bottom_hidden = build_rep(self._rep_number(), start_t, rows.copy(), COLUMNS,
                        target_depth_deg=self.p.target_depth_deg, depth_from_thigh=self.p.depth_from_thigh,
                        standing_ankle_y=base.standing_ankle_y, standing_shin_deg=base.standing_shin_deg,
                        standing_trunk_deg=base.trunk_reference_deg, standing_deg=base.still_deg,
                        shank_px=base.shank_px, lifter_height_cm=self.p.lifter_height_cm,
                        frame_size=self._frame_size, cut_off_start=cut_off_start, cut_off_end=cut_off,
                        top_t=self.counter.top_t, next_top_t=self.counter.top_without_lockout_t,
                        plates_hid_set=self._plates_hid_set(), lead_in=self._lead_rows)
        if bottom_hidden:
            self._bottoms_hidden += 1
        else:
            self._bottoms_seen += 1
        if rep.side_view:   # only reps the view gate calls side-on are judged for a wink
            wink = self._wink()
            rep.wink, rep.wink_onset_deg, rep.wink_confidence = wink.detected, wink.onset_deg, wink.confidence
            rep.wink_judged = wink.judged
            if wink.head_out and rep.setup_issue is None:
                rep.setup_issue = "head_out"     # the set's sentence says why, and how to fix the camera
        assert self._set is not None, "a rep ends inside the set it started"
        self._set.reps.append(rep)
        self._set.end_t = rep.end_t
        self._last_activity_t = t
        self._reset_rep()
        events.append(RepCompleted(t, rep, self.set_index, self.p.target_depth_deg, self.p.lifter_onset_deg))

    def _depth_signal(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rep's depth signal as the rep counter follows it (3-frame median: one glitch is no turn),
        and its times."""
        column = COLUMNS["thigh_deg"] if self.gate.view in SIDE_OR_UNKNOWN else COLUMNS["drop_deg"]
        seen = np.isfinite(rows[:, column])
        return running_median3(rows[seen, column]), rows[seen, COLUMNS["t"]]

    def _bottom_seen(self, rows: np.ndarray) -> bool:
        """Whether the signal went down to this rep's deepest point in view, counting the frames before
        the rep's start (at 10 fps a clip that begins 0.3 s before a bottom starts the rep at it)."""
        signal, _ = self._depth_signal(np.concatenate([self._lead_rows, rows]))
        if len(signal) == 0:
            return False
        deepest = int(np.argmin(signal))
        return float(np.max(signal[:deepest + 1]) - signal[deepest]) >= SEEN_DESCENT_DEG

    def _bottom_reached(self, rows: np.ndarray) -> bool:
        """Whether a rep cut off by the end came back up from its deepest point or was braking into it
        (BRAKING_S): not cut on the way down, where the last frame is no bottom."""
        signal, t = self._depth_signal(rows)
        if len(signal) < 2:
            return False
        deepest = int(np.argmin(signal))
        if float(np.max(signal[deepest:]) - signal[deepest]) >= SEEN_DESCENT_DEG:
            return True
        earlier = np.searchsorted(t, t - BRAKING_S, side="right") - 1   # the frame BRAKING_S before each
        fell = np.where(earlier >= 0, signal[np.maximum(earlier, 0)] - signal, 0.0)
        return float(fell[-1]) <= BRAKING_SHARE * float(np.max(fell))

    def _finish_set(self, t: float, reason: str, events: list) -> None:
        current = self._set
        self._set = None
        if current is None or not current.reps:
            return
        current.end_t = t
        current.end_reason = reason
        summarise_set(current, self.p.safe_depth_margin_deg)
        events.append(SetFinished(t, current))

    def _plates_hid_set(self) -> bool:
        """Most of this set's bottoms so far were hidden: the next is not judged either (build_rep)."""
        return self._bottoms_hidden > self._bottoms_seen

    # --- output -----------------------------------------------------------------------------
    def _state(self, t: float, present: bool) -> FrameState:
        base = self.baseline
        issue = self.gate.issue if present else None   # nobody there is 'absent', not a camera problem
        judged_view = issue not in BLOCKING               # the head out of the picture: a note only
        judged = present and base.known and self._side_on()    # the gate's word, as for the depth cue
        thigh = self._depth_deg() if judged else None
        settled = self._settled.latest    # the bar's "target": the rep's own measure, none where not judged
        fraction = 0.0
        if thigh is not None:   # both ends in depth terms: standing tall is an empty bar (docs/wiring.md)
            standing = self.p.depth_from_thigh(base.standing_drop_deg)
            span = standing - self.p.target_depth_deg
            fraction = min(1.0, max(0.0, (standing - thigh) / span)) if span > 0 else 0.0
        phase = self.counter.phase if present else "absent"
        if present and not base.known:
            phase = "waiting"
        in_rep = phase in ("descent", "ascent")
        return FrameState(
            timestamp=t, lifter_present=present, calibrated=present and base.known, phase=phase,
            depth_fraction=fraction, target_reached=bool(thigh is not None and settled is not None
                                                           and reached(self.p.depth_from_thigh(settled),
                                                                       self.p.target_depth_deg)),
            thigh_deg=thigh, hip_deg=self.angles.hip_deg if judged else None,
            trunk_lean_deg=self.angles.trunk_lean_deg if judged else None,
            rep_count=len(self._set.reps) if self._set else 0,
            wink_active=in_rep and self._live_wink.detected, set_active=self._set is not None,
            setup_issue=issue if not judged_view else None,
            setup_advice=SETUP_ADVICE.get(issue or "") if not judged_view else None,
            setup_note=SETUP_NOTES_LIVE.get(issue or ""))


def analyze_keypoints(keypoints: Iterable[Keypoints], params: AnalysisParams | None = None) -> list[SetResult]:
    """A whole recording, offline: every set, with a rep cut off by the end of the file kept."""
    analyzer = SquatAnalyzer(params)
    sets: list[SetResult] = []
    last_t = 0.0
    for kp in keypoints:
        _, events = analyzer.update(kp)
        sets.extend(e.result for e in events if isinstance(e, SetFinished))
        last_t = kp.timestamp
    sets.extend(e.result for e in analyzer.finish(last_t, "source_ended") if isinstance(e, SetFinished))
    return sets
