"""The Pi camera through picamera2, which exists only on Raspberry Pi OS and is imported lazily."""

from __future__ import annotations

import concurrent.futures
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.sources.base import SourceError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# what capture_request(wait=N) raises when no frame came: the same class from Python 3.11 on
FrameTimeout = (TimeoutError, concurrent.futures.TimeoutError)
FIRST_FRAME_WAIT_S = 5.0   # the first frame waits for the sensor and the ISP's start-up as well
NO_CAMERA_FIX = "reseat the ribbon cable (contacts facing the board), then reboot"
CABLE_HINT = ("check the ribbon cable (seated in both connectors, contacts facing the right way; "
              "long or thin cables drop frames), then reboot")


APT_PYTHON_PACKAGES = Path("/usr/lib/python3/dist-packages")


def apt_numpy_version(dist_packages: Path | None = None) -> str | None:
    """The numpy that apt installed (picamera2 and simplejpeg are built against it), from its
    metadata folder's name: importing it is what fails when the venv's numpy shadows it."""
    for entry in sorted((dist_packages or APT_PYTHON_PACKAGES).glob("numpy-*-info")):
        found = re.match(r"numpy-(\d+(?:\.\d+)*)", entry.name)
        if found:
            return found.group(1)
    return None


def numpy_abi_advice(exc: Exception, venv_numpy: str | None = None,
                     apt_numpy: str | None = None) -> tuple[str, str]:
    """What to do when picamera2 will not load with the venv's numpy ("numpy.dtype size changed").

    Bookworm's apt modules are built against numpy 1 and break under a pip numpy 2; Trixie's are
    built against numpy 2 and break under a pip numpy 1. The advice follows the versions seen.
    Returns (what is wrong, the fix)."""
    if venv_numpy is None:
        import numpy
        venv_numpy = numpy.__version__
    apt_numpy = apt_numpy or apt_numpy_version()
    major = lambda version: int(version.split(".")[0])  # noqa: E731
    seen = f"numpy {venv_numpy} in the venv, {apt_numpy or 'unknown'} from apt"
    if apt_numpy and major(apt_numpy) < 2 <= major(venv_numpy):
        fix = "reinstall the venv with numpy<2 (docs/install.md: 'Bookworm: keep apt's numpy')"
    elif apt_numpy and major(venv_numpy) < 2 <= major(apt_numpy):
        fix = ("rerun scripts/install.sh: on Trixie it installs without the numpy<2 pin, "
               "so the venv uses apt's numpy 2 (docs/install.md)")
    elif apt_numpy and venv_numpy == apt_numpy:
        # the same numpy on both sides: a module built for another one (a pip simplejpeg, a stale apt
        # package), not the venv's numpy; install.sh would change nothing
        fix = ("the venv already uses apt's numpy, so one of picamera2's own modules is built for another: "
               "sudo apt install --reinstall python3-picamera2 python3-simplejpeg, and pip uninstall "
               "simplejpeg in the venv if it is there")
    else:
        fix = "rerun scripts/install.sh, which keeps the venv's numpy the one apt's picamera2 is built for"
    return f"picamera2 cannot load with this numpy ({exc}; {seen})", fix


def _cameras_seen(picamera2_class: Any) -> int:
    """How many cameras libcamera lists (0 also when it cannot tell)."""
    try:
        return len(picamera2_class.global_camera_info())
    except Exception:  # noqa: BLE001 - only asked to word an error better
        return 0


def _fov(mode: dict) -> int:
    """Sensor area a mode reads out (its crop_limits); a binned full-field mode reads all of it."""
    limits = mode.get("crop_limits") or (0, 0, 0, 0)
    return int(limits[2]) * int(limits[3])


def choose_sensor_mode(modes: list[dict], fps: float) -> dict | None:
    """The widest field of view that still runs at `fps`, and the smallest (binned) output among those.

    picamera2 picks the mode nearest the requested output size, and on the v2, v3 and HQ cameras
    the modes near 640x480 are centre crops: the lifter's head or feet leave the picture at 2-4 m.
    A binned full-field mode scaled down by the ISP keeps the whole field for free. When no mode
    reaches `fps`, the fastest mode is used (the frame duration limit then caps what it can do).
    """
    if not modes:
        return None
    usable = [m for m in modes if float(m.get("fps", 0)) >= 0.98 * fps]
    if not usable:
        usable = [max(modes, key=lambda m: float(m.get("fps", 0)))]
    widest = max(_fov(m) for m in usable)
    return min((m for m in usable if _fov(m) == widest),
               key=lambda m: (m["size"][0] * m["size"][1], -int(m.get("bit_depth", 0))))


def _reason(exc: BaseException) -> str:
    """picamera2 wraps the real cause ("Device or resource busy") in "Camera __init__ sequence did
    not complete."; say both."""
    text = str(exc) or type(exc).__name__
    inner = exc.__cause__ or exc.__context__
    return f"{text} ({inner})" if inner is not None and str(inner) and str(inner) not in text else text


