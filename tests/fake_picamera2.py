"""A stand-in for the `picamera2` module that fails the way the real one does on a Pi.

Tests put it on sys.modules with `install(monkeypatch, mode=..., frames=N)`:

- "ok":         frames for ever (a frame period of `period_s`, default 0)
- "hang":       `frames` frames, then capture_request blocks until its wait= expires and raises
                TimeoutError, as picamera2's Job.get_result(timeout) does (a dislodged ribbon cable)
- "unplug":     `frames` frames, then capture_request raises RuntimeError (the camera went away)
- "import":     `import picamera2` raises ValueError("numpy.dtype size changed ...") (a pip numpy 2
                shadowing the numpy 1 that apt's simplejpeg was built for)
- "configure":  configure() raises RuntimeError after the camera was acquired
- "start":      start() raises RuntimeError after the camera was acquired
- "nocamera":   Picamera2() raises IndexError, as with no camera connected

In every mode a second Picamera2() while another is open (acquired and not closed) raises
RuntimeError("Camera __init__ sequence did not complete.") with the cause "Failed to acquire camera:
Device or resource busy", as picamera2 does. A capture_request without wait= in "hang" mode would
block for ever on a Pi; here it fails the test after `forever_s`.

The returned `FakeCamera` class records every instance (`FakeCamera.instances`) and what was done
to it (`closed`, `stopped`, `flushed`, `config`, `waits`).
"""

from __future__ import annotations

import sys
import threading
import time
import types
from typing import Any

import numpy as np

# Mode lists as `Picamera2(...).sensor_modes` reports them (format objects shown as strings).
# IMX219 (Camera Module v2): picamera2 issue #683.
IMX219_MODES = [
    {"format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10, "size": (640, 480), "fps": 103.33,
     "crop_limits": (1000, 752, 1280, 960), "exposure_limits": (75, 11766829, None)},
    {"format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10, "size": (1640, 1232), "fps": 41.85,
     "crop_limits": (0, 0, 3280, 2464), "exposure_limits": (75, 11766829, None)},
    {"format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10, "size": (1920, 1080), "fps": 47.57,
     "crop_limits": (680, 692, 1920, 1080), "exposure_limits": (75, 11766829, None)},
    {"format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10, "size": (3280, 2464), "fps": 21.19,
     "crop_limits": (0, 0, 3280, 2464), "exposure_limits": (75, 11766829, None)},
    {"format": "SRGGB8", "unpacked": "SRGGB8", "bit_depth": 8, "size": (640, 480), "fps": 103.33,
     "crop_limits": (1000, 752, 1280, 960), "exposure_limits": (75, 11766829, None)},
    {"format": "SRGGB8", "unpacked": "SRGGB8", "bit_depth": 8, "size": (1640, 1232), "fps": 41.85,
     "crop_limits": (0, 0, 3280, 2464), "exposure_limits": (75, 11766829, None)},
]
# IMX708 (Camera Module 3), 2-lane, HDR off: rpicam-apps issue #570 and linux PR #6775 (the modes
# rpicam-hello lists: 1536x864 120 fps crop (768, 432)/3072x1728, 2304x1296 56 fps and 4608x2592
# 14 fps over the full 4608x2592). 10-bit only: the driver has no 8-bit output.
IMX708_MODES = [
    {"format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10, "size": (1536, 864), "fps": 120.13,
     "crop_limits": (768, 432, 3072, 1728), "exposure_limits": (9, 77208384, None)},
    {"format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10, "size": (2304, 1296), "fps": 56.03,
     "crop_limits": (0, 0, 4608, 2592), "exposure_limits": (13, 112015443, None)},
    {"format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10, "size": (4608, 2592), "fps": 14.35,
     "crop_limits": (0, 0, 4608, 2592), "exposure_limits": (26, 220417486, None)},
]

MODES = ("ok", "hang", "unplug", "import", "configure", "start", "nocamera")


class FakeRequest:
    def __init__(self, camera: Any, n: int):
        self._camera, self._n = camera, n
        self.released = False

    def make_array(self, name: str) -> np.ndarray:
        width, height = self._camera.config["main"]["size"]
        return np.full((height, width, 3), self._n % 256, np.uint8)

    def get_metadata(self) -> dict:
        return {"SensorTimestamp": int(1e9 + self._n * (self._camera.period_s or 1 / 30) * 1e9)}

    def release(self) -> None:
        self.released = True


