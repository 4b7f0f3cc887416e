"""A sagittal-plane squatting lifter with ground truth.

World frame: metres, x forward (the way the lifter faces), y up, ankle of the near leg at x=0.
Segment angles are from the vertical, positive leaning forward. Without a wink the pelvis,
lumbar and thoracic segments rotate together (neutral spine) by the trunk-lean curve rho(thigh).
The wink is physical, not painted on: hip flexion *demand* is (90 - thigh angle) + rho; once it
passes the lifter's onset angle the hip cannot flex further, so the excess becomes posterior
pelvic tilt (1:1, capped at the wink magnitude). The lumbar spine flexes to absorb it, the
thorax follows by a lifter-specific fraction, and the shoulder, head, arms and bar move with it.

Realism effects seen on real footage (all off in LifterParams(); random_lifter(rng, realism=...)
turns them on for the benchmark population):
- lean flattening: real lifters stop adding trunk lean near the bottom (over the last 20 deg of
  depth the lean grows at a median 0.23 of its mid-descent rate). This is normal mechanics,
  distinct from the wink (which tilts the trunk back through the pelvis past neutral);
- parallax: the legs are 3-D (hips, knees over the toes, ankles at the stance width), so with a
  camera above the knee the near thigh reads shallower and the far thigh deeper;
- bumper plates on the bar, covering the torso from the side (station/sim/noise.py lowers the
  scores of the covered keypoints; station/sim/render.py draws them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, overload

import numpy as np

from station.pose.keypoints import KP


@dataclass
class LifterParams:
    height_m: float = 1.75
    limb_scale: float = 1.0          # >1 = longer legs relative to trunk
    stance_width_m: float = 0.35
    target_depth_deg: float = -5.0   # thigh angle at the bottom (0 = parallel)
    depth_jitter_deg: float = 2.0    # rep-to-rep variation of the bottom
    trunk_lean_max_deg: float = 45.0  # rho at thigh angle -10 deg
    trunk_lean_gamma: float = 1.0    # shape of the lean curve (trunk lean style)
    shin_max_deg: float = 32.0       # shin angle at thigh angle -10 deg (ankle mobility)
    wink_onset_flexion_deg: float = 200.0  # hip-flexion demand where the pelvis starts to tuck
    wink_magnitude_deg: float = 0.0  # max posterior pelvic tilt (0 = no wink)
    thorax_follow: float = 0.2       # fraction of the pelvic tilt the thorax follows
    standing_extension_deg: float = 0.0  # over-arched at the top, back to neutral in descent
    heel_lift_m: float = 0.0
    down_s: float = 1.6
    pause_s: float = 0.3
    up_s: float = 1.2
    reps: int = 5
    rest_between_reps_s: float = 0.8
    sway_m: float = 0.006
    facing: int = 1                  # +1 faces right in the image, -1 left
    walk_in_s: float = 2.5
    settle_s: float = 2.0
    # --- realism (off by default) ---
    lean_flattening: float = 1.0     # lean growth over a rep's last 20 deg of depth / mid-descent rate (1 = none)
    parallax: bool = False           # 3-D legs: hips, knees and ankles at their own distances from the camera
    toe_out_deg: float = 0.0         # with parallax: feet turned out, the knees track out over the toes
    plate_radius_m: float = 0.0      # a plate on each end of the bar (0 = none; bumper 0.225)


@dataclass
class CameraParams:
    width: int = 640
    height: int = 480
    distance_m: float = 3.0
    height_m: float = 0.9
    tilt_deg: float = 0.0            # positive pitches the camera down
    focal_px: float = 480.0
    lifter_x_px: float = 0.0         # horizontal offset of the lifter from the image centre


@dataclass
class RepTruth:
    index: int
    start_frame: int
    bottom_frame: int                # the first frame at the bottom (end of the descent)
    end_frame: int
    max_depth_deg: float             # minimum thigh angle reached
    wink_magnitude_deg: float        # peak posterior pelvic tilt in this rep
    wink_onset_frame: int | None
    wink_onset_thigh_deg: float | None
    heel_lift_cm: float = 0.0
    """Highest rise of the heel (and ankle) above the floor during the rep; 0 when the heel stays down."""
    knee_travel_cm: float = 0.0
    """How far the knee joint moves forward relative to the ankle joint, horizontally: its largest
    lead over the ankle in the rep minus its lead standing just before the rep (DOMAIN.md: the
    shin angle as knee travel past the toes). Independent of the foot length."""
    knee_past_toes_cm: float = 0.0
    """Largest horizontal lead of the knee joint over the tip of the toes (negative: never past)."""
    max_trunk_lean_deg: float = 0.0
    """Largest angle of the hip-joint -> shoulder line from the vertical in the rep (forward +);
    includes the shoulder being carried back by a wink."""
    trunk_lean_from_standing_deg: float = 0.0
    """max_trunk_lean_deg minus the same line's angle standing just before the rep: how far the trunk
    pitched forward from the lifter's own upright posture (what the station shows, docs/depth.md)."""
    down_s: float = 0.0
    """From leaving standing (last still frame) to the bottom. A pause at the bottom has no single
    deepest instant: it is split evenly between down_s and up_s."""
    up_s: float = 0.0
    """From the bottom (the middle of any pause there) back to standing."""
    bottom_pause_s: float = 0.0
    """Time held at the bottom (included half in down_s, half in up_s)."""
    peak_pelvic_tilt_deg: float = 0.0
    """Peak posterior pelvic tilt past the lifter's neutral spine in the rep (the wink; 0 without
    one). An over-arched start returning to neutral is not counted."""
    lean_flattening_ratio: float | None = None
    """lean_flattening_ratio() of the true trunk lean over this rep (None for reps under 60 deg deep)."""


