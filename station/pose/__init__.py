"""Pose stage: frames in, 17 COCO keypoints out (MoveNet SinglePose Lightning, int8).

modelfile (getting and verifying the .tflite) -> movenet (the runtime and the bare model) ->
crop (which square the model sees) -> estimator (the stage the runner calls); keypoints and draw
are the stage's output type and its picture.
"""

from station.pose.crop import CropRegion, CropResizer, full_frame_region, next_crop_region
from station.pose.estimator import PoseEstimator
from station.pose.keypoints import KP, Keypoints
from station.pose.movenet import ModelError, MoveNet, NotMoveNetError, RuntimeInfo, RuntimeMissingError, load_runtime

__all__ = ["CropRegion", "CropResizer", "full_frame_region", "next_crop_region", "PoseEstimator", "KP", "Keypoints",
           "ModelError", "MoveNet", "NotMoveNetError", "RuntimeInfo", "RuntimeMissingError", "load_runtime"]
