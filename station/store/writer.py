"""The store's writer thread: the frame loop hands over finished reps, sets and self-tests and never
waits for the disk."""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from pathlib import Path

from station.analysis import RepResult, SetResult
from station.store.db import Store, StoreError

log = logging.getLogger(__name__)


class StoreWriter:
    """Owns the write connection on its own thread; the frame loop only enqueues results.

    If the disk is nearly full it stops writing (and says so through `disk_full`), so live
    feedback carries on; the rep is kept in memory and the page tells the lifter.
    """

    def __init__(self, path: Path, lifter: str = "default", retention_days: int = 365, max_db_mb: int = 500,
                 min_free_mb: int = 200):
        self.path = Path(path)
        self.lifter = lifter
        self._args = (retention_days, max_db_mb, min_free_mb)
        self._queue: queue.Queue = queue.Queue()
        self.disk_full = False
        self.last_error: str | None = None
        self.unsaved: list[RepResult] = []
        self._set_ids: dict[int, int] = {}
        self._db_ids: dict[int, int] = {}   # every set key seen -> its row (the self-test's evidence link)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self.last_error and not hasattr(self, "_store"):
            raise StoreError(self.last_error)

    def rep_finished(self, set_key: int, set_started_wall: float, to_wall: float, target_depth_deg: float,
                     rep: RepResult, source: str = "") -> None:
        self._queue.put(("rep", set_key, set_started_wall, to_wall, target_depth_deg, rep, source))

    def set_finished(self, set_key: int, to_wall: float, result: SetResult) -> None:
        self._queue.put(("set", set_key, to_wall, result))

    def selftest_finished(self, started_wall: float, ended_wall: float, result, evidence_set_key: int | None = None,
                          evidence_rep_idx: int | None = None, evidence: dict | None = None) -> None:
        """Queued after the test's last rep, so the evidence rep's set row exists by then."""
        self._queue.put(("selftest", started_wall, ended_wall, result, evidence_set_key, evidence_rep_idx, evidence))

    def flush(self, timeout: float = 10.0) -> bool:
        done = threading.Event()
        self._queue.put(("flush", done))
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(("stop",))
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._store = Store(self.path, *self._args)
            self._store.apply_retention()
        except Exception as exc:
            self.last_error = f"cannot open the database {self.path}: {exc}"
            log.error(self.last_error)
            self._ready.set()
            return
        self._ready.set()
        while True:
            item = self._queue.get()
            kind = item[0]
            if kind == "stop":
                self._store.close()
                return
            if kind == "flush":
                item[1].set()
                continue
            try:
                if self._store.free_mb() < self._store.min_free_mb:
                    if not self.disk_full:
                        log.error("disk nearly full (%.0f MB free): history is not being saved", self._store.free_mb())
                    self.disk_full = True
                    if kind == "rep":
                        self.unsaved.append(item[5])
                    continue
                self.disk_full = False
                if kind == "rep":
                    _, key, started, to_wall, target, rep, source = item
                    self._set_ids[key] = self._store.add_rep(self._set_ids.get(key), self.lifter, started, to_wall,
                                                             target, rep, source)
                    self._db_ids[key] = self._set_ids[key]
                elif kind == "selftest":
                    _, started, ended, result, set_key, rep_idx, evidence = item
                    self._store.add_selftest(started, ended, result, self._db_ids.get(set_key), rep_idx, evidence)
                elif kind == "set" and item[1] in self._set_ids:
                    self._store.finish_set(self._set_ids.pop(item[1]), item[2], item[3])
                    self._store.apply_retention()
                elif kind == "set" and item[3].setup_issue is not None:
                    self._store.add_unjudged_set(self.lifter, item[2], item[3])
                self.last_error = None
            except sqlite3.Error as exc:
                self.last_error = f"database write failed: {exc}"
                log.error(self.last_error)
                if "full" in str(exc).lower():
                    self.disk_full = True
                if kind == "rep":
                    self.unsaved.append(item[5])