@dataclass
class SetTruth:
    """Per-frame ground truth for one generated set."""

    fps: float
    params: LifterParams
    camera: CameraParams
    timestamps: np.ndarray           # (N,)
    joints_world: dict[str, np.ndarray]  # name -> (N, 2) metres
    keypoints_px: np.ndarray         # (N, 17, 2) ideal image positions
    visible_side: str                # "left" or "right" (the side nearer the camera)
    thigh_deg: np.ndarray
    hip_flexion_deg: np.ndarray
    pelvic_tilt_deg: np.ndarray      # posterior tilt from the wink (>= 0)
    lumbar_flexion_deg: np.ndarray
    trunk_lean_deg: np.ndarray
    phase: list[str] = field(default_factory=list)
    rep_index: np.ndarray = field(default_factory=lambda: np.zeros(0, int))   # -1 outside reps
    reps: list[RepTruth] = field(default_factory=list)
    # joint -> lateral offset from the midline, m: scalar or (N,)
    lateral_m: dict[str, float | np.ndarray] = field(default_factory=dict)
    plate_px: np.ndarray | None = None  # (N, 3) near plate centre x, y and radius in pixels, or None


def _rad(deg: np.ndarray) -> np.ndarray:
    return np.radians(deg)


def _unit(angle_deg: np.ndarray) -> np.ndarray:
    """Unit vector of a segment `angle_deg` from the vertical, positive forward (+x)."""
    a = _rad(angle_deg)
    return np.stack([np.sin(a), np.cos(a)], axis=-1)


@overload
def lean_curve(thigh_deg: float, max_deg: float, gamma: float) -> float: ...
@overload
def lean_curve(thigh_deg: np.ndarray, max_deg: float, gamma: float) -> np.ndarray: ...
def lean_curve(thigh_deg: float | np.ndarray, max_deg: float, gamma: float) -> float | np.ndarray:
    """Trunk lean (deg) at these thigh angles: a float for a scalar, an array for an array."""
    progress = np.clip((90.0 - np.asarray(thigh_deg)) / 100.0, 0.0, 1.2)
    return max_deg * progress ** gamma


