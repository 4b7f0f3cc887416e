"""Shared view models: the same numbers for the pages and the JSON API."""

from __future__ import annotations

import time

import numpy as np

from station import config as config_mod
from station.analysis.summary import onset_frame
from station.web import BadRequest, int_arg, store
from station.web.charts import PARALLEL_LINE_DEG


def set_or_404(set_id: int, with_series: bool = False) -> dict:
    from flask import abort

    data = store().get_set(set_id, with_series=with_series)
    if data is None:
        abort(404, f"there is no set {set_id} (it may have been deleted)")
    return data


# The page and the API list at most this many sets, the newest; more say so (`more_sets`).
HISTORY_MAX_SETS = 500


def history(lifter: str | None) -> dict:
    days = int_arg("days", 90, 1, 3650)
    since = time.time() - days * 86400
    sets = store().list_sets(limit=HISTORY_MAX_SETS + 1, since=since, lifter=lifter)
    more_sets = len(sets) > HISTORY_MAX_SETS
    del sets[HISTORY_MAX_SETS:]
    # a self-test's steps are shallow on purpose: its onset is a point, its average depth is not
    points = [(s["started_at"], None if s["selftest_id"] else s["mean_depth_deg"], s["wink_onset_deg"])
              for s in sets]
    by_time = sorted(sets, key=lambda s: s["started_at"])
    onsets = [s["wink_onset_deg"] for s in by_time if s["wink_onset_deg"] is not None]
    # a trend is one lifter's: two lifters' onsets side by side would read as one mobility changing
    one_lifter = len({s["lifter"] for s in sets}) == 1
    trend = None
    if one_lifter and len(onsets) >= 4:
        half = len(onsets) // 2
        early, late = sum(onsets[:half]) / half, sum(onsets[half:]) / (len(onsets) - half)
        trend = {"early_onset_deg": round(early, 1), "recent_onset_deg": round(late, 1),
                 "improving": late < early - 2}
    return {"days": days, "sets": sets, "points": points, "onset_trend": trend, "one_lifter": one_lifter,
            "more_sets": more_sets}


# the three-way depth verdict in the lifter's words (RepResult.depth_verdict)
MAX_SHOWN_CONFIDENCE_PCT = 99
VERDICT_TEXT = {"below": "below parallel", "parallel": "at parallel", "above": "above parallel"}


NOT_SIDE_ON = "This rep was not seen side-on: its depth and back rounding were not judged."


def rep_advice(rep: dict) -> str | None:
    """Why a rep shows no depth, in the lifter's words: its set's advice, else its own issue's."""
    if rep.get("judged", True):
        return None
    from station.analysis.quality import SETUP_ADVICE

    return rep.get("set_setup_advice") or SETUP_ADVICE.get(rep.get("setup_issue") or "", NOT_SIDE_ON)


def rep_sentence(rep: dict) -> str:
    """The secondary numbers in one sentence, leaving out what this view could not measure."""
    parts = []
    if rep.get("max_trunk_lean_deg") is not None:
        parts.append(f"trunk leaned up to {rep['max_trunk_lean_deg']:.0f}° further forward than standing")
    if rep.get("knee_travel_cm") is not None:
        parts.append(f"knees travel about {rep['knee_travel_cm']:.0f} cm forward of the ankle")
    if rep.get("heel_lift_cm") is not None and rep["heel_lift_cm"] > 0:
        parts.append(f"heels lifted {rep['heel_lift_cm']:.1f} cm")
    sentence = ", ".join(parts) + "." if parts else ""
    sentence = sentence[:1].upper() + sentence[1:]
    if rep.get("wink"):   # no pelvic tilt in degrees: one side camera cannot measure it (docs/depth.md)
        # at most 99 %: the calibration's top bin is 99.6 % on the synthetic lifter, and two real
        # winks cannot back a certainty (docs/butt-wink.md, "What the confidence means")
        confidence = min(MAX_SHOWN_CONFIDENCE_PCT, round(100 * (rep.get("wink_confidence") or 0)))
        sentence += f" Lower-back rounding flagged (confidence {confidence}%)."
    elif rep.get("wink_judged") is False and rep.get("setup_issue") == "head_out":
        sentence += " Your head and shoulders were out of the picture on the way down: rounding not judged."
    elif rep.get("wink_judged") is False:
        sentence += " The lower back was hidden at the bottom (a plate, the bar, the arms): rounding not judged."
    return sentence.strip()


def replay_model(rep: dict) -> dict | None:
    """What the replay draws: joints per frame, and the frames a coach looks at.

    bottom: the deepest frame (lowest thigh angle); onset: the frame on the way down whose depth is
    nearest the one where the rounding began (frames can be 3 deg apart, and the series is stored to
    0.01 deg: "the first frame at or below" skipped to a frame 3-5 deg deeper), onset_end: the last
    frame before it is back above it. At those two frames the readout says the page's numbers
    (onset_deg, depth_deg), not that one frame's reading, as the self-test's evidence does.
    Depth marks only for a rep that was judged (side-on, in a set the view gate passed)."""
    series = rep.get("series")
    if not series or not series["t"]:
        return None
    thigh = series["thigh_deg"]
    judged = bool(rep.get("judged", True))
    bottom = min(range(len(thigh)), key=thigh.__getitem__)
    onset = onset_end = level = None
    if judged and rep.get("wink") and rep.get("wink_onset_deg") is not None:
        level = rep["wink_onset_deg"]
        onset = onset_frame(thigh, level)
        onset_end = max(onset, next((i - 1 for i in range(bottom, len(thigh)) if thigh[i] > level), len(thigh) - 1))
    depth = rep.get("max_depth_deg") if judged else None
    return {"t": series["t"], "joints": series["joints"], "size": series["frame_size"],
            "start": _first_whole_frame(series), "names": series["joint_names"], "thigh": thigh if judged else None,
            "bottom": bottom if judged else None, "onset": onset, "onset_end": onset_end,
            "onset_deg": None if level is None else round(level, 1),
            "depth_deg": None if depth is None else round(depth, 1), "parallel_line_deg": PARALLEL_LINE_DEG}


