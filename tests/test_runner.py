"""The runner (station.app.runner) with built stages and a fake pose stage: no model needed.

The fake pose stage hands out the synthetic lifter's keypoints in frame order, so the real analysis,
feedback (mock pins), store (SQLite) and self-test logic run exactly as in the station; what is
tested here is the wiring: frames in order, faults, exit codes, the watchdog, the inbox that
carries the page's settings and self-test commands to the frame loop.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from station import config as config_mod
from station.analysis import AnalysisParams, RepResult, SetResult, SquatAnalyzer
from station.analysis.selftest import SelfTestError
from station.analysis.summary import summarise_set
from station.app import runner as runner_mod
from station.app.runner import Stages, Station, Stats
from station.feedback import Feedback, make_pin_factory
from station.sim.lifter import CameraParams, LifterParams, simulate_set
from station.sim.noise import NoiseParams, noisy_keypoints
from station.sources import SourceError
from station.store import Store, StoreWriter

from conftest import write_clip, zero_packets

FRAME = np.zeros((48, 64, 3), np.uint8)   # the fake pose stage never looks at the pixels


def _keypoints(reps=3, seed=1):
    truth = simulate_set(LifterParams(reps=reps, target_depth_deg=-10, depth_jitter_deg=0), CameraParams(), seed=seed)
    return noisy_keypoints(truth, NoiseParams(0, 0, 0, 0))


class FakePose:
    """Keypoints in frame order; `estimated` is set after `notify_after` frames."""

    label = "fake pose"

    def __init__(self, keypoints, notify_after: int = 10**9):
        self.keypoints = keypoints
        self.count = 0
        self.notify_after = notify_after
        self.estimated = threading.Event()

    def estimate(self, frame, timestamp):
        kp = self.keypoints[self.count % len(self.keypoints)]
        self.count += 1
        if self.count >= self.notify_after:
            self.estimated.set()
        return kp


class ClipSource:
    """A finite 'file': the keypoints' timestamps with a blank frame each."""

    name = "clip"
    nominal_fps = 30.0

    def __init__(self, keypoints):
        self.times = [kp.timestamp for kp in keypoints]

    def __iter__(self):
        for t in self.times:
            yield t, FRAME

    def close(self):
        pass


class RecordingNotifier:
    def __init__(self, watchdog_interval_s=None):
        self.watchdog_interval_s = watchdog_interval_s
        self.messages: list[str] = []
        self.fed = threading.Event()

    def ready(self, status=""):
        self.messages.append("READY=1")

    def watchdog(self):
        self.messages.append("WATCHDOG=1")
        self.fed.set()

    def status(self, text):
        self.messages.append(f"STATUS={text}")

    def stopping(self):
        self.messages.append("STOPPING=1")


class FeedingLog(RecordingNotifier):
    """Keeps the frame count at each WATCHDOG=1, so 'fed only while frames advance' can be checked."""

    def __init__(self, station_ref, interval):
        super().__init__(interval)
        self.station_ref = station_ref
        self.frames_at_feed: list[int] = []

    def watchdog(self):
        self.frames_at_feed.append(self.station_ref[0].stats.frames)
        super().watchdog()


def _station(tmp_path, open_source, pose, *, live=False, notifier=None, **cfg_changes):
    cfg = config_mod.Config()
    cfg.station.state_dir = str(tmp_path)
    cfg.feedback.terminal_bar = False
    for dotted, value in cfg_changes.items():
        section, key = dotted.split("__")
        setattr(getattr(cfg, section), key, value)
    factory = make_pin_factory("mock")
    stages = Stages(pose=pose, analyzer=SquatAnalyzer(AnalysisParams.from_config(cfg.analysis, cfg.pose)),
                    feedback=Feedback(cfg.feedback, pin_factory=factory),
                    store=StoreWriter(cfg.db_path(), lifter=cfg.station.lifter))
    station = Station(cfg, stages, open_source, live_source=live, serve_web=False)
    if notifier is not None:
        station.notifier = notifier
    return station, factory, cfg