STANDING_THIGH_DEG = 88.0
FLATTEN_SPAN_DEG = 20.0      # the lean flattens over the last 20 deg of depth ...
FLATTEN_BLEND_DEG = 10.0     # ... after a 10 deg transition above that


@overload
def flattened_lean(thigh_deg: float, bottom_deg: float | np.ndarray, max_deg: float, gamma: float,
                   flattening: float) -> float: ...
@overload
def flattened_lean(thigh_deg: np.ndarray, bottom_deg: float | np.ndarray, max_deg: float, gamma: float,
                   flattening: float) -> np.ndarray: ...
def flattened_lean(thigh_deg: float | np.ndarray, bottom_deg: float | np.ndarray, max_deg: float, gamma: float,
                   flattening: float) -> float | np.ndarray:
    """Trunk lean (deg) per frame: lean_curve, flattening near each rep's own bottom.

    bottom_deg is the bottom of the rep each frame belongs to (scalar or per frame). The lean's
    growth rate is scaled by a constant over the last FLATTEN_SPAN_DEG of depth, chosen so that
    the growth there per degree is `flattening` times the mid-descent rate (1 = no change),
    blended in over FLATTEN_BLEND_DEG above. The way up retraces the same curve.
    """
    thigh = np.atleast_1d(np.asarray(thigh_deg, float))
    base = lean_curve(thigh, max_deg, gamma)
    if flattening == 1.0:
        return base if np.ndim(thigh_deg) else float(base[0])
    bottoms = np.broadcast_to(np.asarray(bottom_deg, float), thigh.shape)
    out = base.copy()
    for b in np.unique(bottoms):
        sel = bottoms == b
        out[sel] = base[sel] - _flattening_loss(thigh[sel], b, max_deg, gamma, flattening)
    return out if np.ndim(thigh_deg) else float(out[0])


def _flattening_loss(thigh: np.ndarray, bottom: float, max_deg: float, gamma: float,
                     flattening: float) -> np.ndarray:
    """Lean not added (deg) at these thigh angles because of the flattening near `bottom`."""
    top = min(bottom + FLATTEN_SPAN_DEG + FLATTEN_BLEND_DEG, STANDING_THIGH_DEG)
    mid = (STANDING_THIGH_DEG + bottom) / 2
    g = lambda x: float(lean_curve(x, max_deg, gamma))  # noqa: E731
    mid_rate = (g(mid - 10) - g(mid + 10)) / 20
    last_rate = (g(bottom) - g(bottom + FLATTEN_SPAN_DEG)) / FLATTEN_SPAN_DEG
    scale = float(np.clip(flattening * mid_rate / last_rate, 0.0, 2.0)) if last_rate > 1e-9 else 1.0
    grid = np.linspace(min(bottom, float(thigh.min())) - 1.0, top, 400)
    growth = -np.diff(lean_curve(grid, max_deg, gamma))          # lean added per grid step going down
    centre = (grid[:-1] + grid[1:]) / 2
    blend = np.clip((centre - bottom - FLATTEN_SPAN_DEG) / FLATTEN_BLEND_DEG, 0.0, 1.0)
    weight = scale + (1 - scale) * (3 * blend ** 2 - 2 * blend ** 3)   # smoothstep: no kink
    lost = np.concatenate([np.cumsum(((1 - weight) * growth)[::-1])[::-1], [0.0]])  # from grid[i] to top
    return np.interp(thigh, grid, lost, left=lost[0], right=0.0)


