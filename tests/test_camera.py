"""The Pi camera source against a fake picamera2 that fails the way the real one does (issue 13)."""

from __future__ import annotations

import time

import fake_picamera2
import pytest
from fake_picamera2 import IMX219_MODES, IMX708_MODES

from station.sources import SourceError
from station.sources.camera import Picamera2Source, choose_sensor_mode


def _take(source, n):
    frames = []
    for item in source:
        frames.append(item)
        if len(frames) == n:
            break
    return frames


def test_without_sensor_timestamps_a_reopened_camera_keeps_its_clock_running_forward(monkeypatch):
    fake_picamera2.install(monkeypatch, "ok")
    monkeypatch.setattr(fake_picamera2.FakeRequest, "get_metadata", lambda self: {})
    source = Picamera2Source(640, 480, fps=30)
    first = _take(source, 2)
    source.close()
    again = _take(Picamera2Source(640, 480, fps=30), 2)   # the capture thread reopened it after a fault
    assert first[1][0] >= first[0][0] and again[0][0] > first[1][0], "not back to 0"


def test_frames_come_with_a_timeout_on_every_wait(monkeypatch):
    camera = fake_picamera2.install(monkeypatch, "ok")
    source = Picamera2Source(640, 480, fps=30)
    frames = _take(source, 3)
    assert [f.shape for _, f in frames] == [(480, 640, 3)] * 3
    assert frames[1][0] > frames[0][0], "sensor timestamps"
    waits = camera.instances[0].waits
    assert all(isinstance(w, float) and 0 < w <= 5 for w in waits)
    assert waits[1] == pytest.approx(1.0), "max(1 s, 10 frame periods) at 30 fps"
    source.close()
    source.close()   # the capture thread closes once more after a failure: harmless
    assert camera.instances[0].closed


def test_a_stalled_camera_raises_with_the_cable_hint_and_is_closed(monkeypatch):
    camera = fake_picamera2.install(monkeypatch, "hang", frames=2)
    source = Picamera2Source(640, 480, fps=30)
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=r"no frame for 1 s: check the ribbon cable"):
        _take(source, 10)
    assert time.monotonic() - t0 < 3
    fake = camera.instances[0]
    assert fake.delivered == 2 and fake.flushed and fake.stopped and fake.closed
    again = Picamera2Source(640, 480, fps=30)   # the retry acquires the camera: not busy
    again.close()


def test_an_unplugged_camera_raises_and_is_closed(monkeypatch):
    camera = fake_picamera2.install(monkeypatch, "unplug", frames=3)
    source = Picamera2Source(640, 480, fps=30)
    with pytest.raises(SourceError, match="stopped delivering frames .*timed out.*ribbon cable"):
        _take(source, 10)
    assert camera.instances[0].delivered == 3 and camera.instances[0].closed


@pytest.mark.parametrize("mode", ["configure", "start"])
def test_a_failed_start_releases_the_camera_so_the_retry_is_not_busy(monkeypatch, mode):
    camera = fake_picamera2.install(monkeypatch, mode)
    for _ in range(2):   # what the capture thread's retry does
        with pytest.raises(SourceError, match="could not be started: Failed to (configure|start)") as err:
            Picamera2Source()
        assert "busy" not in str(err.value)
    assert len(camera.instances) == 2 and all(c.closed for c in camera.instances)


def test_a_camera_held_elsewhere_says_busy_and_who(monkeypatch):
    camera = fake_picamera2.install(monkeypatch, "ok")
    holder = camera()   # another program's (or a leaked) instance
    with pytest.raises(SourceError, match=r"__init__ sequence did not complete\. \(Failed to acquire camera: "
                                          r"Device or resource busy\); another program holds the camera"):
        Picamera2Source()
    holder.close()
    Picamera2Source().close()


def test_no_camera_connected(monkeypatch):
    fake_picamera2.install(monkeypatch, "nocamera")
    # picamera2 itself says "list index out of range"; the station says what it means and what to do
    with pytest.raises(SourceError, match=r"no camera detected \(camera 0\): reseat the ribbon cable"):
        Picamera2Source()