class Picamera2Source:
    """The Pi camera through picamera2 (Raspberry Pi OS only: apt install python3-picamera2).

    One small RGB stream sized for the pose stage from a full-field sensor mode, a fixed frame
    duration so timestamps are regular, and optional manual exposure/gain for gym lighting.
    Every wait for a frame has a timeout: without one, a dislodged ribbon cable blocks
    capture_request() for ever and no fault is ever shown. Any failure closes the camera before
    raising SourceError, so the capture thread's retry can acquire it again.
    """

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0,
                 exposure_us: int = 0, analogue_gain: float = 0.0, camera_index: int = 0) -> None:
        try:
            from picamera2 import Picamera2
        except ValueError as exc:   # "numpy.dtype size changed": the venv's numpy is not apt's
            raise SourceError(": ".join(numpy_abi_advice(exc)), retryable=False) from None
        except ImportError:
            raise SourceError(
                "picamera2 is not installed: on Raspberry Pi OS run `sudo apt install python3-picamera2` "
                "and create the venv with --system-site-packages; elsewhere use a video file, an image "
                "folder or `synthetic` as the source", retryable=False) from None
        self.name = f"camera:{camera_index}"
        self.nominal_fps = fps
        self.frame_wait_s = max(1.0, 10.0 / fps)
        self.sensor_mode: dict | None = None
        self._camera: Any = None     # a picamera2.Picamera2 (untyped)
        try:
            self._camera = Picamera2(camera_index)
            self._camera.configure(self._configuration(width, height, fps, exposure_us, analogue_gain))
            self._camera.start()
        except Exception as exc:  # picamera2 raises plain RuntimeError/IndexError for no camera
            self.close()           # else the next attempt finds the camera busy
            if isinstance(exc, IndexError) and not _cameras_seen(Picamera2):   # "list index out of range"
                raise SourceError(f"no camera detected (camera {camera_index}): {NO_CAMERA_FIX}; "
                                  "`station doctor` checks it") from None
            hint = ("; another program holds the camera (rpicam-*, a second station)"
                    if "busy" in _reason(exc).lower() else "")
            raise SourceError(f"camera {camera_index} could not be started: {_reason(exc)}{hint}") from None

    def _configuration(self, width: int, height: int, fps: float, exposure_us: int, analogue_gain: float) -> Any:
        frame_us = int(1_000_000 / fps)
        controls: dict[str, object] = {"FrameDurationLimits": (frame_us, frame_us)}
        if exposure_us:
            controls["ExposureTime"] = int(exposure_us)
        if analogue_gain:
            controls["AnalogueGain"] = float(analogue_gain)
        # libcamera's "BGR888" is laid out R, G, B in memory: what MoveNet wants, no conversion.
        main = {"size": (width, height), "format": "BGR888"}
        assert self._camera is not None, "configured after Picamera2() acquired it"
        self.sensor_mode = choose_sensor_mode(list(self._camera.sensor_modes or []), fps)
        if self.sensor_mode is None:
            log.warning("camera reports no sensor modes: picamera2 chooses one (may be a centre crop)")
            return self._camera.create_video_configuration(main=main, controls=controls, buffer_count=4)
        mode = self.sensor_mode
        log.info("camera sensor mode %dx%d %d-bit, %.0f fps max, field %s (scaled to %dx%d)",
                 *mode["size"], mode.get("bit_depth", 0), mode.get("fps", 0), mode.get("crop_limits"),
                 width, height)
        return self._camera.create_video_configuration(
            main=main, controls=controls, buffer_count=4,
            sensor={"output_size": tuple(mode["size"]), "bit_depth": mode["bit_depth"]})

    def _fail(self, message: str) -> SourceError:
        self.close()
        return SourceError(message)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        wait = FIRST_FRAME_WAIT_S
        while True:
            if self._camera is None:
                raise SourceError("the camera is closed")
            try:
                request = self._camera.capture_request(wait=wait)
            except FrameTimeout:
                raise self._fail(f"camera delivered no frame for {wait:.0f} s: {CABLE_HINT}") from None
            except Exception as exc:
                raise self._fail(f"camera stopped delivering frames ({_reason(exc)}): {CABLE_HINT}") from None
            error = None
            try:
                frame = request.make_array("main")
                metadata = request.get_metadata()
            except Exception as exc:
                error = exc
            finally:
                request.release()
            if error is not None:
                raise self._fail(f"camera frame could not be read: {_reason(error)}")
            wait = self.frame_wait_s
            sensor_ns = metadata.get("SensorTimestamp")
            # without the sensor's clock, the monotonic clock: one that restarted at 0 with each reopen
            # of the camera ran the analysis' time backwards (no set would ever end as idle)
            timestamp = sensor_ns / 1e9 if sensor_ns else time.monotonic()
            yield timestamp, frame

    def close(self) -> None:
        """Flush the jobs a timed-out capture left queued (else stop() waits behind them), stop,
        release the camera. Safe to call twice; errors are logged, never raised over the first one."""
        camera, self._camera = self._camera, None
        if camera is None:
            return
        for step in ("cancel_all_and_flush", "stop", "close"):
            method = getattr(camera, step, None)
            if method is None:
                continue
            try:
                method()
            except Exception:
                log.debug("camera %s failed", step, exc_info=True)
