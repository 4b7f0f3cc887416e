"""The value every stage after the model passes around: 17 COCO keypoints in frame pixels."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class KP(IntEnum):
    """COCO-17 keypoint order, as MoveNet emits it."""

    NOSE = 0
    LEFT_EYE = 1
    RIGHT_EYE = 2
    LEFT_EAR = 3
    RIGHT_EAR = 4
    LEFT_SHOULDER = 5
    RIGHT_SHOULDER = 6
    LEFT_ELBOW = 7
    RIGHT_ELBOW = 8
    LEFT_WRIST = 9
    RIGHT_WRIST = 10
    LEFT_HIP = 11
    RIGHT_HIP = 12
    LEFT_KNEE = 13
    RIGHT_KNEE = 14
    LEFT_ANKLE = 15
    RIGHT_ANKLE = 16


KEYPOINT_NAMES = tuple(k.name.lower() for k in KP)

SKELETON_EDGES = (
    (KP.NOSE, KP.LEFT_EYE), (KP.NOSE, KP.RIGHT_EYE), (KP.LEFT_EYE, KP.LEFT_EAR),
    (KP.RIGHT_EYE, KP.RIGHT_EAR), (KP.LEFT_SHOULDER, KP.RIGHT_SHOULDER),
    (KP.LEFT_SHOULDER, KP.LEFT_ELBOW), (KP.LEFT_ELBOW, KP.LEFT_WRIST),
    (KP.RIGHT_SHOULDER, KP.RIGHT_ELBOW), (KP.RIGHT_ELBOW, KP.RIGHT_WRIST),
    (KP.LEFT_SHOULDER, KP.LEFT_HIP), (KP.RIGHT_SHOULDER, KP.RIGHT_HIP),
    (KP.LEFT_HIP, KP.RIGHT_HIP), (KP.LEFT_HIP, KP.LEFT_KNEE), (KP.LEFT_KNEE, KP.LEFT_ANKLE),
    (KP.RIGHT_HIP, KP.RIGHT_KNEE), (KP.RIGHT_KNEE, KP.RIGHT_ANKLE),
)


@dataclass(frozen=True, slots=True)
class Keypoints:
    """One pose: ``points[i] = (x_px, y_px, score)`` for COCO index i, in the frame's pixels.

    Image y grows downwards. ``timestamp`` is seconds on the source's clock.
    """

    points: np.ndarray  # (17, 3) float32
    frame_width: int
    frame_height: int
    timestamp: float
    # the legs (hips, knees, ankles) came from a second look at the legs: the first look found the
    # hips in doubt, a plate or a bar in front of the torso (pose/estimator.py)
    second_look: bool = False
    # something standing still (a rack upright) in front of the hips or knees near the bottom
    # (pose/obstruction.py); None: not looked (away from the bottom, or no background yet)
    obstructed: bool | None = None

    def __post_init__(self) -> None:
        if self.points.shape != (17, 3):
            raise ValueError(f"keypoints must have shape (17, 3), got {self.points.shape}")

    def xy(self, index: int) -> tuple[float, float]:
        return float(self.points[index, 0]), float(self.points[index, 1])

    def score(self, index: int) -> float:
        return float(self.points[index, 2])

    def to_dict(self) -> dict:
        return {
            "t": round(self.timestamp, 4),
            "width": self.frame_width,
            "height": self.frame_height,
            "keypoints": {
                name: [round(float(x), 1), round(float(y), 1), round(float(s), 3)]
                for name, (x, y, s) in zip(KEYPOINT_NAMES, self.points)
            },
            "second_look": self.second_look,
            "obstructed": self.obstructed,
        }
