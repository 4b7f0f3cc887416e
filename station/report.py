"""Text and JSON renderings of analysis results (for `station analyze`, the store and the API)."""

from __future__ import annotations

from station.analysis import RepResult, SetResult


def rep_dict(rep: RepResult) -> dict:
    return {
        "index": rep.index, "start_t": round(rep.start_t, 3), "end_t": round(rep.end_t, 3),
        "max_depth_deg": round(rep.max_depth_deg, 1), "below_parallel": rep.below_parallel,
        "reached_target": rep.reached_target, "tut_s": round(rep.tut_s, 2), "down_s": round(rep.down_s, 2),
        "up_s": round(rep.up_s, 2), "max_trunk_lean_deg": round(rep.max_trunk_lean_deg, 1),
        "knee_travel_cm": round(rep.knee_travel_cm, 1), "heel_lift_cm": round(rep.heel_lift_cm, 1),
        "wink": rep.wink, "wink_onset_deg": None if rep.wink_onset_deg is None else round(rep.wink_onset_deg, 1),
        "wink_magnitude_deg": round(rep.wink_magnitude_deg, 1), "wink_confidence": round(rep.wink_confidence, 2),
    }


def set_dict(result: SetResult) -> dict:
    return {
        "index": result.index, "start_t": round(result.start_t, 3), "end_t": round(result.end_t, 3),
        "end_reason": result.end_reason, "rep_count": result.rep_count,
        "target_depth_deg": result.target_depth_deg, "depth_sd_deg": round(result.depth_sd_deg, 1),
        "wink_onset_deg": None if result.wink_onset_deg is None else round(result.wink_onset_deg, 1),
        "suggested_depth_deg": None if result.suggested_depth_deg is None else round(result.suggested_depth_deg, 1),
        "summary": result.summary, "reps": [rep_dict(r) for r in result.reps],
    }


def set_table(result: SetResult) -> str:
    lines = [f"Set {result.index}: {result.rep_count} reps ({result.start_t:.1f}-{result.end_t:.1f} s)",
             " rep  depth   <par  down  up    lean  knee   wink   onset  size",
             "      deg           s     s     deg   cm            deg    deg"]
    for r in result.reps:
        onset = f"{r.wink_onset_deg:6.1f}" if r.wink_onset_deg is not None else "     -"
        lines.append(f" {r.index:3d} {r.max_depth_deg:6.1f}  {'yes' if r.below_parallel else 'no ':3s}  "
                     f"{r.down_s:4.1f}  {r.up_s:4.1f}  {r.max_trunk_lean_deg:4.0f}  {r.knee_travel_cm:4.1f}   "
                     f"{'WINK' if r.wink else '-   '}  {onset}  {r.wink_magnitude_deg:4.0f}")
    lines.append(result.summary)
    return "\n".join(lines)
