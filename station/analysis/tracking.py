"""Keypoints in, one steady side-view body out: both legs, bone-length checks, gaps, smoothing.

From the side MoveNet sees two legs that project almost onto one line. The camera usually sits
above the knee, so the far thigh reads several degrees deeper than the near one (parallax);
their mean cancels that, so every joint used downstream is the mean of the two labels when both
are sound ("the midline"). A leg is unsound when its bones are far longer than the lifter's
stable bone lengths (a hip point pulled onto a plate, a spotter's knee), or side-on a thigh far
shorter (a knee pulled up onto the hip): it is dropped for that frame and the other leg carries
the midline, shifted by the offset last seen between them, so the midline does not jump by the
parallax when a leg drops out.
"""

from __future__ import annotations

import math

import numpy as np

from station.analysis.filters import OneEuroFilter
from station.analysis.quality import SIDE_MAX_SPREAD
from station.pose.keypoints import KP, Keypoints

# midline joints, in this order; each is the mean of its left and right labels. Then the near side's
# own ear, shoulder and hip: the trunk line is measured on the side facing the camera, where MoveNet
# sees the points (the far shoulder is a guess, and averaging a guess in only adds noise).
JOINTS = ("ear", "shoulder", "hip", "knee", "ankle", "wrist", "near_ear", "near_shoulder", "near_hip")
EAR, SHOULDER, HIP, KNEE, ANKLE, WRIST, NEAR_EAR, NEAR_SHOULDER, NEAR_HIP = range(len(JOINTS))
MIDLINE = 6                         # the first six are the midline (stored per rep for the replay)
LABELS = np.array([(KP.LEFT_EAR, KP.RIGHT_EAR), (KP.LEFT_SHOULDER, KP.RIGHT_SHOULDER),
                   (KP.LEFT_HIP, KP.RIGHT_HIP), (KP.LEFT_KNEE, KP.RIGHT_KNEE),
                   (KP.LEFT_ANKLE, KP.RIGHT_ANKLE), (KP.LEFT_WRIST, KP.RIGHT_WRIST)])
NEAR_OF = ((NEAR_EAR, EAR), (NEAR_SHOULDER, SHOULDER), (NEAR_HIP, HIP))
# A joint not yet seen for this lifter (the feet on a clip's first frames, in the dark) stands at
# its neighbour up the chain, in this order, until it is seen: never at the image's corner, where
# it would read as feet that moved by the whole frame (the rep dropped as walking) and stretch
# the replay's frame. joint_fresh() stays False for it, so nothing measures from it.
STAND_IN = ((SHOULDER, HIP), (EAR, SHOULDER), (ANKLE, KNEE), (WRIST, SHOULDER),
            (NEAR_HIP, HIP), (NEAR_SHOULDER, SHOULDER), (NEAR_EAR, EAR))
FACING_FROM_KNEES = 0.6             # knee ahead of hip by this share of their height gap: thigh < ~60 deg
NEAR_SIDE_HYSTERESIS = 0.1          # score margin before the near side changes (no coin tosses)
LEG_JOINTS = (HIP, KNEE, ANKLE)
THIGH, SHANK = 0, 1
REQUIRED = (HIP, KNEE)              # without these there is no depth and no rep