def test_after_a_file_ends_the_page_says_so_and_no_self_test_starts(tmp_path):
    """The demo's page stays up after its video ends; /api/live said running: true, and "Find my
    safe depth" started a test no frame would ever reach."""
    keypoints = _keypoints(reps=1)
    station, _, _ = _station(tmp_path, lambda: ClipSource(keypoints), FakePose(keypoints))
    try:
        assert station.live()["running"] is True and station.live()["source_ended"] is False
        station.run_frames()
        live = station.live()
        assert live["running"] is False and live["source_ended"] is True
        assert station.stats.frames > 0 and live["fps"] == 0.0, "no frames come: not a rate decaying slowly"
        assert station.selftest_status()["station_running"] is False
        with pytest.raises(SelfTestError, match="has ended: no frames are coming"):
            station.selftest_start()
    finally:
        station.shutdown()


def test_every_frame_of_a_file_reaches_the_store_and_the_lights_go_off(tmp_path):
    keypoints = _keypoints(reps=3)
    station, factory, cfg = _station(tmp_path, lambda: ClipSource(keypoints), FakePose(keypoints))
    assert station.run() == 0
    assert station.stats.frames == len(keypoints) and station.mailbox.dropped == 0
    store = Store(cfg.db_path())
    data = store.get_set(store.last_set_id())
    assert data["rep_count"] == 3 and data["end_reason"] == "source_ended" and data["summary"]
    assert data["target_depth_deg"] == cfg.analysis.target_depth_deg
    assert all(factory.pin(p).state == 0 for p in cfg.feedback.led_pins), "lights off after shutdown"
    # run faster than real time, the stored times still keep the file's own spacing: no rep starts
    # before the one before it ended
    starts = [r["started_at"] for r in data["reps"]]
    for before, after in zip(data["reps"], data["reps"][1:]):
        assert after["started_at"] >= before["started_at"] + before["tut_s"] - 0.5
    assert data["ended_at"] >= starts[-1] + data["reps"][-1]["tut_s"] - 0.5


def test_a_file_that_cannot_be_read_exits_2_and_says_why(tmp_path):
    def missing():
        raise SourceError("video file typo.mp4 does not exist")

    station, _, _ = _station(tmp_path, missing, FakePose(_keypoints(1)))
    assert station.run() == 2
    assert station.capture.error == "video file typo.mp4 does not exist"


def test_a_self_test_begun_mid_set_marks_none_of_its_reps_too_deep(tmp_path):
    """The set's row took the lifter's onset with its first rep; the test, started from the page mid-set,
    goes past that onset on purpose, and its reps read "too deep" until the set ended (for good, if
    the station was killed mid-test)."""
    from station.analysis.types import RepCompleted

    keypoints = _keypoints(1)
    station, _, cfg = _station(tmp_path, lambda: ClipSource(keypoints), FakePose(keypoints))
    try:
        station._lifter_target, station._lifter_onset = -1.0, -6.0     # the lifter's last self-test
        station.analyzer.update_params(station._params())

        def rep(index, depth):
            return RepResult(index=index, start_t=10.0 * index, bottom_t=10.0 * index + 1, end_t=10.0 * index + 3,
                             max_depth_deg=depth, below_parallel=depth < 0, reached_target=True, tut_s=3, down_s=1,
                             up_s=2, max_trunk_lean_deg=40.0, knee_travel_cm=10.0, heel_lift_cm=0.0, wink=False,
                             wink_onset_deg=None, wink_magnitude_deg=None, wink_confidence=0.0,
                             depth_verdict="below", side_view=True)

        p = station.analyzer.p
        station._handle(RepCompleted(13.0, rep(1, -3.0), 1, p.target_depth_deg, p.lifter_onset_deg))
        assert station.store.flush()
        store = Store(cfg.db_path())
        assert store.get_set(store.last_set_id())["lifter_onset_deg"] == -6.0, "an ordinary set: marked mid-set"
        station.selftest_start()
        station._apply_inbox(15.0)
        p = station.analyzer.p
        station._handle(RepCompleted(23.0, rep(2, -10.0), 1, p.target_depth_deg, p.lifter_onset_deg))
        assert station.store.flush()
        data = store.get_set(store.last_set_id())
        assert data["lifter_onset_deg"] is None and not any(r["past_safe_depth"] for r in data["reps"])
        store.close()
    finally:
        station.shutdown()


class BreakingClip(ClipSource):
    """A file that breaks part-way: its frames, then a decoding error."""

    def __iter__(self):
        yield from super().__iter__()
        raise SourceError("decoding clip.mp4 failed after 4.0 s: the file is damaged or cut short")


