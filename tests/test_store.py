"""SQLite history: migrations, series round trip, retention, exports, and crash safety under SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np

from station.analysis import RepResult, SetResult
from station.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreWriter, connect
from station.sim.evaluate import run_analysis
from station.sim.lifter import CameraParams, LifterParams, simulate_set
from station.sim.noise import noisy_keypoints


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
    assert exported["reps"][2]["idx"] == 3 and "series" in exported["reps"][2]


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


def test_disk_full_keeps_the_rep_in_memory_and_says_so(tmp_path):
    reps, _ = _analysed(reps=1)
    writer = StoreWriter(tmp_path / "s.db", min_free_mb=10**9)  # more than any disk has
    writer.rep_finished(1, time.time(), time.time(), 0.0, reps[0])
    writer.flush()
    writer.close()
    assert writer.disk_full and writer.unsaved == [reps[0]]


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


EVIDENCE = {"joint_names": ["ear", "shoulder", "hip", "knee", "ankle", "wrist"], "frame_size": [640, 480],
            "onset": {"index": 3, "t": 0.1, "depth_deg": -6.0, "joints": [[1.0, 2.0]] * 6},
            "bottom": {"index": 9, "t": 0.3, "depth_deg": -20.0, "joints": [[3.0, 4.0]] * 6}}


def test_version_4_database_gains_the_self_test_tables_and_keeps_its_data(tmp_path):
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
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "selftests" in tables
    assert store.lifter_target("maria") is None and store.lifter_target("default") is None
    assert store.list_selftests() == [] and store.last_selftest_id("maria") is None
    data = store.get_set(1)
    assert data["lifter"] == "maria" and data["reps"][0]["max_depth_deg"] == -6.0
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
    test = store.get_selftest(first)
    assert test["outcome"] == "rounding" and test["onset_deg"] == -6.0 and test["safe_depth_deg"] == -1.0
    assert test["confirmed"] is True and test["lifter"] == "maria" and test["evidence"] == EVIDENCE
    assert [r["number"] for r in test["reps"]] == [1, 2] and test["reps"][1]["onset_deg"] == -6.0
    assert test["evidence_rep_id"] == store.get_set(set_id)["reps"][1]["id"]
    # an incomplete test keeps the target; one without rounding hands back the configured target
    store.add_selftest(200.0, 230.0, _selftest_result("incomplete"))
    assert store.lifter_target("maria") == -1.0
    store.add_selftest(300.0, 360.0, _selftest_result("no_rounding", deepest=-31.0))
    assert store.lifter_target("maria") is None
    assert [t["outcome"] for t in store.list_selftests("maria")] == ["no_rounding", "incomplete", "rounding"]
    assert store.list_selftests("nobody") == [] and store.get_selftest(999) is None
    # the evidence outlives its set
    store.delete_set(set_id)
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
