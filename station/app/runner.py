"""The station: source -> pose -> analysis -> feedback + store, with the web page in the same process.

Threads, and why:
- capture: reads the source and leaves only the newest frame in a one-slot mailbox, so the frame
  loop never works on a backlog (live sources); file replays in --fast mode hand over every frame;
- frame loop (the caller's thread): pose, analysis, post to feedback and store; never blocks on
  I/O. LiteRT's invoke releases the GIL, so the web threads run while the model does;
- feedback worker (station.feedback), store writer (station.store), waitress threads (web).
One process keeps the live state a pointer away from the page; docs/performance.md measures that
20 polling phones cost the frame loop little, so no second process is needed.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from station import config as config_mod
from station.analysis import (AnalysisParams, FrameState, LifterReady, RepCompleted, SetFinished,
                              SquatAnalyzer)
from station.analysis.summary import set_sentence
from station.feedback import Feedback, TerminalBar
from station.pose import PoseEstimator
from station.app.notify import Notifier
from station.analysis.selftest import (CANCELLED, ROUNDING, SelfTestError, SelfTestPlan, SelfTestTracker,
                              evidence as selftest_evidence)
from station.app.capture import CaptureThread, FrameMailbox
from station.store import Store, StoreWriter

log = logging.getLogger(__name__)


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
            "setup_issue": state.setup_issue, "setup_advice": state.setup_advice}


def _deg(value: float) -> str:
    return "parallel" if abs(value) < 0.5 else f"{abs(value):.0f}° {'below' if value < 0 else 'above'}"


@dataclass
class Stats:
    frames: int = 0
    started: float = field(default_factory=time.perf_counter)
    stage_ms: dict = field(default_factory=lambda: {"pose": 0.0, "analysis": 0.0, "outputs": 0.0})

    def fps(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.frames / elapsed if elapsed > 0 else 0.0


class Station:
    def __init__(self, cfg: config_mod.Config, open_source: Callable, *, live_source: bool = True,
                 pin_factory=None, terminal: TerminalBar | None = None, serve_web: bool = True):
        self.cfg = cfg
        self._cfg_lock = threading.Lock()
        self._pending_cfg: config_mod.Config | None = None
        # a missing or bad model stops here, before any thread starts (ModelError -> exit code 2)
        self.estimator = PoseEstimator.from_config(cfg)
        self.runtime = self.estimator.model.runtime
        self.analyzer = SquatAnalyzer(AnalysisParams.from_config(cfg.analysis, cfg.pose))
        self.feedback = Feedback(cfg.feedback, pin_factory=pin_factory, terminal=terminal)
        self.store = StoreWriter(cfg.db_path(), lifter=cfg.station.lifter, retention_days=cfg.store.retention_days,
                                 max_db_mb=cfg.store.max_db_mb, min_free_mb=cfg.store.min_free_mb)
        # the self-test (docs/self-test.md): started and cancelled from the page (web threads), run by
        # the frame loop; each lifter's own target depth (from their last self-test) when they are active
        self._selftest_lock = threading.Lock()
        self._selftest: SelfTestTracker | None = None
        self._selftest_changed = False          # a start or cancel for the frame loop to apply
        self._selftest_wall_start = 0.0
        self._lifter_target = self._read_lifter_target(cfg.station.lifter)
        self._auto_selftests = _demo_presses(cfg)
        self.analyzer.update_params(self._params())
        self.stop_event = threading.Event()
        self.mailbox = FrameMailbox(lossless=not live_source)
        self.capture = CaptureThread(open_source, self.mailbox, self._camera_fault, retry=live_source,
                                     stop=self.stop_event)
        self.notifier = Notifier()
        self.stats = Stats()
        self._fault: str | None = None
        self._state: FrameState | None = None
        self._set_wall_start: dict[int, float] = {}  # set index -> Unix time the set began
        self._preview = None
        self._closed_set = False
        self.web_server = None
        self.web_url = None
        if serve_web:
            self._start_web()

    # --- web hooks --------------------------------------------------------------------------
    def _start_web(self) -> None:
        from station.web import StationHooks, create_app, serve

        hooks = StationHooks(get_config=lambda: self.cfg, apply_settings=self.apply_settings, live=self.live,
                             preview_jpeg=self.preview_jpeg, store_status=self.store_status,
                             selftest_status=self.selftest_status, selftest_start=self.selftest_start,
                             selftest_cancel=self.selftest_cancel)
        app = create_app(self.cfg.db_path(), hooks, self.cfg.state_dir())
        self.web_server = serve(app, self.cfg.web.host, self.cfg.web.port, self.cfg.web.threads)
        port = self.web_server.effective_port
        host = "127.0.0.1" if self.cfg.web.host in ("0.0.0.0", "::") else self.cfg.web.host
        self.web_url = f"http://{host}:{port}/"
        threading.Thread(target=self.web_server.run, name="web", daemon=True).start()

    def live(self) -> dict:
        state = self._state
        out = {"running": not self.stop_event.is_set(), "fault": self._fault, "fps": round(self.stats.fps(), 1),
               "bar": self.feedback.bar.to_dict(), "disk_full": self.store.disk_full}
        out.update(live_state(state))
        test = self._selftest
        out["selftest"] = ({"rep": test.rep_number, "target_deg": round(test.target_deg, 1), "message": test.message}
                           if test is not None and not test.done else None)
        return out

    def store_status(self) -> dict:
        return {"disk_full": self.store.disk_full, "error": self.store.last_error}

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
        """Validate, save to the settings file (never the hand-written config), and hand to the frame
        loop for its next frame. ConfigError (SettingsNotSaved too): nothing is applied."""
        with self._cfg_lock:
            new = config_mod.save_settings(self.cfg, changes)
            if new.station.lifter != self.cfg.station.lifter:
                self._lifter_target = self._read_lifter_target(new.station.lifter)
            self._pending_cfg = new
            self.cfg = new
        return new

    # --- the self-test and each lifter's target ---------------------------------------------
    def _read_lifter_target(self, lifter: str) -> float | None:
        """The lifter's own target depth from their last self-test (None: the configured one). Read when
        the station starts and when the lifter changes, never in the frame loop."""
        try:
            store = Store(self.cfg.db_path())
            try:
                return store.lifter_target(lifter)
            finally:
                store.close()
        except Exception as exc:  # the history may be unreadable; the configured target still works
            log.warning("cannot read lifter %s's target depth: %s", lifter, exc)
            return None

    def _params(self) -> AnalysisParams:
        """The analysis settings now: the configured ones, with the target depth of the running self-test's
        rep, else the active lifter's own target, else the configured target."""
        params = AnalysisParams.from_config(self.cfg.analysis, self.cfg.pose)
        test = self._selftest
        if test is not None and not test.done and test.started_t is not None:
            params.target_depth_deg = test.target_deg
        elif self._lifter_target is not None:
            params.target_depth_deg = self._lifter_target
        return params

    def selftest_status(self) -> dict:
        with self._selftest_lock:
            test = self._selftest
            status = test.status() if test is not None else {"running": False, "outcome": None, "reps": []}
            status["starting"] = test is not None and not test.done and test.started_t is None
        cfg = self.cfg
        status.update(active_lifter=cfg.station.lifter, configured_target_deg=cfg.analysis.target_depth_deg,
                      lifter_target_deg=self._lifter_target, station_running=not self.stop_event.is_set())
        return status

    def selftest_start(self) -> dict:
        """From the page: a new test for the active lifter; the frame loop begins it with its next frame."""
        with self._selftest_lock:
            if self._selftest is not None and not self._selftest.done:
                raise SelfTestError("a self-test is already running: cancel it first")
            if self.stop_event.is_set():
                raise SelfTestError("the station is stopping")
            plan = SelfTestPlan(margin_deg=self.cfg.analysis.safe_depth_margin_deg)
            self._selftest = SelfTestTracker(plan, self.cfg.station.lifter)
            self._selftest_changed = True
        log.info("self-test started for lifter %s", self.cfg.station.lifter)
        return self.selftest_status()

    def selftest_cancel(self) -> bool:
        with self._selftest_lock:
            test = self._selftest
            if test is None or test.done:
                return False
            test.cancel()
            self._selftest_changed = True
        log.info("self-test cancelled from the page")
        return True

    def _selftest_tick(self, t: float) -> None:
        """Frame loop: begin a test started from the page; drop a cancelled or abandoned one."""
        with self._selftest_lock:
            test, self._selftest_changed = self._selftest, False
            if test is None:
                return
            begin = test.started_t is None and not test.done
            if begin:
                test.begin(t)
            elif test.expired(t):
                test.cancel(f"stopped: no rep for {t - test.last_activity_t:.0f} s")
        if begin:
            self._selftest_wall_start = time.time()
            self.analyzer.update_params(self._params())
            self.feedback.set_selftest(f"self-test rep 1 to {_deg(test.target_deg)}")
            self.feedback.cue("selftest_next", f"self-test: rep 1 to {_deg(test.target_deg)}")
        elif test.done and test.result.outcome == CANCELLED:
            self.analyzer.update_params(self._params())   # back to the lifter's own or the configured target
            self.feedback.set_selftest(None)

    def _selftest_rep(self, test: SelfTestTracker, rep, set_key: int) -> None:
        """Frame loop, at each RepCompleted: the next rep's target, the cue, and at the end the result."""
        with self._selftest_lock:
            step = test.feed(rep, set_key)
        if not step.counted:
            return
        log.info("self-test: %s", step.message)
        if step.done:
            self._selftest_finish(test)
            return
        self.analyzer.update_params(self._params())
        label = f"self-test rep {test.rep_number} to {_deg(step.target_deg)}"
        self.feedback.set_selftest(label)
        if step.deeper:
            self.feedback.cue("selftest_next", f"self-test: rep {test.rep_number} a little deeper, "
                                               f"to {_deg(step.target_deg)}")

    def _selftest_finish(self, test: SelfTestTracker) -> None:
        result = test.result
        set_key = rep_idx = evidence = None
        if result.evidence_rep is not None:
            entry = result.reps[result.evidence_rep - 1]
            set_key, rep_idx = entry.set_key, entry.rep_index
            evidence = selftest_evidence(test.rep_results[result.evidence_rep], result.onset_deg)
        self.store.selftest_finished(self._selftest_wall_start, time.time(), result, set_key, rep_idx, evidence)
        if result.sets_target and result.lifter == self.cfg.station.lifter:
            self._lifter_target = result.safe_depth_deg   # None after no rounding: the configured target
        self.analyzer.update_params(self._params())
        self.feedback.set_selftest(None)
        done = (f"self-test done: safe depth {_deg(result.safe_depth_deg)}" if result.outcome == ROUNDING
                else "self-test done: see the page")
        self.feedback.cue("selftest_done", done)
        log.info("self-test finished (%s): %s", result.outcome, result.message)

    # --- faults -----------------------------------------------------------------------------
    def _camera_fault(self, message: str | None) -> None:
        self._fault = message
        self.feedback.set_fault(message)
        if message:
            self.notifier.status(f"camera fault: {message}")

    # --- the frame loop ---------------------------------------------------------------------
    def run(self) -> int:
        self.run_frames()
        return self.shutdown()

    def run_frames(self) -> None:
        """The frame loop, until stop() or the end of a file source; then the set is closed and saved."""
        # CPython hands the GIL over every 5 ms by default: the frame loop, back from invoke(), would
        # wait that long behind the capture thread's decode. 1 ms keeps the hand-over short.
        sys.setswitchinterval(0.001)
        self.capture.start()
        self.notifier.ready(f"serving {self.web_url}" if self.web_url else "running")
        watchdog_every = self.notifier.watchdog_interval_s or 5.0
        last_watchdog = 0.0
        last_preview = 0.0
        clock = time.perf_counter
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now - last_watchdog >= watchdog_every:
                self.notifier.watchdog()  # a stuck loop stops feeding it and systemd restarts us
                last_watchdog = now
            item = self.mailbox.take(timeout=0.5)
            if item is None:
                if self.capture.finished.is_set():
                    break
                continue
            if self._pending_cfg is not None:
                self._apply_pending()
            timestamp, frame, _captured = item
            if self._auto_selftests and timestamp >= self._auto_selftests[0]:
                self._auto_selftests.pop(0)
                self._demo_press()
            if self._selftest_changed or (self._selftest is not None and not self._selftest.done):
                self._selftest_tick(timestamp)
            t0 = clock()
            keypoints = self.estimator.estimate(frame, timestamp)
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
            stats = self.stats
            stats.frames += 1
            stats.stage_ms["pose"] += (t1 - t0) * 1000
            stats.stage_ms["analysis"] += (t2 - t1) * 1000
            stats.stage_ms["outputs"] += (clock() - t2) * 1000
        self._close_set()

    def _close_set(self) -> None:
        if self._closed_set:
            return
        self._closed_set = True
        for event in self.analyzer.finish(self._state.timestamp if self._state else 0.0):
            if self._state is not None:
                self.feedback.post(self._state, [event])
            self._handle(event)
        self.store.flush()

    def _apply_pending(self) -> None:
        with self._cfg_lock:
            cfg, self._pending_cfg = self._pending_cfg, None
        self.analyzer.update_params(self._params())
        self.feedback.apply_config(cfg.feedback)
        self.store.lifter = cfg.station.lifter
        log.info("settings applied: target %.0f deg, sensitivity %s, feedback %s, lifter %s",
                 cfg.analysis.target_depth_deg, cfg.analysis.wink_sensitivity, cfg.feedback.mode, cfg.station.lifter)

    def _handle(self, event) -> None:
        """Events carry the source's clock; `to_wall` maps it to Unix time at this very moment."""
        key = self.analyzer.set_index
        to_wall = time.time() - event.timestamp
        if isinstance(event, LifterReady) and key not in self._set_wall_start:
            self._set_wall_start[key] = time.time()
        elif isinstance(event, RepCompleted):
            started = self._set_wall_start.setdefault(key, to_wall + event.rep.start_t)
            self.store.rep_finished(key, started, to_wall, self.analyzer.p.target_depth_deg, event.rep,
                                    source=self.cfg.camera.source)
            log.info("rep %d: depth %.1f deg%s", event.rep.index, event.rep.max_depth_deg,
                     f", wink from {event.rep.wink_onset_deg:.0f} deg" if event.rep.wink else "")
            test = self._selftest
            if test is not None and not test.done and test.started_t is not None:
                self._selftest_rep(test, event.rep, key)
        elif isinstance(event, SetFinished):
            self._set_wall_start.pop(event.result.index, None)
            self._tell_the_selftests_story(event.result)
            self.store.set_finished(event.result.index, to_wall, event.result)
            log.info("set %d finished (%s): %s", event.result.index, event.result.end_reason, event.result.summary)

    def _tell_the_selftests_story(self, result) -> None:
        """A set in which the self-test found rounding says the self-test's onset and safe depth, so
        the Last set page and the Safe depth page give one number (the set's own rule, the median
        onset of all its flagged reps, can differ by a degree or two from the confirming reps')."""
        with self._selftest_lock:
            test = self._selftest
            found = (test is not None and test.done and test.result.outcome == ROUNDING
                     and any(r.set_key == result.index for r in test.reps))
        if found and result.wink_onset_deg is not None:
            result.wink_onset_deg = test.result.onset_deg
            result.suggested_depth_deg = test.result.safe_depth_deg
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
        self.store.close()
        self.feedback.close()
        if self.web_server is not None:
            self.web_server.close()
        return 0


def source_opener(cfg: config_mod.Config, spec: str, realtime: bool, loop: bool = False) -> Callable:
    """The production sources (station.sources), or the synthetic lifter, which the app chooses and
    the sources package never imports."""
    camera = cfg.camera
    if spec == "synthetic":
        from station.sim.source import SyntheticSource

        return lambda: SyntheticSource(width=camera.width, height=camera.height, fps=camera.fps,
                                       realtime=realtime, loop=loop)
    from station.sources import open_source

    return lambda: open_source(spec, width=camera.width, height=camera.height, fps=camera.fps,
                               realtime=realtime, loop=loop, exposure_us=camera.exposure_us,
                               analogue_gain=camera.analogue_gain)


def _demo_presses(cfg: config_mod.Config) -> list[float]:
    """Source times at which the synthetic lifter's programme 'presses' Find my safe depth (the demo)."""
    if cfg.camera.source != "synthetic":
        return []
    from station.sim.source import selftest_press_times

    return selftest_press_times(fps=cfg.camera.fps)




def default_state_dir_for_demo() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "station-demo"
