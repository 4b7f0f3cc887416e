"""A database seeded with real analysed synthetic sets, for the web tests and the browser check."""

from __future__ import annotations

import time
from pathlib import Path

from station.sim.evaluate import run_analysis
from station.sim.lifter import CameraParams, LifterParams, simulate_set
from station.sim.noise import noisy_keypoints
from station.store import StoreWriter

SETS = [
    LifterParams(reps=5, target_depth_deg=-8),
    LifterParams(reps=6, target_depth_deg=-14, wink_onset_flexion_deg=125, wink_magnitude_deg=20),
    LifterParams(reps=4, target_depth_deg=15),
]


def seed_database(path: Path, sets=SETS, days_apart: float = 2.0) -> list[int]:
    writer = StoreWriter(path)
    now = time.time()
    for key, params in enumerate(sets):
        truth = simulate_set(params, CameraParams(), seed=key + 20)
        reps, results = run_analysis(noisy_keypoints(truth, seed=key + 20))
        started = now - (len(sets) - key) * days_apart * 86400
        for rep in reps:
            writer.rep_finished(key, started, started, 0.0, rep)
        for result in results:
            writer.set_finished(key, started, result)
    writer.flush()
    writer.close()
    from station.store import Store

    store = Store(path)
    ids = [s["id"] for s in store.list_sets(limit=100)][::-1]
    store.close()
    return ids
