"""The station: source -> pose -> analysis -> feedback + store, with the web page in the same process.

Threads, and why:
- capture: reads the source and leaves only the newest frame in a one-slot mailbox, so the frame
  loop never works on a backlog (the camera, and paced files and the demo, which play at the
  camera's pace); file replays in --fast mode hand over every frame;
- frame loop (the caller's thread): pose, analysis, post to feedback and store; never blocks on
  I/O. LiteRT's invoke releases the GIL, so the web threads run while the model does;
- feedback worker (station.feedback), store writer (station.store), waitress threads (web); the
  web server's loop is run again if it fails, a few times, and the watchdog is fed only while it
  and the feedback worker live (systemd restarts a station whose page or lights are gone).
One process keeps the live state a pointer away from the page; docs/performance.md measures that
20 polling phones cost the frame loop little, so no second process is needed.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from station import config as config_mod
from station.analysis import (
    AnalysisEvent,
    AnalysisParams,
    FrameState,
    RepCompleted,
    RepResult,
    SetFinished,
    SetResult,
    SquatAnalyzer,
)
from station.analysis.selftest import ROUNDING, SelfTestError, SelfTestPlan, SelfTestTracker, target_words
from station.analysis.selftest import evidence as selftest_evidence
from station.analysis.summary import judged_reps, set_sentence
from station.app.capture import CaptureThread, FrameMailbox
from station.app.notify import Notifier
from station.feedback import Feedback, TerminalBar
from station.pose import Keypoints
from station.store import Store, StoreWriter

if TYPE_CHECKING:
    from gpiozero import Factory

log = logging.getLogger(__name__)

WEB_RESTART_S = 1.0       # a web server loop that failed runs again after this ...
WEB_MAX_RESTARTS = 5      # ... this many times; then its thread ends and the watchdog starves


def live_state(state: FrameState | None) -> dict:
    """The frame's part of /api/live (docs/api.md). While the view gate abstains (setup_issue set)
    no depth number reaches the page, only the issue and the sentence saying what to change."""
    if state is None:
        return {}
    judged = state.setup_issue is None
    return {"lifter_present": state.lifter_present, "calibrated": state.calibrated, "phase": state.phase,
            "thigh_deg": round(state.thigh_deg, 1) if judged and state.thigh_deg is not None else None,
            "depth_fraction": round(state.depth_fraction, 3) if judged else None,
            "target_reached": state.target_reached and judged, "rep_count": state.rep_count,
            "set_active": state.set_active, "wink_active": state.wink_active,
            "setup_issue": state.setup_issue, "setup_advice": state.setup_advice, "setup_note": state.setup_note}


# The page's frame rate is counted over this many seconds: the rate now, not since the start.
RECENT_FPS_WINDOW_S = 2.0
# Before the first window ends the rate so far is given only after this long: asked in the first
# tenth of a second, a frame or two over a few hundredths read 34-49 fps on 25 fps replays.
FIRST_FPS_AFTER_S = 0.4
STORE_READY_S = 120.0     # the history's start-up check (a damaged file moved aside) before reading it


@dataclass
class Stats:
    frames: int = 0
    started: float = field(default_factory=time.perf_counter)
    stage_ms: dict = field(default_factory=lambda: {"pose": 0.0, "analysis": 0.0, "outputs": 0.0})
    _window_start: float = -1.0      # perf_counter time the current count began (-1: not yet)
    _window_frames: int = 0          # frames counted at _window_start
    _last_window_fps: float = 0.0    # the rate over the last whole window
    _last_frame: float = 0.0         # perf_counter time of the last frame

    def fps(self) -> float:
        """The whole run's average up to its last frame (the log's closing line, the benchmarks): a
        demo's page stays up after its video ends, and counting that wait read 14 fps for 30."""
        elapsed = self._last_frame - self.started
        return self.frames / elapsed if self.frames and elapsed > 0 else 0.0

    def count_frame(self, now: float) -> None:
        """One frame done, at perf_counter time `now`. Called from the frame loop only."""
        self.frames += 1
        self._last_frame = now
        if self._window_start < 0:
            self._window_start, self._window_frames = now, self.frames
        elif now - self._window_start >= RECENT_FPS_WINDOW_S:
            self._last_window_fps = (self.frames - self._window_frames) / (now - self._window_start)
            self._window_start, self._window_frames = now, self.frames

    def recent_fps(self, now: float) -> float:
        """Frames per second over the last window: a Pi that slowed down (heat, a busy SD card) or a
        camera that stalled shows here at once, where an average since the start would hide it for
        minutes. While frames stop coming the rate falls towards 0; before the first window ends it
        is the rate so far, once FIRST_FPS_AFTER_S have passed (0.0 until then: not known yet)."""
        if self._window_start < 0:
            return 0.0
        elapsed = now - self._window_start
        if self._last_window_fps == 0.0 and elapsed < FIRST_FPS_AFTER_S:
            return 0.0
        if elapsed >= 2 * RECENT_FPS_WINDOW_S or self._last_window_fps == 0.0:
            return (self.frames - self._window_frames) / elapsed if elapsed > 0 else 0.0
        return self._last_window_fps