BONE_SPREAD = 0.3   # a leg bone this much off its median length in the rep is a keypoint gone wrong


def _first_whole_frame(series: dict) -> int:
    """The frame the replay opens on: the first whose thigh and shin are within BONE_SPREAD of their
    lengths over the rep. The lead-in's first frame can carry a wrong ankle (a shin half the thigh's
    length under a floating lifter), and it is the first picture the lifter sees."""
    names = list(series["joint_names"])
    if not all(j in names for j in ("hip", "knee", "ankle")):
        return 0
    hip, knee, ankle = (names.index(j) for j in ("hip", "knee", "ankle"))
    try:
        joints = np.asarray(series["joints"], dtype=float)
    except (TypeError, ValueError):
        return 0
    if joints.ndim != 3 or joints.shape[0] == 0:
        return 0
    thigh = np.hypot(*(joints[:, hip] - joints[:, knee]).T)
    shin = np.hypot(*(joints[:, knee] - joints[:, ankle]).T)
    usual = [np.nanmedian(bone) if np.isfinite(bone).any() else np.nan for bone in (thigh, shin)]
    if not all(np.isfinite(u) and u > 0 for u in usual):
        return 0
    whole = (np.abs(thigh / usual[0] - 1) <= BONE_SPREAD) & (np.abs(shin / usual[1] - 1) <= BONE_SPREAD)
    return int(np.argmax(whole)) if whole.any() else 0


def lifter_arg() -> str | None:
    from flask import request

    name = request.args.get("lifter")
    if name is None or config_mod.lifter_name_ok(name):
        return name
    # a name no config could give ("\n", "\x00"): 400, unless a history from before the rule holds it
    if len(name) > 40 or all(name != lifter["name"] for lifter in store().lifters()):
        raise BadRequest(f"parameter lifter={name[:40]!r}: {config_mod.LIFTER_NAME_RULE}")
    return name


# --- the self-test ("find my safe depth", docs/self-test.md) -----------------------------------

def selftest_trend(tests: list[dict]) -> dict | None:
    """Is the onset moving deeper over the weeks? The first test with rounding against the latest test.

    A latest test without rounding counts as 'deeper' only when its deepest rep went more than 2 deg
    past the first onset; one that stopped shallower proves nothing ('unknown'), it did not go deep
    enough to tell."""
    ordered = sorted((t for t in tests if t["outcome"] in ("rounding", "no_rounding")), key=lambda t: t["started_at"])
    first = next((t for t in ordered if t["outcome"] == "rounding"), None)
    if first is None or len(ordered) < 2 or ordered[-1] is first:
        return None
    latest = ordered[-1]
    days = (latest["started_at"] - first["started_at"]) / 86400
    if latest["outcome"] == "no_rounding":
        deepest = latest["deepest_deg"]
        past_it = deepest is not None and deepest < first["onset_deg"] - 2
        return {"first_onset_deg": round(first["onset_deg"], 1), "latest_onset_deg": None,
                "latest_deepest_deg": None if deepest is None else round(deepest, 1),
                "change_deg": None, "days": round(days, 2), "direction": "deeper" if past_it else "unknown"}
    change = latest["onset_deg"] - first["onset_deg"]
    direction = "deeper" if change < -2 else ("higher" if change > 2 else "same")
    return {"first_onset_deg": round(first["onset_deg"], 1), "latest_onset_deg": round(latest["onset_deg"], 1),
            "latest_deepest_deg": None, "change_deg": round(change, 1), "days": round(days, 2),
            "direction": direction}


def selftest_view(lifter: str | None, test_id: int | None = None) -> dict:
    """Everything the Safe depth page and /api/selftest show for one lifter. A test is shown under its
    own lifter's name and target (None: the test's lifter, else the active one), never another's."""
    from flask import abort

    from station.web import hooks

    db = store()
    cfg = hooks().get_config()
    shown = None
    if test_id is not None:
        shown = db.get_selftest(test_id)
        if shown is None:
            abort(404, f"there is no self-test {test_id}")
        if lifter is not None and shown["lifter"] != lifter:
            abort(404, f"self-test {test_id} is {shown['lifter']}'s, not {lifter}'s")
        lifter = shown["lifter"]
    lifter = lifter if lifter is not None else cfg.station.lifter
    tests = db.list_selftests(lifter, limit=200)
    if shown is None and tests:
        shown = db.get_selftest(tests[0]["id"])
    own = db.lifter_target(lifter)
    status = hooks().selftest_status()
    return {"lifter": lifter, "status": status, "selftest": shown, "tests": tests, "trend": selftest_trend(tests),
            "target": {"configured_deg": cfg.analysis.target_depth_deg, "lifter_deg": own,
                       "effective_deg": own if own is not None else cfg.analysis.target_depth_deg}}
