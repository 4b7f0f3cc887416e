#!/usr/bin/env python3
"""Last-set page with 20 reps stored: page weight (bytes, all assets) and server render time."""

from __future__ import annotations

import gzip
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from station.config import Config  # noqa: E402
from station.sim.lifter import LifterParams  # noqa: E402
from station.web import StationHooks, create_app, serve, stop_server  # noqa: E402

from webseed import seed_database  # noqa: E402


def main() -> int:
    db = Path(tempfile.mkdtemp()) / "bench.db"
    seed_database(db, sets=[LifterParams(reps=20, target_depth_deg=-10, wink_onset_flexion_deg=125,
                                         wink_magnitude_deg=18)])
    cfg = Config()
    app = create_app(db, StationHooks(get_config=lambda: cfg))
    client = app.test_client()
    body = client.get("/").data
    assert body.count(b"<tr>") >= 21, "expected 20 rep rows"
    times = []
    for _ in range(50):
        start = time.perf_counter()
        client.get("/")
        times.append((time.perf_counter() - start) * 1000)
    srv = serve(app, "127.0.0.1", 0)
    threading.Thread(target=srv.run, daemon=True).start()
    url = f"http://127.0.0.1:{srv.effective_port}/"
    http_times = []
    for _ in range(30):
        start = time.perf_counter()
        with urllib.request.urlopen(url) as response:
            response.read()
        http_times.append((time.perf_counter() - start) * 1000)
    stop_server(srv)
    print("| page | bytes (one response, no other assets) | gzip bytes | render median / p95 ms (Flask) "
          "| over HTTP (waitress) median ms |")
    print("|---|---|---|---|---|")
    print(f"| last set, 20 reps | {len(body)} | {len(gzip.compress(body))} | {statistics.median(times):.1f} / "
          f"{sorted(times)[int(0.95 * len(times))]:.1f} | {statistics.median(http_times):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