def test_a_file_that_breaks_part_way_keeps_its_reps_and_says_the_source_failed(tmp_path):
    """Its set was stored with end_reason "shutdown", as if someone had stopped the station."""
    keypoints = _keypoints(reps=2)
    station, _, cfg = _station(tmp_path, lambda: BreakingClip(keypoints), FakePose(keypoints))
    assert station.run() == 1
    store = Store(cfg.db_path())
    data = store.get_set(store.last_set_id())
    assert data["rep_count"] == 2 and data["end_reason"] == "source_failed"
    store.close()


def test_a_video_with_damaged_packets_is_watched_to_its_end(tmp_path):
    """Its first damaged packet ended the capture: `station run --source` a real clip with 43 of them
    stopped after 25 of its 990 frames, exit 1, 12 reps lost. Every frame that decodes reaches the
    frame loop, exit 0, and the capture keeps what was skipped for the run's last log lines."""
    from station.sources import VideoFileSource

    whole = write_clip(tmp_path / "whole.mp4")
    holes = zero_packets(whole, tmp_path / "holes.mp4", lambda t: round(t * 25) in (30, 70, 130))
    keypoints = _keypoints(reps=1)
    station, _, _ = _station(tmp_path, lambda: VideoFileSource(holes), FakePose(keypoints))
    assert station.run() == 0
    assert station.stats.frames == 197 and station.capture.error is None
    assert station.capture.damage == "3 damaged packets skipped in holes.mp4 (between 1.2 s and 5.2 s)"


class LiveCamera:
    """A live camera: fails `failures` times to open, then delivers frames; after `frames` frames it
    breaks the way the test asks (None: never)."""

    name = "camera:fake"
    nominal_fps = 30.0

    def __init__(self, failures=0, frames=None, then=None):
        self.failures, self.frames, self.then = failures, frames, then
        self.opens = 0
        self.paced = threading.Event()   # never set: wait() paces the fake at ~100 fps

    def __call__(self):
        self.opens += 1
        if self.opens <= self.failures:
            raise SourceError("camera 0 could not be started: no camera found")
        return self

    def __iter__(self):
        t = 0.0
        n = 0
        while self.frames is None or n < self.frames:
            self.paced.wait(0.01)
            t += 1 / 30
            n += 1
            yield t, FRAME
        if self.then is not None:
            raise self.then
        self.paced.wait(3600)   # hangs: a camera that stops without a word

    def close(self):
        pass


def test_camera_failure_retries_shows_the_fault_and_recovers(tmp_path):
    camera = LiveCamera(failures=2)
    pose = FakePose(_keypoints(1), notify_after=10)
    station, _, _ = _station(tmp_path, camera, pose, live=True)
    faults = []
    station.feedback.set_fault = lambda message, original=station.feedback.set_fault: (faults.append(message),
                                                                                        original(message))
    thread = threading.Thread(target=station.run)
    thread.start()
    try:
        assert pose.estimated.wait(15), "no frames after the camera came back"
    finally:
        station.stop()
        thread.join(10)
    assert camera.opens == 3
    assert faults[:2] == ["camera 0 could not be started: no camera found"] * 2 and faults[2] is None
    assert station.live()["fault"] is None and station.exit_code == 0


def test_an_unexpected_capture_error_ends_the_station_with_exit_1_and_the_fault_shown(tmp_path):
    """numpy's ABI error from picamera2's simplejpeg is a ValueError, not a SourceError: the station
    must not carry on blind, and must not exit 0 (systemd's Restart= would not bring it back)."""
    camera = LiveCamera(frames=5, then=ValueError("numpy.dtype size changed, may indicate binary incompatibility"))
    station, _, _ = _station(tmp_path, camera, FakePose(_keypoints(1)), live=True)
    assert station.run() == 1
    assert "numpy.dtype size changed" in station.live()["fault"]
    assert station.capture.error.startswith("capture failed: ValueError")


def _running_with_feeding_log(tmp_path, camera, notify_after):
    """A live station running on its own thread, its watchdog feeds logged with the frame count."""
    ref: list = []
    notifier = FeedingLog(ref, interval=0.02)
    pose = FakePose(_keypoints(1), notify_after=notify_after)
    station, _, _ = _station(tmp_path, camera, pose, live=True, notifier=notifier)
    ref.append(station)
    thread = threading.Thread(target=station.run)
    thread.start()
    return station, notifier, pose, thread


