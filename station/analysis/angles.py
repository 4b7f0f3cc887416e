"""Joint angles from the midline (docs/depth.md). Image y grows downwards; 'facing' is +1 or -1.

thigh_deg is the depth measure: the hip->knee line against the horizontal, 0 = parallel, negative =
hip below knee. drop_deg counts reps in any view: the hip's height above the knee over the thigh's
upright length, scaled to 90 standing and 0 with the hip level with the knee (from the front, where
the thigh points at the camera, thigh_deg means nothing but the hip still drops). It is linear in
the hip's height on purpose: an arcsine would be the true angle but amplifies keypoint noise
without bound near standing, which is where the rep counter decides that a rep begins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from station.analysis.tracking import ANKLE, HIP, KNEE, NEAR_EAR, NEAR_HIP, NEAR_SHOULDER


@dataclass(slots=True)
class Angles:
    """One frame's angles, updated in place (one object per analyzer, no per-frame allocation)."""

    thigh_deg: float = 0.0       # depth: 0 = parallel, negative = below
    drop_deg: float = 0.0        # view-independent rep signal: 90 standing, 0 hip level with knee
    hip_deg: float = 0.0         # shoulder-hip-knee interior angle
    knee_deg: float = 0.0        # hip-knee-ankle interior angle
    trunk_lean_deg: float = 0.0  # hip->shoulder against vertical, + = forward
    shin_deg: float = 0.0        # knee->ankle against vertical, + = knee ahead of the ankle
    upper_lean_deg: float = 0.0  # hip->(ear+shoulder)/2 against vertical: the wink detector's trunk line

    def as_row(self, out: np.ndarray) -> None:
        out[0], out[1], out[2], out[3] = self.thigh_deg, self.drop_deg, self.hip_deg, self.knee_deg
        out[4], out[5], out[6] = self.trunk_lean_deg, self.shin_deg, self.upper_lean_deg


ANGLE_COLUMNS = ("thigh_deg", "drop_deg", "hip_deg", "knee_deg", "trunk_lean_deg", "shin_deg", "upper_lean_deg")


def interior_angle_deg(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> float:
    """Angle ABC in degrees."""
    v1x, v1y, v2x, v2y = ax - bx, ay - by, cx - bx, cy - by
    n = math.hypot(v1x, v1y) * math.hypot(v2x, v2y)
    if n == 0:
        return float("nan")
    return math.degrees(math.acos(max(-1.0, min(1.0, (v1x * v2x + v1y * v2y) / n))))


def lean_from_vertical_deg(top_x: float, top_y: float, bottom_x: float, bottom_y: float, facing: float) -> float:
    """Angle of bottom->top against vertical, positive when the top is ahead (in the facing direction)."""
    return math.degrees(math.atan2(facing * (top_x - bottom_x), bottom_y - top_y))


def update_angles(angles: Angles, joints: np.ndarray, facing: float, thigh_px: float,
                  hip_point_offset_deg: float = 0.0) -> bool:
    """Fill ``angles`` from the tracker's joints; False when hip and knee coincide.

    hip_point_offset_deg: how far MoveNet's hip point sits above the joint, as thigh angle at
    parallel; the trunk lines start from the near hip moved down by that much (docs/depth.md).
    """
    hx, hy = joints[HIP]
    kx, ky = joints[KNEE]
    ax, ay = joints[ANKLE]
    sx, sy = joints[NEAR_SHOULDER]      # the trunk on the side facing the camera
    ex, ey = joints[NEAR_EAR]
    nx, ny = joints[NEAR_HIP]
    if math.hypot(kx - hx, ky - hy) < 1:
        return False
    ny += thigh_px * math.tan(math.radians(hip_point_offset_deg))
    angles.thigh_deg = math.degrees(math.atan2(ky - hy, abs(kx - hx)))
    reference = max(thigh_px, math.hypot(kx - hx, ky - hy))
    angles.drop_deg = 90.0 * (ky - hy) / reference
    angles.knee_deg = interior_angle_deg(hx, hy, kx, ky, ax, ay)
    angles.hip_deg = interior_angle_deg(sx, sy, nx, ny, kx, ky)
    angles.trunk_lean_deg = lean_from_vertical_deg(sx, sy, nx, ny, facing)
    angles.shin_deg = lean_from_vertical_deg(kx, ky, ax, ay, facing)
    angles.upper_lean_deg = lean_from_vertical_deg((ex + sx) / 2, (ey + sy) / 2, nx, ny, facing)
    return True
