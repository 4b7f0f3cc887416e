"""Frame sources: everything the station can watch, behind one interface.

A source is an iterable of (timestamp_seconds, frame) with frame an HxWx3 uint8 RGB array, plus
close(). Sources do not pace themselves unless asked (realtime=True); the runner decides whether
to drop frames. picamera2 and PyAV are imported lazily: the first exists only on a Pi, the second
is only needed for video files.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".h264", ".m4v"}


class SourceError(Exception):
    """The source cannot deliver frames; the message says which and why."""


class FrameSource(Protocol):
    name: str
    nominal_fps: float | None

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]: ...

    def close(self) -> None: ...


def read_image_rgb(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))  # drops alpha: MoveNet wants RGB
    except (OSError, UnidentifiedImageError) as exc:
        raise SourceError(f"cannot read image {path}: {exc}") from None


class _Pacer:
    """Sleeps so frames come out at their timestamps (for replaying files as if live)."""

    def __init__(self, realtime: bool):
        self.realtime = realtime
        self._start: float | None = None

    def wait(self, timestamp: float) -> None:
        if not self.realtime:
            return
        now = time.monotonic()
        if self._start is None:
            self._start = now - timestamp
        delay = self._start + timestamp - now
        if delay > 0:
            time.sleep(delay)


class ImageSource:
    """One still image, yielded once (or `repeat` times at `fps`)."""

    def __init__(self, path: str | Path, repeat: int = 1, fps: float = 30.0):
        self.path = Path(path)
        self.name = f"image:{self.path.name}"
        self.nominal_fps = fps
        self._frame = read_image_rgb(self.path)
        self._repeat = repeat

    def __iter__(self):
        for i in range(self._repeat):
            yield i / self.nominal_fps, self._frame

    def close(self) -> None:
        pass


class ImageFolderSource:
    """Every image in a folder, in name order, as a clip at `fps`."""

    def __init__(self, folder: str | Path, fps: float = 30.0, realtime: bool = False):
        self.folder = Path(folder)
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"folder {self.folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.name = f"folder:{self.folder.name}"
        self.nominal_fps = fps
        self._pacer = _Pacer(realtime)

    def __iter__(self):
        for i, path in enumerate(self.files):
            timestamp = i / self.nominal_fps
            self._pacer.wait(timestamp)
            yield timestamp, read_image_rgb(path)

    def close(self) -> None:
        pass


class VideoFileSource:
    """A video file decoded with PyAV.

    PyAV was chosen because its wheels carry FFmpeg for both x86_64 and aarch64 (and Raspberry Pi
    OS ships python3-av), it decodes straight to RGB arrays, and it gives real presentation
    timestamps; OpenCV would add ~60 MB for the same job.
    """

    def __init__(self, path: str | Path, realtime: bool = False, loop: bool = False):
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video file {self.path} does not exist")
        try:
            import av
        except ImportError:
            raise SourceError("video files need PyAV: pip install 'squat-station[video]' "
                              "(or apt install python3-av on the Pi)") from None
        self._av = av
        try:
            self._container = av.open(str(self.path))
            stream = self._container.streams.video[0]
        except (av.error.FFmpegError, IndexError) as exc:
            raise SourceError(f"cannot open video {self.path}: {exc}") from None
        self.name = f"video:{self.path.name}"
        self.nominal_fps = float(stream.average_rate) if stream.average_rate else 30.0
        self._realtime = realtime
        self._loop = loop

    def __iter__(self):
        offset = 0.0
        pacer = _Pacer(self._realtime)
        while True:
            last = 0.0
            try:
                for frame in self._container.decode(video=0):
                    timestamp = offset + (float(frame.time) if frame.time is not None else last)
                    last = timestamp - offset
                    pacer.wait(timestamp)
                    yield timestamp, upright(frame.to_ndarray(format="rgb24"), frame_rotation_deg(frame))
            except self._av.error.FFmpegError as exc:
                raise SourceError(f"decoding {self.path} failed: {exc}") from None
            if not self._loop:
                return
            offset += last + 1.0 / self.nominal_fps
            self._container.seek(0)

    def close(self) -> None:
        self._container.close()


def frame_rotation_deg(frame) -> int:
    """The display rotation a phone stored with the frame (0, 90, 180, 270; counter-clockwise).

    Phones record upright video as landscape frames plus a display matrix; a reader that ignores
    it sees the lifter lying on their side. PyAV >= 13 exposes ``frame.rotation``; older PyAV may
    carry the raw matrix in the frame's side data. Debian Bookworm's python3-av 10 (FFmpeg 5.1)
    carries neither (checked in an emulated root), which is one reason the venv installs PyAV from
    PyPI (av >= 11, with its own FFmpeg): that one has frame.rotation on both Pi OS releases.
    """
    rotation = getattr(frame, "rotation", None)
    if rotation is None:
        rotation = _rotation_from_side_data(frame)
    return int(round(rotation / 90.0)) * 90 % 360


def _rotation_from_side_data(frame) -> float:
    import struct

    for side_data in getattr(frame, "side_data", ()) or ():
        if "DISPLAYMATRIX" not in str(getattr(side_data, "type", "")):
            continue
        try:
            matrix = struct.unpack("<9i", bytes(side_data)[:36])
        except (TypeError, ValueError, struct.error):
            return 0.0
        # av_display_rotation_get: the first two entries are cos/sin in 16.16 fixed point
        a, b, c, d = (v / 65536.0 for v in (matrix[0], matrix[1], matrix[3], matrix[4]))
        scale_x, scale_y = math.hypot(a, c), math.hypot(b, d)
        if scale_x == 0 or scale_y == 0:
            return 0.0
        return -math.degrees(math.atan2(b / scale_y, a / scale_x))
    return 0.0


def upright(frame: np.ndarray, rotation_deg: int) -> np.ndarray:
    """Turn a decoded frame the way the file says it should be displayed."""
    if rotation_deg == 0:
        return frame
    # FFmpeg's rotation is counter-clockwise, as np.rot90's positive k; -90 means turn clockwise
    return np.ascontiguousarray(np.rot90(frame, k=rotation_deg // 90))


class Picamera2Source:
    """The Pi camera through picamera2 (Raspberry Pi OS only: apt install python3-picamera2).

    One small RGB stream sized for the pose stage, a fixed frame duration so timestamps are
    regular, and optional manual exposure/gain for gym lighting (flicker, back-lit windows).
    Frames come from the camera's own buffer queue; capture_array() always returns the next
    complete frame, and the runner's capture thread keeps only the newest one.
    """

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0,
                 exposure_us: int = 0, analogue_gain: float = 0.0, camera_index: int = 0):
        try:
            from picamera2 import Picamera2
        except ValueError as exc:   # "numpy.dtype size changed": a pip numpy 2 shadowing apt's numpy 1
            raise SourceError(f"picamera2 cannot load with this numpy ({exc}); reinstall the venv with "
                              "numpy<2 (docs/install.md: 'Bookworm: keep apt's numpy')") from None
        except ImportError:
            raise SourceError(
                "picamera2 is not installed: on Raspberry Pi OS run `sudo apt install python3-picamera2` "
                "and create the venv with --system-site-packages; elsewhere use a video file, an image "
                "folder or `synthetic` as the source") from None
        try:
            self._camera = Picamera2(camera_index)
            frame_us = int(1_000_000 / fps)
            controls = {"FrameDurationLimits": (frame_us, frame_us)}
            if exposure_us:
                controls["ExposureTime"] = int(exposure_us)
            if analogue_gain:
                controls["AnalogueGain"] = float(analogue_gain)
            # libcamera's "BGR888" is laid out R, G, B in memory: what MoveNet wants, no conversion.
            config = self._camera.create_video_configuration(
                main={"size": (width, height), "format": "BGR888"}, controls=controls, buffer_count=4)
            self._camera.configure(config)
            self._camera.start()
        except Exception as exc:  # picamera2 raises plain RuntimeError/IndexError for no camera
            raise SourceError(f"camera {camera_index} could not be started: {exc}") from None
        self.name = f"camera:{camera_index}"
        self.nominal_fps = fps
        self._started = time.monotonic()

    def __iter__(self):
        while True:
            try:
                request = self._camera.capture_request()
                try:
                    frame = request.make_array("main")
                    metadata = request.get_metadata()
                finally:
                    request.release()
            except Exception as exc:
                raise SourceError(f"camera stopped delivering frames: {exc}") from None
            sensor_ns = metadata.get("SensorTimestamp")
            timestamp = sensor_ns / 1e9 if sensor_ns else time.monotonic() - self._started
            yield timestamp, frame

    def close(self) -> None:
        try:
            self._camera.stop()
            self._camera.close()
        except Exception:  # closing a camera that already failed must not mask the first error
            log.debug("camera close failed", exc_info=True)


def open_source(spec: str, *, width: int = 640, height: int = 480, fps: float = 30.0,
                realtime: bool = False, loop: bool = False, exposure_us: int = 0,
                analogue_gain: float = 0.0, synthetic_seed: int = 1) -> FrameSource:
    """Build a source from a spec: 'camera', 'synthetic', an image, a video or an image folder."""
    if spec == "camera":
        return Picamera2Source(width, height, fps, exposure_us, analogue_gain)
    if spec == "synthetic":
        from station.sim.source import SyntheticSource

        return SyntheticSource(width=width, height=height, fps=fps, realtime=realtime, loop=loop,
                               seed=synthetic_seed)
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path, fps=fps, realtime=realtime)
    if not path.exists():
        raise SourceError(f"source {spec!r} is neither 'camera', 'synthetic' nor an existing file or folder")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoFileSource(path, realtime=realtime, loop=loop)
    raise SourceError(f"source {spec!r}: unknown file type {path.suffix!r} "
                      f"(images: {sorted(IMAGE_SUFFIXES)}, videos: {sorted(VIDEO_SUFFIXES)})")