def test_the_watchdog_is_fed_only_while_frames_arrive(tmp_path):
    """A camera that stops without a word: every WATCHDOG=1 must follow new frames, so systemd's
    watchdog (WatchdogSec) restarts a station whose camera hung."""
    station, notifier, pose, thread = _running_with_feeding_log(tmp_path, LiveCamera(frames=30), 30)  # then hangs
    try:
        assert pose.estimated.wait(15)
        assert notifier.fed.wait(5), "fed while frames arrive"
        # the loop now wakes every 0.5 s with no frame: give it several wake-ups past the hang
        passes = threading.Event()
        original = station.mailbox.take
        empty = [0]

        def take(timeout):
            item = original(timeout)
            empty[0] += item is None
            if empty[0] >= 4:
                passes.set()
            return item
        station.mailbox.take = take
        assert passes.wait(15)
    finally:
        station.stop()
        thread.join(10)
    feeds = notifier.frames_at_feed
    assert feeds[-1] == 30 and all(b > a for a, b in zip(feeds, feeds[1:])), f"fed while no frame arrived: {feeds}"


class _NoWorkers:
    """waitress's task dispatcher as station.web.stop_server sees it."""

    def shutdown(self, timeout=5):
        return True


class FailingWebServer:
    """waitress's server as the runner sees it: run() fails `failures` times (None: always), then
    serves until close()."""

    def __init__(self, failures=None):
        self.failures, self.runs = failures, 0
        self.closed = threading.Event()
        self.serving = threading.Event()
        self.task_dispatcher = _NoWorkers()

    def run(self):
        self.runs += 1
        if self.failures is None or self.runs <= self.failures:
            raise OSError("[Errno 24] Too many open files")
        self.serving.set()
        self.closed.wait()

    def close(self):
        self.closed.set()


def test_a_web_server_loop_that_fails_is_run_again(tmp_path, monkeypatch):
    """The page's server used to run on a bare daemon thread: one exception in its loop and the page
    was gone for good while the lights worked and the watchdog stayed fed."""
    monkeypatch.setattr(runner_mod, "WEB_RESTART_S", 0.01)
    keypoints = _keypoints(1)
    station, _, _ = _station(tmp_path, lambda: ClipSource(keypoints), FakePose(keypoints))
    station.web_server = server = FailingWebServer(failures=2)
    station._start_web_thread()
    try:
        assert server.serving.wait(5), "serving again after two failures"
        assert station.web_alive and station.web_failures == 2 and server.runs == 3
    finally:
        station.shutdown()
    station._web_thread.join(5)
    assert not station._web_thread.is_alive(), "close() ends it for good: no restart after shutdown"


def test_a_web_server_that_keeps_failing_starves_the_watchdog(tmp_path, monkeypatch):
    monkeypatch.setattr(runner_mod, "WEB_RESTART_S", 0.01)
    # frames keep coming: only the page is gone
    station, notifier, _, thread = _running_with_feeding_log(tmp_path, LiveCamera(frames=None), 5)
    try:
        assert notifier.fed.wait(10), "fed while frames arrive and the page is served (none asked for yet)"
        station.web_server = FailingWebServer(failures=None)
        station._start_web_thread()
        station._web_thread.join(10)
        assert not station.web_alive and station.web_failures == runner_mod.WEB_MAX_RESTARTS + 1
        notifier.fed.clear()
        frames = station.stats.frames
        assert not notifier.fed.wait(0.5), "no WATCHDOG=1 once the page is gone"
        assert station.stats.frames > frames, "while frames kept coming"
    finally:
        station.stop()
        thread.join(10)


