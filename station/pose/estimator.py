"""Frames in, keypoints out: the model on the crop that follows the lifter, held to their stable size."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from station.config import ModelConfig, PoseConfig
from station.pose.crop import MIN_SCORE, CropRegion, CropResizer, full_frame_region, next_crop_region
from station.pose.keypoints import KP, Keypoints
from station.pose.movenet import MoveNet
from station.pose.obstruction import ObstructionCheck

# The crop never shrinks below this share of the lifter's stable size: a plate or a bar held in
# front of the body pulls MoveNet's points together, and a crop that follows them loses the legs.
MIN_CROP_SHARE = 0.85
# A crop this much smaller than the stable size is a collapse: look at the whole frame again.
COLLAPSE_SHARE = 0.6
# The stable size follows a lifter who walks away, but slowly (half-life in seconds).
STABLE_SIZE_HALF_LIFE_S = 4.0
# A whole-frame look (the person was lost, the crop collapsed, hips or shoulders scored too low to
# place one) takes whichever person is nearest the picture's centre: a lifter facing a mirror wall
# has a twin there. Within SURE_MEMORY_S of a crop placed on a well-seen torso (a hip and a shoulder
# scoring SURE_TORSO_SCORE), a whole-frame hip further from that crop's hip than the lifter can move
# is someone else, and the model looks again where the lifter was (bench_real.py --transform
# mirrorwall; docs/depth.md). The crop's side is about 1.2 body heights; a squat moves the hip about
# a quarter of it between standing and the bottom: JUMP_CROP_SHARE, plus half a side per second.
SURE_MEMORY_S = 1.0
SURE_TORSO_SCORE = 0.5
JUMP_CROP_SHARE = 0.25
JUMP_CROP_PER_S = 0.5
# A second look at the legs. A plate on the bar fills MoveNet's crop (centred on the hips, sized by
# the torso) and at the bottom the model often puts hips, knees and ankles on the plate with low
# scores. When both hips score under HIP_DOUBT_SCORE, the model looks again at a square
# LEG_CROP_SHANKS shank lengths wide, centred LEG_CROP_UP shanks above the feet; the feet stay put
# through a squat, so they and the shank's length are remembered from frames where a knee and its
# ankle scored LEG_SURE_SCORE (for FEET_MEMORY_S). The second look's six leg points replace the
# first's when its hips score higher. One more inference, on those frames only.
HIP_DOUBT_SCORE = 0.45
LEG_SURE_SCORE = 0.5
LEG_CROP_SHANKS = 3.2
LEG_CROP_UP = 1.0
FEET_MEMORY_S = 3.0
# No second look at a lifter whose shank is shorter than this: under about 120 px tall (the view
# gate's "too small": no depth is judged there anyway) the legs' crop is blown up several times and
# its hip and the first look's took turns frame by frame, 24 px apart on a 60 px thigh, which split
# a rep in two (domi_zc_squat with the camera twice as far back: 6 reps for 5).
MIN_SECOND_LOOK_SHANK_PX = 30.0
LEG_POINTS = np.array([KP.LEFT_HIP, KP.RIGHT_HIP, KP.LEFT_KNEE, KP.RIGHT_KNEE, KP.LEFT_ANKLE, KP.RIGHT_ANKLE])


class PoseEstimator:
    """Frames in, Keypoints out, tracking the crop between frames when enabled."""

    @classmethod
    def from_config(cls, model_cfg: ModelConfig, pose_cfg: PoseConfig, model_path: Path,
                    crop_tracking: bool | None = None) -> PoseEstimator:
        """The model and estimator as [model] and [pose] say; `model_path` is [model] path resolved
        against the state directory (Config.model_path())."""
        model = MoveNet(model_path, num_threads=model_cfg.threads, runtime=model_cfg.runtime)
        tracking = pose_cfg.crop_tracking if crop_tracking is None else crop_tracking
        return cls(model, crop_tracking=tracking, min_score=pose_cfg.min_score, second_look=pose_cfg.second_look,
                   upright_check=pose_cfg.upright_check)

    def __init__(self, model: MoveNet, crop_tracking: bool = True, min_score: float = MIN_SCORE,
                 second_look: bool = True, upright_check: bool = True):
        self.model = model
        self.crop_tracking = crop_tracking
        self.second_look = second_look
        self.min_score = min_score
        self._resize = CropResizer(model.input_size)
        self._region: CropRegion | None = None
        self._full = CropRegion(0.0, 0.0, 0.0)  # the whole frame, set for each frame size in use
        self._frame_shape: tuple[int, int] | None = None
        self._stable_side = 0.0        # the lifter's usual crop side (px), slowly decaying maximum
        self._last_t: float | None = None
        self._sure: CropRegion | None = None   # the last crop placed on a well-seen torso ...
        self._sure_t = -math.inf               # ... when ...
        self._sure_hip = np.zeros(2)           # ... and its mid-hip
        self.relooks = 0               # whole-frame looks that found someone else: looked again
        self.collapses = 0             # crops that collapsed and fell back to the whole frame
        self.second_looks = 0          # frames that got a second look at the legs
        self._ankle_xy = np.zeros(2)
        self._shank_px = 0.0
        self._feet_t: float | None = None
        self.upright_check = upright_check
        self._obstruction = ObstructionCheck() if upright_check else None
        self.label = f"MoveNet on {model.runtime.name} {model.runtime.version}"

    def reset(self) -> None:
        self._region = None
        self._stable_side = 0.0
        self._last_t = None
        self._sure, self._sure_t = None, -math.inf
        self._shank_px = 0.0
        self._feet_t = None
        if self._obstruction is not None:
            self._obstruction.reset()

    def _track(self, points: np.ndarray, width: int, height: int, timestamp: float) -> CropRegion:
        """MoveNet's next crop, held to the lifter's stable size (plates, bars, racks)."""
        region = next_crop_region(points, width, height, self.min_score)
        full = full_frame_region(width, height)
        dt = 0.0 if self._last_t is None else max(0.0, timestamp - self._last_t)
        self._last_t = timestamp
        self._stable_side *= 0.5 ** (dt / STABLE_SIZE_HALF_LIFE_S)
        if region == full:
            return region
        if self._stable_side and region.side < COLLAPSE_SHARE * self._stable_side:
            self.collapses += 1
            return full
        self._stable_side = max(self._stable_side, region.side)
        side = max(region.side, MIN_CROP_SHARE * self._stable_side)
        if side > region.side:
            grow = (side - region.side) / 2
            region = CropRegion(region.x0 - grow, region.y0 - grow, side)
        scores = points[:, 2]
        if min(max(scores[KP.LEFT_HIP], scores[KP.RIGHT_HIP]),
               max(scores[KP.LEFT_SHOULDER], scores[KP.RIGHT_SHOULDER])) >= SURE_TORSO_SCORE:
            self._sure, self._sure_t = region, timestamp
            self._sure_hip[0] = (points[KP.LEFT_HIP, 0] + points[KP.RIGHT_HIP, 0]) / 2
            self._sure_hip[1] = (points[KP.LEFT_HIP, 1] + points[KP.RIGHT_HIP, 1]) / 2
        return region

    def _someone_else(self, points: np.ndarray, timestamp: float) -> bool:
        """A whole-frame look whose hips sit further from the lifter's last sure ones than they can move."""
        if self._sure is None or not 0.0 <= timestamp - self._sure_t <= SURE_MEMORY_S:
            return False
        if max(points[KP.LEFT_HIP, 2], points[KP.RIGHT_HIP, 2]) < self.min_score:
            return False
        hip_x = float(points[KP.LEFT_HIP, 0] + points[KP.RIGHT_HIP, 0]) / 2
        hip_y = float(points[KP.LEFT_HIP, 1] + points[KP.RIGHT_HIP, 1]) / 2
        reach = self._sure.side * (JUMP_CROP_SHARE + JUMP_CROP_PER_S * (timestamp - self._sure_t))
        return math.hypot(hip_x - self._sure_hip[0], hip_y - self._sure_hip[1]) > reach

    def track(self, frames: Iterable[tuple[float, np.ndarray]],
              max_fps: float | None = None) -> Iterator[Keypoints]:
        """Keypoints for each (timestamp, frame), as a station that manages max_fps would see them.

        A Pi slower than its camera does not take every k-th frame: when the model is done it takes
        the newest frame there is. So a frame is used when the station is idle at its timestamp, or
        when it is the newest one the moment the station frees up; each one keeps it busy 1/max_fps.
        """
        if not max_fps:
            for timestamp, frame in frames:
                yield self.estimate(frame, timestamp)
            return
        period = 1.0 / max_fps
        busy_until = -np.inf
        pending = None                      # the newest frame while the station is busy
        for timestamp, frame in frames:
            if pending is not None and timestamp > busy_until:
                yield self.estimate(pending[1], pending[0])
                busy_until = max(busy_until, pending[0]) + period
                pending = None
            if timestamp > busy_until:
                yield self.estimate(frame, timestamp)
                busy_until = timestamp + period
            else:
                pending = (timestamp, frame)
        if pending is not None:             # the station frees up after the stream ends: one more
            yield self.estimate(pending[1], pending[0])

    def estimate(self, frame: np.ndarray, timestamp: float) -> Keypoints:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frames must be HxWx3 uint8 RGB, got {frame.shape} {frame.dtype}")
        height, width = frame.shape[:2]
        if self._frame_shape != (height, width):
            self._feet_t = None            # remembered feet and crops are in the old frame's pixels
            self._sure = self._region = None
            self._full, self._frame_shape = full_frame_region(width, height), (height, width)
        if self._region is None or not self.crop_tracking:
            self._region = self._full
        points = self._infer(frame, self._region)
        if (self.crop_tracking and self._sure is not None and self._region == self._full
                and self._someone_else(points, timestamp)):
            self.relooks += 1
            points = self._infer(frame, self._sure)
        legs = self._look_at_the_legs(frame, points, timestamp) if self.second_look else None
        if self.crop_tracking:     # the next crop follows the first look, as without a second one
            self._region = self._track(points, width, height, timestamp)
        if legs is not None:
            points[LEG_POINTS] = legs[LEG_POINTS]
        blocked = None if self._obstruction is None else self._obstruction.observe(frame, points, timestamp)
        return Keypoints(points, width, height, timestamp, second_look=legs is not None, obstructed=blocked)

    def _infer(self, frame: np.ndarray, region: CropRegion) -> np.ndarray:
        raw = self.model.infer(self._resize(frame, region))
        points = np.empty((17, 3), np.float32)
        points[:, 0] = region.x0 + raw[:, 1] * region.side
        points[:, 1] = region.y0 + raw[:, 0] * region.side
        points[:, 2] = raw[:, 2]
        return points

    def _remember_the_feet(self, points: np.ndarray, timestamp: float) -> None:
        """The lifter's feet and shank length from frames where knee and ankle score well: the feet
        stay put through a squat, so they anchor the second look when the rest is in doubt."""
        scores = points[:, 2]
        knee = KP.LEFT_KNEE if scores[KP.LEFT_KNEE] + scores[KP.LEFT_ANKLE] >= \
            scores[KP.RIGHT_KNEE] + scores[KP.RIGHT_ANKLE] else KP.RIGHT_KNEE
        ankle = knee + 2
        if min(scores[knee], scores[ankle]) < LEG_SURE_SCORE:
            return
        shank = math.hypot(float(points[knee, 0] - points[ankle, 0]), float(points[knee, 1] - points[ankle, 1]))
        self._shank_px = shank if not self._shank_px else 0.8 * self._shank_px + 0.2 * shank
        self._ankle_xy[:] = points[ankle, :2]
        self._feet_t = timestamp

    def _look_at_the_legs(self, frame: np.ndarray, points: np.ndarray, timestamp: float) -> np.ndarray | None:
        """A second inference on a crop around the legs when the hips are in doubt (see LEG_CROP_*):
        its points when its hips score higher than the first look's, else None."""
        scores = points[:, 2]
        best_hip = max(scores[KP.LEFT_HIP], scores[KP.RIGHT_HIP])
        if best_hip >= HIP_DOUBT_SCORE:
            self._remember_the_feet(points, timestamp)
            return None
        if (self._feet_t is None or not 0.0 <= timestamp - self._feet_t <= FEET_MEMORY_S
                or self._shank_px < MIN_SECOND_LOOK_SHANK_PX):
            return None
        half = LEG_CROP_SHANKS * self._shank_px / 2
        cx, cy = self._ankle_xy[0], self._ankle_xy[1] - LEG_CROP_UP * self._shank_px
        legs = self._infer(frame, CropRegion(float(cx - half), float(cy - half), float(2 * half)))
        self.second_looks += 1
        return legs if max(legs[KP.LEFT_HIP, 2], legs[KP.RIGHT_HIP, 2]) > best_hip else None