def lean_flattening_ratio(thigh_deg: np.ndarray, lean_deg: np.ndarray, min_range_deg: float = 60.0) -> float | None:
    """Lean growth per degree of depth over the last 20 deg before the bottom, over the mid-descent rate.

    Both rates are least-squares slopes of lean against thigh angle over the rep's frames (down and
    up) in the thigh window: [bottom, bottom + 20] and the 20 deg around the middle of the range.
    1 = the lean keeps growing at the same rate; 0 = it stops at the last 20 deg. None for reps
    under `min_range_deg` (the windows would overlap) or a trunk that hardly leans at mid-descent.
    The same function scores the generator's truth, synthetic keypoints and real clips.
    """
    thigh, lean = np.asarray(thigh_deg, float), np.asarray(lean_deg, float)
    ok = np.isfinite(thigh) & np.isfinite(lean)
    thigh, lean = thigh[ok], lean[ok]
    if len(thigh) < 6:
        return None
    top, bottom = float(np.max(thigh)), float(np.min(thigh))
    if top - bottom < min_range_deg:
        return None
    mid = (top + bottom) / 2

    def rate(lo: float, hi: float) -> float | None:
        sel = (thigh >= lo) & (thigh <= hi)
        if np.count_nonzero(sel) < 3 or np.ptp(thigh[sel]) < 5:
            return None
        return -float(np.polyfit(thigh[sel], lean[sel], 1)[0])

    mid_rate, last_rate = rate(mid - 10, mid + 10), rate(bottom, bottom + FLATTEN_SPAN_DEG)
    if mid_rate is None or last_rate is None or mid_rate < 0.05:
        return None
    return last_rate / mid_rate


def _thigh_profile(p: LifterParams, fps: float, rng: np.random.Generator) -> tuple[
        np.ndarray, list[str], np.ndarray, np.ndarray, list[tuple[int, int, int, float, int]]]:
    """Thigh angle, phase and rep index per frame for walk-in, settle, reps, settle, walk-out."""
    standing = STANDING_THIGH_DEG
    thigh: list[float] = []
    phase: list[str] = []
    rep_idx: list[int] = []
    walk: list[float] = []
    reps: list[tuple[int, int, int, float, int]] = []

    def hold(seconds: float, name: str, walking: str = "") -> None:
        """Stand still, or walk in (distance 1 -> 0) / out (0 -> 1) with a stepping knee bend."""
        n = int(round(seconds * fps))
        for i in range(n):
            gait = 6.0 * abs(math.sin(math.pi * 2 * i / fps)) if walking else 0.0
            thigh.append(standing - gait)
            phase.append(name)
            rep_idx.append(-1)
            walk.append({"": 0.0, "in": 1 - (i + 1) / n, "out": (i + 1) / n}[walking])

    def ramp(frm: float, to: float, frames: int, name: str, rep: int) -> None:
        """A smooth (cosine) move of the thigh angle over `frames` frames."""
        for i in range(frames):
            u = (i + 1) / frames
            thigh.append(frm + (to - frm) * (1 - math.cos(math.pi * u)) / 2)
            phase.append(name)
            rep_idx.append(rep)
            walk.append(0.0)

    hold(p.walk_in_s, "walk", walking="in")
    hold(p.settle_s, "standing")
    for r in range(p.reps):
        bottom = p.target_depth_deg + rng.normal(0, p.depth_jitter_deg)
        start = len(thigh)
        down = max(2, int(round(p.down_s * fps * rng.uniform(0.9, 1.1))))
        up = max(2, int(round(p.up_s * fps * rng.uniform(0.9, 1.1))))
        pause = int(round(p.pause_s * fps))
        ramp(standing, bottom, down, "descent", r)
        bottom_frame = len(thigh) - 1
        ramp(bottom, bottom, pause, "bottom", r)
        ramp(bottom, standing, up, "ascent", r)
        reps.append((start, bottom_frame, len(thigh) - 1, bottom, pause))
        hold(p.rest_between_reps_s if r < p.reps - 1 else p.settle_s, "standing")
    hold(p.walk_in_s, "walk", walking="out")
    return np.array(thigh), phase, np.array(rep_idx), np.array(walk), reps


