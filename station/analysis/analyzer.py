"""Per-frame squat analysis: Keypoints in, FrameState and events out. Pure computation, no I/O.

Order of work each frame: pick and hold the side facing the camera, reject glitches (a spotter
walking through, a left/right swap) and fill short dropouts, smooth with the One Euro filter,
compute angles, calibrate the standing baseline, run the rep state machine, and at the bottom
and end of each rep run the wink detector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from station.analysis.filters import OneEuroFilter
from station.analysis.types import (DepthReached, FrameState, LifterReady, RepCompleted,
                                    RepResult, RepSeries, RepStarted, SetFinished, SetResult, WinkWarning)
from station.analysis.wink import NO_WINK, WinkEstimate, estimate_winks
from station.keypoints import KP, Keypoints

SIDE_JOINTS = {
    "left": (KP.LEFT_EAR, KP.LEFT_SHOULDER, KP.LEFT_HIP, KP.LEFT_KNEE, KP.LEFT_ANKLE, KP.LEFT_WRIST),
    "right": (KP.RIGHT_EAR, KP.RIGHT_SHOULDER, KP.RIGHT_HIP, KP.RIGHT_KNEE, KP.RIGHT_ANKLE, KP.RIGHT_WRIST),
}
SIDE_SCORE_INDEX = {side: np.array(idx[1:5]) for side, idx in SIDE_JOINTS.items()}  # shoulder..ankle
EAR, SHOULDER, HIP, KNEE, ANKLE, WRIST = range(6)
REQUIRED = (SHOULDER, HIP, KNEE, ANKLE)
SHANK_CM_PER_BODY_HEIGHT = 0.246  # anthropometric ratio (Winter)


@dataclass
class AnalysisParams:
    target_depth_deg: float = 0.0
    wink_sensitivity: str = "normal"
    safe_depth_margin_deg: float = 5.0
    set_idle_s: float = 20.0
    min_rep_range_deg: float = 35.0
    min_cutoff_hz: float = 1.5
    beta: float = 0.05
    min_score: float = 0.2
    lifter_height_cm: float = 175.0
    max_gap_s: float = 0.5
    leave_after_s: float = 3.0
    calibration_s: float = 0.8

    @classmethod
    def from_config(cls, analysis_cfg, pose_cfg=None) -> "AnalysisParams":
        params = cls(target_depth_deg=analysis_cfg.target_depth_deg,
                     wink_sensitivity=analysis_cfg.wink_sensitivity,
                     safe_depth_margin_deg=analysis_cfg.safe_depth_margin_deg,
                     set_idle_s=analysis_cfg.set_idle_s, min_rep_range_deg=analysis_cfg.min_rep_range_deg,
                     min_cutoff_hz=analysis_cfg.smoothing_min_cutoff_hz, beta=analysis_cfg.smoothing_beta)
        if pose_cfg is not None:
            params.min_score = pose_cfg.min_score
        return params


class _Buffer:
    """Growable per-rep column store (amortised: no allocation on most frames)."""

    def __init__(self, columns: int, capacity: int = 256):
        self.data = np.empty((capacity, columns))
        self.size = 0

    def clear(self) -> None:
        self.size = 0

    def append(self, row) -> None:
        self.next_row()[:] = row

    def next_row(self) -> np.ndarray:
        """A view of the next row to fill in place."""
        if self.size == len(self.data):
            self.data = np.concatenate([self.data, np.empty_like(self.data)])
        self.size += 1
        return self.data[self.size - 1]

    def view(self) -> np.ndarray:
        return self.data[: self.size]


# columns of the rep buffer
T, THIGH, HIPANG, TRUNK, KNEEANG, SHIN, ANKLE_Y, UPPER = range(8)
JOINT_COLS = 8  # then 12 columns of joint x, y


def _angle_at(ax, ay, bx, by, cx, cy) -> float:
    """Interior angle ABC in degrees."""
    v1x, v1y, v2x, v2y = ax - bx, ay - by, cx - bx, cy - by
    n = math.hypot(v1x, v1y) * math.hypot(v2x, v2y)
    if n == 0:
        return float("nan")
    return math.degrees(math.acos(max(-1.0, min(1.0, (v1x * v2x + v1y * v2y) / n))))


class SquatAnalyzer:
    def __init__(self, params: AnalysisParams | None = None):
        self.p = params or AnalysisParams()
        self._filter = OneEuroFilter(12, self.p.min_cutoff_hz, self.p.beta)
        self._raw = np.zeros(12)
        self._held = np.zeros(12)
        self._last_seen = np.full(6, -1e9)
        self._side_score = {"left": 0.0, "right": 0.0}
        self._rep = _Buffer(JOINT_COLS + 12)
        self._calib = _Buffer(4, 64)
        self.set_index = 0
        self._frame_size = (0, 0)
        self._reset_lifter()

    # --- lifecycle --------------------------------------------------------------------------
    def _reset_lifter(self) -> None:
        self.side: str | None = None
        self.facing = 0.0
        self._filter.reset()
        self._have_points = False
        self._absent_since: float | None = None
        self._calibrated = False
        self._calib.clear()
        self.baseline: dict | None = None
        self._phase = "waiting"
        self._set: SetResult | None = None
        self._set_wink_data: list[tuple[np.ndarray, np.ndarray]] = []
        self._last_activity_t = 0.0
        self._still_t = 0.0
        self._glitch_since: float | None = None
        self._reset_rep()

    def _reset_rep(self) -> None:
        self._rep.clear()
        self._min_thigh = math.inf
        self._min_t = 0.0
        self._start_t = 0.0
        self._depth_reached = False
        self._wink_warned = False
        self._live_wink = NO_WINK

    def update_params(self, params: AnalysisParams) -> None:
        """Apply new settings (target depth, sensitivity...) without losing the set in progress."""
        self.p = params
        self._filter.min_cutoff, self._filter.beta = params.min_cutoff_hz, params.beta

    # --- per frame --------------------------------------------------------------------------
    def update(self, kp: Keypoints) -> tuple[FrameState, list]:
        events: list = []
        t = kp.timestamp
        self._frame_size = (kp.frame_width, kp.frame_height)
        present = self._track(kp)
        if not present:
            if self._absent_since is None:
                self._absent_since = t
            if t - self._absent_since >= self.p.leave_after_s and (self._calibrated or self._set):
                self._finish_set(t, "left", events)
                self._reset_lifter()
            return self._state(t, False, None), events
        self._absent_since = None
        pts = self._filter(t, self._held)
        angles = self._angles(pts)
        if angles is None:
            return self._state(t, True, None), events
        if not self._calibrated:
            self._calibrate(t, angles, pts, events)
            return self._state(t, True, angles), events
        self._step_reps(t, angles, pts, events)
        if (self._set is not None and self._phase == "standing" and self._set.reps
                and t - self._last_activity_t >= self.p.set_idle_s):
            self._finish_set(t, "idle", events)
            self._calibrated = False  # a new set re-calibrates the standing posture
            self._calib.clear()
            self._phase = "waiting"
        return self._state(t, True, angles), events

    def finish(self, t: float) -> list:
        """End of stream or shutdown: close the set (a rep in progress is dropped, not guessed)."""
        events: list = []
        self._finish_set(t, "shutdown", events)
        return events

    # --- tracking: side, glitches, gaps -----------------------------------------------------
    def _track(self, kp: Keypoints) -> bool:
        pts, t = kp.points, kp.timestamp
        for side, index in SIDE_SCORE_INDEX.items():
            score = float(pts[index, 2].mean())
            self._side_score[side] += 0.1 * (score - self._side_score[side])
        if self.side is None or (not self._calibrated and self._set is None):
            self.side = max(self._side_score, key=self._side_score.get)
        idx = SIDE_JOINTS[self.side]
        other = SIDE_JOINTS["right" if self.side == "left" else "left"]
        body = self._body_px()
        near_radius = 0.2 * body if body > 0 else 0.04 * kp.frame_height
        glitch = False
        for j, (k, k2) in enumerate(zip(idx, other)):
            x, y, s = pts[k]
            x2, y2, s2 = pts[k2]
            # From the side both legs project almost on one line and MoveNet often moves its
            # confidence between the two labels: an unsure joint borrows the other label's point
            # when that one is sure and in the same place.
            if s < self.p.min_score <= s2 and math.hypot(x - x2, y - y2) < near_radius:
                x, y, s = x2, y2, s2
            if s < self.p.min_score:
                continue
            if self._have_points and body > 0 and j in REQUIRED:
                jump = math.hypot(x - self._held[2 * j], y - self._held[2 * j + 1])
                if jump > 0.6 * body:
                    glitch = True  # somebody else, or a left/right swap: hold the last good pose
                    continue
            self._raw[2 * j], self._raw[2 * j + 1] = x, y
            self._last_seen[j] = t
        if glitch:
            if self._glitch_since is None:
                self._glitch_since = t
            elif t - self._glitch_since > 1.0:  # persistent: it is the lifter after all (moved fast)
                self._have_points = False
                self._glitch_since = None
        else:
            self._glitch_since = None
        fresh = t - self._last_seen <= self.p.max_gap_s
        if not all(fresh[j] for j in REQUIRED):
            return False
        if not self._have_points:
            self._held[:] = self._raw
            self._have_points = True
            self._filter.reset()
        self._held[:] = self._raw
        # facing: the nose is ahead of the ear; smoothed so one bad frame cannot flip it
        nose = pts[KP.NOSE]
        if nose[2] >= self.p.min_score and t - self._last_seen[EAR] < self.p.max_gap_s:
            direction = 1.0 if nose[0] > self._raw[2 * EAR] else -1.0
            self.facing += 0.1 * (direction - self.facing)
        return True

    def _body_px(self) -> float:
        if self.baseline:
            return self.baseline["leg_px"]
        if not self._have_points:
            return 0.0
        h = self._held
        return math.hypot(h[4] - h[6], h[5] - h[7]) + math.hypot(h[6] - h[8], h[7] - h[9])

    # --- angles -----------------------------------------------------------------------------
    def _angles(self, pts: np.ndarray):
        ex, ey, sx, sy, hx, hy, kx, ky, ax, ay = (float(v) for v in pts[:10])
        facing = 1.0 if self.facing >= 0 else -1.0
        thigh_len = math.hypot(kx - hx, ky - hy)
        if thigh_len < 1:
            return None
        thigh = math.degrees(math.atan2(ky - hy, abs(kx - hx)))
        knee = _angle_at(hx, hy, kx, ky, ax, ay)
        hip = _angle_at(sx, sy, hx, hy, kx, ky)
        trunk = math.degrees(math.atan2(facing * (sx - hx), hy - sy))
        shin = math.degrees(math.atan2(facing * (kx - ax), ay - ky))
        # the wink detector's trunk line runs to the ear-shoulder midpoint: a longer lever, less noise
        ux, uy = (ex + sx) / 2, (ey + sy) / 2
        upper = math.degrees(math.atan2(facing * (ux - hx), hy - uy))
        return thigh, hip, trunk, knee, shin, ay, upper

    # --- calibration ------------------------------------------------------------------------
    def _calibrate(self, t, angles, pts, events) -> None:
        thigh, hip, trunk, knee, shin, ankle_y, _ = angles
        self._phase = "waiting"
        if thigh < 65:
            self._calib.clear()
            return
        self._calib.append((t, thigh, trunk, pts[5]))
        window = self._calib.view()
        window = window[window[:, 0] >= t - self.p.calibration_s]
        if window[-1, 0] - window[0, 0] < self.p.calibration_s * 0.9:
            return
        body = self._body_px()
        if np.ptp(window[:, 3]) > 0.06 * body or np.ptp(window[:, 1]) > 8:  # still moving
            return
        shank_px = math.hypot(pts[6] - pts[8], pts[7] - pts[9])
        self.baseline = {
            "thigh_deg": float(np.median(window[:, 1])), "trunk_deg": float(np.median(window[:, 2])),
            "ankle_y": float(pts[9]), "leg_px": body, "shank_px": shank_px,
            "cm_per_px": self.p.lifter_height_cm * SHANK_CM_PER_BODY_HEIGHT / max(shank_px, 1.0),
            "shin_deg": shin, "ankle_x": float(pts[8]),
        }
        self._calibrated = True
        self._still_t = t
        self._phase = "standing"
        self._last_activity_t = t
        if self._set is None:
            self.set_index += 1
            self._set = SetResult(index=self.set_index, start_t=t, end_t=t, end_reason="",
                                  target_depth_deg=self.p.target_depth_deg)
        events.append(LifterReady(t))

    # --- reps -------------------------------------------------------------------------------
    def _record(self, t, angles, pts) -> None:
        row = self._rep.next_row()
        row[0] = t
        row[1:JOINT_COLS] = angles
        row[JOINT_COLS:] = pts

    def _step_reps(self, t, angles, pts, events) -> None:
        thigh = angles[0]
        base = self.baseline["thigh_deg"]
        start_below = base - 12.0
        if self._phase == "standing":
            if thigh >= base - 3.0:
                self._still_t = t  # the last moment the lifter was still upright: the rep's start
            if thigh < start_below:
                self._phase = "descent"
                self._reset_rep()
                self._start_t = min(t, self._still_t)
                events.append(RepStarted(t, len(self._set.reps) + 1))
            else:
                return
        self._record(t, angles, pts)
        self._last_activity_t = t
        if thigh < self._min_thigh:
            self._min_thigh, self._min_t = thigh, t
        if not self._depth_reached and thigh <= self.p.target_depth_deg:
            self._depth_reached = True
            events.append(DepthReached(t, len(self._set.reps) + 1, thigh))
        if self._phase in ("descent", "bottom"):
            if thigh > self._min_thigh + 4.0:
                self._phase = "ascent"
                self._live_wink_check(t, events)
            elif t - self._min_t > 0.15 and thigh < self._min_thigh + 2.0:
                self._phase = "bottom"
        elif self._phase == "ascent":
            if thigh < self._min_thigh - 1.0:
                self._phase = "descent"
            elif thigh >= base - 8.0:
                self._end_rep(t, events)
        if t - self._start_t > 20.0:  # not a rep: sitting on a box, kneeling, re-racking
            self._phase = "standing" if thigh >= start_below else self._phase
            if self._phase == "standing":
                self._reset_rep()

    def _live_wink_check(self, t, events) -> None:
        """At the turn from bottom to ascent: enough data for the hinge fit, still in the rep."""
        data = self._rep.view()
        est = self._winks_with((data[:, THIGH].copy(), data[:, UPPER].copy()))[-1]
        self._live_wink = est
        if est.detected and not self._wink_warned:
            self._wink_warned = True
            events.append(WinkWarning(t, len(self._set.reps) + 1, est.onset_deg, est.magnitude_deg))

    def _winks_with(self, current: tuple[np.ndarray, np.ndarray]) -> list[WinkEstimate]:
        return estimate_winks(self._set_wink_data + [current], self.baseline["thigh_deg"], self.p.wink_sensitivity)

    def _end_rep(self, t, events) -> None:
        self._phase = "standing"
        data = self._rep.view().copy()
        start_t = self._start_t
        self._reset_rep()
        base = self.baseline
        rep_range = base["thigh_deg"] - float(data[:, THIGH].min())
        duration = float(data[-1, T] - start_t)
        ankle_shift = float(np.ptp(data[:, JOINT_COLS + 8]))
        if rep_range < self.p.min_rep_range_deg or duration < 0.5 or ankle_shift > 0.35 * base["leg_px"]:
            return  # too shallow, too quick, or the feet moved: walking, unracking, stepping back
        # depth from a 3-frame running median: one glitched frame at the bottom must not set it
        thigh = data[:, THIGH]
        robust = np.median(np.stack([thigh[:-2], thigh[1:-1], thigh[2:]]), axis=0) if len(thigh) > 2 else thigh
        bottom_i = int(np.argmin(robust)) + (1 if len(thigh) > 2 else 0)
        this_rep = (data[:, THIGH].copy(), data[:, UPPER].copy())
        wink = self._winks_with(this_rep)[-1]
        self._set_wink_data.append(this_rep)
        shank_cm = base["shank_px"] * base["cm_per_px"]
        knee_travel = shank_cm * (math.sin(math.radians(float(data[:, SHIN].max())))
                                  - math.sin(math.radians(base["shin_deg"])))
        heel = max(0.0, (base["ankle_y"] - float(data[:, ANKLE_Y].min())) * base["cm_per_px"])
        joints = data[:, JOINT_COLS:].reshape(-1, 6, 2).astype(np.float32)
        series = RepSeries(t=(data[:, T] - data[0, T]).astype(np.float32),
                           thigh_deg=data[:, THIGH].astype(np.float32), hip_deg=data[:, HIPANG].astype(np.float32),
                           trunk_lean_deg=data[:, TRUNK].astype(np.float32),
                           knee_deg=data[:, KNEEANG].astype(np.float32), joints=joints,
                           frame_size=self._frame_size)
        depth = float(robust.min())
        rep = RepResult(
            index=len(self._set.reps) + 1, start_t=start_t, bottom_t=float(data[bottom_i, T]),
            end_t=float(data[-1, T]), max_depth_deg=depth, below_parallel=depth < 0,
            reached_target=depth <= self.p.target_depth_deg, tut_s=duration,
            down_s=float(data[bottom_i, T] - start_t), up_s=float(data[-1, T] - data[bottom_i, T]),
            max_trunk_lean_deg=float(data[:, TRUNK].max()), knee_travel_cm=max(0.0, knee_travel),
            heel_lift_cm=heel if heel > 1.0 else 0.0, wink=wink.detected, wink_onset_deg=wink.onset_deg,
            wink_magnitude_deg=wink.magnitude_deg, wink_confidence=wink.confidence, series=series)
        self._set.reps.append(rep)
        self._last_activity_t = t
        events.append(RepCompleted(t, rep))

    def _finish_set(self, t, reason, events) -> None:
        current = self._set
        self._set = None
        if current is None or not current.reps:
            return
        current.end_t = t
        current.end_reason = reason
        # with the whole set in hand, every rep's wink is re-estimated against the full pool
        final = estimate_winks(self._set_wink_data, self.baseline["thigh_deg"], self.p.wink_sensitivity)
        for rep, est in zip(current.reps, final):
            rep.wink, rep.wink_onset_deg = est.detected, est.onset_deg
            rep.wink_magnitude_deg, rep.wink_confidence = est.magnitude_deg, est.confidence
        self._set_wink_data = []
        summarise_set(current, self.p.safe_depth_margin_deg)
        events.append(SetFinished(t, current))

    # --- output -----------------------------------------------------------------------------
    def _state(self, t, present, angles) -> FrameState:
        thigh = angles[0] if angles else None
        fraction = 0.0
        if thigh is not None and self.baseline and self._calibrated:
            span = self.baseline["thigh_deg"] - self.p.target_depth_deg
            fraction = min(1.0, max(0.0, (self.baseline["thigh_deg"] - thigh) / span)) if span > 0 else 0.0
        phase = self._phase if present else "absent"
        in_rep = phase in ("descent", "bottom", "ascent")
        return FrameState(
            timestamp=t, lifter_present=present, calibrated=self._calibrated, phase=phase,
            depth_fraction=fraction, target_reached=bool(thigh is not None and self._calibrated
                                                         and thigh <= self.p.target_depth_deg),
            thigh_deg=thigh, hip_deg=angles[1] if angles else None, trunk_lean_deg=angles[2] if angles else None,
            rep_count=len(self._set.reps) if self._set else 0,
            wink_active=in_rep and self._live_wink.detected, set_active=self._set is not None)


def summarise_set(result: SetResult, margin_deg: float) -> None:
    """Per-set numbers and the one sentence a lifter reads first."""
    reps = result.reps
    depths = np.array([r.max_depth_deg for r in reps])
    result.depth_sd_deg = float(depths.std()) if len(depths) > 1 else 0.0
    winks = [r for r in reps if r.wink]
    # one flagged rep in a longer set is as likely noise as a wink: the set verdict needs a pattern
    if winks and len(winks) >= min(len(reps), max(2, round(0.4 * len(reps)))):
        onset = float(np.median([r.wink_onset_deg for r in winks]))
        result.wink_onset_deg = onset
        result.suggested_depth_deg = onset + margin_deg
    result.summary = set_sentence(result)


def _depth_words(deg: float) -> str:
    if abs(deg) < 1.5:
        return "at parallel"
    return f"{abs(deg):.0f} deg {'below' if deg < 0 else 'above'} parallel"


def _rep_list(indices: list[int]) -> str:
    if len(indices) == 1:
        return f"rep {indices[0]}"
    if indices == list(range(indices[0], indices[-1] + 1)):
        return f"reps {indices[0]}-{indices[-1]}"
    return "reps " + ", ".join(str(i) for i in indices)


def set_sentence(result: SetResult) -> str:
    reps = result.reps
    n = len(reps)
    mean_depth = float(np.mean([r.max_depth_deg for r in reps]))
    head = f"{n} rep{'s' if n != 1 else ''}, average depth {_depth_words(mean_depth)}"
    winks = [r.index for r in reps if r.wink]
    if winks and result.wink_onset_deg is not None:
        stop = result.suggested_depth_deg
        stop_words = "parallel" if abs(stop) < 1.5 else _depth_words(stop)
        return (f"{head}. Your lower back started to round {_depth_words(result.wink_onset_deg)} on "
                f"{_rep_list(winks)}: try stopping at {stop_words}.")
    if winks:
        return f"{head}. Possible lower-back rounding on {_rep_list(winks)} only: film a few more reps to confirm."
    missed = [r.index for r in reps if not r.reached_target]
    if missed:
        return f"{head}. No rounding seen; {_rep_list(missed)} stopped short of your target depth."
    return f"{head}. No lower-back rounding seen and every rep reached your target depth."