class PoseStage(Protocol):
    """What the runner needs of the pose stage (station.pose.PoseEstimator; tests pass a fake)."""

    label: str

    def estimate(self, frame: np.ndarray, timestamp: float) -> Keypoints: ...


@dataclass
class Stages:
    """The built pipeline the runner drives. build_stages() makes the real ones; tests build their
    own with a fake pose stage, so the runner can be tested without the model."""

    pose: PoseStage
    analyzer: SquatAnalyzer
    feedback: Feedback
    store: StoreWriter


def build_stages(cfg: config_mod.Config, pin_factory: Factory | None = None,
                 terminal: TerminalBar | None = None) -> Stages:
    """Each stage from its own config section. A missing or bad model stops here, before any thread
    starts (ModelError -> exit code 2)."""
    from station.pose import PoseEstimator

    pose = PoseEstimator.from_config(cfg.model, cfg.pose, cfg.model_path())
    analyzer = SquatAnalyzer(AnalysisParams.from_config(cfg.analysis, cfg.pose))
    feedback = Feedback(cfg.feedback, pin_factory=pin_factory, terminal=terminal)
    try:
        store = StoreWriter.from_config(cfg.store, cfg.db_path(), cfg.station.lifter)
    except Exception:
        feedback.close()
        raise
    return Stages(pose, analyzer, feedback, store)


