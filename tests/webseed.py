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
    # a wink the trunk line shows: the thorax follows the pelvis, lean flattens near the bottom
    LifterParams(reps=6, target_depth_deg=-16, wink_onset_flexion_deg=130, wink_magnitude_deg=25, thorax_follow=0.9,
                 lean_flattening=0.2),
    LifterParams(reps=4, target_depth_deg=15),
]


def seed_database(path: Path, sets=SETS, days_apart: float = 2.0) -> list[int]:
    """The new sets' ids, oldest first."""
    from station.store import Store

    store = Store(path)
    before = {s["id"] for s in store.list_sets(limit=10_000)}
    store.close()
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
    store = Store(path)
    ids = [s["id"] for s in store.list_sets(limit=10_000) if s["id"] not in before][::-1]
    store.close()
    return ids


FRONT_ADVICE = ("Cannot judge from here: the camera sees you from the front. Turn the camera (or yourself) "
                "so it sees your side.")


def _rep(index, depth, verdict, side_view=True, lean=None, knee=None, heel=None, back_seen=True, target=0.0):
    """A rep as the analysis would build it: reached_target by the analysis's own rule (a "+1°, at
    parallel" rep reaches a parallel target), not by the verdict."""
    from station.analysis import RepResult
    from station.analysis.summary import reached

    return RepResult(index=index, start_t=index * 3.0, bottom_t=index * 3.0 + 1.2, end_t=index * 3.0 + 2.4,
                     max_depth_deg=depth, below_parallel=verdict == "below",
                     reached_target=side_view and reached(depth, target),
                     tut_s=2.4, down_s=1.2, up_s=1.0, max_trunk_lean_deg=lean, knee_travel_cm=knee, heel_lift_cm=heel,
                     wink=False, wink_onset_deg=None, wink_magnitude_deg=0.0, wink_confidence=0.0,
                     depth_verdict=verdict, depth_uncertainty_deg=2.0, side_view=side_view, wink_judged=back_seen)


def seed_view_cases(path: Path, days_ago: float = 30.0) -> dict[str, int]:
    """Two older sets built directly from the result types: one the view gate could not judge (front
    view, with its advice), and one judged side-on whose reps are below, at and above parallel with
    the secondary numbers this view could not measure left as None. Returns their set ids."""
    from station.analysis import SetResult
    from station.store import Store

    store = Store(path)
    ids = {}
    started = time.time() - days_ago * 86400
    cases = {
        "unjudged": ([_rep(i, -15.0, "below", side_view=False) for i in (1, 2, 3)],
                     dict(view="front", setup_issue="front_view", setup_advice=FRONT_ADVICE, summary="")),
        "verdicts": ([_rep(1, -6.0, "below", lean=44.0, knee=12.0, heel=0.0), _rep(2, 0.7, "parallel"),
                      _rep(3, 9.0, "above", back_seen=False)],
                     dict(view="side", summary="3 reps: one below, one at and one above parallel.")),
    }
    for offset, (name, (reps, extra)) in enumerate(cases.items()):
        wall = started + offset * 3600
        set_id = None
        for rep in reps:
            set_id = store.add_rep(set_id, "default", wall, wall, 0.0, rep)
        store.finish_set(set_id, wall, SetResult(index=offset + 1, start_t=0.0, end_t=12.0, end_reason="idle",
                                                 target_depth_deg=0.0, reps=reps, **extra))
        ids[name] = set_id
    store.close()
    return ids


def add_set_now(path: Path, lifter: str, summary: str, reps: int = 2) -> int:
    """A set finished just now, as the station would save it: the Last set page must pick it up."""
    from station.analysis import SetResult
    from station.store import Store

    store = Store(path)
    wall = time.time()
    results = [_rep(i, -4.0, "below", lean=40.0, knee=10.0, heel=0.0) for i in range(1, reps + 1)]
    set_id = None
    for rep in results:
        set_id = store.add_rep(set_id, lifter, wall, wall, 0.0, rep)
    store.finish_set(set_id, wall, SetResult(index=1, start_t=0.0, end_t=10.0, end_reason="idle",
                                             target_depth_deg=0.0, reps=results, summary=summary))
    store.close()
    return set_id


def store_set(path: Path, lifter: str, result, margin_deg: float = 5.0) -> int:
    """A set's reps and its end, summed up and saved as the station does: returns its id."""
    from station.analysis.summary import summarise_set
    from station.store import Store

    summarise_set(result, margin_deg=margin_deg)
    store = Store(path)
    set_id = None
    for rep in result.reps:
        set_id = store.add_rep(set_id, lifter, time.time(), time.time(), result.target_depth_deg, rep)
    store.finish_set(set_id, time.time(), result)
    store.close()
    return set_id
