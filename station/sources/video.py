"""Video files, decoded with PyAV (imported lazily: only needed for files), turned upright."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from station.sources.base import Pacer, SourceError

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".h264", ".m4v"}


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
        except (av.error.InvalidDataError, av.error.EOFError):   # EOF: the file ends inside its own header
            raise SourceError(f"cannot open video {self.path}: it is not a video FFmpeg can read (damaged, cut "
                              f"short, or another kind of file with a video's name)") from None
        except av.error.FFmpegError as exc:
            raise SourceError(f"cannot open video {self.path}: {exc.strerror or exc}") from None
        if not self._container.streams.video:
            kinds = sorted({str(s.type) for s in self._container.streams})
            self._container.close()
            if not kinds:
                raise SourceError(f"cannot open video {self.path}: the file holds no pictures at all (an empty "
                                  f"recording, one stopped before anything was filmed, or a copy cut short)")
            raise SourceError(f"cannot open video {self.path}: it holds no pictures, only {', '.join(kinds)}")
        stream = self._container.streams.video[0]
        self.name = f"video:{self.path.name}"
        self.nominal_fps = float(stream.average_rate) if stream.average_rate else 30.0
        self._realtime = realtime
        self._loop = loop

    def __iter__(self):
        offset = 0.0
        pacer = Pacer(self._realtime)
        while True:
            last = None
            try:
                for frame in self._container.decode(video=0):
                    # a raw .h264 (rpicam-vid's default output) has no timestamps: frames come at the
                    # stream's rate (FFmpeg says 25 fps for raw H.264), not all at 0 s ("no reps")
                    when = float(frame.time) if frame.time is not None else \
                        (0.0 if last is None else last + 1.0 / self.nominal_fps)
                    timestamp = offset + when
                    last = when
                    pacer.wait(timestamp)
                    yield timestamp, upright(frame.to_ndarray(format="rgb24"), frame_rotation_deg(frame))
            except self._av.error.FFmpegError as exc:
                where = f" after {offset + last:.1f} s" if last is not None else ""
                why = ("the file is damaged or cut short" if isinstance(exc, self._av.error.InvalidDataError)
                       else exc.strerror or str(exc))
                raise SourceError(f"decoding {self.path} failed{where}: {why}") from None
            if not self._loop:
                return
            offset += (last or 0.0) + 1.0 / self.nominal_fps
            self._container.seek(0)

    def close(self) -> None:
        self._container.close()


def frame_rotation_deg(frame: Any) -> int:
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


def _rotation_from_side_data(frame: Any) -> float:
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
