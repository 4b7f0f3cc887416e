"""Text and JSON renderings of analysis results (for `station analyze`, the store and the API).

A number the station cannot stand behind is absent: depth only for reps the view gate judged,
secondary numbers only where they were measured (None stays None, shown as '-').
"""

from __future__ import annotations

from station.analysis import RepResult, SetResult
from station.analysis.summary import PARALLEL_BAND_DEG
from station.store import public_rep, rep_row


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def rep_dict(rep: RepResult, set_setup_issue: str | None = None) -> dict:
    """The API's rep schema (station.store.public_rep, docs/api.md), with the source's clock instead
    of Unix time: `station analyze` and the page say the same thing under the same names."""
    data = public_rep(rep_row(rep, 0.0), set_setup_issue)
    data.pop("started_at")
    rounded = {key: round(value, 2) if isinstance(value, float) else value for key, value in data.items()}
    return {**rounded, "start_t": round(rep.start_t, 3), "end_t": round(rep.end_t, 3)}


def set_dict(result: SetResult) -> dict:
    return {
        "index": result.index, "start_t": round(result.start_t, 3), "end_t": round(result.end_t, 3),
        "end_reason": result.end_reason, "rep_count": result.rep_count, "view": result.view,
        "setup_issue": result.setup_issue, "setup_advice": result.setup_advice,
        "target_depth_deg": result.target_depth_deg, "depth_sd_deg": _round(result.depth_sd_deg),
        "wink_onset_deg": _round(result.wink_onset_deg), "suggested_depth_deg": _round(result.suggested_depth_deg),
        "summary": result.summary, "reps": [rep_dict(r, result.setup_issue) for r in result.reps],
    }


def _cell(value: float | None, width: int, fmt: str = ".0f") -> str:
    """`z` in the format: -0.3 deg prints as 0, not "-0", as the pages show it."""
    return f"{'-':>{width}s}" if value is None else f"{value:z{width}{fmt}}"


VERDICT_WORDS = {"below": "below", "parallel": "at par", "above": "above", "unknown": "-"}


def set_table(result: SetResult) -> str:
    lines = [f"Set {result.index}: {result.rep_count} rep{'' if result.rep_count == 1 else 's'} "
             f"({result.start_t:.1f}-{result.end_t:.1f} s), "
             # "side" alone above a "cannot judge" line read as a contradiction: the gate's reason is below
             f"view: {result.view}{', depth not judged' if result.setup_issue else ''}",
             " rep  depth  verdict  down  up    lean  knee  heel  rounding   onset",
             "      deg             s     s     deg   cm    cm               deg"]
    one_leg: list[float] = []
    for r in result.reps:
        shown = rep_dict(r, result.setup_issue)     # what --json, the API and the pages say
        verdict = VERDICT_WORDS[shown["depth_verdict"] or "unknown"]
        # whole degrees, as the pages, from the unrounded values (-10.504 rounded to -10.5 first would
        # print -10 beside a sentence that says 11): the verdict is judged on them (summary.depth_verdict)
        depth = r.max_depth_deg if shown["judged"] else None
        onset = r.wink_onset_deg if shown["wink"] else None
        # the page's words: a wider band than usual is "one leg"; a back hidden at the bottom is "not
        # seen", not the "-" of a rep given no numbers; no flag is "none seen", never a bare "no" (the
        # station misses rounding that leaves the trunk line still: docs/butt-wink.md)
        if shown["judged"] and (shown["depth_uncertainty_deg"] or 0.0) > PARALLEL_BAND_DEG:
            verdict = verdict + "*"
            one_leg.append(shown["depth_uncertainty_deg"])
        wink = "yes" if shown["wink"] else ("none seen" if shown["judged"] and shown["wink_judged"] else
                                             "not seen" if shown["judged"] else "-")
        lines.append(f" {r.index:3d} {_cell(depth, 6)}  {verdict:7s} "
                     f"{_cell(shown['down_s'], 4, '.1f')}  {_cell(shown['up_s'], 4, '.1f')}  "
                     f"{_cell(shown['max_trunk_lean_deg'], 4)}  {_cell(shown['knee_travel_cm'], 4)}  "
                     f"{_cell(shown['heel_lift_cm'], 4)}  {wink:9s}  {_cell(onset, 5)}")
    if one_leg:
        lines.append(f"   * seen with one leg only: its verdict's band is +-{max(one_leg):.0f} deg, "
                     f"not the usual {PARALLEL_BAND_DEG:.0f}")
    lines.append(result.summary)
    return "\n".join(lines)
