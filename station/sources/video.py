"""Video files, decoded with PyAV (imported lazily: only needed for files), turned upright."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from station.sources.base import Pacer, SourceError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".h264", ".m4v"}

# Damage this long on the video's own clock (from the last good frame, no packet decodes) ends the
# file. Seconds, not packets: 5 s is 150 packets at 30 fps and 1200 at 240. It is longer than a whole
# rep, so what lies beyond cannot be told from a new set and the reps in the hole are lost anyway;
# scattered damage (zeroed blocks, bad sectors) costs a few frames at a time and never adds up to it,
# and a file that is garbage from some point on ends there instead of grinding through the rest.
MAX_DAMAGE_S = 5.0
# A file whose packets stop this much short of the length its header states was cut short. A
# phone's clip ends within a frame or two of it (0.05 s past it, in ../shared); a copy cut off or a
# recording whose card was pulled ends seconds short.
CUT_SHORT_S = 0.5
# A phone's slow motion plays frames captured at 120-960 fps at 30: the file's clock runs that many
# times slow, and every second the analysis and the pose stage count in (a rep's shortest and
# longest, how fast a hip can move, the windows the depth and the hidden-bottom check average over,
# how long a tracked pose is held) means that much less of the lifter's own time. The dev clips
# played at half and a third of their speed counted extra reps and moved depths across the verdict
# bands (bench_real.py --transform slowmo2|slowmo3). Android stores the capture rate beside the
# file's own (MediaFormat.KEY_CAPTURE_RATE, the 'com.android.capture.fps' tag): the frames' times are
# put back on the lifter's clock from it. Only for a high-speed capture (SLOW_MOTION_MIN_FPS and at
# least SLOW_MOTION_MIN_RATIO times the file's rate): an ordinary recording's tag says 30 while a dim
# room makes the phone film at 15-24 fps, with the real times in the file, which must stay. A copy
# that lost the tag (a messenger, an editor) keeps the file's clock, and so does a timelapse.
CAPTURE_FPS_TAG = "com.android.capture.fps"
SLOW_MOTION_MIN_FPS = 90.0
SLOW_MOTION_MIN_RATIO = 2.0


class _Broken(Exception):
    """Why a pass through the file ended early, and the last good frame's time (None: no frame)."""

    def __init__(self, last: float | None, why: str):
        super().__init__(why)
        self.last, self.why = last, why


