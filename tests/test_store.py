"""SQLite history: migrations, series round trip, retention, exports, and crash safety under SIGKILL."""

from __future__ import annotations

import io
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from station.analysis import RepResult, SetResult
from station.sim.evaluate import run_analysis
from station.sim.lifter import CameraParams, LifterParams, simulate_set
from station.sim.noise import noisy_keypoints
from station.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreWriter, connect


def _analysed(reps=3, seed=1, **kw):
    truth = simulate_set(LifterParams(reps=reps, **kw), CameraParams(), seed=seed)
    return run_analysis(noisy_keypoints(truth, seed=seed))


def test_fresh_database_is_at_the_current_schema_with_wal(tmp_path):
    conn = connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT name FROM lifters").fetchall()[0][0] == "default"


def test_version_1_database_migrates_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    for statement in filter(str.strip, MIGRATIONS[0].split(";")):
        raw.execute(statement)
    raw.execute("INSERT INTO sets (lifter_id, started_at, target_depth_deg) VALUES (1, 100.0, 0.0)")
    raw.execute("PRAGMA user_version=1")
    raw.commit()
    raw.close()
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    indexes = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"sets_by_time", "reps_by_set"} <= indexes
    assert store.list_sets()[0]["started_at"] == 100.0


def test_newer_schema_is_refused_clearly(tmp_path):
    path = tmp_path / "future.db"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    raw.close()
    try:
        Store(path)
    except Exception as exc:
        assert "newer than this station" in str(exc)
    else:
        raise AssertionError("a newer schema must not be opened")


def test_reps_sets_series_and_exports_round_trip(tmp_path):
    reps, sets = _analysed(reps=3)
    writer = StoreWriter(tmp_path / "s.db", lifter="ana")
    start = time.time()
    for rep in reps:
        writer.rep_finished(7, start, start, 0.0, rep)
    writer.set_finished(7, start, sets[0])
    assert writer.flush()
    writer.close()
    store = Store(tmp_path / "s.db")
    set_id = store.last_set_id("ana")
    data = store.get_set(set_id, with_series=True)
    assert data["rep_count"] == 3 and data["lifter"] == "ana" and data["summary"] == sets[0].summary
    series = data["reps"][0]["series"]
    assert np.allclose(series["thigh_deg"], reps[0].series.thigh_deg, atol=0.01)
    assert len(series["joints"]) == len(reps[0].series.t)
    csv_text = store.export_csv(set_id)
    assert csv_text.count("\n") == 4 and "max_depth_deg" in csv_text.splitlines()[0]
    exported = json.loads(store.export_json(set_id))
    assert exported["reps"][2]["index"] == 3 and "series" in exported["reps"][2]


def test_the_last_set_is_the_one_recorded_last_even_when_the_clock_was_set_back(tmp_path):
    """after a power cut without network time the Pi's clock resumes from when it was last saved: the
    set just finished is dated before the previous one, and the Last set page must still show it"""
    reps, sets = _analysed(reps=2)
    store = Store(tmp_path / "s.db")
    earlier = store.add_rep(None, "ana", 5000.0, 5000.0, 0.0, reps[0])
    store.finish_set(earlier, 5060.0, sets[0])
    after_cut = store.add_rep(None, "ana", 3000.0, 3000.0, 0.0, reps[1])   # recorded later, dated earlier
    assert store.last_set_id() == after_cut and store.last_set_id("ana") == after_cut
    assert [s["id"] for s in store.list_sets()] == [after_cut, earlier], "History: newest recorded first too"
    first = store.add_selftest(5000.0, 5060.0, _selftest_result(lifter="ana"))
    second = store.add_selftest(3000.0, 3060.0, _selftest_result("incomplete", lifter="ana"))
    assert store.last_selftest_id("ana") == second != first and store.last_selftest_id() == second
    store.close()


def test_retention_by_age_and_size(tmp_path):
    reps, _ = _analysed(reps=2)
    store = Store(tmp_path / "s.db", retention_days=30, max_db_mb=10)
    now = time.time()
    for age_days in (100, 40, 10, 1):
        store.add_rep(None, "default", now - age_days * 86400, now - age_days * 86400, 0.0, reps[0])
    assert store.apply_retention(now) == 2
    assert len(store.list_sets()) == 2
    store.max_db_mb = 0  # over any size: everything old goes, the card never fills
    store.apply_retention(now)
    assert store.list_sets() == []
    assert store.integrity_ok()


@pytest.mark.parametrize("auto_vacuum", [True, False])
def test_the_size_limit_drops_only_the_oldest_sets(tmp_path, auto_vacuum):
    """Over the size limit the oldest sets go until the history fits, and no more. A file made
    without auto_vacuum (an older station's) never shrinks: measured by its file size, the limit
    once emptied the whole history."""

    path = tmp_path / "s.db"
    if not auto_vacuum:
        legacy = sqlite3.connect(path)
        legacy.execute("PRAGMA auto_vacuum=NONE")
        legacy.execute("CREATE TABLE notes (x)")
        legacy.close()
    reps, _ = _analysed(reps=2)
    store = Store(path, retention_days=3650)
    assert store.conn.execute("PRAGMA auto_vacuum").fetchone()[0] == (2 if auto_vacuum else 0)
    now = time.time()
    for k in range(30):
        set_id = store.add_rep(None, "default", now - (30 - k) * 3600, now, 0.0, reps[0])
        store.add_rep(set_id, "default", now - (30 - k) * 3600, now, 0.0, reps[1])
    full = store._used_mb()
    store.max_db_mb = full * 0.6
    removed = store.apply_retention(now)
    kept = store.list_sets(limit=100)
    assert 5 <= removed <= 20 and len(kept) == 30 - removed, "the oldest went, most of the history stays"
    assert store._used_mb() <= full * 0.6
    assert min(s["started_at"] for s in kept) == now - (30 - removed) * 3600
    assert store.integrity_ok()