# bone-length checks against the lifter's stable lengths
MAX_BONE_STRETCH = 1.3              # a thigh or shank this much longer than usual is a wrong point
STABLE_LENGTH_QUANTILE = 90         # stable length: this percentile of recent lengths
LENGTH_HISTORY = 128                # recent lengths kept (about 4-12 s)
MIN_LENGTH_SAMPLES = 16             # lengths seen before the bone check trusts them
UPRIGHT_HISTORY = 32                # upright thigh lengths kept for the drop signal's scale
UPRIGHT_THIGH_DEG = 70.0            # a thigh steeper than this is upright (standing, top of a rep)
MIN_LEG_SHARE = 0.45               # thigh + shank shorter than this share of usual: collapsed points
# Side-on a thigh swings in the image plane, so its length barely changes (real side clips: 0.55 of
# usual at the least). One far shorter is a knee pulled up onto the hip (a plate, a bar): a glitch,
# never a pose, however long it lasts. Turned to the camera a thigh foreshortens for real (front
# clips: 0.15-0.35), so only while side-on: L-R spread under the view gate's side limit (SIDE_MAX_SPREAD).
MIN_THIGH_SHARE = 0.4
# The shank too: side-on it stays within 0.44-0.88 of its usual length on the real side clips (1st
# percentile; under 0.5 on at most 4 % of frames, all behind plates). An ankle that puts it under
# half is a point pulled up onto the knee (MoveNet on the demo's mannequin standing: 15 % of frames,
# a shin drawn a few pixels long in the replay): that frame has no ankle.
MIN_SHANK_SHARE = 0.5
MAX_HIP_SPLIT = 0.5                 # one hip this far above the other (x thigh): one of them is wrong
SAME_POINT = 0.5                    # L and R labels closer than this (x thigh) are one point seen twice
# Hip and knee cannot move faster than this (leg lengths per second): a faster jump is a point pulled
# onto a plate or a bar, somebody else, or a left/right swap. Measured over 0.2 s on the real side
# clips, the hip peaks at 0.6-1.7 (the fastest: continuous bodyweight reps, beproj). At 1.5 such reps
# outran the limit between frames at 10-12 fps: the tracker held the pose through the descent and
# the rep read 10-19 deg shallow. At 30 fps and above MIN_JUMP_LEGS, not this, is the limit.
MAX_HIP_SPEED_LEGS_S = 2.0
# While the torso is unsure (a plate in front) a jump is believed at 0.75 leg/s, over the time
# since the last accepted pose: an unsure hold then ends once the lifter could have got there, at
# 10 fps as at 60. (Unsure poses had only the per-frame floor below, which a 60 fps clip passes in
# small steps and a 10 fps one never did: it held the pose through the bottom.)
MAX_UNSURE_SPEED_LEGS_S = 0.75
# The lifter's usual torso score: its upper quartile over the last 2 s (what 64 frames were at 30
# fps), the score when the torso is in view. In seconds, not frames: 64 frames at 10 fps span 6 s
# and take in the low scores of earlier bottoms behind the plates; and a median over a set that
# spends half its time behind a plate is half hidden itself. Either way a hidden bottom passed as seen.
CONFIDENCE_HISTORY_S = 2.0
USUAL_PERCENTILE = 75
CONFIDENCE_CAPACITY = 256          # frames kept: 2 s at up to 120 fps
MIN_CONFIDENCE_SAMPLES = 8
UNSURE_SHARE = 0.75                # hip and knee scores below this share of the usual: skip the frame
STEADY_FRAMES = 3                  # jumps are judged only against a pose seen this many frames
MIN_JUMP_LEGS = 0.15               # at high frame rates, smaller steps than this are noise, not jumps
MAX_HOLD_S = 0.6                    # hold the last pose at most this long, then accept the new one
MAX_UNSURE_HOLD_S = 1.5             # ... or this long while the new one is also unsure
# Someone walking past in front of the lifter: MoveNet takes the nearer, bigger person, whose hips
# then cross the lifter's place, within reach of where the lifter's hips could be (bench_real.py
# --transform passerby). What gives them away is that they keep moving sideways: a squatting lifter's
# hips go up and down, and back by a few centimetres, not across the picture (the passer's hips: 1.9-4.4
# leg lengths a second on the dev clips; a brisk walk nearer the camera is about 2). While a jump is
# held, a pose is not taken, however near it is, when the held frames of the last PASSING_WINDOW_S
# show hips walking across: faster than PASSING_LEGS_S, at a steady speed, more across than up or
# down, and at least MIN_JUMP_LEGS. A plate's glitches jump back and forth, or up and down.
PASSING_LEGS_S = 1.0
PASSING_WINDOW_S = 0.25
PASSING_MIN_FRAMES = 3              # ... seen on this many held frames at least,
PASSING_MIN_SPAN_S = 0.15           # ... spanning this long at least,
PASSING_FIT = 0.8                   # ... a straight line in time explaining this share of the motion
PASSING_CAPACITY = 128              # held frames remembered (0.25 s at up to 500 fps)
# A held pose is dropped (the lifter "absent") MAX_UNSURE_HOLD_S after the last accepted one; while
# someone walks past, up to this long: a slow walker or a crowd would otherwise lose the rep under way.
MAX_PASSING_HOLD_S = 3.0
# Running averages forget in seconds, not frames: a weight of 0.2 a frame is 0.15 s at 30 fps but
# 0.45 s at a Pi 4's 10. Each time constant below is what the per-frame weight was at 30 fps.
LEG_OFFSET_TAU_S = 0.15             # each leg's offset from the midline (was 0.2 a frame)
SIDE_SCORE_TAU_S = 0.32             # each side's ear + shoulder + hip score: which side is near (0.1)
FACING_TAU_S = 0.15                 # the knees' word on the facing (0.2)
NOSE_FACING_TAU_S = 0.32            # the nose's, while the facing is still unsure (0.1) ...
NOSE_SETTLED_TAU_S = 1.65           # ... and once it is settled (0.02)
MAX_STEP_S = 0.125                  # a longer gap counts as this (8 fps): one frame cannot reset them