class VideoFileSource:
    """A video file decoded with PyAV.

    PyAV was chosen because its wheels carry FFmpeg for both x86_64 and aarch64 (and Raspberry Pi
    OS ships python3-av), it decodes straight to RGB arrays, and it gives real presentation
    timestamps; OpenCV would add ~60 MB for the same job.
    """

    def __init__(self, path: str | Path, realtime: bool = False, loop: bool = False,
                 time_scale: float | None = None):
        """time_scale: the lifter's seconds per second of the file (0.25: slow motion played at a quarter
        of its speed); None: from the file's capture-rate tag, 1 without one."""
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
        self.time_scale = time_scale or _time_scale(self._container, self.nominal_fps)
        self._realtime = realtime
        self._loop = loop
        self.damaged_at: list[float] = []   # the times of the packets skipped: they would not decode

    def __iter__(self):
        offset = 0.0
        pacer = Pacer(self._realtime)
        self.damaged_at = []
        while True:
            last = None
            try:
                for when, frame in self._decode_pass():
                    timestamp = (offset + when) * self.time_scale
                    last = when
                    pacer.wait(timestamp)
                    yield timestamp, upright(frame.to_ndarray(format="rgb24"), frame_rotation_deg(frame))
            except _Broken as broken:
                where = f" after {offset + broken.last:.1f} s" if broken.last is not None else ""
                raise SourceError(f"decoding {self.path} failed{where}: {broken.why}") from None
            if not self._loop:
                return
            offset += (last or 0.0) + 1.0 / self.nominal_fps
            self._container.seek(0)

    def _decode_pass(self) -> Iterator[tuple[float, Any]]:
        """One pass through the file: (the frame's time on the stream's own clock, the frame).

        A packet the decoder refuses (bad data: a zeroed or overwritten block, a bad sector) is
        skipped and counted, and decoding goes on with the next one, as ffmpeg does: before, the
        first one ended the file (a real clip with 43 of them: 25 of its 990 frames, none of its 12
        reps). The frames after a hole keep their own times, so the analysis's seconds stay true.
        The file ends (_Broken) when the demuxer itself fails, when damage lasts MAX_DAMAGE_S, or
        when it stops short of its own length (cut short)."""
        av = self._av
        stream = self._container.streams.video[0]
        last = None         # the newest frame's time
        unseen = 0          # packets skipped since that frame: a raw .h264's clock counts them too
        seen_end = None     # where the packets read so far end, on the stream's clock
        ends_inside = False  # the last packet is short of the bytes the index promised: the file ends in it
        last_failed = False  # the last packet would not decode
        try:
            for packet in self._container.demux(stream):
                if packet.size:
                    ends_inside, last_failed = packet.is_corrupt, False
                    if packet.pts is not None and packet.time_base is not None:
                        end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                        seen_end = end if seen_end is None else max(seen_end, end)
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    unseen += 1
                    last_failed = bool(packet.size)
                    self._damaged(packet, last, unseen, stream)
                    continue
                for frame in frames:
                    # a raw .h264 (rpicam-vid's default output) has no timestamps: frames come at the
                    # stream's rate (FFmpeg says 25 fps for raw H.264), not all at 0 s ("no reps"),
                    # and each packet skipped was a frame's time too
                    if frame.time is not None:
                        when = float(frame.time)
                    elif last is None:
                        when = unseen / self.nominal_fps
                    else:
                        when = last + (1 + unseen) / self.nominal_fps
                    unseen = 0
                    last = when
                    yield when, frame
        except av.error.FFmpegError as exc:
            why = ("the file is damaged or cut short" if isinstance(exc, av.error.InvalidDataError)
                   else exc.strerror or str(exc))
            raise _Broken(last, why) from None
        stated_end = _stated_end(self._container, stream)
        short = stated_end is not None and seen_end is not None and stated_end - seen_end > CUT_SHORT_S
        if short or ends_inside:
            if last_failed:
                self.damaged_at.pop()    # the cut, which the error says: not damage to count as well
            stops = f" (its pictures stop at {seen_end:.1f} s of the {stated_end:.1f} s it states)" if short else ""
            raise _Broken(last, f"the file is damaged or cut short{stops}")

    def _damaged(self, packet: Any, last: float | None, unseen: int, stream: Any) -> None:
        """Count a packet that would not decode; raise _Broken once nothing has decoded for MAX_DAMAGE_S."""
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        good = start if last is None else last
        at = float(packet.pts * packet.time_base) if packet.pts is not None and packet.time_base is not None \
            else good + unseen / self.nominal_fps
        self.damaged_at.append(at)
        log.debug("%s: a damaged packet at %.2f s skipped", self.path, at)
        if at - good > MAX_DAMAGE_S:
            raise _Broken(last, f"the file is damaged: no picture in it decodes from {good:.1f} s to {at:.1f} s")

    @property
    def damaged_packets(self) -> int:
        return len(self.damaged_at)

    def damage_report(self) -> str | None:
        """'43 damaged packets skipped in set.mp4 (between 1.0 s and 38.2 s)', or None: for where the
        source's end is said."""
        if not self.damaged_at:
            return None
        first, last = min(self.damaged_at), max(self.damaged_at)
        where = f"at {first:.1f} s" if last - first < 0.05 else f"between {first:.1f} s and {last:.1f} s"
        plural = "s" if self.damaged_packets != 1 else ""
        return f"{self.damaged_packets} damaged packet{plural} skipped in {self.path.name} ({where})"

    def close(self) -> None:
        self._container.close()


def _stated_end(container: Any, stream: Any) -> float | None:
    """Where the header says the stream ends, in seconds; None when it does not say (raw H.264).

    MP4, MOV and AVI state the video stream's own length. Matroska and WebM state only the whole
    file's, which is the video's only when nothing else is in the file: a sound track may run on.
    Whether a container's length counts from 0 or from the stream's start differs between formats
    (Matroska's already ends where the file ends: a clip starting at 1 s read 1 s "cut short"), so
    the earlier of the two readings is taken: a file is called cut short only when it is under both."""
    if stream.duration is not None and stream.time_base is not None:
        start = min(0, stream.start_time or 0)
        return float((stream.duration + start) * stream.time_base)
    if container.duration is not None and len(container.streams) == 1:
        return (container.duration + min(0, container.start_time or 0)) / 1e6     # AV_TIME_BASE: microseconds
    return None


def _time_scale(container: Any, playback_fps: float) -> float:
    """The lifter's seconds per second of the file, from its capture-rate tag (see CAPTURE_FPS_TAG):
    a 240 fps capture played at 30 is 0.125; 1 without a tag, or with one that is not slow motion."""
    try:
        capture_fps = float(container.metadata.get(CAPTURE_FPS_TAG, 0))
    except (TypeError, ValueError):
        return 1.0
    if not (capture_fps >= SLOW_MOTION_MIN_FPS and capture_fps >= SLOW_MOTION_MIN_RATIO * playback_fps):
        return 1.0
    return playback_fps / capture_fps


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
