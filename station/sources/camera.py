"""The Pi camera through picamera2, which exists only on Raspberry Pi OS and is imported lazily."""

from __future__ import annotations

import logging
import time

from station.sources.base import SourceError

log = logging.getLogger(__name__)


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
            controls: dict[str, object] = {"FrameDurationLimits": (frame_us, frame_us)}
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