def test_disk_full_keeps_the_rep_in_memory_and_says_so(tmp_path, caplog):
    """And at close says how many were lost and why (it said ": None"), and counts them for the
    exit code."""
    reps, _ = _analysed(reps=1)
    writer = StoreWriter(tmp_path / "s.db", min_free_mb=10**9)  # more than any disk has
    writer.rep_finished(1, time.time(), time.time(), 0.0, reps[0])
    writer.flush()
    with caplog.at_level("ERROR"):
        assert writer.close() == 1
    assert writer.disk_full and writer.unsaved == [reps[0]]
    assert "lost with this process: the disk is nearly full" in caplog.text and "None" not in caplog.text


WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from station.store import Store
    from station.sim.evaluate import run_analysis
    from station.sim.lifter import CameraParams, LifterParams, simulate_set
    from station.sim.noise import noisy_keypoints
    reps, _ = run_analysis(noisy_keypoints(simulate_set(LifterParams(reps=2), CameraParams(), seed=3)))
    store = Store(sys.argv[1])
    while True:
        set_id = None
        for rep in reps:
            set_id = store.add_rep(set_id, "default", time.time(), time.time(), 0.0, rep)
            print(set_id, rep.index, flush=True)
""")


def test_crash_safety_under_sigkill(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    db = tmp_path / "crash.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=root))
    rng = random.Random(0)
    committed: set[tuple[int, int]] = set()
    for _ in range(50):
        proc = subprocess.Popen([sys.executable, str(script), str(db)], stdout=subprocess.PIPE, text=True)
        # wait for 1-4 commits (counted, not timed: a loaded machine only makes this slower), then
        # kill after a random few ms so the kill lands somewhere in the middle of the next write
        lines = [proc.stdout.readline() for _ in range(rng.randint(1, 4))]
        time.sleep(rng.uniform(0.0, 0.02))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        lines += rest.splitlines()
        for line in lines:
            parts = line.split()
            if len(parts) == 2:
                committed.add((int(parts[0]), int(parts[1])))
        store = Store(db)
        assert store.integrity_ok()
        present = {(r[0], r[1]) for r in store.conn.execute("SELECT set_id, idx FROM reps")}
        assert committed <= present, f"lost {sorted(committed - present)[:5]}"
        store.close()
    assert len(committed) >= 50 + 25, "more than the first commit of each run was checked"


# --- the view gate's fields (schema 3) --------------------------------------------------------

FRONT_ADVICE = "Cannot judge from here: the camera sees you from the front. Turn the camera so it sees your side."


def _rep(index, depth=-3.0, verdict="below", lean=None, knee=None, heel=None, side_view=True, uncertainty=2.5,
         **view):
    """A rep built directly: secondary numbers None mean 'not measurable from this view'."""
    return RepResult(index=index, start_t=index * 3.0, bottom_t=index * 3.0 + 1.0, end_t=index * 3.0 + 2.2,
                     max_depth_deg=depth, below_parallel=verdict == "below", reached_target=verdict == "below",
                     tut_s=2.2, down_s=1.1, up_s=0.9, max_trunk_lean_deg=lean, knee_travel_cm=knee,
                     heel_lift_cm=heel, wink=False, wink_onset_deg=None, wink_magnitude_deg=0.0, wink_confidence=0.0,
                     depth_verdict=verdict, depth_uncertainty_deg=uncertainty, side_view=side_view, **view)


def _set(reps, **kw):
    return SetResult(index=1, start_t=0.0, end_t=12.0, end_reason="idle", target_depth_deg=0.0, reps=reps,
                     summary="3 reps", **kw)


def _database_at(path, version: int) -> sqlite3.Connection:
    """A raw database migrated only up to `version` (an older station's file)."""
    raw = sqlite3.connect(path)
    for migration in MIGRATIONS[:version]:
        for statement in filter(str.strip, migration.split(";")):
            raw.execute(statement)
    return raw


def test_version_2_database_gains_the_view_gate_columns_and_keeps_its_verdicts(tmp_path):
    path = tmp_path / "v2.db"
    raw = _database_at(path, 2)
    raw.execute("INSERT INTO sets (lifter_id, started_at, target_depth_deg, rep_count) VALUES (1, 100.0, 0.0, 2)")
    for idx, depth, below in ((1, -6.0, 1), (2, 9.0, 0)):
        raw.execute("INSERT INTO reps (set_id, idx, started_at, max_depth_deg, below_parallel, reached_target, wink, "
                    "max_trunk_lean_deg, knee_travel_cm, heel_lift_cm) VALUES (1, ?, 100.0, ?, ?, ?, 0, 40, 10, 0)",
                    (idx, depth, below, below))
    raw.execute("PRAGMA user_version=2")
    raw.commit()
    raw.close()
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
    data = store.get_set(1)
    assert data["view"] is None and data["setup_issue"] is None and data["setup_advice"] is None
    assert [r["depth_verdict"] for r in data["reps"]] == ["below", "above"]
    assert all(r["side_view"] and r["judged"] and r["depth_uncertainty_deg"] is None for r in data["reps"])
    assert [r["max_depth_deg"] for r in data["reps"]] == [-6.0, 9.0] and data["reps"][0]["knee_travel_cm"] == 10
    assert store.integrity_ok()


def test_verdicts_and_absent_secondary_numbers_round_trip_as_none(tmp_path):
    reps = [_rep(1, -4.0, "below", lean=41.5, knee=11.0, heel=0.0), _rep(2, 0.8, "parallel"), _rep(3, 7.0, "above")]
    store = Store(tmp_path / "s.db")
    set_id = None
    for rep in reps:
        set_id = store.add_rep(set_id, "default", 1000.0, 1000.0, 0.0, rep)
    store.finish_set(set_id, 1000.0, _set(reps, view="side"))
    data = store.get_set(set_id)
    assert data["view"] == "side" and data["setup_issue"] is None
    got = data["reps"]
    assert [r["depth_verdict"] for r in got] == ["below", "parallel", "above"]
    assert got[1]["depth_uncertainty_deg"] == 2.5 and got[1]["side_view"] is True
    assert (got[0]["max_trunk_lean_deg"], got[0]["knee_travel_cm"], got[0]["heel_lift_cm"]) == (41.5, 11.0, 0.0)
    for r in got[1:]:
        assert r["max_trunk_lean_deg"] is None and r["knee_travel_cm"] is None and r["heel_lift_cm"] is None
    row = store.conn.execute("SELECT knee_travel_cm FROM reps WHERE idx = 2").fetchone()
    assert row[0] is None, "stored as NULL, not 0"
    csv_lines = store.export_csv(set_id).splitlines()
    assert "depth_verdict" in csv_lines[0] and ",parallel," in csv_lines[2]


def test_a_set_the_view_gate_could_not_judge_shows_no_depth(tmp_path):
    reps = [_rep(1, -12.0, "below", side_view=False), _rep(2, -11.0, "below", side_view=False)]
    store = Store(tmp_path / "s.db")
    set_id = None
    for rep in reps:
        set_id = store.add_rep(set_id, "default", 1000.0, 1000.0, 0.0, rep)
    store.finish_set(set_id, 1000.0, _set(reps, view="front", setup_issue="front_view", setup_advice=FRONT_ADVICE))
    data = store.get_set(set_id)
    assert data["view"] == "front" and data["setup_advice"] == FRONT_ADVICE
    for rep in data["reps"]:
        assert rep["judged"] is False
        assert rep["max_depth_deg"] is None and rep["depth_verdict"] is None and rep["below_parallel"] is None
    assert store.list_sets()[0]["mean_depth_deg"] is None
    assert store.list_sets()[0]["setup_issue"] == "front_view"
    rep = store.get_rep(1)
    assert rep["set_setup_advice"] == FRONT_ADVICE and rep["max_depth_deg"] is None
    raw = store.conn.execute("SELECT max_depth_deg FROM reps WHERE id = 1").fetchone()[0]
    assert raw == -12.0, "the raw measurement stays in the database, only the readers withhold it"


def test_a_rep_the_gate_could_not_judge_has_no_depth_in_a_judged_set(tmp_path):
    reps = [_rep(1, -5.0, "below"), _rep(2, -9.0, "below", side_view=False),
            _rep(3, -30.0, "unknown", view="side", setup_issue="feet_out")]
    store = Store(tmp_path / "s.db")
    set_id = None
    for rep in reps:
        set_id = store.add_rep(set_id, "default", 1000.0, 1000.0, 0.0, rep)
    got = store.get_set(set_id)["reps"]
    assert got[0]["max_depth_deg"] == -5.0 and got[0]["judged"]
    assert [r["max_depth_deg"] for r in got[1:]] == [None, None] and not got[1]["judged"] and not got[2]["judged"]
    assert (got[2]["view"], got[2]["setup_issue"]) == ("side", "feet_out")
    assert store.list_sets()[0]["mean_depth_deg"] == -5.0, "the mean leaves out the reps it could not judge"


def test_an_unjudged_set_without_reps_is_kept_with_its_advice(tmp_path):
    writer = StoreWriter(tmp_path / "s.db", lifter="ana")
    writer.set_finished(4, time.time(), _set([], view="front", setup_issue="front_view", setup_advice=FRONT_ADVICE))
    writer.set_finished(5, time.time(), _set([]))  # an ordinary empty set leaves nothing behind
    assert writer.flush()
    writer.close()
    store = Store(tmp_path / "s.db")
    sets = store.list_sets()
    assert len(sets) == 1 and sets[0]["lifter"] == "ana" and sets[0]["rep_count"] == 0
    assert sets[0]["setup_advice"] == FRONT_ADVICE


# --- schema 5: the self-test and each lifter's own target depth -----------------------------------

def _selftest_result(outcome="rounding", lifter="maria", onset=-6.0, safe=-1.0, deepest=-20.0):
    from station.analysis.selftest import SelfTestRep, SelfTestResult

    reps = [SelfTestRep(1, 1, 1, 25.0, True, 20.0, note="No rounding."),
            SelfTestRep(2, 2, 1, 18.0, True, deepest, True, onset, 0.9, note="Lower back rounded.")]
    return SelfTestResult(outcome=outcome, lifter=lifter, onset_deg=onset if outcome == "rounding" else None,
                          safe_depth_deg=safe if outcome == "rounding" else None, confirmed=True,
                          deepest_deg=deepest, evidence_rep=2, message=f"{outcome} for {lifter}", reps=reps)


def test_a_self_test_across_a_rest_gives_each_set_its_own_steps_targets(tmp_path):
    """A rest between self-test reps starts a new set: steps 1-2 in one set, 3-4 in the next. The test
    is filed under its evidence rep's set (the first here); that set's reps get their own targets,
    never the other set's by rep number."""
    from station.analysis.selftest import SelfTestRep, SelfTestResult

    reps, _ = _analysed(reps=2)
    steps = [SelfTestRep(1, 1, 1, 25.0, True, 22.0), SelfTestRep(2, 2, 1, 18.0, True, -8.0, True, -4.0, 0.99),
             SelfTestRep(3, 1, 2, 12.0, True, 10.0), SelfTestRep(4, 2, 2, 6.0, True, 5.0)]
    result = SelfTestResult(outcome="rounding", lifter="maria", onset_deg=-4.0, safe_depth_deg=1.0, confirmed=True,
                            deepest_deg=-8.0, evidence_rep=2, message="m", reps=steps)
    store = Store(tmp_path / "s.db")
    first = second = None
    for rep in reps:
        first = store.add_rep(first, "maria", 100.0, 100.0, 25.0, rep)
    for rep in reps:
        second = store.add_rep(second, "maria", 400.0, 400.0, 12.0, rep)
    test_id = store.add_selftest(100.0, 500.0, result, first, 2, EVIDENCE)
    shown = store.get_set(first)
    assert shown["selftest_id"] == test_id
    assert [r["target_deg"] for r in shown["reps"]] == [25.0, 18.0], "its own steps, not the second set's"
    assert store.get_set(second)["selftest_id"] is None
    assert [r["target_deg"] for r in store.get_set(second)["reps"]] == [12.0, 12.0], "each rep keeps its own"
    store.close()


def test_each_rep_keeps_the_target_it_was_judged_against_in_the_api_and_the_csv(tmp_path):
    """A self-test that ends mid-set sets a new target for the set's next reps: those showed a bare
    tick, with no target anywhere, and the CSV had no target column at all."""
    import csv as csv_mod

    reps, _ = _analysed(reps=3)
    store = Store(tmp_path / "s.db")
    set_id = None
    for rep, target in zip(reps, (0.0, 0.0, 1.3)):   # the lifter's new safe depth from rep 3 on
        set_id = store.add_rep(set_id, "maria", 100.0, 100.0, target, rep)
    shown = store.get_set(set_id)
    assert [r["target_deg"] for r in shown["reps"]] == [0.0, 0.0, 1.3]
    rows = list(csv_mod.DictReader(io.StringIO(store.export_csv(set_id))))
    assert [float(r["target_deg"]) for r in rows] == [0.0, 0.0, 1.3]
    assert list(rows[0])[-3:] == ["judged", "set_setup_issue", "target_deg"], "after the older columns"
    store.close()


EVIDENCE = {"joint_names": ["ear", "shoulder", "hip", "knee", "ankle", "wrist"], "frame_size": [640, 480],
            "onset": {"index": 3, "t": 0.1, "depth_deg": -6.0, "joints": [[1.0, 2.0]] * 6},
            "bottom": {"index": 9, "t": 0.3, "depth_deg": -20.0, "joints": [[3.0, 4.0]] * 6}}


def test_version_4_database_gains_the_self_test_tables_and_keeps_its_data(tmp_path):
    """... and (schema 6) whether each rep's lower back was seen: an old rep keeps the answer it was
    shown with (seen)."""
    path = tmp_path / "v4.db"
    raw = _database_at(path, 4)
    raw.execute("INSERT INTO lifters (name, created_at) VALUES ('maria', 100.0)")
    raw.execute("INSERT INTO sets (lifter_id, started_at, target_depth_deg, rep_count, view) "
                "VALUES (2, 100.0, 0.0, 1, 'side')")
    raw.execute("INSERT INTO reps (set_id, idx, started_at, max_depth_deg, below_parallel, reached_target, wink, "
                "depth_verdict, view) VALUES (1, 1, 100.0, -6.0, 1, 1, 0, 'below', 'side')")
    raw.execute("PRAGMA user_version=4")
    raw.commit()
    raw.close()
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 8
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "selftests" in tables
    assert store.lifter_target("maria") is None and store.lifter_target("default") is None
    assert store.list_selftests() == [] and store.last_selftest_id("maria") is None
    data = store.get_set(1)
    assert data["lifter"] == "maria" and data["reps"][0]["max_depth_deg"] == -6.0
    assert data["reps"][0]["wink_judged"] is True
    assert data["reps"][0]["target_deg"] == 0.0, "(schema 7) an old rep's target is its set's"
    assert store.integrity_ok()
    store.close()


def test_a_self_test_round_trips_and_sets_or_clears_the_lifters_target(tmp_path):
    reps, _ = _analysed(reps=2)
    store = Store(tmp_path / "s.db")
    set_id = None
    for rep in reps:
        set_id = store.add_rep(set_id, "maria", 100.0, 100.0, 0.0, rep)
    first = store.add_selftest(100.0, 160.0, _selftest_result(), set_id, 2, EVIDENCE)
    assert store.lifter_target("maria") == -1.0 and store.lifter_target("default") is None
    assert store.lifter_onset("maria") == -6.0 and store.lifter_onset("default") is None
    test = store.get_selftest(first)
    assert test["outcome"] == "rounding" and test["onset_deg"] == -6.0 and test["safe_depth_deg"] == -1.0
    assert test["confirmed"] is True and test["lifter"] == "maria" and test["evidence"] == EVIDENCE
    assert [r["number"] for r in test["reps"]] == [1, 2] and test["reps"][1]["onset_deg"] == -6.0
    assert test["evidence_rep_id"] == store.get_set(set_id)["reps"][1]["id"]
    # an incomplete test keeps the target; one without rounding hands back the configured target
    store.add_selftest(200.0, 230.0, _selftest_result("incomplete"))
    assert store.lifter_target("maria") == -1.0
    store.add_selftest(300.0, 360.0, _selftest_result("no_rounding", deepest=-31.0))
    assert store.lifter_target("maria") is None and store.lifter_onset("maria") is None
    assert [t["outcome"] for t in store.list_selftests("maria")] == ["no_rounding", "incomplete", "rounding"]
    assert store.list_selftests("nobody") == [] and store.get_selftest(999) is None
    # the evidence outlives its set (once the set has finished: one in progress is not deleted)
    assert store.delete_set(set_id) is None and store.get_set(set_id) is not None
    store.finish_set(set_id, 170.0, _set(reps))
    assert store.delete_set(set_id) is True and store.delete_set(set_id) is False
    kept = store.get_selftest(first)
    assert kept["set_id"] is None and kept["evidence_rep_id"] is None and kept["evidence"] == EVIDENCE
    assert store.integrity_ok()


def test_the_writer_links_a_self_test_to_its_set_and_retention_keeps_the_one_in_use(tmp_path):
    reps, _ = _analysed(reps=2)
    writer = StoreWriter(tmp_path / "s.db", lifter="maria", retention_days=30)
    old = time.time() - 60 * 86400
    for rep in reps:
        writer.rep_finished(3, old, old, 0.0, rep)
    writer.selftest_finished(old, old + 60, _selftest_result(), 3, 2, EVIDENCE)
    writer.selftest_finished(old, old + 60, _selftest_result("incomplete"))
    assert writer.flush()
    writer.close()
    store = Store(tmp_path / "s.db", retention_days=30)
    tests = store.list_selftests("maria")
    assert tests[-1]["set_id"] == store.last_set_id("maria") and tests[-1]["evidence_rep_idx"] == 2
    store.apply_retention()
    assert [t["outcome"] for t in store.list_selftests("maria")] == ["rounding"], \
        "an old test goes, but not the one that set the lifter's target"
    assert store.lifter_target("maria") == -1.0


# --- reliability (issue 11): backups, interrupted sets, a writer that never dies or loses a rep ----------

NOW = time.time()  # sets older than the retention limit would be pruned when a writer starts

def test_an_upgrade_backs_the_database_up_first_and_keeps_the_last_two(tmp_path):
    from station.store.db import BACKUPS_KEPT

    path = tmp_path / "station.db"
    for version in (1, 2, 3, 4):   # four upgrades from four older stations
        for stale in tmp_path.glob("station.db*"):
            if ".bak-" not in stale.name:
                stale.unlink()
        raw = _database_at(path, version)
        raw.execute("INSERT INTO sets (lifter_id, started_at, target_depth_deg) VALUES (1, ?, 0.0)", (100.0 + version,))
        raw.execute(f"PRAGMA user_version={version}")
        raw.commit()
        raw.close()
        Store(path).close()
        backup = tmp_path / f"station.db.bak-v{version}"
        assert backup.exists(), "a copy of the old file before its schema changed"
        old = sqlite3.connect(backup)
        assert old.execute("PRAGMA user_version").fetchone()[0] == version
        assert old.execute("SELECT started_at FROM sets").fetchone()[0] == 100.0 + version
        old.close()
    assert sorted(p.name for p in tmp_path.glob("station.db.bak-v*")) == ["station.db.bak-v3", "station.db.bak-v4"]
    assert BACKUPS_KEPT == 2
    Store(path).close()   # at the current schema: no new backup
    assert len(list(tmp_path.glob("station.db.bak-v*"))) == 2


def test_a_fresh_database_is_not_backed_up(tmp_path):
    Store(tmp_path / "station.db").close()
    assert not list(tmp_path.glob("*.bak-v*"))


def test_the_writer_queue_holds_named_records_and_series_columns_are_named(tmp_path):
    from station.store import SERIES_COLUMNS, Flush, RepDone, SetDone, decode_series, encode_series

    reps, sets = _analysed(reps=1)
    writer = StoreWriter(tmp_path / "s.db")
    seen = []
    writer._queue.put = seen.append          # look at what the frame loop hands over
    writer.rep_finished(1, NOW, NOW, 0.0, reps[0])
    writer.set_finished(1, NOW, sets[0])
    assert [type(i) for i in seen] == [RepDone, SetDone] and seen[0].rep is reps[0] and seen[1].result is sets[0]
    del writer._queue.put
    writer.close()
    decoded = decode_series(encode_series(reps[0].series))
    for name in SERIES_COLUMNS:
        assert np.allclose(decoded[name], getattr(reps[0].series, name), atol=1e-3, equal_nan=True), name
    assert decoded["joints"].shape == reps[0].series.joints.shape
    assert Flush is not None


def test_the_api_rep_schema_says_index_not_idx(tmp_path):
    reps, sets = _analysed(reps=2)
    writer = StoreWriter(tmp_path / "s.db")
    for rep in reps:
        writer.rep_finished(1, NOW, NOW, 0.0, rep)
    writer.set_finished(1, NOW, sets[0])
    writer.close()
    store = Store(tmp_path / "s.db")
    data = store.get_set(store.last_set_id())
    assert [r["index"] for r in data["reps"]] == [1, 2] and "idx" not in data["reps"][0]
    assert store.get_rep(data["reps"][1]["id"])["index"] == 2
    assert store.export_csv(data["id"]).splitlines()[0].split(",")[3] == "index"


def test_sets_a_killed_station_left_open_are_closed_as_interrupted_at_the_next_start(tmp_path):
    reps, _ = _analysed(reps=2)
    store = Store(tmp_path / "s.db")
    set_id = None
    for rep in reps:   # two reps committed, then the process "dies": no set end
        set_id = store.add_rep(set_id, "default", NOW, NOW, 0.0, rep)
    store.close()
    assert Store(tmp_path / "s.db").get_set(set_id)["end_reason"] is None
    StoreWriter(tmp_path / "s.db").close()
    data = Store(tmp_path / "s.db").get_set(set_id)
    assert data["end_reason"] == "interrupted" and data["summary"].startswith("Interrupted")
    assert data["ended_at"] == NOW + reps[-1].end_t and data["rep_count"] == 2


def test_a_second_writer_does_not_close_the_first_ones_set(tmp_path):
    reps, _ = _analysed(reps=1)
    first = StoreWriter(tmp_path / "s.db")
    first.rep_finished(1, NOW, NOW, 0.0, reps[0])
    assert first.flush()
    second = StoreWriter(tmp_path / "s.db")
    second.close()
    store = Store(tmp_path / "s.db")
    assert store.get_set(store.last_set_id())["end_reason"] is None, "the first station's set is still going"
    first.close()


class FakeDisk:
    """Free space the test controls: Store.free_mb is patched, so 'full' and 'freed' need no real disk."""

    def __init__(self, free_mb=10_000.0):
        self.free_mb = free_mb

    def __call__(self, _store):
        return self.free_mb


def test_disk_full_mid_set_then_freed_writes_every_held_rep_and_the_count_matches(tmp_path, monkeypatch):
    reps, sets = _analysed(reps=4)
    disk = FakeDisk()
    monkeypatch.setattr(Store, "free_mb", lambda _self: disk.free_mb)
    writer = StoreWriter(tmp_path / "s.db", min_free_mb=200)
    writer.rep_finished(1, NOW, NOW, 0.0, reps[0])
    assert writer.flush()
    disk.free_mb = 50                      # the card fills mid-set
    writer.rep_finished(1, NOW, NOW, 0.0, reps[1])
    writer.rep_finished(1, NOW, NOW, 0.0, reps[2])
    assert writer.flush()
    assert writer.disk_full and writer.unsaved == reps[1:3] and writer.status()["unsaved"] == 2
    disk.free_mb = 10_000                  # and is freed again
    writer.rep_finished(1, NOW, NOW, 0.0, reps[3])
    writer.set_finished(1, NOW, sets[0])
    assert writer.flush()
    assert not writer.disk_full and writer.unsaved == [] and writer.last_error is None
    writer.close()
    store = Store(tmp_path / "s.db")
    data = store.get_set(store.last_set_id())
    assert [r["index"] for r in data["reps"]] == [1, 2, 3, 4] and data["rep_count"] == 4
    assert data["summary"] == sets[0].summary


def test_a_set_held_through_a_full_disk_is_filed_under_who_lifted_it(tmp_path, monkeypatch):
    """The lifter was read when the rep was written: Ana's reps, held while the card was full, went
    into the history as Bob's once the owner had switched to him in Settings."""
    reps, sets = _analysed(reps=2)
    disk = FakeDisk(50)
    monkeypatch.setattr(Store, "free_mb", lambda _self: disk.free_mb)
    writer = StoreWriter(tmp_path / "s.db", lifter="ana", min_free_mb=200)
    for rep in reps:
        writer.rep_finished(1, NOW, NOW, 0.0, rep)
    writer.set_finished(1, NOW, sets[0])
    assert writer.flush() and len(writer.unsaved) == 2
    writer.lifter = "bob"                  # Settings: the next lifter
    disk.free_mb = 10_000
    writer.rep_finished(2, NOW + 60, NOW + 60, 0.0, reps[0])
    writer.set_finished(2, NOW + 60, sets[0])
    assert writer.flush() and writer.unsaved == []
    writer.close()
    store = Store(tmp_path / "s.db")
    assert sorted((s["lifter"], s["rep_count"]) for s in store.list_sets(10)) == [("ana", 2), ("bob", 1)]


def test_reps_a_stuck_writer_never_reached_are_counted_in_the_log_at_shutdown(tmp_path, monkeypatch, caplog):
    """A writer stuck on a slow card at shutdown: the reps still in its queue were lost without a word."""
    import threading

    reps, _ = _analysed(reps=3)
    release = threading.Event()
    writer = StoreWriter(tmp_path / "s.db")
    real_write = writer._write
    monkeypatch.setattr(writer, "_write", lambda item: (release.wait(5), real_write(item)))
    for rep in reps:
        writer.rep_finished(1, NOW, NOW, 0.0, rep)
    with caplog.at_level("ERROR", logger="station.store.writer"):
        writer.close(timeout=0.2)
    release.set()
    # 2 behind the one being written (3 if the writer had not taken it yet on a loaded machine)
    assert re.search(r"[23] finished reps were still waiting to be written", caplog.text), caplog.text


def test_held_reps_are_written_at_the_set_end_and_by_the_retry_timer(tmp_path, monkeypatch):
    from station.store import writer as writer_mod

    reps, sets = _analysed(reps=2)
    disk = FakeDisk(50)
    monkeypatch.setattr(Store, "free_mb", lambda _self: disk.free_mb)
    monkeypatch.setattr(writer_mod, "RETRY_S", 0.05)
    writer = StoreWriter(tmp_path / "s.db", min_free_mb=200)
    for rep in reps:
        writer.rep_finished(1, NOW, NOW, 0.0, rep)
    writer.set_finished(1, NOW, sets[0])
    assert writer.flush() and len(writer.unsaved) == 2
    disk.free_mb = 10_000                  # nothing new arrives: the timer retries
    deadline = time.monotonic() + 5
    while writer.unsaved and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writer.unsaved == []
    writer.close()
    store = Store(tmp_path / "s.db")
    assert store.get_set(store.last_set_id())["rep_count"] == 2


def test_sqlite_says_the_disk_is_full_and_nothing_is_lost(tmp_path):
    """A real SQLITE_FULL (the file may not grow: max_page_count), not only the free-space threshold."""
    reps, sets = _analysed(reps=3)
    writer = StoreWriter(tmp_path / "s.db")
    writer.rep_finished(1, NOW, NOW, 0.0, reps[0])
    assert writer.flush()
    pages = writer._store.conn.execute("PRAGMA page_count").fetchone()[0]
    writer._store.conn.execute(f"PRAGMA max_page_count={pages}")
    writer.rep_finished(1, NOW, NOW, 0.0, reps[1])
    assert writer.flush()
    assert writer.disk_full and writer.unsaved == [reps[1]] and "full" in writer.last_error
    writer._store.conn.execute("PRAGMA max_page_count=1073741823")
    writer.rep_finished(1, NOW, NOW, 0.0, reps[2])
    writer.set_finished(1, NOW, sets[0])
    assert writer.flush() and writer.unsaved == [] and not writer.disk_full
    writer.close()
    store = Store(tmp_path / "s.db")
    assert store.get_set(store.last_set_id())["rep_count"] == 3 and store.integrity_ok()


def test_the_writer_outlives_a_failure_nobody_foresaw_and_keeps_the_rep(tmp_path, monkeypatch):
    reps, _ = _analysed(reps=2)
    real = Store.add_rep
    calls = []

    def flaky(self, *args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("a bug in a write")
        return real(self, *args, **kw)

    monkeypatch.setattr(Store, "add_rep", flaky)
    writer = StoreWriter(tmp_path / "s.db")
    writer.rep_finished(1, NOW, NOW, 0.0, reps[0])
    writer.rep_finished(1, NOW, NOW, 0.0, reps[1])
    assert writer.flush()
    assert writer._thread.is_alive() and writer.unsaved == [reps[0]] and "a bug in a write" in writer.last_error
    writer.close()
    assert len(Store(tmp_path / "s.db").list_sets()) == 1


def test_close_is_prompt_even_when_the_disk_is_full(tmp_path, monkeypatch):
    reps, _ = _analysed(reps=1)
    monkeypatch.setattr(Store, "free_mb", lambda _self: 0.0)
    writer = StoreWriter(tmp_path / "s.db", min_free_mb=200)
    writer.rep_finished(1, NOW, NOW, 0.0, reps[0])
    started = time.monotonic()
    writer.close()
    assert time.monotonic() - started < 2.0 and not writer._thread.is_alive()


# --- when a set is judged: the same answer in the analysis, the store, the pages and the CLI -------

def _winking(rep, onset):
    rep.wink, rep.wink_onset_deg, rep.wink_confidence = True, onset, 0.99
    return rep


def _summarised_and_stored(path, reps):
    """The set as the analyzer ends it (summarise_set) and as the writer stores it: (result, store, id)."""
    from station.analysis.summary import summarise_set

    result = _set(reps)
    summarise_set(result, margin_deg=5.0)
    store = Store(path)
    set_id = None
    for rep in reps:
        set_id = store.add_rep(set_id, "default", time.time(), time.time(), 0.0, rep)
    store.finish_set(set_id, time.time(), result)
    return result, store, set_id


def test_one_rep_in_the_dark_does_not_hide_five_good_ones_and_their_rounding_stays_theirs(tmp_path):
    """It hid the whole set on the page (every rep 'not judged') while the set's rounding onset and
    suggested depth, computed from the good reps, were still published beside it."""
    from station.app.report import set_table

    reps = [_winking(_rep(i, -8.0, view="side"), -2.0) for i in range(1, 6)]
    reps.append(_rep(6, -8.0, "unknown", side_view=False, view="side", setup_issue="too_dark"))
    result, store, set_id = _summarised_and_stored(tmp_path / "s.db", reps)
    assert result.setup_issue is None and result.wink_onset_deg == -2.0 and result.suggested_depth_deg == 3.0
    assert "(1 not judged). " in result.summary
    assert result.summary.endswith("Rep 6 was not judged: the camera cannot see you clearly. Add light, keep bright "
                                   "windows out of the picture, and make sure no plates or rack uprights stand "
                                   "between it and your hips.")
    shown = store.get_set(set_id)
    assert [r["judged"] for r in shown["reps"]] == [True] * 5 + [False]
    assert shown["reps"][5]["max_depth_deg"] is None and shown["reps"][5]["wink"] is False
    listed = store.list_sets()[0]
    assert listed["mean_depth_deg"] == -8.0 and listed["wink_reps"] == 5
    table = set_table(result).splitlines()
    assert table[3].split()[1] == "-8" and table[-2].split()[1:3] == ["-", "-"]
    reps[0].wink_onset_deg = -10.504    # rounded to -10.5 first, it printed "-10" beside "11 deg" in the sentence
    assert set_table(result).splitlines()[3].split()[-1] == "-11"
    reps[1].max_depth_deg = -0.3        # the pages show 0: the table printed "-0"
    assert set_table(result).splitlines()[4].split()[1] == "0"



def test_analyzes_table_words_a_hidden_back_and_a_one_leg_band_as_the_page_does(tmp_path):
    """Its wink column printed "-" for "no rounding" and for "back hidden" alike, then a bare "no"
    where the pages say "none seen", and a one-leg rep read "-6  at par" where the page says "±6°, one leg"."""
    from station.app.report import set_table

    reps = [_rep(1, -5.5, "parallel", uncertainty=6.0, view="side"), _rep(2, -8.0, view="side"),
            _winking(_rep(3, -8.0, view="side"), -3.0)]
    reps[1].wink_judged = False
    result, store, _ = _summarised_and_stored(tmp_path / "s.db", reps)
    store.close()
    rows = [line.split() for line in set_table(result).splitlines()[3:6]]
    assert rows[0][1:4] == ["-6", "at", "par*"] and rows[0][-3:] == ["none", "seen", "-"]
    assert rows[1][-3:] == ["not", "seen", "-"] and rows[2][-2:] == ["yes", "-3"]
    assert "* seen with one leg only: its verdict's band is +-6 deg, not the usual 3" in set_table(result)


def test_a_set_a_third_of_which_was_not_judged_speaks_for_none_of_its_reps(tmp_path):
    from station.app.report import set_table

    reps = [_winking(_rep(i, -8.0, lean=30.0, knee=12.0, heel=0.0, view="side"), -2.0) for i in range(1, 5)]
    reps += [_rep(i, -8.0, "unknown", side_view=False, view="front", setup_issue="front_view") for i in (5, 6)]
    result, store, set_id = _summarised_and_stored(tmp_path / "s.db", reps)
    assert result.setup_issue == "front_view" and result.wink_onset_deg is None and result.suggested_depth_deg is None
    assert result.summary == "6 reps. " + result.setup_advice
    shown = store.get_set(set_id)
    assert not any(r["judged"] or r["wink"] or r["max_depth_deg"] is not None for r in shown["reps"])
    # the front-view reps' times come from the hips' drop, whose end comes early: none shown; the
    # side-on reps keep theirs (their tempo is measured from the side, whatever the set's verdict)
    assert [(r["tut_s"], r["down_s"], r["up_s"]) for r in shown["reps"]] == [(2.2, 1.1, 0.9)] * 4 + [(None,) * 3] * 2
    assert [line.split()[3:5] for line in set_table(result).splitlines()[3:9]] == [["1.1", "0.9"]] * 4 + [["-", "-"]] * 2
    listed = store.list_sets()[0]
    assert listed["mean_depth_deg"] is None and listed["wink_reps"] == 0
    header, *rows = store.export_csv(set_id).splitlines()
    assert header.endswith(",judged,set_setup_issue,target_deg") and all(",False,front_view," in r for r in rows)
    # a set stored before this rule kept the onset of its side-on reps beside its setup_issue
    store.conn.execute("UPDATE sets SET wink_onset_deg = -2.0, suggested_depth_deg = 3.0 WHERE id = ?", (set_id,))
    assert store.list_sets()[0]["wink_onset_deg"] is None and store.list_sets()[0]["suggested_depth_deg"] is None
    assert store.get_set(set_id)["wink_onset_deg"] is None and store.get_set(set_id)["suggested_depth_deg"] is None
    # station analyze's table: no depth, verdict, lean, knee travel or heel lift where the API has none
    assert all(line.split()[1:3] == ["-", "-"] and line.split()[5:8] == ["-", "-", "-"]
               for line in set_table(result).splitlines()[3:-1])
    assert set_table(result).splitlines()[0].endswith("depth not judged"), "not a bare 'view: side' above it"


def test_the_head_out_of_the_picture_costs_a_note_not_the_depth(tmp_path):
    """head_out is advice, not a block (quality.BLOCKING): the analysis kept the depth and
    `station analyze` printed it, while the API and the page said 'not judged'."""
    from station.app.report import set_dict, set_table

    reps = [_rep(i, -5.0, lean=40.0, view="side", setup_issue="head_out") for i in (1, 2, 3)]
    result, store, set_id = _summarised_and_stored(tmp_path / "s.db", reps)
    assert result.setup_issue is None
    assert "Your head was out of the picture" in result.summary
    assert [r["judged"] and r["max_depth_deg"] for r in set_dict(result)["reps"]] == [-5.0] * 3
    assert set_table(result).splitlines()[3].split()[1:3] == ["-5", "below"]
    assert set_table(result).splitlines()[0].endswith("view: side"), "head out is a note, not a block"
    assert all(r["judged"] and r["max_depth_deg"] == -5.0 for r in store.get_set(set_id)["reps"])
    assert store.list_sets()[0]["mean_depth_deg"] == -5.0


def test_version_7_sets_learn_the_onset_they_were_judged_against(tmp_path):
    """a set stored before schema 8 said "reps 1-3 went deeper than where your lower back began to round"
    while its rows showed green ticks: the migration gives it the onset of the last test before it that
    set (or cleared) the lifter's target"""
    path = tmp_path / "v7.db"
    raw = _database_at(path, 7)
    raw.execute("INSERT INTO lifters (id, name, created_at) VALUES (2, 'ana', 0), (3, 'ben', 0)")
    tests = [(2, 100.0, 160.0, "rounding", -10.0), (2, 300.0, 360.0, "incomplete", None),   # keeps the target
             (2, 500.0, 560.0, "no_rounding", None), (3, 100.0, 160.0, "rounding", -3.0)]
    for lifter, start, end, outcome, onset in tests:
        raw.execute("INSERT INTO selftests (lifter_id, started_at, ended_at, outcome, onset_deg, margin_deg, "
                    "full_depth_deg) VALUES (?, ?, ?, ?, ?, 5.0, -20.0)", (lifter, start, end, outcome, onset))
    sets = [(2, 50.0), (2, 200.0), (2, 400.0), (2, 600.0), (3, 200.0)]
    for lifter, start in sets:
        raw.execute("INSERT INTO sets (lifter_id, started_at, target_depth_deg, rep_count) VALUES (?, ?, -5.0, 1)",
                    (lifter, start))
        raw.execute("INSERT INTO reps (set_id, idx, started_at, max_depth_deg, below_parallel, reached_target, wink, "
                    "max_trunk_lean_deg, knee_travel_cm, heel_lift_cm, depth_verdict, side_view) "
                    "VALUES (last_insert_rowid(), 1, ?, -12.0, 1, 1, 0, 40, 10, 0, 'below', 1)", (start,))
    raw.execute("PRAGMA user_version=7")
    raw.commit()
    raw.close()
    store = Store(path)
    onsets = [store.get_set(set_id)["lifter_onset_deg"] for set_id in range(1, 6)]
    assert onsets == [None, -10.0, -10.0, None, -3.0]
    assert [store.get_set(set_id)["reps"][0]["past_safe_depth"] for set_id in range(1, 6)] == \
        [False, True, True, False, True]
    store.close()