def simulate_set(params: LifterParams, camera: CameraParams | None = None, fps: float = 30.0,
                 seed: int = 0) -> SetTruth:
    p = params
    cam = camera or CameraParams()
    rng = np.random.default_rng(seed)
    thigh, phase, rep_idx, walk, rep_spans = _thigh_profile(p, fps, rng)
    n = len(thigh)
    t = np.arange(n) / fps
    h = p.height_m
    shank_l = 0.246 * h * p.limb_scale
    thigh_l = 0.245 * h * p.limb_scale
    pelvis_l, lumbar_l, thorax_l = 0.062 * h, 0.105 * h, 0.150 * h
    foot_heel, foot_toe, ankle_h = 0.045 * h, 0.11 * h, 0.039 * h

    rep_bottom = np.full(n, p.target_depth_deg)
    for start, _, end, bottom, _ in rep_spans:
        rep_bottom[start:end + 1] = bottom
    rho = flattened_lean(thigh, rep_bottom, p.trunk_lean_max_deg, p.trunk_lean_gamma, p.lean_flattening)
    shin = lean_curve(thigh, p.shin_max_deg, 1.0)
    demand = (90.0 - thigh) + rho
    tilt = np.clip(demand - p.wink_onset_flexion_deg, 0.0, p.wink_magnitude_deg)
    # over-arched standing that returns to neutral during the first half of the descent
    progress = np.clip((88.0 - thigh) / 50.0, 0.0, 1.0)
    extension = p.standing_extension_deg * (1.0 - progress)
    pelvis_ang = -34.0 + rho - tilt + extension
    thorax_ang = 4.0 + rho - p.thorax_follow * tilt
    lumbar_ang = (pelvis_ang + 34.0 + thorax_ang - 4.0) / 2 + 3.0
    lumbar_flex = (1.0 - p.thorax_follow) * tilt  # flexion past neutral only

    # sway and walking translate the whole body
    sway = p.sway_m * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6)) + rng.normal(0, p.sway_m / 4, n)
    offset_x = sway - walk * 1.2  # walking in from, and back out to, 1.2 m behind the spot

    heel = np.clip((80.0 - thigh) / 80.0, 0, 1) * p.heel_lift_m
    ankle = np.stack([offset_x, ankle_h + heel], axis=1)
    knee = ankle + shank_l * _unit(shin)
    hip = knee + thigh_l * np.stack([-np.cos(_rad(thigh)), np.sin(_rad(thigh))], axis=1)
    l5 = hip + pelvis_l * _unit(pelvis_ang)
    t12 = l5 + lumbar_l * _unit(lumbar_ang)
    c7 = t12 + thorax_l * _unit(thorax_ang)
    thorax_dir = _unit(thorax_ang)
    thorax_fwd = np.stack([thorax_dir[:, 1], -thorax_dir[:, 0]], axis=1)  # perpendicular, forward
    shoulder = c7 + 0.045 * h * thorax_fwd - 0.02 * h * thorax_dir
    head = c7 + 0.10 * h * _unit(thorax_ang * 0.4)  # the lifter keeps the gaze level-ish
    ear = head + np.array([-0.005, 0.0]) * h
    eye = head + np.array([0.045, 0.012]) * h
    nose = head + np.array([0.060, -0.005]) * h
    bar = c7 - 0.035 * h * thorax_fwd + 0.01 * h * thorax_dir
    hand = bar + 0.01 * h * thorax_fwd
    elbow = _two_link_elbow(shoulder, hand, 0.186 * h, 0.146 * h)
    toe = np.stack([offset_x + foot_toe, np.zeros(n)], axis=1)
    heel_pt = np.stack([offset_x - foot_heel, heel], axis=1)
    hip_landmark = hip + 0.02 * h * _unit(pelvis_ang - 90)  # COCO "hip" sits slightly off the joint

    joints = {"ankle": ankle, "knee": knee, "hip": hip, "hip_landmark": hip_landmark, "l5s1": l5,
              "t12": t12, "c7": c7, "shoulder": shoulder, "elbow": elbow, "wrist": hand, "head": head,
              "ear": ear, "eye": eye, "nose": nose, "bar": bar, "toe": toe, "heel": heel_pt}
    lateral = _lateral_offsets(joints, thigh, p)
    keypoints = _project_keypoints(joints, lateral, p, cam)
    plate_px = None
    if p.plate_radius_m > 0:
        depth = cam.distance_m - PLATE_LATERAL_M
        centre = project(bar, depth, p.facing, cam)
        edge = project(bar + np.array([0.0, p.plate_radius_m]), depth, p.facing, cam)
        plate_px = np.column_stack([centre, np.hypot(*(edge - centre).T)])

    knee_lead = knee[:, 0] - ankle[:, 0]
    lean_line = np.degrees(np.arctan2(shoulder[:, 0] - hip[:, 0], shoulder[:, 1] - hip[:, 1]))
    reps = []
    for i, (start, bottom_frame, end, _bottom, pause) in enumerate(rep_spans):
        span = slice(start, end + 1)
        rep_tilt = tilt[span]
        onset = np.flatnonzero(rep_tilt > 0.5)
        onset_frame = int(start + onset[0]) if len(onset) and rep_tilt.max() > 0.5 else None
        before = max(start - 1, 0)                       # the last standing frame
        bottom_t = t[bottom_frame] + pause / fps / 2     # the middle of any pause at the bottom
        reps.append(RepTruth(
            i, start, bottom_frame, end, float(thigh[span].min()), float(rep_tilt.max()),
            onset_frame, float(thigh[onset_frame]) if onset_frame is not None else None,
            heel_lift_cm=100 * float(heel[span].max()),
            knee_travel_cm=100 * float(knee_lead[span].max() - knee_lead[before]),
            knee_past_toes_cm=100 * float((knee[span, 0] - toe[span, 0]).max()),
            max_trunk_lean_deg=float(lean_line[span].max()),
            trunk_lean_from_standing_deg=float(lean_line[span].max() - lean_line[before]),
            down_s=float(bottom_t - (t[start] - 1 / fps)), up_s=float(t[end] - bottom_t),
            bottom_pause_s=pause / fps, peak_pelvic_tilt_deg=float(rep_tilt.max()),
            lean_flattening_ratio=lean_flattening_ratio(thigh[span], rho[span])))
    return SetTruth(fps=fps, params=p, camera=cam, timestamps=t, joints_world=joints,
                    keypoints_px=keypoints, visible_side="left" if p.facing < 0 else "right",
                    thigh_deg=thigh, hip_flexion_deg=demand - tilt, pelvic_tilt_deg=tilt,
                    lumbar_flexion_deg=lumbar_flex, trunk_lean_deg=rho, phase=phase, rep_index=rep_idx,
                    reps=reps, lateral_m=lateral, plate_px=plate_px)