def make_camera_class(mode: str = "ok", frames: int = 0, sensor_modes=None, period_s: float = 0.0,
                      forever_s: float = 3.0):
    """A fresh Picamera2 class for one test (its own instance list, so tests do not leak state)."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: one of {MODES}")

    class FakeCamera:
        instances: list[FakeCamera] = []
        lock = threading.Lock()

        def __init__(self, camera_num: int = 0):
            with FakeCamera.lock:
                if mode == "nocamera":
                    raise IndexError("list index out of range")
                if any(not c.closed for c in FakeCamera.instances):
                    try:
                        raise RuntimeError("Failed to acquire camera: Device or resource busy")
                    except RuntimeError:
                        raise RuntimeError("Camera __init__ sequence did not complete.")  # noqa: B904 (as picamera2)
                self.camera_num = camera_num
                self.closed = self.started = self.stopped = self.flushed = False
                self.config = None
                self.created: dict = {}
                self.waits: list = []
                self.delivered = 0
                self.period_s = period_s
                FakeCamera.instances.append(self)

        @property
        def sensor_modes(self):
            return [dict(m) for m in (IMX708_MODES if sensor_modes is None else sensor_modes)]

        @staticmethod
        def global_camera_info():
            return [] if mode == "nocamera" else [{"Model": "imx708", "Num": 0}]

        def create_video_configuration(self, main=None, controls=None, buffer_count=6, sensor=None, **kw):
            self.created = {"main": dict(main or {}), "controls": dict(controls or {}),
                            "buffer_count": buffer_count, "sensor": dict(sensor or {}), **kw}
            return {"main": dict(main or {"size": (640, 480)}), "sensor": dict(sensor or {})}

        def configure(self, config) -> None:
            self._alive()
            if mode == "configure":
                raise RuntimeError("Failed to configure camera")
            self.config = config

        def start(self) -> None:
            self._alive()
            if mode == "start":
                raise RuntimeError("Failed to start camera: Invalid argument")
            self.started = True

        def capture_request(self, wait=None, flush=None):
            self._alive()
            self.waits.append(wait)
            if not self.started:
                raise RuntimeError("Camera is not running")
            if mode in ("hang", "unplug") and self.delivered >= frames:
                if mode == "unplug":
                    raise RuntimeError("Camera frontend has timed out!")
                if wait is None or wait is True:
                    time.sleep(forever_s)
                    raise AssertionError("capture_request() without wait= blocks for ever on a stalled camera")
                time.sleep(float(wait))
                raise TimeoutError()
            if period_s:
                time.sleep(period_s)
            self.delivered += 1
            return FakeRequest(self, self.delivered)

        def cancel_all_and_flush(self) -> None:
            self.flushed = True

        def stop(self) -> None:
            self.started, self.stopped = False, True

        def close(self) -> None:
            self.started, self.closed = False, True

        def _alive(self) -> None:
            if self.closed:
                raise RuntimeError("Camera is closed")

    return FakeCamera


def install(monkeypatch, mode: str = "ok", frames: int = 0, sensor_modes=None, period_s: float = 0.0,
            forever_s: float = 3.0):
    """Put the fake on sys.modules['picamera2'] (undone by monkeypatch); returns the camera class.

    mode "import" makes `import picamera2` raise ValueError as a numpy-2-shadowed Bookworm does."""
    camera_class = make_camera_class(mode, frames, sensor_modes, period_s, forever_s)
    if mode == "import":
        monkeypatch.setitem(sys.modules, "picamera2", _BrokenModule("picamera2"))
    else:
        module = types.ModuleType("picamera2")
        module.Picamera2 = camera_class
        monkeypatch.setitem(sys.modules, "picamera2", module)
    return camera_class


class _BrokenModule(types.ModuleType):
    """A module whose names cannot be imported: `from picamera2 import Picamera2` raises ValueError,
    as the real import chain (picamera2 -> simplejpeg built against numpy 1) does under numpy 2."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ValueError("numpy.dtype size changed, may indicate binary incompatibility. "
                         "Expected 96 from C header, got 88 from PyObject")
