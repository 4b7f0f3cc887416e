"""A sagittal-plane squatting lifter with ground truth.

World frame: metres, x forward (the way the lifter faces), y up, ankle of the near leg at x=0.
Segment angles are from the vertical, positive leaning forward. Without a wink the pelvis,
lumbar and thoracic segments rotate together (neutral spine) by the trunk-lean curve rho(thigh).
The wink is physical, not painted on: hip flexion *demand* is (90 - thigh angle) + rho; once it
passes the lifter's onset angle the hip cannot flex further, so the excess becomes posterior
pelvic tilt (1:1, capped at the wink magnitude). The lumbar spine flexes to absorb it, the
thorax follows by a lifter-specific fraction, and the shoulder, head, arms and bar move with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from station.keypoints import KP

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
    bottom_frame: int
    end_frame: int
    max_depth_deg: float             # minimum thigh angle reached
    wink_magnitude_deg: float        # peak posterior pelvic tilt in this rep
    wink_onset_frame: int | None
    wink_onset_thigh_deg: float | None


@dataclass
class SetTruth:
    """Per-frame ground truth for one generated set."""

    fps: float
    params: LifterParams
    camera: CameraParams
    timestamps: np.ndarray           # (N,)
    joints_world: dict               # name -> (N, 2) metres
    keypoints_px: np.ndarray         # (N, 17, 2) ideal image positions
    visible_side: str                # "left" or "right" (the side nearer the camera)
    thigh_deg: np.ndarray
    hip_flexion_deg: np.ndarray
    pelvic_tilt_deg: np.ndarray      # posterior tilt from the wink (>= 0)
    lumbar_flexion_deg: np.ndarray
    trunk_lean_deg: np.ndarray
    phase: list = field(default_factory=list)
    rep_index: np.ndarray = None     # -1 outside reps
    reps: list = field(default_factory=list)


def _rad(deg):
    return np.radians(deg)


def _unit(angle_deg):
    """Unit vector of a segment `angle_deg` from the vertical, positive forward (+x)."""
    a = _rad(angle_deg)
    return np.stack([np.sin(a), np.cos(a)], axis=-1)


def lean_curve(thigh_deg, max_deg, gamma):
    progress = np.clip((90.0 - np.asarray(thigh_deg)) / 100.0, 0.0, 1.2)
    return max_deg * progress ** gamma


def _thigh_profile(p: LifterParams, fps: float, rng: np.random.Generator):
    """Thigh angle, phase and rep index per frame for walk-in, settle, reps, settle, walk-out."""
    standing = 88.0
    thigh, phase, rep_idx, walk = [], [], [], []
    reps: list[tuple[int, int, int, float]] = []

    def hold(seconds, name, walking=""):
        """Stand still, or walk in (distance 1 -> 0) / out (0 -> 1) with a stepping knee bend."""
        n = int(round(seconds * fps))
        for i in range(n):
            gait = 6.0 * abs(math.sin(math.pi * 2 * i / fps)) if walking else 0.0
            thigh.append(standing - gait)
            phase.append(name)
            rep_idx.append(-1)
            walk.append({"": 0.0, "in": 1 - (i + 1) / n, "out": (i + 1) / n}[walking])

    def ramp(frm, to, frames, name, rep):
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
        reps.append((start, bottom_frame, len(thigh) - 1, bottom))
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

    rho = lean_curve(thigh, p.trunk_lean_max_deg, p.trunk_lean_gamma)
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
    keypoints = _project_keypoints(joints, p, cam)

    reps = []
    for i, (start, bottom_frame, end, bottom) in enumerate(rep_spans):
        span = slice(start, end + 1)
        rep_tilt = tilt[span]
        onset = np.flatnonzero(rep_tilt > 0.5)
        onset_frame = int(start + onset[0]) if len(onset) and rep_tilt.max() > 0.5 else None
        reps.append(RepTruth(i, start, bottom_frame, end, float(thigh[span].min()), float(rep_tilt.max()),
                             onset_frame, float(thigh[onset_frame]) if onset_frame is not None else None))
    return SetTruth(fps=fps, params=p, camera=cam, timestamps=t, joints_world=joints,
                    keypoints_px=keypoints, visible_side="left" if p.facing < 0 else "right",
                    thigh_deg=thigh, hip_flexion_deg=demand - tilt, pelvic_tilt_deg=tilt,
                    lumbar_flexion_deg=lumbar_flex, trunk_lean_deg=rho, phase=phase, rep_index=rep_idx,
                    reps=reps)


def _two_link_elbow(shoulder, hand, upper, fore):
    """Elbow for a hand held at the bar: two-link inverse kinematics, the lower of the two elbows."""
    d = hand - shoulder
    dist = np.clip(np.linalg.norm(d, axis=1), 1e-6, upper + fore - 1e-6)
    cos_a = np.clip((upper ** 2 + dist ** 2 - fore ** 2) / (2 * upper * dist), -1, 1)
    base = np.arctan2(d[:, 1], d[:, 0])
    candidates = [shoulder + upper * np.stack([np.cos(a), np.sin(a)], axis=1)
                  for a in (base + np.arccos(cos_a), base - np.arccos(cos_a))]
    return np.where((candidates[0][:, 1] < candidates[1][:, 1])[:, None], candidates[0], candidates[1])


def project(points_world: np.ndarray, depth_m: float, facing: int, cam: CameraParams) -> np.ndarray:
    """Pinhole projection of sagittal points at a given distance from the camera."""
    x = points_world[..., 0] * facing
    y = points_world[..., 1] - cam.height_m
    tilt = math.radians(cam.tilt_deg)
    y_cam = y * math.cos(tilt) + depth_m * math.sin(tilt)
    z_cam = -y * math.sin(tilt) + depth_m * math.cos(tilt)
    u = cam.width / 2 + cam.lifter_x_px + cam.focal_px * x / z_cam
    v = cam.height / 2 - cam.focal_px * y_cam / z_cam
    return np.stack([u, v], axis=-1)


def _project_keypoints(joints, p: LifterParams, cam: CameraParams) -> np.ndarray:
    """COCO-17 image positions. The side facing the camera is nearer (smaller depth)."""
    n = len(joints["hip"])
    out = np.zeros((n, 17, 2))
    near = cam.distance_m - p.stance_width_m / 2
    far = cam.distance_m + p.stance_width_m / 2
    # Facing right (+1) in the image, the lifter's left side faces the camera.
    near_side, far_side = ("LEFT", "RIGHT") if p.facing > 0 else ("RIGHT", "LEFT")
    pairs = {"SHOULDER": "shoulder", "ELBOW": "elbow", "WRIST": "wrist", "HIP": "hip_landmark",
             "KNEE": "knee", "ANKLE": "ankle", "EAR": "ear", "EYE": "eye"}
    for part, joint in pairs.items():
        out[:, KP[f"{near_side}_{part}"]] = project(joints[joint], near, p.facing, cam)
        out[:, KP[f"{far_side}_{part}"]] = project(joints[joint], far, p.facing, cam)
    out[:, KP.NOSE] = project(joints["nose"], cam.distance_m, p.facing, cam)
    return out


def random_lifter(rng: np.random.Generator, **overrides) -> LifterParams:
    """A lifter drawn from the space the benchmark covers."""
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
    return replace(params, **overrides)


def random_camera(rng: np.random.Generator, params: LifterParams, width=640, height=480) -> CameraParams:
    distance = rng.uniform(2.2, 4.0)
    focal = rng.uniform(0.95, 1.2) * height  # a 55-65 deg horizontal field of view at 4:3
    return CameraParams(width=width, height=height, distance_m=distance, height_m=rng.uniform(0.6, 1.2),
                        tilt_deg=rng.uniform(-4, 6), focal_px=focal,
                        lifter_x_px=rng.uniform(-0.1, 0.1) * width)