def _two_link_elbow(shoulder: np.ndarray, hand: np.ndarray, upper: float, fore: float) -> np.ndarray:
    """Elbow for a hand held at the bar: two-link inverse kinematics, the lower of the two elbows."""
    d = hand - shoulder
    dist = np.clip(np.linalg.norm(d, axis=1), 1e-6, upper + fore - 1e-6)
    cos_a = np.clip((upper ** 2 + dist ** 2 - fore ** 2) / (2 * upper * dist), -1, 1)
    base = np.arctan2(d[:, 1], d[:, 0])
    candidates = [shoulder + upper * np.stack([np.cos(a), np.sin(a)], axis=1)
                  for a in (base + np.arccos(cos_a), base - np.arccos(cos_a))]
    return np.where((candidates[0][:, 1] < candidates[1][:, 1])[:, None], candidates[0], candidates[1])


def project(points_world: np.ndarray, depth_m: float | np.ndarray, facing: int, cam: CameraParams) -> np.ndarray:
    """Pinhole projection of sagittal points at a given distance from the camera (one, or one per point)."""
    x = points_world[..., 0] * facing
    y = points_world[..., 1] - cam.height_m
    tilt = math.radians(cam.tilt_deg)
    y_cam = y * math.cos(tilt) + depth_m * math.sin(tilt)
    z_cam = -y * math.sin(tilt) + depth_m * math.cos(tilt)
    u = cam.width / 2 + cam.lifter_x_px + cam.focal_px * x / z_cam
    v = cam.height / 2 - cam.focal_px * y_cam / z_cam
    return np.stack([u, v], axis=-1)