class Station:
    """Drives built stages from one frame loop; the web page talks to it through StationHooks.

    One way in for everything the page changes (settings, the self-test): the web thread validates
    and puts a command in the inbox, and the frame loop applies it before its next frame, so the
    loop never sees its configuration change under its feet. `cfg` is the frame loop's; the page
    reads `accepted_cfg`, the newest validated one.
    """

    def __init__(self, cfg: config_mod.Config, stages: Stages, open_source: Callable, *, live_source: bool = True,
                 lossless: bool | None = None, serve_web: bool = True, demo_presses: list[float] | None = None):
        """live_source: the camera (retried when it fails; each event timed afresh). lossless: hand
        over every frame (a file analysed as fast as it goes); otherwise only the newest frame, as
        from the camera, also for a paced file or the demo (default: lossless unless live)."""
        self.cfg = cfg
        self.accepted_cfg = cfg
        self._settings_lock = threading.Lock()
        self._inbox: queue.SimpleQueue[Callable[[float], None]] = queue.SimpleQueue()
        self.pose = stages.pose
        self.analyzer = stages.analyzer
        self.feedback = stages.feedback
        self.store = stages.store
        self.live_source = live_source
        self.exit_code = 0
        # the self-test (docs/self-test.md): started and cancelled from the page (web threads), run by
        # the frame loop; each lifter's own target depth (from their last self-test) when they are active
        self._selftest_lock = threading.Lock()
        self._selftest: SelfTestTracker | None = None
        self._selftest_wall_start = 0.0
        self._lifter_target, self._lifter_onset = self._read_lifter_target(cfg.station.lifter)
        self._auto_selftests = list(demo_presses or [])
        self.analyzer.update_params(self._params())
        self.stop_event = threading.Event()
        self.source_ended = threading.Event()   # a file or a finite synthetic lifter ran out: no more frames
        self.mailbox = FrameMailbox(lossless=not live_source if lossless is None else lossless)
        self.capture = CaptureThread(open_source, self.mailbox, self._camera_fault, retry=live_source,
                                     stop=self.stop_event)
        self.notifier = Notifier()
        self.stats = Stats()
        self._fault: str | None = None
        self._state: FrameState | None = None
        self._set_wall_start: dict[int, float] = {}  # set index -> Unix time the set began
        self._file_to_wall: float | None = None       # a file run's one clock offset (_to_wall)
        self._preview: tuple[np.ndarray, Keypoints] | None = None
        self._closed_set = False
        self.web_server: Any = None          # waitress's server, when the page is served
        self._web_thread: threading.Thread | None = None
        self.web_failures = 0
        self.web_url: str | None = None
        self.phone_url: str | None = None   # served on every address: the name phones use (mDNS)
        if serve_web:
            try:
                self._start_web()
            except Exception:   # port in use, bad host (WebError): release the stages before saying so
                self.store.close()
                self.feedback.close()
                raise

    # --- web hooks --------------------------------------------------------------------------
    def _start_web(self) -> None:
        from station.web import StationHooks, create_app, serve

        hooks = StationHooks(get_config=lambda: self.accepted_cfg, apply_settings=self.apply_settings, live=self.live,
                             preview_jpeg=self.preview_jpeg, store_status=self.store_status,
                             selftest_status=self.selftest_status, selftest_start=self.selftest_start,
                             selftest_cancel=self.selftest_cancel)
        app = create_app(self.cfg.db_path(), hooks, self.cfg.state_dir())
        self.web_server = serve(app, self.cfg.web.host, self.cfg.web.port, self.cfg.web.threads)
        # one socket: effective_port; a host name with several addresses (localhost with IPv6): a
        # MultiSocketServer, which lists (host, port) per socket instead
        port = getattr(self.web_server, "effective_port", None) or self.web_server.effective_listen[0][1]
        # waitress binds "::" as IPv6 only: this machine reaches it at ::1, not 127.0.0.1
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.cfg.web.host, self.cfg.web.host)
        self.web_url = f"http://{config_mod.url_host(host)}:{port}/"
        if self.cfg.web.host in ("0.0.0.0", "::"):   # the journal's line must give a phone's address too
            self.phone_url = f"http://{socket.gethostname()}.local:{port}/"
        self._start_web_thread()

    def _start_web_thread(self) -> None:
        self._web_thread = threading.Thread(target=self._serve_web, name="web", daemon=True)
        self._web_thread.start()

    def _serve_web(self) -> None:
        """waitress's loop. It ends by itself only when shutdown() closes the server; one that raises
        (or ends) before that is logged and run again: the page must not go while the lights work."""
        for _ in range(WEB_MAX_RESTARTS + 1):
            try:
                self.web_server.run()
                if self.stop_event.is_set():
                    return
                log.error("the web page's server stopped by itself; starting it again")
            except Exception:
                log.exception("the web page's server failed; starting it again")
            self.web_failures += 1
            if self.stop_event.wait(WEB_RESTART_S):
                return
        log.error("the web page's server failed %d times: no longer feeding the watchdog, so that systemd "
                  "restarts the station", self.web_failures)

    @property
    def web_alive(self) -> bool:
        """The page is served (or was never asked for)."""
        return self._web_thread is None or self._web_thread.is_alive()

    def _watching(self) -> bool:
        """Frames still come: the page's "running" (a demo's page stays up after its video ends)."""
        return not (self.stop_event.is_set() or self.source_ended.is_set())

    def live(self) -> dict:
        state = self._state
        watching = self._watching()
        # no frames come after the source ended or while the camera is faulted: 0, not a slow decay
        fps = round(self.stats.recent_fps(time.perf_counter()), 1) if watching and not self._fault else 0.0
        out = {"running": watching, "source_ended": self.source_ended.is_set(), "fault": self._fault,
               "fps": fps, "bar": self.feedback.bar.to_dict(), "disk_full": self.store.disk_full,
               "feedback_error": self.feedback.last_error}
        out.update(live_state(state))
        test = self._selftest
        out["selftest"] = ({"rep": test.rep_number, "target_deg": round(test.target_deg, 1),
                            "target_words": target_words(test.target_deg), "message": test.message}
                           if test is not None and not test.done else None)
        return out

    def store_status(self) -> dict:
        return self.store.status()

    def preview_jpeg(self) -> bytes | None:
        """Encoded on the web thread from the last kept frame: the frame loop only keeps a reference."""
        kept = self._preview
        if kept is None:
            return None
        import io

        from station.pose.draw import draw_skeleton

        frame, keypoints = kept
        image = draw_skeleton(frame, keypoints, self.cfg.pose.min_score)
        image.thumbnail((480, 480))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=70)
        return buffer.getvalue()

    def apply_settings(self, changes: dict) -> config_mod.Config:
        """Web thread: validate, save to the settings file (never the hand-written config), and hand to
        the frame loop for its next frame. ConfigError (SettingsNotSaved too): nothing is applied."""
        with self._settings_lock:
            old = self.accepted_cfg
            new = config_mod.save_settings(old, changes)
            lifter_changed = new.station.lifter != old.station.lifter
            own = self._read_lifter_target(new.station.lifter) if lifter_changed else None
            self.accepted_cfg = new
        self._inbox.put(lambda t: self._apply_config(new, own if own is not None else
                                                     (self._lifter_target, self._lifter_onset)))
        return new

    # --- the self-test and each lifter's target ---------------------------------------------
    def _read_lifter_target(self, lifter: str) -> tuple[float | None, float | None]:
        """The lifter's own target depth from their last self-test (None: the configured one) and the
        onset it was set from. Read when the station starts and when the lifter changes, never in the
        frame loop."""
        ready = getattr(self.store, "ready", None)
        if ready is not None and not ready.wait(STORE_READY_S):
            log.warning("the history database is still being checked: lifter %s's own target depth is not "
                        "read yet (the configured one is used)", lifter)
            return None, None
        try:
            store = Store(self.cfg.db_path())
            try:
                return store.lifter_target(lifter), store.lifter_onset(lifter)
            finally:
                store.close()
        except Exception as exc:  # the history may be unreadable; the configured target still works
            log.warning("cannot read lifter %s's target depth: %s", lifter, exc)
            return None, None

    def _test_under_way(self) -> SelfTestTracker | None:
        """The self-test whose reps the frame loop is guiding now (started, not done), else None."""
        test = self._selftest
        return test if test is not None and not test.done and test.started_t is not None else None

    def _params(self) -> AnalysisParams:
        """The analysis settings now: the configured ones, with the target depth of the running self-test's
        rep, else the active lifter's own target, else the configured target."""
        params = AnalysisParams.from_config(self.cfg.analysis, self.cfg.pose)
        test = self._test_under_way()
        if test is not None:
            params.target_depth_deg = test.target_deg
        elif self._lifter_target is not None:
            params.target_depth_deg = self._lifter_target
            params.lifter_onset_deg = self._lifter_onset
        return params

    def selftest_status(self) -> dict:
        with self._selftest_lock:
            test = self._selftest
            status = test.status() if test is not None else {"running": False, "outcome": None, "reps": []}
            status["starting"] = test is not None and not test.done and test.started_t is None
        cfg = self.accepted_cfg
        status.update(active_lifter=cfg.station.lifter, configured_target_deg=cfg.analysis.target_depth_deg,
                      lifter_target_deg=self._lifter_target, station_running=self._watching())
        return status

    def selftest_start(self) -> dict:
        """Web thread: a new test for the active lifter, shown as starting; the frame loop begins it."""
        cfg = self.accepted_cfg
        with self._selftest_lock:
            if self._selftest is not None and not self._selftest.done:
                raise SelfTestError("a self-test is already running: cancel it first")
            if self.stop_event.is_set():
                raise SelfTestError("the station is stopping")
            if self.source_ended.is_set():
                raise SelfTestError(f"the source ({cfg.camera.source}) has ended: no frames are coming to test with")
            test = SelfTestTracker(SelfTestPlan(margin_deg=cfg.analysis.safe_depth_margin_deg), cfg.station.lifter)
            self._selftest = test
        self._inbox.put(lambda t: self._begin_selftest(test, t))
        log.info("self-test started for lifter %s", cfg.station.lifter)
        return self.selftest_status()

    def selftest_cancel(self) -> bool:
        """Web thread: the test ends now (the page says so at once); the frame loop restores the target."""
        with self._selftest_lock:
            test = self._selftest
            if test is None or test.done:
                return False
            test.cancel()
        self._inbox.put(lambda t: self._selftest_ended())
        log.info("self-test cancelled from the page")
        return True

    def _begin_selftest(self, test: SelfTestTracker, t: float) -> None:
        with self._selftest_lock:
            if test.done or test is not self._selftest:
                return            # cancelled before its first frame
            test.begin(t)
        self._selftest_wall_start = self._to_wall(t) + t   # the reps' clock: a --fast file run is not now
        self.analyzer.update_params(self._params())
        self.feedback.set_selftest(f"self-test rep 1 to {target_words(test.target_deg)}")
        self.feedback.cue("selftest_next", f"self-test: rep 1 to {target_words(test.target_deg)}")

    def _selftest_ended(self) -> None:
        self.analyzer.update_params(self._params())   # back to the lifter's own or the configured target
        self.feedback.set_selftest(None)

    def _drop_abandoned_selftest(self, t: float) -> None:
        with self._selftest_lock:
            test = self._selftest
            if test is None or test.done or test.started_t is None or not test.expired(t):
                return
            idle_s = t - (test.last_activity_t or t)
            test.cancel(f"stopped: no rep for {idle_s:.0f} s")
        self._selftest_ended()

    def _selftest_rep(self, test: SelfTestTracker, rep: RepResult, set_key: int, rep_end_wall: float) -> None:
        """Frame loop, at each RepCompleted: the next rep's target, the cue, and at the end the result."""
        with self._selftest_lock:
            step = test.feed(rep, set_key)
        if not step.counted:
            return
        log.info("self-test: %s", step.message)
        if step.done:
            self._selftest_finish(test, rep_end_wall, rep.end_t)
            return
        self.analyzer.update_params(self._params())
        label = f"self-test rep {test.rep_number} to {target_words(step.target_deg)}"
        self.feedback.set_selftest(label)
        if step.deeper:
            self.feedback.cue("selftest_next", f"self-test: rep {test.rep_number} a little deeper, "
                                               f"to {target_words(step.target_deg)}")

    def _selftest_finish(self, test: SelfTestTracker, ended_wall: float, ended_t: float) -> None:
        """`ended_wall`, `ended_t`: when its last rep ended, as Unix time and on the source's clock."""
        result = test.result
        assert result is not None, "called when the test is done"
        set_key = rep_idx = evidence = None
        if result.evidence_rep is not None:
            entry = result.reps[result.evidence_rep - 1]
            set_key, rep_idx = entry.set_key, entry.rep_index
            evidence = selftest_evidence(test.rep_results[result.evidence_rep], result.onset_deg)
        self.store.selftest_finished(self._selftest_wall_start, ended_wall, result, set_key, rep_idx, evidence)
        if result.sets_target and result.lifter == self.cfg.station.lifter:
            self._lifter_target = result.safe_depth_deg   # None after no rounding: the configured target
            self._lifter_onset = result.onset_deg if result.safe_depth_deg is not None else None
        self.analyzer.update_params(self._params())
        self.feedback.set_selftest(None)
        done = (f"self-test done: safe depth {target_words(result.safe_depth_deg)}"
                if result.outcome == ROUNDING and result.safe_depth_deg is not None else "self-test done: see the page")
        self.feedback.cue("selftest_done", done)
        log.info("self-test finished (%s): %s", result.outcome, result.message)
        # its set ends with it (the test's cue speaks for it, not the set's end cue): reps after
        # "done" were stored as more self-test reps, past the deepest rep the Safe depth page shows
        for event in self.analyzer.end_set(ended_t, "selftest_done"):
            self._handle(event)

    # --- faults -----------------------------------------------------------------------------
    def _camera_fault(self, message: str | None) -> None:
        self._fault = message
        self.feedback.set_fault(message)
        if message:
            self.notifier.status(f"camera fault: {message}")

    # --- the frame loop ---------------------------------------------------------------------
    def run(self) -> int:
        self.run_frames()
        self.shutdown()
        return self.exit_code

    def run_frames(self) -> None:
        """The frame loop, until stop() or the end of a file source; then the set is closed and saved."""
        # CPython hands the GIL over every 5 ms by default: the frame loop, back from invoke(), would
        # wait that long behind the capture thread's decode. 1 ms keeps the hand-over short.
        sys.setswitchinterval(0.001)
        self.capture.start()
        self.notifier.ready(f"serving {self.web_url}" if self.web_url else "running")
        watchdog_every = self.notifier.watchdog_interval_s or 5.0
        last_watchdog = time.monotonic()
        frames_at_watchdog = -1
        last_preview = 0.0
        last_t = 0.0
        clock = time.perf_counter
        stats = self.stats
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now - last_watchdog >= watchdog_every:
                # fed only while frames arrive and the lights' worker and the page live: a camera that
                # hangs or stops, a bar that can no longer be driven or a page that is gone is a
                # station systemd restarts
                if stats.frames != frames_at_watchdog and self.feedback.alive and self.web_alive:
                    self.notifier.watchdog()
                    frames_at_watchdog = stats.frames
                last_watchdog = now
            item = self.mailbox.take(timeout=0.5)
            if item is None:
                self._apply_inbox(last_t)
                if self.capture.finished.is_set():
                    if self.capture.error is None:
                        self.source_ended.set()
                    break
                continue
            timestamp, frame = item.timestamp, item.frame
            last_t = timestamp
            self._apply_inbox(timestamp)
            if self._auto_selftests and timestamp >= self._auto_selftests[0]:
                self._auto_selftests.pop(0)
                self._demo_press()
                self._apply_inbox(timestamp)
            if self._selftest is not None:
                self._drop_abandoned_selftest(timestamp)
            t0 = clock()
            keypoints = self.pose.estimate(frame, timestamp)
            t1 = clock()
            state, events = self.analyzer.update(keypoints)
            t2 = clock()
            self.feedback.post(state, events)
            self._state = state
            for event in events:
                self._handle(event)
            if self.cfg.web.preview and now - last_preview > 1.0:
                self._preview = (frame, keypoints)
                last_preview = now
            stats.count_frame(clock())
            stats.stage_ms["pose"] += (t1 - t0) * 1000
            stats.stage_ms["analysis"] += (t2 - t1) * 1000
            stats.stage_ms["outputs"] += (clock() - t2) * 1000
        if self.capture.error is not None:
            # a file that cannot be read is a configuration error (2); anything else a failure (1) that
            # systemd's Restart= brings back: never exit 0 from a station that stopped seeing
            self.exit_code = 2 if self.capture.error_is_config else 1
        self._close_set()

    def _apply_inbox(self, t: float) -> None:
        """Apply what the page asked for since the last frame (settings, self-test start/cancel).
        Only the frame loop takes from the inbox, so empty() is exact here, and the usual frame
        (nothing asked) costs no raised exception."""
        while not self._inbox.empty():
            self._inbox.get_nowait()(t)

    def _close_set(self) -> None:
        if self._closed_set:
            return
        self._closed_set = True
        # a source that broke for good (a file cut part-way, a camera given up on) is no shutdown
        reason = ("source_ended" if self.source_ended.is_set() else
                  "source_failed" if self.capture.error is not None else "shutdown")
        for event in self.analyzer.finish(self._state.timestamp if self._state else 0.0, reason):
            if self._state is not None:
                self.feedback.post(self._state, [event])
            self._handle(event)
        self.store.flush()

    def _apply_config(self, cfg: config_mod.Config, lifter_target: tuple[float | None, float | None]) -> None:
        """`lifter_target`: the active lifter's own target depth and the self-test onset behind it."""
        self.cfg = cfg
        self._lifter_target, self._lifter_onset = lifter_target
        self.analyzer.update_params(self._params())
        self.feedback.apply_config(cfg.feedback)
        self.store.lifter = cfg.station.lifter
        log.info("settings applied: target %.0f deg, sensitivity %s, feedback %s, lifter %s",
                 cfg.analysis.target_depth_deg, cfg.analysis.wink_sensitivity, cfg.feedback.mode, cfg.station.lifter)

    def _to_wall(self, timestamp: float) -> float:
        """The offset from the source's clock to Unix time. A camera's frames are now, so it is taken
        afresh at each event. A file's are not: run faster than real time (`--fast`, `analyze`-like
        runs), a fresh offset at each event put a set's start after the last one's end and a rep's
        start before the previous rep's. So a file run keeps the offset of its first event: its sets
        are stored at the run's start plus their time in the file."""
        if self.live_source:
            return time.time() - timestamp
        if self._file_to_wall is None:
            self._file_to_wall = time.time() - timestamp
        return self._file_to_wall

    def _handle(self, event: AnalysisEvent) -> None:
        """Events carry the source's clock; `to_wall` maps it to Unix time."""
        to_wall = self._to_wall(event.timestamp)
        if isinstance(event, RepCompleted):
            key = event.set_index
            started = self._set_wall_start.setdefault(key, to_wall + event.rep.start_t)
            test = self._test_under_way()
            self.store.rep_finished(key, started, to_wall, event.target_depth_deg, event.rep,
                                    source=self.cfg.camera.source, lifter_onset_deg=event.lifter_onset_deg,
                                    selftest=test is not None)
            if event.rep.side_view:
                log.info("rep %d: depth %.1f deg%s", event.rep.index, event.rep.max_depth_deg,
                         f", wink from {event.rep.wink_onset_deg:.0f} deg" if event.rep.wink else "")
            else:    # its max_depth_deg is the view-free drop signal, not a depth: nobody shows it
                log.info("rep %d: depth not judged (%s)", event.rep.index, event.rep.setup_issue)
            if test is not None:
                self._selftest_rep(test, event.rep, key, to_wall + event.rep.end_t)
        elif isinstance(event, SetFinished):
            self._set_wall_start.pop(event.result.index, None)
            self._tell_the_selftests_story(event.result)
            self.store.set_finished(event.result.index, to_wall, event.result)
            log.info("set %d finished (%s): %s", event.result.index, event.result.end_reason, event.result.summary)

    def _tell_the_selftests_story(self, result: SetResult) -> None:
        """A set the self-test guided speaks of its reps' own targets, and not of going past the
        lifter's onset: the test does that on purpose (a test that ends mid-set hands the set the
        lifter's new target and onset). A set in which the test found rounding says the test's onset
        and safe depth, so the Last set page and the Safe depth page give one number (the set's own
        rule, the median onset of all its flagged reps, can differ by a degree or two)."""
        with self._selftest_lock:
            test = self._selftest
            if test is None or not any(r.set_key == result.index for r in test.reps):
                return
            found = test.result
        result.selftest = True
        # the set's own rule wants two flagged reps; a self-test may stop on one clear one (99 %), and
        # then the set says what the test found rather than "possible rounding, film more reps"
        if found is not None and found.outcome == ROUNDING and any(r.wink for r in judged_reps(result)):
            result.wink_onset_deg = found.onset_deg
            result.suggested_depth_deg = found.safe_depth_deg
        result.summary = set_sentence(result)

    def _demo_press(self) -> None:
        """The synthetic lifter's programme starts with a self-test: press the page's button for them."""
        try:
            self.selftest_start()
            log.info("demo: the synthetic lifter pressed 'Find my safe depth' on the page")
        except SelfTestError as exc:
            log.info("demo: no self-test started: %s", exc)

    def stop(self) -> None:
        self.stop_event.set()
        self.mailbox.close()

    def shutdown(self) -> int:
        """Close the set, save what is finished, lights off, release everything."""
        self.notifier.stopping()
        self.stop()
        self._close_set()
        if self.store.close() and self.exit_code == 0:
            self.exit_code = 1       # finished reps were lost: not a clean run (the log says how many, why)
        self.feedback.close()
        if self.web_server is not None:
            from station.web import stop_server
            stop_server(self.web_server)
        return self.exit_code


def source_opener(cfg: config_mod.Config, spec: str, realtime: bool, loop: bool = False) -> Callable:
    """The production sources (station.sources), or the synthetic lifter, which the app chooses and
    the sources package never imports."""
    camera = cfg.camera
    if spec == "synthetic":
        from station.sim.source import SyntheticSource

        return lambda: SyntheticSource(width=camera.width, height=camera.height, fps=camera.fps,
                                       realtime=realtime, loop=loop)
    from station.sources import open_source

    return lambda: open_source(spec, camera, realtime=realtime, loop=loop)


def demo_presses(cfg: config_mod.Config) -> list[float]:
    """Source times at which the synthetic lifter's programme 'presses' Find my safe depth (the demo)."""
    if cfg.camera.source != "synthetic":
        return []
    from station.sim.source import selftest_press_times

    return selftest_press_times(fps=cfg.camera.fps)




def default_state_dir_for_demo() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "station-demo"
