"""MoveNet-like keypoint noise for the keypoint-level benchmark.

Not a model of MoveNet's errors in detail; a stress test with the error kinds seen on real
side-view footage: per-joint jitter (partly frame-to-frame correlated), short dropouts with low
scores, a far side that is occluded (low scores, larger error, but always emitted), and rare
left/right swaps.

Two systematic effects measured on real footage (random draws of their own, so with them off the
output is exactly what it was without them):
- hip_offset_frac: MoveNet puts the hip keypoint 0-25 px above the hip joint on baggy shorts
  (real 500-700 px tall lifters: up to ~4 % of body height, 0-10 deg shallow thigh angle). Drawn
  per set (one lifter), up and slightly back, on both hip labels; the truth is unchanged. Off in
  NoiseParams(), on in the benchmark (REALISTIC_NOISE).
- plates: when the lifter has plates on the bar (LifterParams.plate_radius_m > 0) the shoulder,
  hip and ear keypoints of that set score lower and are noisier, most where the near plate covers
  them in the frame. This follows the scene, so it needs no switch; the factors are below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from station.pose.keypoints import KP, Keypoints

if TYPE_CHECKING:
    from station.sim.lifter import SetTruth


@dataclass
class NoiseParams:
    jitter_frac: float = 0.008       # of the lifter's image height, per joint per frame
    drift_frac: float = 0.006        # slowly varying part
    dropout_rate: float = 0.01       # chance per joint per frame that a dropout burst starts
    swap_rate: float = 0.003         # chance per frame of a left/right label swap
    far_side_score: tuple[float, float] = (0.1, 0.45)
    # hip keypoint above the joint, body heights: value or (lo, hi) per set
    hip_offset_frac: float | tuple[float, float] = 0.0
    hip_offset_back: float = 0.3            # ... and backwards by this fraction of the upward offset
    plate_score_factor: tuple[float, float] = (0.5, 0.85)  # shoulder/hip/ear scores times this (per set) in plate sets
    plate_noise_gain: float = 1.8           # their jitter and drift times this
    plate_cover_score: float = 0.7          # and again times this, and noise times 1.5, where the plate covers them


REALISTIC_NOISE = NoiseParams(hip_offset_frac=(0.0, 0.04))
TORSO_JOINTS = [KP.LEFT_SHOULDER, KP.RIGHT_SHOULDER, KP.LEFT_HIP, KP.RIGHT_HIP, KP.LEFT_EAR, KP.RIGHT_EAR]


def body_height_px(truth: SetTruth) -> float:
    """The lifter's standing height in pixels at the camera distance (the unit of hip_offset_frac)."""
    return truth.params.height_m * truth.camera.focal_px / truth.camera.distance_m


LEFT_RIGHT = [(KP.LEFT_SHOULDER, KP.RIGHT_SHOULDER), (KP.LEFT_ELBOW, KP.RIGHT_ELBOW),
              (KP.LEFT_WRIST, KP.RIGHT_WRIST), (KP.LEFT_HIP, KP.RIGHT_HIP), (KP.LEFT_KNEE, KP.RIGHT_KNEE),
              (KP.LEFT_ANKLE, KP.RIGHT_ANKLE), (KP.LEFT_EAR, KP.RIGHT_EAR), (KP.LEFT_EYE, KP.RIGHT_EYE)]


def noisy_keypoints(truth: SetTruth, noise: NoiseParams | None = None, seed: int | None = 0) -> list[Keypoints]:
    """Keypoints per frame for a SetTruth, with MoveNet-like errors."""
    noise = noise or NoiseParams()
    rng = np.random.default_rng(seed)
    ideal = truth.keypoints_px
    n = len(ideal)
    body_px = float(np.median(ideal[:, KP.LEFT_ANKLE, 1] - ideal[:, KP.NOSE, 1]))
    body_px = max(body_px, 50.0)
    jitter = rng.normal(0, noise.jitter_frac * body_px, (n, 17, 2))
    drift = np.zeros((n, 17, 2))
    walk = np.zeros((17, 2))
    for i in range(n):  # mean-reverting drift (AR(1)), so errors persist for a few frames
        walk = 0.85 * walk + rng.normal(0, noise.drift_frac * body_px * 0.5, (17, 2))
        drift[i] = walk
    far = [b if truth.visible_side == "left" else a for a, b in LEFT_RIGHT]
    scores = rng.uniform(0.55, 0.95, (n, 17))
    low, high = noise.far_side_score
    scores[:, far] = rng.uniform(low, high, (n, len(far)))
    plate = getattr(truth, "plate_px", None)
    extra = np.random.default_rng(None if seed is None else [int(seed), 0x5EED])
    if plate is not None:  # plates on the bar: the torso keypoints are partly hidden
        torso = TORSO_JOINTS
        gain = np.ones((n, len(torso), 1)) * noise.plate_noise_gain
        covered = np.hypot(ideal[:, torso, 0] - plate[:, None, 0], ideal[:, torso, 1] - plate[:, None, 1]) \
            < plate[:, None, 2]
        gain[covered] *= 1.5
        scores[:, torso] *= extra.uniform(*noise.plate_score_factor)
        scores[:, torso] = np.where(covered, scores[:, torso] * noise.plate_cover_score, scores[:, torso])
        jitter[:, torso] *= gain
        drift[:, torso] *= gain
    points = ideal + jitter + drift
    points[:, far] += rng.normal(0, 2 * noise.jitter_frac * body_px, (n, len(far), 2))
    offset = noise.hip_offset_frac
    offset = extra.uniform(*offset) if isinstance(offset, (tuple, list)) else float(offset)
    if offset:
        up = offset * body_height_px(truth)
        facing = 1 if truth.visible_side == "right" else -1
        points[:, [KP.LEFT_HIP, KP.RIGHT_HIP], 1] -= up
        points[:, [KP.LEFT_HIP, KP.RIGHT_HIP], 0] -= facing * noise.hip_offset_back * up
    # dropouts: bursts of 1-5 frames with a low score and a wild position
    starts = rng.random((n, 17)) < noise.dropout_rate
    for frame, joint in zip(*np.nonzero(starts), strict=True):
        length = int(rng.integers(1, 6))
        scores[frame:frame + length, joint] = rng.uniform(0.02, 0.18)
        points[frame:frame + length, joint] += rng.normal(0, 0.15 * body_px, 2)
    swaps = np.flatnonzero(rng.random(n) < noise.swap_rate)
    for frame in swaps:
        length = int(rng.integers(1, 4))
        for a, b in LEFT_RIGHT:
            seg = slice(frame, frame + length)
            points[seg, [a, b]] = points[seg, [b, a]]
            scores[seg, [a, b]] = scores[seg, [b, a]]
    out = []
    for i in range(n):
        arr = np.empty((17, 3), np.float32)
        arr[:, :2] = points[i]
        arr[:, 2] = scores[i]
        out.append(Keypoints(arr, truth.camera.width, truth.camera.height, float(truth.timestamps[i])))
    return out