PLATE_LATERAL_M = 0.7  # centre of a plate on the bar's sleeve, from the midline

# Lateral offsets from the midline with parallax on, in body heights: hip joint centres, shoulder
# joints, elbows and hands holding the bar, ears, eyes. Knees, ankles and feet follow the stance.
LATERAL_FRAC = {"hip": 0.048, "hip_landmark": 0.048, "shoulder": 0.10, "elbow": 0.13, "wrist": 0.16,
                "ear": 0.043, "eye": 0.018}
PAIRED = ("shoulder", "elbow", "wrist", "hip", "hip_landmark", "knee", "ankle", "ear", "eye", "toe", "heel")


def _lateral_offsets(joints: dict[str, np.ndarray], thigh: np.ndarray,
                     p: LifterParams) -> dict[str, float | np.ndarray]:
    """Distance of each paired joint from the body's midline, metres (scalar or per frame).

    Without parallax every paired joint sits at half the stance width: each side is a flat copy
    of the sagittal model, so near and far thighs read the same angle. With parallax the legs are
    3-D: hip joints close together, ankles at the stance width, and the knees between them when
    standing, moving out along the turned-out feet as they travel forward in the squat.
    """
    if not p.parallax:
        return {name: p.stance_width_m / 2 for name in PAIRED}
    h = p.height_m
    out: dict[str, float | np.ndarray] = {name: frac * h for name, frac in LATERAL_FRAC.items()}
    ankle_w, hip_w = p.stance_width_m / 2, LATERAL_FRAC["hip"] * h
    toe_out = math.tan(math.radians(p.toe_out_deg))
    upright = np.clip(np.sin(_rad(thigh)), 0.0, 1.0)
    lead = joints["knee"][:, 0] - joints["ankle"][:, 0]
    out["knee"] = ankle_w + (hip_w - ankle_w) * 0.5 * upright + np.maximum(lead, 0.0) * toe_out
    out["ankle"] = ankle_w
    out["heel"] = ankle_w - 0.045 * h * math.sin(math.radians(p.toe_out_deg))
    out["toe"] = ankle_w + 0.11 * h * math.sin(math.radians(p.toe_out_deg))
    return out


def _project_keypoints(joints: dict[str, np.ndarray], lateral: dict[str, float | np.ndarray], p: LifterParams,
                       cam: CameraParams) -> np.ndarray:
    """COCO-17 image positions. The side facing the camera is nearer (smaller depth)."""
    n = len(joints["hip"])
    out = np.zeros((n, 17, 2))
    # Facing right (+1) in the image, the lifter's right side faces the camera (SetTruth.visible_side).
    near_side, far_side = ("RIGHT", "LEFT") if p.facing > 0 else ("LEFT", "RIGHT")
    pairs = {"SHOULDER": "shoulder", "ELBOW": "elbow", "WRIST": "wrist", "HIP": "hip_landmark",
             "KNEE": "knee", "ANKLE": "ankle", "EAR": "ear", "EYE": "eye"}
    for part, joint in pairs.items():
        out[:, KP[f"{near_side}_{part}"]] = project(joints[joint], cam.distance_m - lateral[joint], p.facing, cam)
        out[:, KP[f"{far_side}_{part}"]] = project(joints[joint], cam.distance_m + lateral[joint], p.facing, cam)
    out[:, KP.NOSE] = project(joints["nose"], cam.distance_m, p.facing, cam)
    return out


