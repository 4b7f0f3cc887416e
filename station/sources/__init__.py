"""Frame sources: everything the station can watch, behind one interface (base.FrameSource).

Sources do not pace themselves unless asked (realtime=True); the runner decides whether to drop
frames. picamera2 and PyAV are imported lazily: the first exists only on a Pi, the second is only
needed for video files.
"""

from __future__ import annotations

from pathlib import Path

from station.config import CameraConfig
from station.sources.base import FrameSource, Pacer, SourceError
from station.sources.camera import Picamera2Source
from station.sources.images import IMAGE_SUFFIXES, ImageFolderSource, ImageSource, read_image_rgb
from station.sources.video import VIDEO_SUFFIXES, VideoFileSource, frame_rotation_deg, upright

__all__ = ["FrameSource", "Pacer", "SourceError", "Picamera2Source", "ImageFolderSource", "ImageSource",
           "VideoFileSource", "open_source", "read_image_rgb", "frame_rotation_deg", "upright"]


def open_source(spec: str, camera: CameraConfig | None = None, *, realtime: bool = False,
                loop: bool = False) -> FrameSource:
    """Build a source from a spec: 'camera', an image, a video or an image folder; [camera] sizes
    and exposes the Pi camera and sets the rate of an image folder.

    The synthetic lifter is not here: it is a test and demo source that the app chooses (station.sim).
    """
    camera = camera or CameraConfig()
    if spec == "camera":
        return Picamera2Source(camera.width, camera.height, camera.fps, camera.exposure_us, camera.analogue_gain)
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path, fps=camera.fps, realtime=realtime)
    if not path.exists():
        raise SourceError(f"source {spec!r}: no such file or folder")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoFileSource(path, realtime=realtime, loop=loop)
    raise SourceError(f"source {spec!r}: unknown file type {path.suffix!r} "
                      f"(images: {sorted(IMAGE_SUFFIXES)}, videos: {sorted(VIDEO_SUFFIXES)})")
