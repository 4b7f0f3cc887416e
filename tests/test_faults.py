"""Fault injection (issue 11; the results table is in docs/reliability.md): kill -9 during writes, a full
disk mid-set and freed, damaged pages, an empty secret, a read-only data folder, a port in use, and
idle connections. Each fault is tried several times; every try must end with the station working,
a clear message, and no committed rep lost."""

from __future__ import annotations

import http.client
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from station.analysis import RepResult, RepSeries, SetResult
from station.config import Config
from station.store import Store, StoreError, StoreWriter
from station.web import StationHooks, WebError, create_app, serve, stop_server

ROOT = Path(__file__).resolve().parent.parent
NOW = time.time()
URLS = ["/", "/history", "/live", "/settings", "/selftest", "/set/1", "/rep/1", "/api/health", "/api/last-set",
        "/api/sets", "/api/sets/1", "/api/sets/1.csv", "/api/sets/1.json", "/api/reps/1", "/api/history",
        "/api/settings", "/api/selftest"]


def rep(index: int, frames: int = 40) -> RepResult:
    """A rep with a real per-frame series (so rows span overflow pages, as on the station)."""
    t = np.linspace(0, 2.4, frames)
    series = RepSeries(t=t, thigh_deg=60 * np.cos(t), hip_deg=90 + t, trunk_lean_deg=20 + t, knee_deg=100 - t,
                       joints=np.random.default_rng(index).uniform(0, 480, (frames, 6, 2)), frame_size=(640, 480))
    return RepResult(index=index, start_t=index * 3.0, bottom_t=index * 3.0 + 1.2, end_t=index * 3.0 + 2.4,
                     max_depth_deg=-5.0, below_parallel=True, reached_target=True, tut_s=2.4, down_s=1.2, up_s=1.0,
                     max_trunk_lean_deg=None, knee_travel_cm=None, heel_lift_cm=None, wink=False, wink_onset_deg=None,
                     wink_magnitude_deg=0.0, wink_confidence=0.0, depth_verdict="below", depth_uncertainty_deg=2.0,
                     side_view=True, series=series)


def set_result(reps: list[RepResult], index: int = 1) -> SetResult:
    return SetResult(index=index, start_t=0.0, end_t=reps[-1].end_t + 1, end_reason="idle", target_depth_deg=0.0,
                     reps=reps, summary=f"{len(reps)} reps, all below parallel.", view="side")


def write_set(writer: StoreWriter, key: int, reps: list[RepResult], started: float = NOW) -> None:
    for r in reps:
        writer.rep_finished(key, started, started, 0.0, r)
    writer.set_finished(key, started, set_result(reps, key))
    assert writer.flush()


def stored_reps(path: Path) -> list[tuple[float, int]]:
    store = Store(path)
    try:
        return [(r[0], r[1]) for r in store.conn.execute(
            "SELECT s.started_at, r.idx FROM reps r JOIN sets s ON s.id = r.set_id ORDER BY 1, 2")]
    finally:
        store.close()


def assert_consistent(path: Path) -> None:
    """integrity ok, no set left 'in progress', each set's rep count = its stored reps"""
    store = Store(path)
    try:
        assert store.integrity_ok()
        rows = store.conn.execute("SELECT id, end_reason, rep_count, (SELECT COUNT(*) FROM reps WHERE set_id = "
                                  "sets.id) FROM sets").fetchall()
        for set_id, end_reason, count, actual in rows:
            assert end_reason is not None, f"set {set_id} still 'in progress'"
            assert count == actual, f"set {set_id}: rep_count {count}, {actual} reps stored"
    finally:
        store.close()


def damage_table(path: Path, table: str = "reps") -> None:
    """Overwrite the table's root page with garbage: the header (page 1) stays valid."""
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    size = raw.execute("PRAGMA page_size").fetchone()[0]
    raw.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * size)
        f.write(random.Random(root).randbytes(size))


def pages_answer(app, urls=URLS) -> dict[str, int]:
    client = app.test_client()
    codes = {}
    for url in urls:
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code != 500 and "Traceback" not in body, (url, response.status_code, body[:300])
        codes[url] = response.status_code
    return codes


# --- kill -9 during writes -----------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    from station.store import StoreWriter
    from test_faults import rep, set_result
    writer = StoreWriter(sys.argv[1])
    base = float(sys.argv[2])
    for n in range(1000):
        started = base + n
        reps = []
        for i in range(1, 4):
            reps.append(rep(i))
            writer.rep_finished(n, started, started, 0.0, reps[-1])
            writer.flush()
            print(started, i, flush=True)          # committed: flush() returned after the write
        writer.set_finished(n, started, set_result(reps, n))
        writer.flush()