def test_settings_go_through_the_inbox_to_the_frame_loop(tmp_path):
    path = tmp_path / "station.toml"
    hand_written = f'# the owner\'s comment\n[station]\nstate_dir = "{tmp_path}"\n'
    path.write_text(hand_written)
    keypoints = _keypoints(1)
    station, _, _ = _station(tmp_path, lambda: ClipSource(keypoints), FakePose(keypoints))
    station.cfg = station.accepted_cfg = config_mod.load(path)
    try:
        station.apply_settings({"analysis.target_depth_deg": -7.0, "feedback.mode": "lights_only"})
        assert station.accepted_cfg.analysis.target_depth_deg == -7.0, "the page sees what it saved"
        assert station.cfg.analysis.target_depth_deg == 0.0, "the frame loop's config is changed only by the loop"
        assert station.analyzer.p.target_depth_deg == 0.0
        station._apply_inbox(1.0)
        assert station.analyzer.p.target_depth_deg == -7.0 and station.cfg.analysis.target_depth_deg == -7.0
        assert station.feedback.cfg.mode == "lights_only"
        assert config_mod.load(path).analysis.target_depth_deg == -7.0, "saved: a restart keeps it"
        assert path.read_text() == hand_written, "the hand-written config is never rewritten"
        with pytest.raises(config_mod.ConfigError):
            station.apply_settings({"analysis.target_depth_deg": 99.0})
        with pytest.raises(config_mod.ConfigError):
            station.apply_settings({"analysis.target_depth_deg": float("nan")})
        assert station.accepted_cfg.analysis.target_depth_deg == -7.0
    finally:
        station.shutdown()


def test_self_test_start_cancel_finish_and_each_lifters_own_target(tmp_path):
    seed = Store(tmp_path / "station.db")
    seed.set_lifter_target("default", -6.0)
    seed.close()
    keypoints = _keypoints(1)
    station, _, cfg = _station(tmp_path, lambda: ClipSource(keypoints), FakePose(keypoints),
                               analysis__target_depth_deg=-2.0)
    try:
        assert station.analyzer.p.target_depth_deg == -6.0, "the active lifter's own target"
        assert station.analyzer.p.lifter_onset_deg is None, "a target set without a self-test has no onset"
        status = station.selftest_start()
        assert status["starting"] and status["running"] and status["lifter"] == "default"
        with pytest.raises(SelfTestError, match="already running"):
            station.selftest_start()
        station._apply_inbox(100.0)   # the frame loop's next frame begins it
        assert station.analyzer.p.target_depth_deg == 25.0 and not station.selftest_status()["starting"]
        assert station.live()["selftest"]["target_deg"] == 25.0
        assert station.live()["selftest"]["target_words"] == "25° above"
        assert station.selftest_cancel() and not station.selftest_cancel()
        assert station.selftest_status()["outcome"] == "cancelled", "the page says so at once"
        station._apply_inbox(101.0)
        assert station.analyzer.p.target_depth_deg == -6.0, "cancelled: back to the lifter's own target"
        assert station.live()["selftest"] is None

        station.apply_settings({"station.lifter": "maria"})
        station._apply_inbox(150.0)
        assert station.analyzer.p.target_depth_deg == -2.0, "a lifter without a self-test: the configured target"
        station.selftest_start()
        station._apply_inbox(200.0)
        rep = RepResult(index=1, start_t=201.0, bottom_t=202.0, end_t=204.0, max_depth_deg=15.0,
                        below_parallel=False, reached_target=False, tut_s=3, down_s=1, up_s=2,
                        max_trunk_lean_deg=40.0, knee_travel_cm=10.0, heel_lift_cm=0.0, wink=True,
                        wink_onset_deg=19.0, wink_magnitude_deg=None, wink_confidence=1.0, depth_verdict="above")
        station._selftest_rep(station._selftest, rep, 1, station._to_wall(rep.end_t) + rep.end_t)
        assert station.analyzer.p.target_depth_deg == 24.0, "the safe depth (onset 19 + margin 5) is the target"
        assert station.analyzer.p.lifter_onset_deg == 19.0, "the set's summary names reps past it"
        # the test stopped on one clear rep; the set's own rule wants two, but the set says what the test found
        easier = [dataclasses.replace(rep, index=i, max_depth_deg=30.0 - i, wink=False, wink_onset_deg=None,
                                      wink_confidence=0.0) for i in (1, 2)]
        # the test ended mid-set, so the set is summed up with the lifter's new target and onset
        test_set = SetResult(index=1, start_t=190.0, end_t=205.0, end_reason="idle", target_depth_deg=24.0,
                             reps=easier + [dataclasses.replace(rep, index=3)], lifter_onset_deg=19.0)
        summarise_set(test_set, margin_deg=5.0)
        assert test_set.summary.count("Possible") == 1
        station._tell_the_selftests_story(test_set)
        assert test_set.wink_onset_deg == 19.0 and test_set.suggested_depth_deg == 24.0
        assert "started to round 19 deg above parallel on rep 3" in test_set.summary, test_set.summary
        assert test_set.selftest and "went deeper" not in test_set.summary, "the test went past the onset on purpose"
        assert station.store.flush()
        store = Store(cfg.db_path())
        assert store.lifter_target("maria") == 24.0 and store.lifter_target("default") == -6.0
        assert store.lifter_onset("maria") == 19.0 and store.lifter_onset("default") is None
        stored = store.list_selftests("maria")[0]
        assert stored["onset_deg"] == 19.0
        # on the reps' clock (a file run is stored at its start plus the time in the file): begun at
        # the frame of t=200, ended with the rep at t=204; it read the wall clock, seconds apart
        assert stored["ended_at"] - stored["started_at"] == pytest.approx(4.0)
        store.close()
        station.apply_settings({"station.lifter": "default"})
        station._apply_inbox(300.0)
        assert station.analyzer.p.target_depth_deg == -6.0 and station.analyzer.p.lifter_onset_deg is None
        station.apply_settings({"station.lifter": "maria"})    # read back from the store, not remembered
        station._apply_inbox(400.0)
        assert station.analyzer.p.target_depth_deg == 24.0 and station.analyzer.p.lifter_onset_deg == 19.0
    finally:
        station.shutdown()


