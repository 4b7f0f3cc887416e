"""History in SQLite: lifters, sets, reps and each rep's per-frame series.

Durability on an SD card that may lose power: WAL journal, synchronous=FULL, one transaction per
finished rep (a power cut loses at most the rep in progress), schema versioned with
PRAGMA user_version and forward migrations. Writes happen on a StoreWriter thread, never in the
frame loop. Size is bounded by a retention policy (age, file size, free disk space).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import logging
import os
import shutil
import sqlite3
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from station.analysis import RepResult, RepSeries, SetResult
from station.analysis.summary import safe_depth_advised
from station.analysis.types import SERIES_JOINTS
from station.errors import StationError

if TYPE_CHECKING:
    from station.analysis.selftest import SelfTestResult

log = logging.getLogger(__name__)

MIGRATIONS = [
    # 1: the base schema
    """
    CREATE TABLE lifters (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL);
    CREATE TABLE sets (
        id INTEGER PRIMARY KEY,
        lifter_id INTEGER NOT NULL REFERENCES lifters(id) ON DELETE CASCADE,
        started_at REAL NOT NULL, ended_at REAL, end_reason TEXT, target_depth_deg REAL NOT NULL,
        rep_count INTEGER NOT NULL DEFAULT 0, wink_onset_deg REAL, suggested_depth_deg REAL,
        depth_sd_deg REAL, summary TEXT, source TEXT);
    CREATE TABLE reps (
        id INTEGER PRIMARY KEY,
        set_id INTEGER NOT NULL REFERENCES sets(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL, started_at REAL NOT NULL, max_depth_deg REAL NOT NULL,
        below_parallel INTEGER NOT NULL, reached_target INTEGER NOT NULL, tut_s REAL, down_s REAL, up_s REAL,
        max_trunk_lean_deg REAL, knee_travel_cm REAL, heel_lift_cm REAL, wink INTEGER NOT NULL,
        wink_onset_deg REAL, wink_magnitude_deg REAL, wink_confidence REAL, series BLOB,
        UNIQUE (set_id, idx));
    INSERT INTO lifters (name, created_at) VALUES ('default', strftime('%s', 'now'));
    """,
    # 2: indexes for the history page and retention
    """
    CREATE INDEX sets_by_time ON sets (started_at);
    CREATE INDEX sets_by_lifter ON sets (lifter_id, started_at);
    CREATE INDEX reps_by_set ON reps (set_id, idx);
    """,
    # 3: the view gate. A set says which view it saw and, when it could not be judged, why and what to
    # change; a rep has a three-way depth verdict with its uncertainty, and whether it was seen side-on.
    # Older reps keep the verdict the station gave then (below parallel or not); their band is unknown.
    """
    ALTER TABLE sets ADD COLUMN view TEXT;
    ALTER TABLE sets ADD COLUMN setup_issue TEXT;
    ALTER TABLE sets ADD COLUMN setup_advice TEXT;
    ALTER TABLE reps ADD COLUMN depth_verdict TEXT;
    ALTER TABLE reps ADD COLUMN depth_uncertainty_deg REAL;
    ALTER TABLE reps ADD COLUMN side_view INTEGER NOT NULL DEFAULT 1;
    UPDATE reps SET depth_verdict = CASE WHEN below_parallel THEN 'below' ELSE 'above' END;
    """,
    # 4: the view gate per rep: the view it saw and, when that was not good enough, why
    """
    ALTER TABLE reps ADD COLUMN view TEXT;
    ALTER TABLE reps ADD COLUMN setup_issue TEXT;
    """,
    # 5: the self-test ("find my safe depth", docs/self-test.md): one row per finished test, with its
    # evidence (the evidence rep's joints at the onset and at the bottom: kept here, so the result
    # outlives its set), and each lifter's own target depth (NULL: the configured one applies)
    """
    CREATE TABLE selftests (
        id INTEGER PRIMARY KEY,
        lifter_id INTEGER NOT NULL REFERENCES lifters(id) ON DELETE CASCADE,
        started_at REAL NOT NULL, ended_at REAL NOT NULL, outcome TEXT NOT NULL,
        onset_deg REAL, safe_depth_deg REAL, margin_deg REAL NOT NULL, confirmed INTEGER NOT NULL DEFAULT 0,
        full_depth_deg REAL NOT NULL, deepest_deg REAL, reached_full_depth INTEGER NOT NULL DEFAULT 0,
        set_id INTEGER REFERENCES sets(id) ON DELETE SET NULL, evidence_rep_idx INTEGER,
        evidence TEXT, reps TEXT, message TEXT);
    CREATE INDEX selftests_by_lifter ON selftests (lifter_id, started_at);
    ALTER TABLE lifters ADD COLUMN target_depth_deg REAL;
    ALTER TABLE lifters ADD COLUMN target_selftest_id INTEGER REFERENCES selftests(id) ON DELETE SET NULL;
    """,
    # 6: whether the lower back was seen at the rep's bottom: 'no rounding' and 'not seen' differ
    # (older reps: 1, the answer they were shown with)
    """
    ALTER TABLE reps ADD COLUMN wink_judged INTEGER NOT NULL DEFAULT 1;
    """,
    # 7: the target each rep was judged against (a self-test guides each rep to its own, and the
    # lifter's target changes when a test ends mid-set); NULL for older reps: their set's target
    """
    ALTER TABLE reps ADD COLUMN target_deg REAL;
    """,
    # 8: where this lifter's back began to round in their self-test, as the set knew it: a rep deeper
    # than that is marked "past" on the page, not a green "reached" (NULL: no self-test then). Older
    # sets get the onset of the last test before them that set or cleared the lifter's target (what the
    # runner read, lifter_onset), so their rows agree with the sentence they were stored with.
    """
    ALTER TABLE sets ADD COLUMN lifter_onset_deg REAL;
    UPDATE sets SET lifter_onset_deg = (
        SELECT CASE WHEN t.outcome = 'rounding' THEN t.onset_deg END FROM selftests t
        WHERE t.lifter_id = sets.lifter_id AND t.ended_at <= sets.started_at
          AND t.outcome IN ('rounding', 'no_rounding')
        ORDER BY t.ended_at DESC, t.id DESC LIMIT 1)
    WHERE NOT EXISTS (SELECT 1 FROM selftests s WHERE s.set_id = sets.id);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
REP_COLUMNS = ("idx", "started_at", "max_depth_deg", "below_parallel", "reached_target", "tut_s", "down_s", "up_s",
               "max_trunk_lean_deg", "knee_travel_cm", "heel_lift_cm", "wink", "wink_onset_deg",
               "wink_magnitude_deg", "wink_confidence", "depth_verdict", "depth_uncertainty_deg", "side_view", "view",
               "setup_issue", "wink_judged", "target_deg")   # new columns go last: CSV readers count on the order
# what a rep says about depth: shown only when the rep was judged (side-on, in a set the view gate passed)
DEPTH_FIELDS = ("max_depth_deg", "below_parallel", "reached_target", "depth_verdict", "depth_uncertainty_deg")
WINK_FIELDS = ("wink_onset_deg", "wink_magnitude_deg", "wink_confidence")
# measured from the side only: a side-on rep in a set judged from the wrong view shows none of them
SIDE_FIELDS = ("max_trunk_lean_deg", "knee_travel_cm", "heel_lift_cm")
# a rep not seen side-on is counted on the hips' drop, whose return to standing comes early (nowva,
# front view: "up 0.3-0.5 s" where the lifter took 0.9-1.0): its times are not shown either
TEMPO_FIELDS = ("tut_s", "down_s", "up_s")
# after REP_COLUMNS in the CSV: what the API says about judging (readers count on the order)
CSV_EXTRA = ("judged", "set_setup_issue")
# The one rep schema (API, exports; `station analyze --json` should use public_rep too): the database
# keeps its column names, these are renamed at the boundary (docs/api.md, "Names").
PUBLIC_NAMES = {"idx": "index"}
# the per-frame columns of a stored series, in order; the joints (x, y per SERIES_JOINTS) follow them
SERIES_COLUMNS = ("t", "thigh_deg", "hip_deg", "trunk_lean_deg", "knee_deg")
BACKUPS_KEPT = 2
INTERRUPTED_SUMMARY = "Interrupted: the station stopped before this set ended; its reps up to then are kept."
# errors that mean the file itself is damaged (not full, locked or unwritable)
DAMAGED_CODES = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


class StoreError(StationError):
    pass


class DamagedError(StoreError):
    """The history file is damaged: a page says so (503) instead of failing with a 500."""


def is_damage(exc: BaseException) -> bool:
    """True when an sqlite error says the file is corrupt or not a database (not full, locked, read-only)."""
    if isinstance(exc, DamagedError):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    name = getattr(exc, "sqlite_errorname", None)
    if name:  # extended codes too: SQLITE_CORRUPT_INDEX, ...
        return name.startswith(DAMAGED_CODES)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the station's pragmas, the schema migrated to the current version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=10, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        # before WAL: a new file in WAL mode already has its header, and auto_vacuum would stay off
        # (a no-op on a file that has tables)
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def open_db(path: Path) -> sqlite3.Connection:
    """connect(), with every way it can fail said in one line: DamagedError for a damaged file,
    StoreError for a folder or file the station cannot write (exit 2 from the command line)."""
    try:
        return connect(path)
    except StoreError:
        raise
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            raise DamagedError(f"the history database {path} is damaged ({exc})") from None
        raise StoreError(f"cannot open the history database {path}: {exc}; the folder {path.parent} and the file "
                         "must be writable by the station's user (station doctor checks it)") from None
    except OSError as exc:
        blocker = next((p for p in (path.parent, *path.parent.parents) if os.path.exists(p)), None)
        if blocker is not None and not os.path.isdir(blocker):   # state_dir names a file ("File exists")
            raise StoreError(f"cannot open the history database {path}: {blocker} is a file, not a folder; "
                             "point [station] state_dir (or [store] path) at a folder") from None
        raise StoreError(f"cannot open the history database {path}: {exc.strerror or exc}; the folder "
                         f"{path.parent} must be writable by the station's user (station doctor checks it)") from None


def backup_before_migrating(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """A consistent copy (SQLite's backup API, safe while others read) at <db>.bak-v<old>, so an
    upgrade that goes wrong can be undone by copying it back; the newest BACKUPS_KEPT are kept."""
    target = path.with_name(f"{path.name}.bak-v{version}")
    tmp = target.with_name(target.name + ".tmp")
    try:
        dst = sqlite3.connect(str(tmp))
        try:
            conn.backup(dst)
        finally:
            dst.close()
        tmp.replace(target)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot back up {path} to {target} before upgrading its schema from version {version}: "
                         f"{exc}; free space in {path.parent} and start again") from None
    log.warning("database %s backed up to %s before migrating from schema %d", path, target, version)
    old = sorted(path.parent.glob(f"{path.name}.bak-v*"),
                 key=lambda p: int(p.name.rsplit("-v", 1)[1]) if p.name.rsplit("-v", 1)[1].isdigit() else -1)
    for stale in old[:-BACKUPS_KEPT]:
        stale.unlink(missing_ok=True)
    return target


def migrate(conn: sqlite3.Connection, path: Path | None = None) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"database schema {version} is newer than this station ({SCHEMA_VERSION}): "
                         "upgrade the station")
    if 0 < version < SCHEMA_VERSION and path is not None:
        backup_before_migrating(conn, Path(path), version)
    for number in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another connection (a page, the writer) may have migrated since we looked
            if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                conn.execute("COMMIT")
                continue
            for statement in filter(str.strip, MIGRATIONS[number - 1].split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except Exception:
            _rollback(conn)
            raise
        log.info("database migrated to schema %d", number)


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: SQLite ends one itself on some errors (a full disk),
    and a second ROLLBACK would hide the error that matters."""
    with contextlib.suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


# --- series encoding: compact, self-describing, no pickle ------------------------------------

def encode_series(series: RepSeries) -> bytes:
    cols = np.column_stack([getattr(series, name) for name in SERIES_COLUMNS]
                           + [series.joints.reshape(len(series.t), -1)]).astype(np.float32)
    header = struct.pack("<IHHH", len(series.t), cols.shape[1], *series.frame_size)
    return zlib.compress(header + cols.tobytes(), 6)


def decode_series(blob: bytes) -> dict:
    """The series as named columns; a blob that does not decode (a damaged page) is a DamagedError."""
    try:
        raw = zlib.decompress(blob)
        n, width, frame_w, frame_h = struct.unpack("<IHHH", raw[:10])
        cols = np.frombuffer(raw[10:], np.float32).reshape(n, width)
    except (zlib.error, struct.error, ValueError) as exc:
        raise DamagedError(f"a rep's stored frames do not decode ({exc})") from None
    series: dict[str, Any] = {name: cols[:, i] for i, name in enumerate(SERIES_COLUMNS)}
    series["joints"] = cols[:, len(SERIES_COLUMNS):].reshape(n, len(SERIES_JOINTS), 2)
    series["frame_size"] = (frame_w, frame_h)
    return series


def rep_row(rep: RepResult, to_wall: float, target_deg: float | None = None) -> dict:
    """A RepResult as the reps table's columns (REP_COLUMNS), by name; `target_deg` is the target
    it was judged against (`reached_target`)."""
    return {"idx": rep.index, "started_at": to_wall + rep.start_t, "max_depth_deg": rep.max_depth_deg,
            "below_parallel": rep.below_parallel, "reached_target": rep.reached_target, "tut_s": rep.tut_s,
            "down_s": rep.down_s, "up_s": rep.up_s, "max_trunk_lean_deg": rep.max_trunk_lean_deg,
            "knee_travel_cm": rep.knee_travel_cm, "heel_lift_cm": rep.heel_lift_cm, "wink": rep.wink,
            "wink_onset_deg": rep.wink_onset_deg, "wink_magnitude_deg": rep.wink_magnitude_deg,
            "wink_confidence": rep.wink_confidence, "wink_judged": rep.wink_judged, "depth_verdict": rep.depth_verdict,
            "depth_uncertainty_deg": rep.depth_uncertainty_deg, "side_view": rep.side_view, "view": rep.view,
            "setup_issue": rep.setup_issue, "target_deg": target_deg}


def public_rep(row: sqlite3.Row | dict[str, Any], set_setup_issue: str | None) -> dict:
    """The one rep schema the API and the exports show (docs/api.md, REP), from a reps row or a rep_row().

    Depth only where it was judged (side-on, its own and its set's view gate passed); database names
    mapped to the public ones (PUBLIC_NAMES)."""
    rep = {PUBLIC_NAMES.get(k, k): row[k] for k in row.keys() if k != "series"}
    for flag in ("below_parallel", "reached_target", "wink", "wink_judged", "side_view"):
        rep[flag] = bool(rep[flag])
    # side_view: the rep's own view gate passed (an issue like the head out of the picture leaves its depth);
    # set_setup_issue: the set's did not (a third or more of its reps blocked, station.analysis.summary)
    rep["judged"] = set_setup_issue is None and rep["side_view"] and rep["depth_verdict"] != "unknown"
    if not rep["judged"]:
        rep.update(dict.fromkeys(DEPTH_FIELDS))
        # nor its rounding: a side-on rep in a set judged from the wrong view speaks for nothing
        rep.update(dict.fromkeys(WINK_FIELDS + SIDE_FIELDS), wink=False, wink_judged=False)
    if not rep["side_view"]:
        rep.update(dict.fromkeys(TEMPO_FIELDS))
    return rep


def _listed(values: np.ndarray) -> list:
    """Rounded, as lists for the pages and JSON: a value not measured on a frame (NaN: a joint not yet
    seen) becomes None, null in JSON; a bare NaN is not JSON and breaks the page's replay and charts."""
    out = values.round(2).astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()


def _row_id(cursor: sqlite3.Cursor) -> int:
    """The id an INSERT gave its row (sqlite3 types lastrowid as optional; after an INSERT it is set)."""
    assert cursor.lastrowid is not None
    return cursor.lastrowid


class Store:
    """All reads and writes. One instance per thread that uses it (sqlite connections are cheap)."""

    def __init__(self, path: Path, retention_days: int = 365, max_db_mb: int = 500,
                 min_free_mb: int = 200) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self.max_db_mb = max_db_mb
        self.min_free_mb = min_free_mb
        self.conn = open_db(self.path)

    def close(self) -> None:
        self.conn.close()

    # --- lifters ----------------------------------------------------------------------------
    def lifter_id(self, name: str) -> int:
        row = self.conn.execute("SELECT id FROM lifters WHERE name = ?", (name,)).fetchone()
        if row:
            return row["id"]
        return _row_id(self.conn.execute("INSERT INTO lifters (name, created_at) VALUES (?, ?)", (name, time.time())))

    def lifters(self, with_records: bool = False, also: str | None = None) -> list[dict]:
        """Every lifter (Settings), or with_records: those with a set or a self-test, plus `also` (the
        active lifter): the seeded "default" with nothing stored is no choice on History."""
        if not with_records:
            return [dict(r) for r in self.conn.execute("SELECT id, name FROM lifters ORDER BY name")]
        return [dict(r) for r in self.conn.execute(
            "SELECT id, name FROM lifters l WHERE name = ? OR EXISTS (SELECT 1 FROM sets WHERE lifter_id = l.id) "
            "OR EXISTS (SELECT 1 FROM selftests WHERE lifter_id = l.id) ORDER BY name", (also,))]

    def lifter_target(self, name: str) -> float | None:
        """The lifter's own target depth (from a self-test), or None: the configured one applies."""
        row = self.conn.execute("SELECT target_depth_deg FROM lifters WHERE name = ?", (name,)).fetchone()
        return row["target_depth_deg"] if row else None

    def lifter_onset(self, name: str) -> float | None:
        """Where the lifter's back began to round in the self-test that set their target (None: none did)."""
        row = self.conn.execute("SELECT s.onset_deg FROM lifters l JOIN selftests s ON s.id = l.target_selftest_id "
                                "WHERE l.name = ? AND l.target_depth_deg IS NOT NULL", (name,)).fetchone()
        return row["onset_deg"] if row else None

    def set_lifter_target(self, name: str, target_depth_deg: float | None, selftest_id: int | None = None) -> None:
        lifter_id = self.lifter_id(name)
        self.conn.execute("UPDATE lifters SET target_depth_deg = ?, target_selftest_id = ? WHERE id = ?",
                          (target_depth_deg, selftest_id, lifter_id))

    # --- writes -----------------------------------------------------------------------------
    def free_mb(self) -> float:
        return shutil.disk_usage(self.path.parent).free / 1e6

    def add_rep(self, set_id: int | None, lifter: str, set_started_at: float, to_wall: float,
                target_depth_deg: float, rep: RepResult, source: str = "",
                lifter_onset_deg: float | None = None, selftest: bool = False) -> int:
        """Commit one finished rep (creating its set row on the first rep). Returns the set id.
        `lifter_onset_deg` goes on the set row at once, so the page marks a rep "too deep" while the
        set is still going, not only when it ends.

        Times in results are on the source's clock; `to_wall` maps them to Unix time."""
        row = rep_row(rep, to_wall, target_depth_deg)
        with transaction(self.conn):
            if set_id is None:
                set_id = self._insert_set(lifter, set_started_at, target_depth_deg, source, lifter_onset_deg)
            elif selftest:   # a test begun mid-set goes past the onset on purpose: finish_set writes NULL too
                self.conn.execute("UPDATE sets SET lifter_onset_deg = NULL WHERE id = ?", (set_id,))
            self.conn.execute(
                f"INSERT INTO reps (set_id, {', '.join(REP_COLUMNS)}, series) "
                f"VALUES (?, {', '.join('?' * len(REP_COLUMNS))}, ?)",
                (set_id, *(row[c] for c in REP_COLUMNS), encode_series(rep.series) if rep.series is not None else None))
            self.conn.execute("UPDATE sets SET rep_count = rep_count + 1, ended_at = ? WHERE id = ?",
                              (to_wall + rep.end_t, set_id))
        return set_id

    def _insert_set(self, lifter: str, started_at: float, target_depth_deg: float, source: str,
                    lifter_onset_deg: float | None = None) -> int:
        return _row_id(self.conn.execute(
            "INSERT INTO sets (lifter_id, started_at, target_depth_deg, source, lifter_onset_deg) "
            "VALUES (?, ?, ?, ?, ?)",
            (self.lifter_id(lifter), started_at, target_depth_deg, source, lifter_onset_deg)))

    def add_unjudged_set(self, lifter: str, to_wall: float, result: SetResult, source: str = "") -> int:
        """A set the view gate could not judge and that counted no rep: kept so the page can say why."""
        with transaction(self.conn):
            set_id = self._insert_set(lifter, to_wall + result.start_t, result.target_depth_deg, source)
            self._write_set_result(set_id, to_wall, result)
        return set_id

    def finish_set(self, set_id: int, to_wall: float, result: SetResult) -> None:
        """Final per-set numbers, and each rep's wink and verdict re-estimated with the whole set in hand."""
        with transaction(self.conn):
            self._write_set_result(set_id, to_wall, result)

    def _write_set_result(self, set_id: int, to_wall: float, result: SetResult) -> None:
        """rep_count is the reps stored, not the analysis' count: the two differ only if a rep was lost,
        and then the page must not claim a rep it cannot show."""
        self.conn.execute(
            "UPDATE sets SET ended_at = ?, end_reason = ?, wink_onset_deg = ?, suggested_depth_deg = ?, "
            "depth_sd_deg = ?, summary = ?, view = ?, setup_issue = ?, setup_advice = ?, lifter_onset_deg = ?, "
            "rep_count = (SELECT COUNT(*) FROM reps WHERE set_id = sets.id) WHERE id = ?",
            (to_wall + result.end_t, result.end_reason, result.wink_onset_deg, result.suggested_depth_deg,
             result.depth_sd_deg, result.summary, result.view, result.setup_issue, result.setup_advice,
             None if result.selftest else result.lifter_onset_deg, set_id))
        for rep in result.reps:
            self.conn.execute(
                "UPDATE reps SET wink = ?, wink_onset_deg = ?, wink_magnitude_deg = ?, wink_confidence = ?, "
                "depth_verdict = ?, depth_uncertainty_deg = ?, side_view = ?, view = ?, setup_issue = ? "
                "WHERE set_id = ? AND idx = ?",
                (rep.wink, rep.wink_onset_deg, rep.wink_magnitude_deg, rep.wink_confidence, rep.depth_verdict,
                 rep.depth_uncertainty_deg, rep.side_view, rep.view, rep.setup_issue, set_id, rep.index))

    def add_selftest(self, started_at: float, ended_at: float, result: SelfTestResult, set_id: int | None = None,
                     evidence_rep_idx: int | None = None, evidence: dict | None = None) -> int:
        """A finished self-test (station.analysis.selftest.SelfTestResult) and, in the same transaction, its
        lifter's target: the safe depth when rounding was found, the configured one (NULL) when none
        was found down to the deepest rep; an incomplete test leaves the target as it was."""
        reps = [r if isinstance(r, dict) else dataclasses.asdict(r) for r in result.reps]
        # the test is filed under its evidence rep's set (set_id); mark the steps done in that set, so
        # its page judges them against their own targets even when a rest split the test in two sets
        if result.evidence_rep and 0 < result.evidence_rep <= len(reps):
            filed = reps[result.evidence_rep - 1].get("set_key")
            for step in reps:
                step["in_filed_set"] = step.get("set_key") == filed
        with transaction(self.conn):
            lifter_id = self.lifter_id(result.lifter)
            test_id = _row_id(self.conn.execute(
                "INSERT INTO selftests (lifter_id, started_at, ended_at, outcome, onset_deg, safe_depth_deg, "
                "margin_deg, confirmed, full_depth_deg, deepest_deg, reached_full_depth, set_id, evidence_rep_idx, "
                "evidence, reps, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (lifter_id, started_at, ended_at, result.outcome, result.onset_deg, result.safe_depth_deg,
                 result.margin_deg, result.confirmed, result.full_depth_deg, result.deepest_deg,
                 result.reached_full_depth, set_id, evidence_rep_idx,
                 json.dumps(evidence, separators=(",", ":")) if evidence is not None else None,
                 json.dumps(reps, separators=(",", ":")), result.message)))
            if result.sets_target:
                self.conn.execute("UPDATE lifters SET target_depth_deg = ?, target_selftest_id = ? WHERE id = ?",
                                  (result.safe_depth_deg, test_id, lifter_id))
        return test_id

    def delete_set(self, set_id: int) -> bool | None:
        """True when deleted, False when there is no such set, None when it is still in progress: the
        station is writing its reps, and each one after a delete would be refused (its set is gone)."""
        if self.conn.execute("DELETE FROM sets WHERE id = ? AND end_reason IS NOT NULL", (set_id,)).rowcount:
            return True
        return None if self.conn.execute("SELECT 1 FROM sets WHERE id = ?", (set_id,)).fetchone() else False

    def apply_retention(self, now: float | None = None) -> int:
        """Drop sets past the age limit, then the oldest while the history is over its size limit.

        The size is the pages in use, not the file: a file made without auto_vacuum never shrinks,
        and measuring the file emptied the whole history once it reached the limit (each deletion
        freed pages the file kept)."""
        now = now or time.time()
        removed = self.conn.execute("DELETE FROM sets WHERE started_at < ?",
                                    (now - self.retention_days * 86400,)).rowcount
        self.conn.execute("DELETE FROM selftests WHERE started_at < ? AND id NOT IN "
                          "(SELECT target_selftest_id FROM lifters WHERE target_selftest_id IS NOT NULL)",
                          (now - self.retention_days * 86400,))
        used = self._used_mb()
        while used > self.max_db_mb:
            oldest = self.conn.execute("SELECT id FROM sets ORDER BY started_at LIMIT 1").fetchone()
            if oldest is None:
                break
            self.conn.execute("DELETE FROM sets WHERE id = ?", (oldest["id"],))
            removed += 1
            used = self._used_mb()
        if removed:
            self.conn.execute("PRAGMA incremental_vacuum")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def _used_mb(self) -> float:
        """The database's pages in use (freed pages are reused before the file grows)."""
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        return (pages - free) * size / 1e6

    # --- reads ------------------------------------------------------------------------------
    def last_set_id(self, lifter: str | None = None) -> int | None:
        sql, args = "SELECT s.id FROM sets s JOIN lifters l ON l.id = s.lifter_id", []
        if lifter:
            sql += " WHERE l.name = ?"
            args.append(lifter)
        # the set recorded last, not the latest date: a clock set back by a power cut dates a new set
        # before the previous one, and the lifter who just finished must still see theirs
        row = self.conn.execute(sql + " ORDER BY s.id DESC LIMIT 1", args).fetchone()
        return row["id"] if row else None

    def get_set(self, set_id: int, with_series: bool = False) -> dict | None:
        row = self.conn.execute("SELECT s.*, l.name AS lifter FROM sets s JOIN lifters l ON l.id = s.lifter_id "
                                "WHERE s.id = ?", (set_id,)).fetchone()
        if row is None:
            return None
        result = dict(row)
        if result["setup_issue"] is not None:   # not judged: no onset, as list_sets
            result["wink_onset_deg"] = result["suggested_depth_deg"] = None
        onset = result["lifter_onset_deg"]
        result["suggested_is_safe_depth"] = safe_depth_advised(result["suggested_depth_deg"], onset,
                                                               result["target_depth_deg"])
        result["reps"] = [self._rep_dict(r, with_series, result["setup_issue"]) for r in
                          self.conn.execute("SELECT * FROM reps WHERE set_id = ? ORDER BY idx", (set_id,))]
        for rep in result["reps"]:   # in whole degrees, as the set's sentence says it (summary.set_sentence)
            rep["past_safe_depth"] = (onset is not None and rep["judged"]
                                      and round(rep["max_depth_deg"]) < round(onset))
        # a self-test set guided each rep to a target of its own: "reached" means that one, not the set's
        test = self.conn.execute("SELECT id, reps FROM selftests WHERE set_id = ? ORDER BY id DESC LIMIT 1",
                                 (set_id,)).fetchone()
        result["selftest_id"] = test["id"] if test else None
        if test:
            result["target_depth_deg"] = None   # stored as the first step's; each step had its own
            # the test is filed under its evidence rep's set; a test that ran across a rest (two sets)
            # has steps in both: only this set's steps, by the evidence rep's set key, when that is clear
            steps = json.loads(test["reps"] or "[]")
            if any("in_filed_set" in step for step in steps):
                here = [step for step in steps if step["in_filed_set"]]
            else:   # stored before the mark: only a test that stayed in one set is certain
                here = steps if len({step["set_key"] for step in steps}) == 1 else []
            own = {step["rep_index"]: step["target_deg"] for step in here}
            for rep in result["reps"]:   # the test's record of its steps first (older reps stored none)
                rep["target_deg"] = own.get(rep["index"], rep["target_deg"])
        else:
            for rep in result["reps"]:
                if rep["target_deg"] is None:   # stored before reps kept their own: the set's
                    rep["target_deg"] = row["target_depth_deg"]
        return result

    def get_rep(self, rep_id: int) -> dict | None:
        """The rep, with its set's view-gate verdict (set_view, set_setup_issue, set_setup_advice)."""
        row = self.conn.execute("SELECT r.*, s.view AS set_view, s.setup_issue AS set_setup_issue, "
                                "s.setup_advice AS set_setup_advice FROM reps r JOIN sets s ON s.id = r.set_id "
                                "WHERE r.id = ?", (rep_id,)).fetchone()
        return self._rep_dict(row, True, row["set_setup_issue"]) if row else None

    def list_sets(self, limit: int = 50, offset: int = 0, lifter: str | None = None,
                  since: float | None = None) -> list[dict]:
        # a set that was not judged has no onset or suggested depth (sets stored before that rule kept them)
        sql = ("SELECT s.id, s.started_at, s.ended_at, s.rep_count, "
               "CASE WHEN s.setup_issue IS NULL THEN s.wink_onset_deg END AS wink_onset_deg, "
               "CASE WHEN s.setup_issue IS NULL THEN s.suggested_depth_deg END AS suggested_depth_deg, "
               "CASE WHEN t.id IS NULL THEN s.target_depth_deg END AS target_depth_deg, t.id AS selftest_id, "
               "s.end_reason, s.summary, s.view, s.setup_issue, s.setup_advice, l.name AS lifter, "
               "CASE WHEN s.setup_issue IS NULL THEN "
               "(SELECT AVG(max_depth_deg) FROM reps WHERE set_id = s.id AND side_view "
               "AND depth_verdict IS NOT 'unknown') END AS mean_depth_deg, "
               "CASE WHEN s.setup_issue IS NULL THEN "
               "(SELECT COALESCE(SUM(wink), 0) FROM reps WHERE set_id = s.id AND side_view) ELSE 0 END AS wink_reps, "
               "CASE WHEN s.setup_issue IS NULL THEN "
               "(SELECT COUNT(*) FROM reps WHERE set_id = s.id AND side_view AND wink_judged) ELSE 0 END "
               "AS back_seen_reps, "
               "(SELECT COUNT(*) FROM reps WHERE set_id = s.id AND side_view AND NOT wink_judged "
               "AND setup_issue = 'head_out') AS head_out_reps "
               "FROM sets s JOIN lifters l ON l.id = s.lifter_id "
               # a self-test set's steps each had a target of their own (get_set's rule: the newest test)
               "LEFT JOIN selftests t ON t.id = (SELECT MAX(id) FROM selftests WHERE set_id = s.id) WHERE 1=1")
        args: list = []
        if lifter:
            sql += " AND l.name = ?"
            args.append(lifter)
        if since is not None:
            sql += " AND s.started_at >= ?"
            args.append(since)
        sql += " ORDER BY s.id DESC LIMIT ? OFFSET ?"   # newest recorded first: see last_set_id
        return [dict(r) for r in self.conn.execute(sql, args + [limit, offset])]

    # --- self-tests ---------------------------------------------------------------------------
    SELFTEST_SUMMARY = ("t.id, t.started_at, t.ended_at, t.outcome, t.onset_deg, t.safe_depth_deg, t.margin_deg, "
                        "t.confirmed, t.full_depth_deg, t.deepest_deg, t.reached_full_depth, t.set_id, "
                        "t.evidence_rep_idx, t.message, l.name AS lifter")

    def list_selftests(self, lifter: str | None = None, limit: int = 50) -> list[dict]:
        """Finished self-tests, newest first, without their evidence."""
        sql = f"SELECT {self.SELFTEST_SUMMARY} FROM selftests t JOIN lifters l ON l.id = t.lifter_id"
        args: list = []
        if lifter:
            sql += " WHERE l.name = ?"
            args.append(lifter)
        rows = self.conn.execute(sql + " ORDER BY t.id DESC LIMIT ?", args + [limit])
        return [self._selftest_dict(r) for r in rows]

    def get_selftest(self, test_id: int) -> dict | None:
        """One self-test with its reps and evidence; `evidence_rep_id` links the evidence rep while
        its set is still kept."""
        row = self.conn.execute(f"SELECT {self.SELFTEST_SUMMARY}, t.evidence, t.reps FROM selftests t "
                                "JOIN lifters l ON l.id = t.lifter_id WHERE t.id = ?", (test_id,)).fetchone()
        if row is None:
            return None
        data = self._selftest_dict(row)
        data["evidence"] = json.loads(row["evidence"]) if row["evidence"] else None
        data["reps"] = json.loads(row["reps"]) if row["reps"] else []
        rep = None
        if row["set_id"] is not None and row["evidence_rep_idx"] is not None:
            rep = self.conn.execute("SELECT id FROM reps WHERE set_id = ? AND idx = ?",
                                    (row["set_id"], row["evidence_rep_idx"])).fetchone()
        data["evidence_rep_id"] = rep["id"] if rep else None
        return data

    def last_selftest_id(self, lifter: str | None = None) -> int | None:
        tests = self.list_selftests(lifter, limit=1)
        return tests[0]["id"] if tests else None

    @staticmethod
    def _selftest_dict(row: sqlite3.Row) -> dict:
        data = {k: row[k] for k in row.keys() if k not in ("evidence", "reps")}
        for flag in ("confirmed", "reached_full_depth"):
            data[flag] = bool(data[flag])
        return data

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def quick_check(self) -> str:
        """'ok', or SQLite's first complaint: the b-trees' structure, without the index cross-check
        integrity_check adds (a few seconds for the largest history an SD card keeps)."""
        return str(self.conn.execute("PRAGMA quick_check(1)").fetchone()[0])

    def close_interrupted_sets(self) -> int:
        """Sets a killed process left open (no end_reason) end where their last rep ended, as
        'interrupted'; only ever called by the one writer, before it writes anything."""
        with transaction(self.conn):
            return self.conn.execute(
                "UPDATE sets SET end_reason = 'interrupted', ended_at = COALESCE(ended_at, started_at), "
                "rep_count = (SELECT COUNT(*) FROM reps WHERE set_id = sets.id), "
                "summary = COALESCE(summary, ?) WHERE end_reason IS NULL", (INTERRUPTED_SUMMARY,)).rowcount

    @staticmethod
    def _rep_dict(row: sqlite3.Row, with_series: bool, set_issue: str | None) -> dict:
        """A rep as the pages and the API show it: depth only where it was judged (None otherwise)."""
        rep = public_rep(row, set_issue)
        if with_series and row["series"] is not None:
            series = decode_series(row["series"])
            rep["series"] = {k: (_listed(v) if isinstance(v, np.ndarray) else v) for k, v in series.items()}
            rep["series"]["joint_names"] = list(SERIES_JOINTS)
        return rep

    # --- export -----------------------------------------------------------------------------
    def export_json(self, set_id: int) -> str | None:
        data = self.get_set(set_id, with_series=True)
        return None if data is None else json.dumps(data, indent=1)

    def export_csv(self, set_id: int) -> str | None:
        data = self.get_set(set_id)
        if data is None:
            return None
        out = io.StringIO()
        writer = csv.writer(out)
        # columns added to the reps table after CSV_EXTRA existed go after it: readers count on the order
        later = ("target_deg",)
        names = [PUBLIC_NAMES.get(c, c) for c in REP_COLUMNS if c not in later]
        writer.writerow(["set_id", "lifter", "set_started_at"] + names + list(CSV_EXTRA) + list(later))
        for rep in data["reps"]:
            writer.writerow([data["id"], data["lifter"], data["started_at"]] + [rep[c] for c in names]
                            + [rep["judged"], data["setup_issue"] or ""] + [rep[c] for c in later])
        return out.getvalue()