def random_lifter(rng: np.random.Generator, realism: np.random.Generator | None = None,
                  **overrides: Any) -> LifterParams:
    """A lifter drawn from the space the benchmark covers.

    With `realism` (a generator of its own, so the base draws from `rng` stay exactly as they
    were), the effects seen on real footage are drawn on top: lean flattening near the bottom,
    3-D legs (parallax), and bumper plates on the bar in about a third of the sets.
    """
    wink = rng.random() < 0.5
    params = LifterParams(
        height_m=rng.uniform(1.55, 1.95),
        limb_scale=rng.uniform(0.93, 1.07),
        stance_width_m=rng.uniform(0.25, 0.5),
        target_depth_deg=rng.uniform(-20, 5),
        depth_jitter_deg=rng.uniform(0.5, 3),
        trunk_lean_max_deg=rng.uniform(30, 55),
        trunk_lean_gamma=rng.uniform(0.8, 1.3),
        shin_max_deg=rng.uniform(25, 40),
        thorax_follow=rng.uniform(0.0, 0.4),
        standing_extension_deg=rng.uniform(0, 8) if rng.random() < 0.3 else 0.0,
        heel_lift_m=rng.uniform(0.01, 0.04) if rng.random() < 0.15 else 0.0,
        down_s=rng.uniform(1.0, 2.5), pause_s=rng.uniform(0.0, 0.8), up_s=rng.uniform(0.7, 1.8),
        reps=int(rng.integers(1, 9)),
        rest_between_reps_s=rng.uniform(0.3, 1.5),
        facing=int(rng.choice([-1, 1])),
    )
    # wink onset placed somewhere in the lifter's range of hip-flexion demand
    bottom_demand = (90 - params.target_depth_deg) + float(lean_curve(params.target_depth_deg,
                                                                      params.trunk_lean_max_deg,
                                                                      params.trunk_lean_gamma))
    if wink:
        params.wink_onset_flexion_deg = bottom_demand - rng.uniform(12, 35)
        params.wink_magnitude_deg = rng.uniform(10, 25)
    else:
        params.wink_onset_flexion_deg = bottom_demand - rng.uniform(5, 30)
        params.wink_magnitude_deg = rng.uniform(0, 3)
    if realism is not None:
        # real lifters: over the last 20 deg of depth the lean grows at a median 0.23 of its
        # mid-descent rate, roughly 0-0.6 between lifters
        params.lean_flattening = float(np.clip(realism.normal(0.23, 0.17), 0.0, 0.6))
        params.parallax = True
        params.toe_out_deg = realism.uniform(10, 35)
        params.plate_radius_m = float(realism.choice([0.225, 0.2, 0.16])) if realism.random() < 0.35 else 0.0
        # how much of the pelvic tilt the thorax follows decides whether the trunk line tips back:
        # on the real wink clips one tips back 10-12 deg (kham), one barely at all (rnjs)
        params.thorax_follow = float(realism.uniform(0.0, 1.0))
        # the flattened lean lowers the hip-flexion demand at the bottom: keep the onset's margin
        flat_demand = (90 - params.target_depth_deg) + flattened_lean(
            params.target_depth_deg, params.target_depth_deg, params.trunk_lean_max_deg,
            params.trunk_lean_gamma, params.lean_flattening)
        params.wink_onset_flexion_deg += flat_demand - bottom_demand
    return replace(params, **overrides)


def random_camera(rng: np.random.Generator, params: LifterParams, width: int = 640, height: int = 480,
                  realism: np.random.Generator | None = None) -> CameraParams:
    """A camera beside the lifter. With `realism`: 0.5-1.4 m high (often above the knee or the
    hip, as phones on benches and tripods are), pitched towards the lifter's middle, and a focal
    length that keeps the lifter in the frame."""
    distance = rng.uniform(2.2, 4.0)
    focal = rng.uniform(0.95, 1.2) * height  # a 55-65 deg horizontal field of view at 4:3
    cam = CameraParams(width=width, height=height, distance_m=distance, height_m=rng.uniform(0.6, 1.2),
                       tilt_deg=rng.uniform(-4, 6), focal_px=focal,
                       lifter_x_px=rng.uniform(-0.1, 0.1) * width)
    if realism is not None:
        cam.height_m = realism.uniform(0.5, 1.4)
        aim = 0.5 * params.height_m
        cam.tilt_deg = math.degrees(math.atan2(cam.height_m - aim, distance)) + realism.uniform(-3, 3)
        cam.focal_px = min(focal, 0.85 * height * distance / (1.05 * params.height_m))
    return cam