# --- the Pi camera's failure modes, through the real Picamera2Source and a fake picamera2 ----------

def _watch_faults(station):
    """Events for 'a fault reached the page' and 'the bar shows the fault pattern' (no polling)."""
    on_page, on_bar = threading.Event(), threading.Event()
    original_fault, original_show = station.feedback.set_fault, station.feedback.pins.show

    def set_fault(message):
        original_fault(message)
        if message:
            on_page.set()

    def show(frame):
        original_show(frame)
        if frame.bar.pattern == "fault":
            on_bar.set()
    station.feedback.set_fault = set_fault
    station.feedback.pins.show = show
    return on_page, on_bar


@pytest.mark.parametrize("mode", ["hang", "unplug"])
def test_a_stalled_or_unplugged_camera_shows_the_fault_starves_the_watchdog_and_recovers(tmp_path, monkeypatch, mode):
    import fake_picamera2

    from station.sources import open_source

    camera_class = fake_picamera2.install(monkeypatch, mode=mode, frames=20, period_s=0.005)
    ref: list = []
    notifier = FeedingLog(ref, interval=0.05)
    pose = FakePose(_keypoints(1), notify_after=50)    # frames again after the camera was reopened
    station, _, _ = _station(tmp_path, lambda: open_source("camera"), pose, live=True, notifier=notifier)
    ref.append(station)
    on_page, on_bar = _watch_faults(station)
    thread = threading.Thread(target=station.run)
    thread.start()
    try:
        assert on_page.wait(20), "the fault never reached the page"
        fault = station.live()["fault"]
        assert "camera" in fault and ("cable" in fault or "stopped" in fault), fault
        assert on_bar.wait(10), "the bar never showed the fault pattern"
        assert pose.estimated.wait(20), "no frames after the camera was reopened"
    finally:
        station.stop()
        thread.join(15)
    assert station.exit_code == 0, "a camera that comes back is no reason to exit"
    assert len(camera_class.instances) >= 2 and all(c.closed for c in camera_class.instances[:-1]), \
        "each failed camera was closed before the next was opened (no 'busy')"
    feeds = notifier.frames_at_feed
    assert feeds and all(b > a for a, b in zip(feeds, feeds[1:])), f"fed while no frame arrived: {feeds}"
    assert any(m.startswith("STATUS=camera fault") for m in notifier.messages)


def test_a_camera_library_that_cannot_load_exits_2_with_the_fault_on_the_page(tmp_path, monkeypatch):
    """numpy 2 shadowing apt's numpy (Bookworm): retrying cannot fix it, so the station says why and
    exits 2 (systemd does not restart it in a loop); the page and the bar show the fault meanwhile."""
    import fake_picamera2
    import numpy

    from station.sources import camera, open_source
    fake_picamera2.install(monkeypatch, mode="import")
    (tmp_path / "apt" / "numpy-1.24.2.egg-info").mkdir(parents=True)     # Bookworm's apt numpy
    monkeypatch.setattr(camera, "APT_PYTHON_PACKAGES", tmp_path / "apt")
    monkeypatch.setattr(numpy, "__version__", "2.3.1")
    station, _, _ = _station(tmp_path, lambda: open_source("camera"), FakePose(_keypoints(1)), live=True)
    on_page, _ = _watch_faults(station)
    assert station.run() == 2
    assert on_page.is_set() and "numpy" in station.live()["fault"] and "numpy<2" in station.capture.error