def test_picamera2_under_the_wrong_numpy_is_a_source_error(monkeypatch, tmp_path):
    """Bookworm's case: apt's numpy 1.24 shadowed by a pip numpy 2. Without apt metadata at all
    (not Raspberry Pi OS) the advice is the installer, not a guess at a pin."""
    import numpy

    from station.sources import camera
    fake_picamera2.install(monkeypatch, "import")
    monkeypatch.setattr(numpy, "__version__", "2.3.1")
    monkeypatch.setattr(camera, "APT_PYTHON_PACKAGES", tmp_path)
    with pytest.raises(SourceError, match=r"numpy.dtype size changed.*; numpy 2.3.1 in the venv, unknown from apt\): "
                                          r"rerun scripts/install.sh"):
        Picamera2Source()
    (tmp_path / "numpy-1.24.2.egg-info").mkdir()
    with pytest.raises(SourceError, match=r"cannot load with this numpy \(numpy.dtype size changed.*1.24.2 from apt"
                                          r"\): reinstall the venv with numpy<2"):
        Picamera2Source()


def test_picamera2_missing_is_a_source_error(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "picamera2", None)
    with pytest.raises(SourceError, match="apt install python3-picamera2"):
        Picamera2Source()


def test_the_full_field_binned_mode_is_asked_for_and_main_stays_small(monkeypatch):
    camera = fake_picamera2.install(monkeypatch, "ok", sensor_modes=IMX708_MODES)
    source = Picamera2Source(640, 480, fps=30)
    created = camera.instances[0].created
    assert created["sensor"] == {"output_size": (2304, 1296), "bit_depth": 10}
    assert created["main"]["size"] == (640, 480)
    assert created["controls"]["FrameDurationLimits"] == (33333, 33333)
    assert source.sensor_mode["crop_limits"] == (0, 0, 4608, 2592)
    source.close()


@pytest.mark.parametrize("modes, fps, size", [
    (IMX708_MODES, 30, (2304, 1296)),   # not the 1536x864 centre crop picamera2 would pick for 640x480
    (IMX708_MODES, 15, (2304, 1296)),   # not the 14 fps full-resolution mode either: binned is enough
    (IMX708_MODES, 90, (1536, 864)),    # no full-field mode runs at 90 fps: the widest that does
    (IMX219_MODES, 30, (1640, 1232)),   # 2x2 binned full field, 41.85 fps
    (IMX219_MODES, 60, (640, 480)),     # the 1920x1080 mode is a crop too, and only 47 fps
    (IMX219_MODES, 200, (640, 480)),    # nothing that fast: the fastest
])
def test_choose_sensor_mode(modes, fps, size):
    mode = choose_sensor_mode(modes, fps)
    assert mode["size"] == size and mode["bit_depth"] == 10


def test_no_sensor_modes_leaves_the_choice_to_picamera2(monkeypatch):
    camera = fake_picamera2.install(monkeypatch, "ok", sensor_modes=[])
    Picamera2Source().close()
    assert camera.instances[0].created["sensor"] == {}
    assert choose_sensor_mode([], 30) is None


def test_the_capture_thread_reopens_a_stalled_camera(monkeypatch):
    """The whole path on a Pi with a loose cable: timeout, fault, back-off, a fresh camera (not busy)."""
    import threading

    from station.app.capture import CaptureThread, FrameMailbox

    camera = fake_picamera2.install(monkeypatch, "hang", frames=2)
    faults, stop = [], threading.Event()
    thread = CaptureThread(lambda: Picamera2Source(640, 480, fps=30), FrameMailbox(), faults.append,
                           retry=True, stop=stop)
    thread.start()
    deadline = time.monotonic() + 10
    while len([f for f in faults if f]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    assert thread.finished.wait(5)   # not join(): CaptureThread._stop shadows Thread._stop (join raises)
    errors = [f for f in faults if f]
    assert len(errors) >= 2 and all("ribbon cable" in f for f in errors)
    assert None in faults, "frames from the reopened camera clear the fault"
    assert len(camera.instances) >= 2 and all(c.closed for c in camera.instances[:-1])
    assert thread.frames >= 4
