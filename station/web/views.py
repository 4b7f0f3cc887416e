"""Shared view models: the same numbers for the pages and the JSON API."""

from __future__ import annotations

import time

from station.web import BadRequest, int_arg, store


def set_or_404(set_id: int, with_series: bool = False) -> dict:
    from flask import abort

    data = store().get_set(set_id, with_series=with_series)
    if data is None:
        abort(404)
    return data


def history(lifter: str | None) -> dict:
    days = int_arg("days", 90, 1, 3650)
    since = time.time() - days * 86400
    sets = store().list_sets(limit=500, since=since, lifter=lifter)
    points = [(s["started_at"], s["mean_depth_deg"], s["wink_onset_deg"]) for s in sets]
    onsets = [s["wink_onset_deg"] for s in sorted(sets, key=lambda s: s["started_at"]) if s["wink_onset_deg"] is not None]
    trend = None
    if len(onsets) >= 4:
        half = len(onsets) // 2
        early, late = sum(onsets[:half]) / half, sum(onsets[half:]) / (len(onsets) - half)
        trend = {"early_onset_deg": round(early, 1), "recent_onset_deg": round(late, 1),
                 "improving": late < early - 2}
    return {"days": days, "sets": sets, "points": points, "onset_trend": trend}


def lifter_arg() -> str | None:
    from flask import request

    name = request.args.get("lifter")
    if name is not None and not (0 < len(name) <= 40):
        raise BadRequest("parameter lifter must be 1 to 40 characters")
    return name