def _served_station(tmp_path, monkeypatch, server, host: str) -> Station:
    """A station whose page `server` (a stand-in for waitress's) serves on `host`."""
    import station.web as web

    monkeypatch.setattr(web, "serve", lambda *args, **kwargs: server)
    keypoints = _keypoints(1)
    cfg = config_mod.Config()
    cfg.station.state_dir, cfg.web.host = str(tmp_path), host
    stages = Stages(pose=FakePose(keypoints), analyzer=SquatAnalyzer(),
                    feedback=Feedback(cfg.feedback, pin_factory=make_pin_factory("mock")),
                    store=StoreWriter(cfg.db_path()))
    return Station(cfg, stages, lambda: ClipSource(keypoints), live_source=False)


class _Server:
    def __init__(self):
        self.served = threading.Event()
        self.task_dispatcher = _NoWorkers()

    def run(self):
        self.served.set()

    def close(self):
        pass


def test_a_host_name_with_several_addresses_still_gives_the_page_address(tmp_path, monkeypatch):
    """waitress serves `localhost` with IPv6 on as a MultiSocketServer, which has no effective_port."""
    class MultiSocket(_Server):
        effective_listen = [("::1", 8123), ("127.0.0.1", 8123)]

    server = MultiSocket()
    station = _served_station(tmp_path, monkeypatch, server, "localhost")
    try:
        assert station.web_url == "http://localhost:8123/" and server.served.wait(5)
    finally:
        station.shutdown()


def test_served_on_every_address_the_start_line_gives_the_name_phones_use(tmp_path, monkeypatch):
    """The journal's line said only http://127.0.0.1:8080/ on a headless Pi serving every address."""
    import socket

    class OneSocket(_Server):
        effective_port = 8124

    station = _served_station(tmp_path, monkeypatch, OneSocket(), "0.0.0.0")
    try:
        assert station.web_url == "http://127.0.0.1:8124/"
        assert station.phone_url == f"http://{socket.gethostname()}.local:8124/"
    finally:
        station.shutdown()


def test_the_live_frame_rate_is_the_rate_now_not_the_average_since_the_start():
    """After 20 s at 30 fps a Pi that drops to 5 fps shows 5 within a window, and a camera that
    stops shows a rate falling towards 0, where the run's average would still say about 30."""
    stats = Stats(started=0.0)
    t = 0.0
    for _ in range(600):            # 20 s at 30 fps
        t += 1 / 30
        stats.count_frame(t)
    assert stats.recent_fps(t) == pytest.approx(30, abs=0.5)
    for _ in range(15):             # 3 s at 5 fps
        t += 1 / 5
        stats.count_frame(t)
    assert stats.recent_fps(t) == pytest.approx(5, abs=0.5)
    assert stats.frames / t > 25    # what the average since the start would have said
    # no frames for 10 s: the rate over the time since the last count, far below 5
    assert stats.recent_fps(t + 10) < 1.0
    # the run's average is up to its last frame, whenever it is asked (a demo's page outlives its video)
    assert stats.fps() == pytest.approx(615 / t)


def test_the_live_frame_rate_before_the_first_window_is_the_rate_so_far():
    """...once there is enough of it: polled in the first tenth of a second of a 25 fps replay, whose
    first two frames came together (the second waited while the model warmed up), the page's API
    said 34-49 fps."""
    stats = Stats(started=0.0)
    assert stats.recent_fps(0.5) == 0.0
    for t in (0.0, 0.005, 0.04):
        stats.count_frame(t)
    assert stats.recent_fps(0.045) == 0.0, "not known yet, rather than 44 fps"
    stats = Stats(started=0.0)
    for k in range(1, 16):          # 15 frames at 30 fps
        stats.count_frame(k / 30)
    assert stats.recent_fps(0.5) == pytest.approx(30, abs=1.0)
