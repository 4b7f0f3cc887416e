"""The store's writer thread: the frame loop hands over finished reps, sets and self-tests and never
waits for the disk.

It must never die and never lose a rep silently (docs/reliability.md): whatever it cannot write yet
(a full disk, a locked or damaged file) stays in memory, in order, and is written on the next result,
flush, set end or every RETRY_S; what it can never write (a value the database refuses) is kept in
`unsaved` and said. A damaged file is moved aside and a fresh one started, loudly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from station.analysis import RepResult, SetResult
from station.store.db import DamagedError, Store, StoreError, is_damage

if TYPE_CHECKING:
    from station.analysis.selftest import SelfTestResult
    from station.config import StoreConfig

log = logging.getLogger(__name__)
RETRY_S = 30.0   # how often results held in memory are tried again when nothing new arrives
RECHECK_S = 5.0  # how often a page poll may ask the writer to look at a file replaced or gone


# --- what the frame loop hands over (one small record per kind) ------------------------------------

@dataclass(frozen=True)
class RepDone:
    set_key: int
    set_started_wall: float
    to_wall: float
    target_depth_deg: float
    rep: RepResult
    lifter: str          # who lifted it, taken when it was handed over: not whoever is active by the write
    source: str = ""
    lifter_onset_deg: float | None = None   # so a set in progress can already say "too deep"
    selftest: bool = False                  # a self-test rep: its set marks nothing "too deep" (as finish_set)


@dataclass(frozen=True)
class SetDone:
    set_key: int
    to_wall: float
    result: SetResult
    lifter: str


@dataclass(frozen=True)
class SelfTestDone:
    started_wall: float
    ended_wall: float
    result: SelfTestResult
    evidence_set_key: int | None = None
    evidence_rep_idx: int | None = None
    evidence: dict | None = None


# what the writer holds until it is in the database
Pending = RepDone | SetDone | SelfTestDone


@dataclass(frozen=True)
class Flush:
    done: threading.Event


@dataclass(frozen=True)
class Stop:
    pass


class Recheck:
    """The page saw the file replaced or gone: look now, not at the next rep (which may be a set away)."""


class StoreWriter:
    """Owns the write connection on its own thread; the frame loop only enqueues results.

    Opening happens in the caller's thread, so a folder the station cannot write is a StoreError
    (one line, exit 2) at start-up rather than a thread that quietly never writes. Below
    `min_free_mb` it stops writing and says so through `disk_full`; live feedback carries on.
    """

    @classmethod
    def from_config(cls, store_cfg: StoreConfig, path: Path, lifter: str) -> StoreWriter:
        """The writer as [store] says; `path` is [store] path resolved against the state directory
        (Config.db_path()), `lifter` the name new sets are filed under ([station] lifter)."""
        return cls(path, lifter=lifter, retention_days=store_cfg.retention_days, max_db_mb=store_cfg.max_db_mb,
                   min_free_mb=store_cfg.min_free_mb)

    def __init__(self, path: Path, lifter: str = "default", retention_days: int = 365, max_db_mb: int = 500,
                 min_free_mb: int = 200) -> None:
        self.path = Path(path)
        self.lifter = lifter
        self._args = (retention_days, max_db_mb, min_free_mb)
        self._queue: queue.Queue = queue.Queue()
        self.disk_full = False
        self.damaged = False              # damaged and could not be replaced: nothing is written
        self.error: str | None = None     # the last failure; cleared by the next successful write
        self.notice: str | None = None    # a recovery the page keeps telling (a damaged file moved aside)
        self._damage = ""                 # why the file was found damaged (retried with each result)
        self._pending: list[Pending] = []  # results not written yet, oldest first
        self._rejected: list[RepResult] = []  # reps the database refused for good (kept, never retried)
        self._refused = ""                # why the last of them was refused
        self._set_ids: dict[int, int] = {}
        self._rechecked_at = -RECHECK_S    # when the page last asked the writer to look at the file
        self._db_ids: dict[int, int] = {}   # every set key seen -> its row (the self-test's evidence link)
        # set once the start-up check is done: until then the file may be moved aside, and another
        # connection open on it would, on closing, delete the fresh file's -wal by name (it did)
        self.ready = threading.Event()
        try:
            self._store = Store(self.path, *self._args)
        except DamagedError as exc:
            self._store = self._replace_damaged(str(exc))
        self._inode = self._file_inode()
        self._lock_fd = self._take_writer_lock()
        self._thread = threading.Thread(target=self._run, name="store", daemon=True)
        self._thread.start()

    # --- the frame loop's side ------------------------------------------------------------------
    def rep_finished(self, set_key: int, set_started_wall: float, to_wall: float, target_depth_deg: float,
                     rep: RepResult, source: str = "", lifter_onset_deg: float | None = None,
                     selftest: bool = False) -> None:
        self._queue.put(RepDone(set_key, set_started_wall, to_wall, target_depth_deg, rep, self.lifter, source,
                                lifter_onset_deg, selftest))

    def set_finished(self, set_key: int, to_wall: float, result: SetResult) -> None:
        self._queue.put(SetDone(set_key, to_wall, result, self.lifter))

    def selftest_finished(self, started_wall: float, ended_wall: float, result: SelfTestResult,
                          evidence_set_key: int | None = None, evidence_rep_idx: int | None = None,
                          evidence: dict | None = None) -> None:
        """Queued after the test's last rep, so the evidence rep's set row exists by then."""
        self._queue.put(SelfTestDone(started_wall, ended_wall, result, evidence_set_key, evidence_rep_idx, evidence))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything handed over so far was tried (written, or held in memory)."""
        if not self._thread.is_alive():
            return False
        done = threading.Event()
        self._queue.put(Flush(done))
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> int:
        """Stop the writer; the number of finished reps lost with this process (0: all saved)."""
        if self._thread.is_alive():
            self._queue.put(Stop())
            self._thread.join(timeout)
        with self._queue.mutex:      # the writer did not get to them in time (a slow card, a slow start)
            waiting = sum(isinstance(item, RepDone) for item in self._queue.queue)
        if waiting:
            log.error("%d finished reps were still waiting to be written to %s when the station stopped, and "
                      "are lost with this process (the writer took over %.0f s)", waiting, self.path, timeout)
        unsaved = len(self.unsaved)
        if unsaved:
            why = self.last_error or (f"the disk is nearly full (history stops below {self._args[2]} MB "
                                      f"free: [store] min_free_mb)" if self.disk_full else "see the errors above")
            log.error("%d finished reps could not be saved to %s and are lost with this process: %s",
                      unsaved, self.path, why)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        return waiting + unsaved

    # --- what the page shows ----------------------------------------------------------------------
    @property
    def last_error(self) -> str | None:
        """What the page says: the latest failure, else reps refused for good, else a recovery."""
        if self.error:
            return self.error
        if self._rejected:
            return f"{len(self._rejected)} rep(s) could not be saved: {self._refused}"
        return self.notice

    @property
    def unsaved(self) -> list[RepResult]:
        """Finished reps not in the database (yet): held ones first written when space returns."""
        return [item.rep for item in list(self._pending) if isinstance(item, RepDone)] + list(self._rejected)

    def status(self) -> dict:
        """Also the page's look at the file: one deleted between sets was noticed only at the next rep,
        and until then the page said "No sets yet" and health all clear."""
        now = time.monotonic()
        if (self.ready.is_set() and not self.damaged and now - self._rechecked_at >= RECHECK_S
                and self._file_inode() != self._inode):
            self._rechecked_at = now     # a file that cannot be made again is tried (and logged) every 5 s
            self._queue.put(Recheck())
        return {"disk_full": self.disk_full, "error": self.last_error, "damaged": self.damaged,
                "unsaved": len(self.unsaved)}

    # --- the writer thread --------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._start_up()
        finally:
            self.ready.set()
        while True:
            try:
                item = self._queue.get(timeout=RETRY_S if self._pending else None)
            except queue.Empty:
                self._guarded(self._write_pending)
                continue
            try:
                if isinstance(item, Recheck):
                    if not self.damaged:
                        self._guarded(self._reopen_if_deleted)
                elif isinstance(item, (Flush, Stop)):
                    self._guarded(self._write_pending)
                    if isinstance(item, Stop):
                        with contextlib.suppress(Exception):
                            self._store.close()
                        return
                else:
                    self._pending.append(item)
                    self._guarded(self._write_pending)
            finally:
                if isinstance(item, Flush):
                    item.done.set()

    def _guarded(self, step: Callable[[], object]) -> None:
        """The thread's last line: a failure nobody foresaw is logged and shown, never fatal."""
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - this thread must outlive any one bad write
            self.error = f"the history writer failed: {exc}"
            log.exception(self.error)

    def _start_up(self) -> None:
        """Checked before anything is written: a damaged file is replaced, sets a killed station left
        open are closed as interrupted, old history is pruned."""
        def check() -> None:
            problem = self._store.quick_check()
            if problem != "ok":
                self._recover(f"quick_check: {problem}")
            if self._lock_fd is not None:
                closed = self._store.close_interrupted_sets()
                if closed:
                    log.warning("%d set(s) left open by an earlier run closed as interrupted", closed)
            self._store.apply_retention()
        try:
            check()
        except Exception as exc:  # noqa: BLE001
            if is_damage(exc) and self._recover(str(exc)):
                self._guarded(check)
            elif not self.damaged:
                self.error = f"the history database could not be checked: {exc}"
                log.error(self.error)

    def _file_inode(self) -> int | None:
        try:
            return os.stat(self.path).st_ino
        except OSError:
            return None

    def _reopen_if_deleted(self) -> None:
        """The file deleted (or replaced) under the open connection: SQLite would go on writing into
        the deleted file, every later set lost while the page said "No sets yet" and health all clear.
        A fresh file takes its place and the page says what happened."""
        inode = self._file_inode()
        if inode is not None and inode == self._inode:
            return
        with contextlib.suppress(Exception):
            self._store.close()
        self._adopt(Store(self.path, *self._args))
        self.notice = (f"the history database {self.path} was deleted or replaced while the station ran: a "
                       "fresh one was started, and the sets saved before that are not in it")
        log.error(self.notice)

    def _write_pending(self) -> None:
        recovered_for = None
        if self._pending and not self.damaged:
            try:
                self._reopen_if_deleted()
            except Exception as exc:  # noqa: BLE001 - cannot create it now: kept for later, as any failure
                self._keep_for_later(sqlite3.OperationalError(str(exc)))
                return
        while self._pending:
            if self.damaged and not self._recover(self._damage):
                return
            free = self._store.free_mb()
            if free < self._store.min_free_mb:
                if not self.disk_full:
                    log.error("disk nearly full (%.0f MB free, history stops below %d MB): %d result(s) held "
                              "in memory until space returns", free, self._store.min_free_mb, len(self._pending))
                self.disk_full = True
                return
            item = self._pending[0]
            try:
                self._write(item)
            except Exception as exc:  # noqa: BLE001 - sorted below: retry later, recover, or refuse
                if is_damage(exc) and recovered_for is not item:
                    recovered_for = item
                    if self._recover(str(exc)):
                        continue          # the same item again, into the fresh file
                    return
                if self._keep_for_later(exc):
                    return
                self._refuse(item, exc)
            else:
                if self.disk_full:
                    log.warning("disk space is back: history is being saved again")
                self.disk_full = False
                self.error = None
            self._pending.pop(0)

    def _keep_for_later(self, exc: Exception) -> bool:
        """A full disk, a lock, an I/O error or a damaged file that could not be replaced: the result
        stays in memory and is tried again later."""
        if isinstance(exc, sqlite3.OperationalError) or is_damage(exc):
            full = getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "full" in str(exc).lower()
            self.disk_full = self.disk_full or full
            self.error = f"cannot save to the history database now ({exc}): results are kept in memory"
            log.error(self.error)
            return True
        return False

    def _refuse(self, item: Pending, exc: Exception) -> None:
        """A result the database refuses (a bad value, a bug): retrying cannot help, and it must not
        hold back the results behind it."""
        self._refused = f"{type(exc).__name__}: {exc}"
        log.error("a %s could not be saved and was skipped: %s", type(item).__name__, self._refused)
        if isinstance(item, RepDone):
            self._rejected.append(item.rep)

    def _write(self, item: Pending) -> None:
        store = self._store
        if isinstance(item, RepDone):
            self._set_ids[item.set_key] = store.add_rep(self._set_ids.get(item.set_key), item.lifter,
                                                        item.set_started_wall, item.to_wall,
                                                        item.target_depth_deg, item.rep, item.source,
                                                        item.lifter_onset_deg, item.selftest)
            self._db_ids[item.set_key] = self._set_ids[item.set_key]
        elif isinstance(item, SelfTestDone):
            store.add_selftest(item.started_wall, item.ended_wall, item.result,
                               self._db_ids.get(item.evidence_set_key) if item.evidence_set_key is not None else None,
                               item.evidence_rep_idx, item.evidence)
        elif isinstance(item, SetDone) and item.set_key in self._set_ids:
            store.finish_set(self._set_ids[item.set_key], item.to_wall, item.result)
            self._set_ids.pop(item.set_key)
            store.apply_retention()
        elif isinstance(item, SetDone) and item.result.setup_issue is not None:
            store.add_unjudged_set(item.lifter, item.to_wall, item.result)

    # --- a damaged file -----------------------------------------------------------------------------
    def _recover(self, reason: str) -> bool:
        """Move the damaged file aside and carry on in a fresh one; False (and `damaged`) if that fails."""
        with contextlib.suppress(Exception):
            self._store.close()
        try:
            self._store = self._replace_damaged(reason)
        except StoreError as exc:
            self.damaged, self._damage = True, reason
            self.error = str(exc)
            log.error(self.error)
            return False
        self.damaged = False
        self._adopt(self._store)
        return True

    def _adopt(self, store: Store) -> None:
        """Carry on in a fresh file: the rows written so far are in the old one, so the held reps
        start their set afresh, and the file on disk is the one to watch from now on."""
        self._store = store
        self._inode = self._file_inode()
        self._set_ids.clear()
        self._db_ids.clear()

    def _replace_damaged(self, reason: str) -> Store:
        """The damaged file (with its -wal and -shm) goes to <db>.damaged-<time>, kept for `sqlite3 .recover`;
        a fresh database takes its place. Said in the log and, through `notice`, on every page."""
        stamp = time.strftime('%Y%m%d-%H%M%S')
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        n = 1
        while any(Path(f"{aside}{suffix}").exists() for suffix in ("", "-wal", "-shm")):
            n += 1      # a second damage within the second: never over an earlier copy
            aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}")
        try:
            for suffix in ("", "-wal", "-shm"):
                src = Path(f"{self.path}{suffix}")
                if src.exists():
                    os.replace(src, f"{aside}{suffix}")
            store = Store(self.path, *self._args)
        except (OSError, StoreError) as exc:
            raise StoreError(f"the history database {self.path} is damaged ({reason}) and could not be replaced "
                             f"({exc}): stop the station, move the file away and run `station doctor`") from None
        self.notice = (f"the history database was damaged ({reason}); it was moved to {aside} and a fresh one "
                       "started: older sets are in that file (run `station doctor`)")
        log.error(self.notice)
        return store

    def _take_writer_lock(self) -> int | None:
        """One writer per database: only the holder closes sets left open, so a second station started
        by mistake cannot mark the first one's set in progress as interrupted."""
        import fcntl

        try:
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            log.warning("cannot create %s.lock (%s): sets left open are not closed", self.path, exc)
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            log.warning("another station is writing to %s: sets left open are not closed", self.path)
            return None
        return fd