class BodyTracker:
    """Keeps the lifter's midline joints (pixels) steady and honest, frame after frame.

    After ``update()`` returns True, ``points`` holds the smoothed midline (6 x [x, y]),
    ``raw_legs`` the two legs' raw hip/knee/ankle (or NaN), and ``thigh_px``/``shank_px`` the stable
    bone lengths. Nothing is allocated per frame but the usual score's percentile, every 4th frame.
    """

    def __init__(self, min_score: float = 0.2, max_gap_s: float = 0.5, min_cutoff_hz: float = 1.5,
                 beta: float = 0.05):
        self.min_score = min_score
        self.max_gap_s = max_gap_s
        self.filter = OneEuroFilter(2 * len(JOINTS), min_cutoff_hz, beta)
        self.points = self.filter.value.reshape(len(JOINTS), 2)   # smoothed midline (a view)
        self._raw = np.zeros((len(JOINTS), 2))                     # unsmoothed midline, gaps filled
        self._new = np.full((len(JOINTS), 2), np.nan)              # this frame's midline (reused)
        self._last_seen = np.full(len(JOINTS), -math.inf)
        self._leg_offset = np.zeros((2, 3, 2))                     # each leg minus the midline
        self.raw_legs = np.full((2, 3, 2), np.nan)                 # this frame's sound legs
        self.leg_ok = np.zeros(2, bool)
        self._lengths = np.zeros((2, LENGTH_HISTORY))   # recent thigh (row 0) and shank (row 1) lengths
        self._history_count = [0, 0]                     # lengths seen, per row
        self._confidence = np.zeros(CONFIDENCE_CAPACITY)  # recent shoulder and hip scores ...
        self._confidence_t = np.full(CONFIDENCE_CAPACITY, -math.inf)  # ... and when
        self._confidence_count = 0
        self.usual_confidence = 0.0
        self.thigh_px = 0.0
        self.shank_px = 0.0
        self._upright_history = np.zeros(UPRIGHT_HISTORY)
        self._upright_size = 0
        self.upright_thigh_px = 0.0    # thigh length when it stands upright: in the image plane in any view
        self._side_score = np.zeros(2)  # smoothed ear + shoulder + hip score per label side
        self.near_side = 0              # 0 = the left labels face the camera, 1 = the right
        self.facing = 0.0              # > 0 faces image right, < 0 left (smoothed nose-ahead-of-ear)
        self._knees_set_facing = False  # the knees have spoken: the nose no longer moves the facing
        self.width_ratio = 0.0         # this frame's L-R spread / torso: 0 side-on, ~0.6 front-on
        self.have_pose = False
        self.torso_unsure = False      # this frame's shoulders and hips score far below usual
        self.fresh = False             # this frame's legs were taken (not held over from an earlier one)
        self.passing = False           # this frame's pose was someone walking past, not taken
        self._jump_since: float | None = None
        self._steady = 0               # frames accepted since the pose (re)appeared
        self._last_t = -math.inf        # the last accepted pose's time
        self._frame_t = -math.inf       # the last frame's time, accepted or not
        self._step_s = MAX_STEP_S       # seconds since the last frame (capped), for the running averages
        self._held_t = np.zeros(PASSING_CAPACITY)   # the frames not taken since the last accepted pose ...
        self._held_xy = np.zeros((PASSING_CAPACITY, 2))   # ... and their mid-hip
        self._held_count = 0

    def frame_weight(self, tau_s: float) -> float:
        """A running average's weight for this frame: the same forgetting per second at any rate."""
        return 1.0 - math.exp(-self._step_s / tau_s)

    def reset(self) -> None:
        self.have_pose = False
        self.filter.reset()
        self._last_seen[:] = -math.inf
        self._jump_since = None
        self._held_count = 0
        self._steady = 0
        self._history_count = [0, 0]
        self._upright_size = 0
        self.thigh_px = self.shank_px = self.upright_thigh_px = 0.0
        self.facing = 0.0
        self._knees_set_facing = False
        self._confidence_count = 0      # the next lifter's usual score is their own
        self.usual_confidence = 0.0

    @property
    def leg_px(self) -> float:
        return self.thigh_px + self.shank_px

    # ---------------------------------------------------------------------------------------
    def update(self, kp: Keypoints) -> bool:
        """Take one frame; False when the lifter (hip and knee) is not in view."""
        pts, t = kp.points, kp.timestamp
        self._step_s = min(max(t - self._frame_t, 0.0), MAX_STEP_S)
        self._frame_t = t
        scores = pts[:, 2]
        ok = scores >= self.min_score
        unsure = self.torso_unsure = self._unsure(scores, t)
        self._check_legs(pts, ok)
        self._update_lengths()
        self.fresh = self.passing = False
        if not self.leg_ok.any():
            return self._fill_gaps(t)
        new = self._midline(pts, ok)
        if self._implausible_jump(new, t, unsure):
            return self._fill_gaps(t, holding=True)   # somebody else, a swap, a plate: hold the lifter
        self._jump_since = None
        self._held_count = 0
        self.fresh = True
        self._steady += 1
        self._last_t = t
        for j in range(len(JOINTS)):
            if np.isfinite(new[j, 0]):
                self._raw[j] = new[j]
                self._last_seen[j] = t
        for joint, neighbour in STAND_IN:
            if self._last_seen[joint] == -math.inf:
                self._raw[joint] = self._raw[neighbour]
        self._update_upright_thigh()
        self._update_view(pts, ok)
        return self._fill_gaps(t)

    def _implausible_jump(self, new: np.ndarray, t: float, unsure: bool) -> bool:
        """True while hip or knee sit further from the last accepted pose than they could have moved.

        A sure pose may have moved as far as a hip can since the last accepted one, an unsure one
        (torso scores far below usual: a plate or a bar in front) MAX_UNSURE_SPEED_LEGS_S; either may always move
        MIN_JUMP_LEGS (keypoint noise; at high frame rates this floor, not the speed, is the limit
        between two frames). A sure jump is believed after MAX_HOLD_S, an unsure one after
        MAX_UNSURE_HOLD_S; by then the time allowance has usually caught up anyway.
        """
        dt = t - self._last_t
        if self._steady < STEADY_FRAMES or dt <= 0 or not self.leg_px:
            return False
        passing = self.passing = self._passing_by(new, t)
        moved = [math.hypot(*(new[j] - self._raw[j])) for j in REQUIRED if np.isfinite(new[j, 0])]
        speed = MAX_UNSURE_SPEED_LEGS_S if unsure else MAX_HIP_SPEED_LEGS_S
        allowed = max(MIN_JUMP_LEGS, speed * dt)
        if not passing and (not moved or max(moved) <= allowed * self.leg_px):
            return False
        if self._jump_since is None:
            self._jump_since = t
        if passing or t - self._jump_since <= (MAX_UNSURE_HOLD_S if unsure else MAX_HOLD_S):
            return True
        self.filter.reset()             # it persists: the lifter really is there now
        self._steady = 0
        return False

    def _passing_by(self, new: np.ndarray, t: float) -> bool:
        """True when the frames not taken since the last accepted pose show hips moving sideways
        faster than a squatting lifter's (PASSING_LEGS_S): someone walking past, not the lifter."""
        if not np.isfinite(new[HIP, 0]):
            return False
        slot = self._held_count % PASSING_CAPACITY
        self._held_t[slot] = t
        self._held_xy[slot] = new[HIP]
        self._held_count += 1
        if self._held_count < 2:          # the usual frame: the last one was taken
            return False
        # the held frames of the last PASSING_WINDOW_S, oldest first (the ring is in time order)
        n = min(self._held_count, PASSING_CAPACITY)
        order = (np.arange(self._held_count - n, self._held_count)) % PASSING_CAPACITY
        stamps = self._held_t[order]
        recent = order[(stamps >= t - PASSING_WINDOW_S) & (stamps <= t)]
        if recent.size < PASSING_MIN_FRAMES:
            return False
        span = t - self._held_t[recent[0]]
        if span < PASSING_MIN_SPAN_S:
            return False
        times, xs = self._held_t[recent] - t, self._held_xy[recent, 0]
        slope, offset = np.polyfit(times, xs, 1)
        spread = float(np.sum((xs - xs.mean()) ** 2))
        steady = spread > 0 and float(np.sum((xs - (slope * times + offset)) ** 2)) <= (1 - PASSING_FIT) * spread
        sideways = abs(float(xs[-1] - xs[0]))
        upways = abs(float(self._held_xy[recent[-1], 1] - self._held_xy[recent[0], 1]))
        return (steady and sideways >= 2 * upways and sideways > MIN_JUMP_LEGS * self.leg_px
                and abs(slope) > PASSING_LEGS_S * self.leg_px)

    def _unsure(self, scores: np.ndarray, t: float) -> bool:
        """True when this frame's shoulders and hips score far below the lifter's usual: MoveNet then
        tends to put the hip on a plate or a bar held in front of the body, with a plausible skeleton."""
        confidence = float(np.max(scores[LABELS[SHOULDER:HIP + 1]], axis=1).mean())
        slot = self._confidence_count % CONFIDENCE_CAPACITY
        self._confidence[slot], self._confidence_t[slot] = confidence, t
        self._confidence_count += 1
        n = min(self._confidence_count, CONFIDENCE_CAPACITY)
        if n < MIN_CONFIDENCE_SAMPLES or self._confidence_count % 4 == 0:
            stamps = self._confidence_t[:n]
            recent = (stamps >= t - CONFIDENCE_HISTORY_S) & (stamps <= t)
            self.usual_confidence = float(np.percentile(self._confidence[:n][recent], USUAL_PERCENTILE))
        return n >= MIN_CONFIDENCE_SAMPLES and confidence < UNSURE_SHARE * self.usual_confidence

    def _fill_gaps(self, t: float, holding: bool = False) -> bool:
        """Short dropouts keep the last position; a longer one of hip or knee is 'absent'.
        While a jump is held the lifter is still there, only unsure: the hold's own limit applies."""
        limit = (MAX_PASSING_HOLD_S if self.passing else MAX_UNSURE_HOLD_S) if holding else self.max_gap_s
        if not all(t - self._last_seen[j] <= limit for j in REQUIRED):
            self.have_pose = False
            return False
        if not self.have_pose:
            self.filter.reset()
            self.have_pose = True
        self.filter(t, self._raw.reshape(-1))
        return True

    def joint_fresh(self, joint: int, t: float) -> bool:
        return t - self._last_seen[joint] <= self.max_gap_s

    # --- legs -------------------------------------------------------------------------------
    def _check_legs(self, pts: np.ndarray, ok: np.ndarray) -> None:
        legs = self.raw_legs
        legs.fill(np.nan)
        self.leg_ok[:] = False
        thighs = [math.nan, math.nan]
        for side in (0, 1):
            hip, knee = LABELS[HIP, side], LABELS[KNEE, side]
            if ok[hip] and ok[knee]:
                thighs[side] = math.hypot(pts[hip, 0] - pts[knee, 0], pts[hip, 1] - pts[knee, 1])
                self._remember(THIGH, thighs[side])
        limit = MAX_BONE_STRETCH * self.thigh_px if self._lengths_known else math.inf
        # two long thighs that agree are the lifter stepping closer, not two wrong points
        both_agree = all(np.isfinite(thighs)) and abs(thighs[0] - thighs[1]) < (1 - 1 / MAX_BONE_STRETCH) * max(thighs)
        side_on = self._lengths_known and self.width_ratio < SIDE_MAX_SPREAD
        shortest = MIN_THIGH_SHARE * self.thigh_px if side_on else 0.0   # a collapsed thigh is not a leg
        for side in (0, 1):
            if not np.isfinite(thighs[side]) or (thighs[side] > limit and not both_agree) or thighs[side] < shortest:
                continue
            hip, knee, ankle = (LABELS[j, side] for j in LEG_JOINTS)
            legs[side, 0] = pts[hip, :2]
            legs[side, 1] = pts[knee, :2]
            if ok[ankle]:
                shank = math.hypot(pts[knee, 0] - pts[ankle, 0], pts[knee, 1] - pts[ankle, 1])
                self._remember(SHANK, shank)
                if self._lengths_known and thighs[side] + shank < MIN_LEG_SHARE * self.leg_px:
                    legs[side] = np.nan         # a leg folded into a fist-sized knot: not a leg
                    continue
                stub = side_on and shank < MIN_SHANK_SHARE * self.shank_px
                if not stub and (not self._lengths_known or shank <= MAX_BONE_STRETCH * self.shank_px):
                    legs[side, 2] = pts[ankle, :2]
            self.leg_ok[side] = True
        if self.leg_ok.all() and self.thigh_px:
            if abs(legs[0, 0, 1] - legs[1, 0, 1]) > MAX_HIP_SPLIT * self.thigh_px:
                # one hip far above the other: a label sits on a plate or a bar; keep the usual-length thigh
                worse = int(abs(thighs[1] - self.thigh_px) > abs(thighs[0] - self.thigh_px))
                self.leg_ok[worse] = False
                legs[worse] = np.nan

    def _midline(self, pts: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Mean of the sound labels; one leg alone is shifted by its last known offset. Written into
        a buffer reused every frame (the caller copies what it keeps)."""
        new = self._new
        new.fill(np.nan)
        legs = self.raw_legs
        if self.leg_ok.all():
            weight = self.frame_weight(LEG_OFFSET_TAU_S)
            for k, j in enumerate(LEG_JOINTS):
                if np.isfinite(legs[:, k, 0]).all():
                    np.add(legs[0, k], legs[1, k], out=new[j])
                    new[j] *= 0.5
                    self._leg_offset[:, k] += weight * (legs[:, k] - new[j] - self._leg_offset[:, k])
                elif np.isfinite(legs[0, k, 0]) or np.isfinite(legs[1, k, 0]):
                    side = 0 if np.isfinite(legs[0, k, 0]) else 1
                    new[j] = legs[side, k] - self._leg_offset[side, k]
        else:
            side = 0 if self.leg_ok[0] else 1
            for k, j in enumerate(LEG_JOINTS):
                if np.isfinite(legs[side, k, 0]):
                    new[j] = legs[side, k] - self._leg_offset[side, k]
        near = self.thigh_px * SAME_POINT if self.thigh_px else math.inf
        for j in (EAR, SHOULDER, WRIST):
            left, right = LABELS[j]
            if ok[left] and ok[right]:
                apart = math.hypot(pts[left, 0] - pts[right, 0], pts[left, 1] - pts[right, 1])
                if j == WRIST and apart >= near:   # two hands in two places: follow the surer one
                    new[j] = pts[left if pts[left, 2] >= pts[right, 2] else right, :2]
                else:
                    new[j] = (pts[left, :2] + pts[right, :2]) / 2
            elif ok[left] or ok[right]:
                new[j] = pts[left if ok[left] else right, :2]
        near = self.near_side
        for near_joint, joint in NEAR_OF:
            label = LABELS[joint, near]
            new[near_joint] = pts[label, :2] if ok[label] else new[joint]
        return new

    def _remember(self, bone: int, length: float) -> None:
        """Every measured length goes in, sound or not: a high percentile ignores the odd wrong one
        and follows a lifter who steps closer, so a bad first frame cannot lock the lengths."""
        self._lengths[bone, self._history_count[bone] % LENGTH_HISTORY] = length
        self._history_count[bone] += 1

    @property
    def _lengths_known(self) -> bool:
        return self._history_count[0] >= MIN_LENGTH_SAMPLES and self.thigh_px > 0

    def _update_lengths(self) -> None:
        """Stable bone lengths: a high percentile (foreshortening only ever shortens a bone)."""
        for bone, count in enumerate(self._history_count):
            if count and (count < MIN_LENGTH_SAMPLES or count % 4 == 0):
                value = float(np.percentile(self._lengths[bone, :min(count, LENGTH_HISTORY)], STABLE_LENGTH_QUANTILE))
                if bone == THIGH:
                    self.thigh_px = value
                else:
                    self.shank_px = value

    def _update_upright_thigh(self) -> None:
        """The thigh's length when it stands upright: in the image plane in any view (the drop's scale)."""
        hip, knee = self._raw[HIP], self._raw[KNEE]
        length = math.hypot(*(hip - knee))
        if length > 1 and abs(knee[1] - hip[1]) > math.sin(math.radians(UPRIGHT_THIGH_DEG)) * length:
            self._upright_history[self._upright_size % UPRIGHT_HISTORY] = length
            self._upright_size += 1
            if self._upright_size < 8 or self._upright_size % 4 == 0:
                self.upright_thigh_px = float(np.median(self._upright_history[:min(self._upright_size,
                                                                                     UPRIGHT_HISTORY)]))

    def _update_view(self, pts: np.ndarray, ok: np.ndarray) -> None:
        """Near side, facing (nose ahead of the ears) and how far the body is turned to the camera."""
        side_scores = pts[LABELS[EAR:HIP + 1], 2].sum(axis=0)
        self._side_score += self.frame_weight(SIDE_SCORE_TAU_S) * (side_scores - self._side_score)
        other = 1 - self.near_side
        if self._side_score[other] > self._side_score[self.near_side] + NEAR_SIDE_HYSTERESIS:
            self.near_side = other
        # In a squat the knees travel forward and the hips back: with the thigh well away from
        # vertical, the knee ahead of the hip says which way the lifter faces, far more surely than
        # the nose (MoveNet often puts a side-on nose behind the ear). Standing, the nose is all we
        # have until the first descent; once the knees have set the facing, only they change it (a
        # lifter does not turn round mid-set). On the rendered mannequin the nose flipped the facing
        # 10-30 times a set, and with it the sign of every standing trunk and shin angle.
        hip, knee = self._raw[HIP], self._raw[KNEE]
        dx, dy = knee[0] - hip[0], knee[1] - hip[1]
        if abs(dx) > abs(dy) * FACING_FROM_KNEES:
            self.facing += self.frame_weight(FACING_TAU_S) * ((1.0 if dx > 0 else -1.0) - self.facing)
            self._knees_set_facing = self._knees_set_facing or abs(self.facing) >= 0.5
        elif ok[KP.NOSE] and np.isfinite(self._raw[EAR, 0]) and not self._knees_set_facing:
            direction = 1.0 if pts[KP.NOSE, 0] > self._raw[EAR, 0] else -1.0
            tau_s = NOSE_SETTLED_TAU_S if abs(self.facing) >= 0.5 else NOSE_FACING_TAU_S
            self.facing += self.frame_weight(tau_s) * (direction - self.facing)
        shoulders, hips = LABELS[SHOULDER], LABELS[HIP]
        if not (ok[shoulders].all() and ok[hips].all()):
            self.width_ratio = 0.0   # the far side is hidden behind the body: side-on
        else:
            torso = math.hypot(*(pts[shoulders, :2].mean(axis=0) - pts[hips, :2].mean(axis=0)))
            if torso > 1:
                spread = abs(pts[shoulders[0], 0] - pts[shoulders[1], 0]) + abs(pts[hips[0], 0] - pts[hips[1], 0])
                self.width_ratio = spread / 2 / torso