""")


def test_kill_9_during_writes_loses_no_committed_rep_and_leaves_no_set_in_progress(tmp_path):
    db = tmp_path / "station.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT), tests=str(ROOT / "tests")))
    rng = random.Random(11)
    committed: set[tuple[float, int]] = set()
    for run in range(10):
        proc = subprocess.Popen([sys.executable, str(script), str(db), str(NOW + 10_000 * run)],
                                stdout=subprocess.PIPE, text=True)
        lines = [proc.stdout.readline() for _ in range(rng.randint(1, 5))]
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        for line in lines + rest.splitlines():
            parts = line.split()
            if len(parts) == 2:
                committed.add((float(parts[0]), int(parts[1])))
        StoreWriter(db).close()     # the next start closes what the killed one left open
        assert_consistent(db)
        present = set(stored_reps(db))
        assert committed <= present, f"run {run}: lost {sorted(committed - present)[:5]}"
    assert len(committed) >= 15


# --- a full disk, mid-set, then freed ------------------------------------------------------------------

@pytest.mark.parametrize("fills_at", [1, 2, 3, 4])
def test_a_disk_that_fills_mid_set_and_is_freed_loses_nothing(tmp_path, monkeypatch, fills_at):
    """Simulated with Store.free_mb patched (the min_free_mb threshold the writer checks before each write)."""
    free = {"mb": 10_000.0}
    monkeypatch.setattr(Store, "free_mb", lambda _self: free["mb"])
    writer = StoreWriter(tmp_path / "station.db", min_free_mb=200)
    app = create_app(tmp_path / "station.db", StationHooks(get_config=Config, store_status=writer.status))
    reps = [rep(i) for i in range(1, 6)]
    for r in reps:
        if r.index == fills_at:
            free["mb"] = 20                  # the card fills ...
        writer.rep_finished(1, NOW, NOW, 0.0, r)
        assert writer.flush()
        if r.index == fills_at + 1:
            assert writer.disk_full and len(writer.unsaved) == 2
            assert "disk is full" in app.test_client().get("/").get_data(as_text=True)
            free["mb"] = 10_000              # ... and is freed: the next rep writes the held ones first
    writer.set_finished(1, NOW, set_result(reps))
    assert writer.flush() and writer.unsaved == [] and not writer.disk_full
    writer.close()
    assert [i for _, i in stored_reps(tmp_path / "station.db")] == [1, 2, 3, 4, 5]
    assert_consistent(tmp_path / "station.db")


# --- damaged pages -------------------------------------------------------------------------------------

def test_a_database_damaged_before_start_is_moved_aside_and_a_fresh_one_started(tmp_path):
    db = tmp_path / "station.db"
    writer = StoreWriter(db)
    write_set(writer, 1, [rep(1), rep(2)])
    writer.close()
    damage_table(db)
    viewer = create_app(db, StationHooks(get_config=Config))     # a page on the damaged file, no writer
    codes = pages_answer(viewer)
    assert 503 in codes.values()
    body = viewer.test_client().get("/api/sets").get_json()["error"]
    assert "history database is damaged" in body and "station doctor" in body
    started = time.monotonic()
    writer = StoreWriter(db)
    write_set(writer, 2, [rep(1), rep(2), rep(3)])
    assert time.monotonic() - started < 5
    assert "was moved to" in writer.last_error and list(tmp_path.glob("station.db.damaged-*"))
    app = create_app(db, StationHooks(get_config=Config, store_status=writer.status))
    assert "was moved to" in app.test_client().get("/").get_data(as_text=True)
    assert set(pages_answer(app).values()) <= {200, 404}
    started = time.monotonic()
    writer.close()
    assert time.monotonic() - started < 2
    assert len(stored_reps(db)) == 3
    assert_consistent(db)


def test_a_damaged_file_is_moved_aside_before_anyone_else_reads_and_no_copy_is_overwritten(tmp_path):
    """The station read the lifter's target over its own connection while the writer moved the
    damaged file aside; closing it deleted the fresh file's -wal by name, the fresh file read as
    damaged too, and its copy went to the same-second name: the old history was gone. Now readers
    wait for `ready` (set after the start-up check), and a second copy gets a name of its own."""
    db = tmp_path / "station.db"
    writer = StoreWriter(db)
    write_set(writer, 1, [rep(1), rep(2)])
    writer.close()
    damage_table(db)
    damaged_bytes = db.read_bytes()
    writer = StoreWriter(db)
    assert writer.ready.wait(10)
    copies = sorted(tmp_path.glob("station.db.damaged-*"))
    copy = [c for c in copies if not c.name.endswith(("-wal", "-shm"))]
    assert len(copy) == 1 and len(copy[0].read_bytes()) == len(damaged_bytes), "moved aside before ready"
    damaged_bytes = copy[0].read_bytes()
    reader = Store(db)                # what the runner's _read_lifter_target opens, now after ready
    reader.close()
    write_set(writer, 2, [rep(1)])
    assert writer.unsaved == [] and len(stored_reps(db)) == 1
    writer._replace_damaged("a second damage in the same second")
    writer.close()
    originals = [c for c in tmp_path.glob("station.db.damaged-*") if not c.name.endswith(("-wal", "-shm"))]
    assert len(originals) == 2 and damaged_bytes in [c.read_bytes() for c in originals]


def test_a_database_deleted_while_running_is_started_afresh_and_the_page_says_so(tmp_path):
    """rm station.db* mid-session: SQLite went on writing into the deleted file, every later set was
    lost and /api/health said all clear. The set in progress carries on in the fresh file."""
    db = tmp_path / "station.db"
    writer = StoreWriter(db)
    write_set(writer, 1, [rep(1), rep(2)])
    writer.rep_finished(2, NOW + 100, NOW + 100, 0.0, rep(1))
    assert writer.flush()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    writer.rep_finished(2, NOW + 100, NOW + 100, 0.0, rep(2))
    writer.set_finished(2, NOW + 100, set_result([rep(1), rep(2)], 2))
    assert writer.flush() and writer.unsaved == []
    assert "was deleted or replaced while the station ran" in writer.status()["error"]
    writer.close()
    assert [i for _, i in stored_reps(db)] == [2], "the reps after the deletion are in the fresh file"
    assert_consistent(db)


def test_a_database_deleted_between_sets_is_told_at_the_next_page_poll_not_the_next_rep(tmp_path):
    """Deleted after a set, with nothing more to write: the page (which opened a fresh, empty file) said
    "No sets yet" and health all clear until the next rep, maybe a rest or a day later."""
    db = tmp_path / "station.db"
    writer = StoreWriter(db)
    write_set(writer, 1, [rep(1)])
    assert writer.flush() and writer.status()["error"] is None
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    Store(db).close()                    # a page's read connection makes a fresh file
    writer.status()                      # the page's poll
    assert writer.flush()
    assert "was deleted or replaced while the station ran" in writer.status()["error"]
    write_set(writer, 2, [rep(1)])
    writer.close()
    assert [i for _, i in stored_reps(db)] == [1], "the next set is in the file the page reads"
    assert_consistent(db)


def test_a_database_damaged_while_running_keeps_the_reps_and_carries_on_in_a_fresh_file(tmp_path):
    db = tmp_path / "station.db"
    writer = StoreWriter(db)
    write_set(writer, 1, [rep(1), rep(2)])
    writer.rep_finished(2, NOW + 100, NOW + 100, 0.0, rep(1))
    assert writer.flush()
    damage_table(db)
    other = sqlite3.connect(db)       # another connection writes: the writer's page cache is stale now
    other.execute("INSERT INTO lifters (name, created_at) VALUES ('x', 0)")
    other.commit()
    other.close()
    for i in (2, 3):
        writer.rep_finished(2, NOW + 100, NOW + 100, 0.0, rep(i))
    writer.set_finished(2, NOW + 100, set_result([rep(1), rep(2), rep(3)], 2))
    assert writer.flush() and writer._thread.is_alive()
    assert writer.unsaved == [] and "was moved to" in writer.last_error and not writer.damaged
    writer.close()
    assert [i for _, i in stored_reps(db)] == [2, 3], "the reps after the damage are in the fresh file"
    assert_consistent(db)


@pytest.mark.parametrize("seed", range(6))
def test_random_garbage_in_the_middle_of_the_file_never_stops_the_station(tmp_path, seed):
    db = tmp_path / "station.db"
    writer = StoreWriter(db)
    for key in range(3):
        write_set(writer, key, [rep(i) for i in range(1, 5)], started=NOW + key)
    writer.close()
    size = db.stat().st_size
    rng = random.Random(seed)
    with open(db, "r+b") as f:
        for _ in range(8):
            f.seek(rng.randrange(4096, size - 64))
            f.write(rng.randbytes(rng.randint(16, 512)))
    pages_answer(create_app(db, StationHooks(get_config=Config)))
    started = time.monotonic()
    writer = StoreWriter(db)
    write_set(writer, 9, [rep(1), rep(2)], started=NOW + 50)
    assert writer._thread.is_alive() and writer.unsaved == []
    pages_answer(create_app(db, StationHooks(get_config=Config, store_status=writer.status)))
    writer.close()
    assert time.monotonic() - started < 10
    assert (NOW + 50, 2) in stored_reps(db)


# --- the secret, the data folder, the port ----------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"\x00", b"short secret"])
def test_an_empty_or_short_secret_is_replaced_and_the_pages_work(tmp_path, content):
    (tmp_path / "web-secret").write_bytes(content)
    app = create_app(tmp_path / "station.db", StationHooks(get_config=Config), state_dir=tmp_path)
    assert pages_answer(app, ["/", "/settings", "/selftest"]) == {"/": 200, "/settings": 200, "/selftest": 200}
    assert len((tmp_path / "web-secret").read_bytes()) == 32


def _as_nobody(fn) -> str:
    """Run fn in a forked child without root's powers (root writes anywhere): its result or its error."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            out = fn()
        except BaseException as exc:  # noqa: BLE001
            out = f"{type(exc).__name__}: {exc}"
        os.write(w, str(out).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return data.decode()


@pytest.mark.parametrize("existing", [False, True])
def test_a_read_only_data_folder_is_one_clear_store_error(existing):
    folder = Path(tempfile.mkdtemp(prefix="station-ro-"))
    try:
        if existing:
            StoreWriter(folder / "station.db").close()
            for extra in folder.glob("station.db-*"):
                extra.unlink()
        def open_writer():
            try:
                StoreWriter(folder / "station.db").close()
            except StoreError as exc:
                return f"StoreError: {exc}"
            return "opened"
        if os.geteuid() == 0:
            folder.chmod(0o755)
            message = _as_nobody(open_writer)
        else:
            folder.chmod(0o555)
            message = open_writer()
        assert message.startswith("StoreError: cannot open the history database"), message
        assert "writable by the station's user" in message and "\n" not in message
    finally:
        folder.chmod(0o755)
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()


def test_a_data_folder_inside_a_folder_the_user_cannot_enter_is_one_clear_store_error():
    """Looking for a file in the way raised PermissionError from inside the handler: exit 1 and a
    restart loop instead of exit 2 with the fix."""
    locked = Path(tempfile.mkdtemp(prefix="station-locked-"))
    try:
        def open_writer():
            try:
                StoreWriter(locked / "db" / "station.db").close()
            except StoreError as exc:
                return f"StoreError: {exc}"
            return "opened"
        if os.geteuid() == 0:
            locked.chmod(0o700)          # root's, and the child runs as nobody
            message = _as_nobody(open_writer)
        else:
            locked.chmod(0o000)
            message = open_writer()
        assert message.startswith("StoreError: cannot open the history database"), message
        assert "writable by the station's user" in message
    finally:
        locked.chmod(0o755)
        locked.rmdir()


def test_a_state_dir_that_is_a_file_is_named_as_one(tmp_path):
    """'File exists; the folder .../clip.mp4 must be writable': it is a file, and no chmod helps."""
    (tmp_path / "clip.mp4").write_bytes(b"x")
    with pytest.raises(StoreError, match=r"clip\.mp4 is a file, not a folder; point \[station\] state_dir"):
        StoreWriter(tmp_path / "clip.mp4" / "station.db")


def test_a_port_in_use_or_a_bad_host_is_one_clear_web_error(tmp_path):
    app = create_app(tmp_path / "station.db", StationHooks(get_config=Config))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(WebError, match=f"port {port} is already in use: another station running"):
            serve(app, "127.0.0.1", port)
    finally:
        taken.close()
    with pytest.raises(WebError, match="cannot be resolved"):
        serve(app, "no-such-station.invalid", 0)
    with pytest.raises(WebError, match="not an address of this machine"):
        serve(app, "192.0.2.77", 0)      # TEST-NET-1: never this machine's


# --- idle and half-open connections ---------------------------------------------------------------------

def test_150_idle_connections_do_not_lock_the_page_out(tmp_path):
    app = create_app(tmp_path / "station.db", StationHooks(get_config=Config))
    srv = serve(app, "127.0.0.1", 0)
    threading.Thread(target=srv.run, daemon=True).start()
    port = srv.effective_port
    idle = []
    try:
        for i in range(150):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 3 == 0:
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")   # a request that never finishes
            idle.append(s)
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/api/health")
        response = conn.getresponse()
        assert response.status == 200 and b'"ok"' in response.read()
        assert time.monotonic() - started < 3
        conn.close()
    finally:
        for s in idle:
            s.close()
        stop_server(srv)


def test_stopping_the_page_server_right_after_requests_logs_no_traceback(tmp_path, caplog):
    """close() alone shut the server's wake-up pipe under a worker thread still answering: waitress
    logged "Exception when servicing ... Bad file descriptor" at every stop that came right after a
    request (each run of bench_web.py, and a station stopped while a phone polled)."""
    import logging
    import urllib.request

    app = create_app(tmp_path / "station.db", StationHooks(get_config=Config))
    srv = serve(app, "127.0.0.1", 0)
    threading.Thread(target=srv.run, daemon=True).start()
    for _ in range(10):
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.effective_port}/api/health", timeout=5) as response:
            assert response.status == 200
    with caplog.at_level(logging.WARNING, logger="waitress"):
        stop_server(srv)
        time.sleep(0.2)      # a worker that outlived the close would fail within this
    assert not [r for r in caplog.records if r.name.startswith("waitress")], caplog.text
