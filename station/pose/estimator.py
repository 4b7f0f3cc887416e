"""Frames in, keypoints out: the model on the crop that follows the lifter, held to their stable size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from station.config import ModelConfig, PoseConfig
from station.pose.crop import MIN_SCORE, CropRegion, CropResizer, full_frame_region, next_crop_region
from station.pose.keypoints import Keypoints
from station.pose.movenet import MoveNet

# The crop never shrinks below this share of the lifter's stable size: a plate or a bar held in
# front of the body pulls MoveNet's points together, and a crop that follows them loses the legs.
MIN_CROP_SHARE = 0.85
# A crop this much smaller than the stable size is a collapse: look at the whole frame again.
COLLAPSE_SHARE = 0.6
# The stable size follows a lifter who walks away, but slowly (half-life in seconds).
STABLE_SIZE_HALF_LIFE_S = 4.0


class PoseEstimator:
    """Frames in, Keypoints out, tracking the crop between frames when enabled."""

    @classmethod
    def from_config(cls, model_cfg: ModelConfig, pose_cfg: PoseConfig, model_path: Path,
                    crop_tracking: bool | None = None) -> PoseEstimator:
        """The model and estimator as [model] and [pose] say; `model_path` is [model] path resolved
        against the state directory (Config.model_path())."""
        model = MoveNet(model_path, num_threads=model_cfg.threads, runtime=model_cfg.runtime)
        tracking = pose_cfg.crop_tracking if crop_tracking is None else crop_tracking
        return cls(model, crop_tracking=tracking, min_score=pose_cfg.min_score)

    def __init__(self, model: MoveNet, crop_tracking: bool = True, min_score: float = MIN_SCORE):
        self.model = model
        self.crop_tracking = crop_tracking
        self.min_score = min_score
        self._resize = CropResizer(model.input_size)
        self._region: CropRegion | None = None
        self._frame_shape: tuple[int, int] | None = None
        self._stable_side = 0.0        # the lifter's usual crop side (px), slowly decaying maximum
        self._last_t: float | None = None
        self.collapses = 0             # crops that collapsed and fell back to the whole frame
        self.label = f"MoveNet on {model.runtime.name} {model.runtime.version}"

    def reset(self) -> None:
        self._region = None
        self._stable_side = 0.0
        self._last_t = None

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
        return region

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
        if self._region is None or self._frame_shape != (height, width) or not self.crop_tracking:
            self._region = full_frame_region(width, height)
            self._frame_shape = (height, width)
        region = self._region
        raw = self.model.infer(self._resize(frame, region))
        points = np.empty((17, 3), np.float32)
        points[:, 0] = region.x0 + raw[:, 1] * region.side
        points[:, 1] = region.y0 + raw[:, 0] * region.side
        points[:, 2] = raw[:, 2]
        if self.crop_tracking:
            self._region = self._track(points, width, height, timestamp)
        return Keypoints(points, width, height, timestamp)
