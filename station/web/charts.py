"""Inline SVG charts drawn on the server: no script, no CDN, a few kB, readable on a phone."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from html import escape

from station.analysis import AnalysisParams

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 360, 170, 34, 8, 10, 20
# Reference lines (parallel, target) end where the data ends and carry their names in this gutter on
# the right, so a label never sits on a bar, a dot or a curve.
GUTTER = 52
PLOT_R = W - PAD_R - GUTTER     # right edge of the data area
LABEL_GAP = 12                  # two reference labels closer than this (px) are stacked apart
DOT_R, ONSET_DOT_R = 3, 4       # history dots; the data area is inset by the larger one so none is clipped
# the hip->knee keypoint line's angle at a depth of 0 (parallel): the skeletons' parallel line rises this much
PARALLEL_LINE_DEG = float(-AnalysisParams().depth_from_thigh(0.0))
COLOURS = {"thigh": "#ffd23f", "hip": "#6ec1ff", "trunk": "#ff8fa3", "grid": "#3a3f47", "target": "#7ee081",
           "wink": "#ff5d5d", "past": "#ff9f43", "text": "#aab2bd"}


def _scale(lo: float, hi: float, size: float, pad_lo: float, pad_hi: float,
           invert: bool = False) -> Callable[[float], float]:
    span = (hi - lo) or 1.0

    def f(v: float) -> float:
        frac = (v - lo) / span
        return pad_lo + (1 - frac if invert else frac) * (size - pad_lo - pad_hi)
    return f


def _frame(lines: list[str], ys: Callable[[float], float], y_lo: float, y_hi: float, label: str) -> str:
    body = "".join(lines)
    ticks = "".join(
        f'<line x1="{PAD_L}" x2="{PLOT_R}" y1="{ys(v):.1f}" y2="{ys(v):.1f}" stroke="{COLOURS["grid"]}" '
        f'stroke-width="1"/><text x="{PAD_L - 4}" y="{ys(v) + 4:.1f}" text-anchor="end" font-size="11" '
        f'fill="{COLOURS["text"]}">{v:.0f}°</text>'   # every value axis here is in degrees
        for v in _ticks(y_lo, y_hi))
    return (f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}" class="chart">{ticks}{body}</svg>')


def _time_axis(t0: float, t1: float, xs: Callable[[float], float], count: int = 4) -> str:
    """Dates under a chart over time (the station's local time): when was each dot? Hours when all
    fall on one day; a date shown once even when two ticks fall on it."""
    same_day = time.localtime(t0)[:3] == time.localtime(t1)[:3]
    ticks = [t0] if t1 <= t0 else [t0 + (t1 - t0) * k / (count - 1) for k in range(count)]
    labels, seen = [], set()
    for k, t in enumerate(ticks):
        local = time.localtime(t)
        text = time.strftime("%H:%M", local) if same_day else f"{local.tm_mday} {time.strftime('%b', local)}"
        if text in seen:
            continue
        seen.add(text)
        anchor = "start" if k == 0 else ("end" if k == len(ticks) - 1 else "middle")
        labels.append(f'<text class="time-tick" x="{xs(t):.1f}" y="{H - 5}" text-anchor="{anchor}" '
                      f'font-size="11" fill="{COLOURS["text"]}">{escape(text)}</text>')
    return "".join(labels)


def _ticks(lo: float, hi: float) -> list[int]:
    step = 30 if hi - lo > 100 else 15 if hi - lo > 40 else 5
    start = math.ceil(lo / step) * step   # the floor itself when it is a tick (0 on an axis from 0)
    return list(range(start, int(hi) + 1, step))


def _polyline(xs: Sequence[float], ys: Sequence[float], colour: str, width: float = 2.0) -> str:
    """The points whose value was measured, one line per unbroken run: a frame without a value (not
    finite) leaves a gap, so the chart never draws a line across what was not seen."""
    runs: list[list[str]] = [[]]
    for x, y in zip(xs, ys):
        if math.isfinite(y):
            runs[-1].append(f"{x:.0f},{y:.0f}")
        elif runs[-1]:
            runs.append([])
    return "".join(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="{width}" '
                   f'stroke-linejoin="round"/>' for run in runs if run)


def _hline(ys: Callable[[float], float], value: float, colour: str, text: str, dash: str = "4 3",
           label_dy: float = 0.0) -> str:
    """A dashed reference line across the data area, named in the gutter (text lines split on '\n')."""
    y = ys(value)
    words = "".join(f'<tspan x="{PLOT_R + 4}" dy="{0 if i == 0 else 12}">{escape(part)}</tspan>'
                    for i, part in enumerate(text.split("\n")))
    return (f'<line x1="{PAD_L}" x2="{PLOT_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-dasharray="{dash}"/>'
            f'<text class="ref" x="{PLOT_R + 4}" y="{y + 4 + label_dy:.1f}" font-size="11" '
            f'fill="{colour}">{words}</text>')


def _reference_lines(ys: Callable[[float], float], target_deg: float | None) -> list[str]:
    """Parallel, and the target when the set had one (a self-test set guides each rep to its own)."""
    if target_deg is None:
        return [_hline(ys, 0, COLOURS["text"], "parallel")]
    if abs(target_deg) < 0.5:   # a target of 1 deg is not parallel: it gets its own line, labels pushed apart
        return [_hline(ys, 0, COLOURS["target"], "parallel\n= target")]
    gap = ys(target_deg) - ys(0)   # > 0: the target line is below parallel on the chart
    push = 0.0 if abs(gap) >= LABEL_GAP else (LABEL_GAP - abs(gap)) / 2
    return [_hline(ys, 0, COLOURS["text"], "parallel", label_dy=-push if gap > 0 else push),
            _hline(ys, target_deg, COLOURS["target"], "target", label_dy=push if gap > 0 else -push)]


def _num(value: float | None) -> float:
    """A stored value, or NaN for a frame that had none (null in the series)."""
    return math.nan if value is None else float(value)


def _finite(values: Sequence[float], default: float) -> list[float]:
    return [v for v in values if math.isfinite(v)] or [default]


def _decimate(values: Sequence[float], limit: int = 240) -> Sequence[float]:
    step = max(1, len(values) // limit)
    return values[::step]


def set_curves(reps: list[dict], target_deg: float | None) -> tuple[str, str]:
    """(thigh chart, trunk/hip chart) over the whole set, reps laid end to end."""
    ts, thigh, hip, trunk, marks = [], [], [], [], []
    offset = 0.0
    per_rep = max(20, 600 // max(1, len(reps)))  # ~600 points for the whole set: a few kB of SVG
    for rep in reps:
        s = rep.get("series")
        if not s or not rep.get("judged", True):
            continue  # a rep the view gate could not judge has no trustworthy angles to draw
        for i in range(0, len(s["t"]), max(1, len(s["t"]) // per_rep)):
            ts.append(offset + s["t"][i])
            thigh.append(_num(s["thigh_deg"][i]))
            hip.append(_num(s["hip_deg"][i]))
            trunk.append(_num(s["trunk_lean_deg"][i]))
        if rep.get("wink") and rep.get("wink_onset_deg") is not None:
            marks.append((offset, offset + s["t"][-1], rep["wink_onset_deg"]))
        offset += s["t"][-1] + 0.6
    if not ts:
        return "", ""
    xs = _scale(0, max(ts), W, PAD_L, W - PLOT_R)
    lo = min(-20.0, min(_finite(thigh, 0.0)) - 5, (target_deg or 0.0) - 5)
    ys = _scale(lo, 95, H, PAD_T, PAD_B, invert=True)
    lines = _reference_lines(ys, target_deg)
    lines += [f'<line x1="{xs(a):.1f}" x2="{xs(b):.1f}" y1="{ys(v):.1f}" y2="{ys(v):.1f}" stroke="{COLOURS["wink"]}" '
              f'stroke-width="3"/>' for a, b, v in marks]
    lines.append(_polyline([xs(t) for t in ts], [ys(v) for v in thigh], COLOURS["thigh"], 2.5))
    first = _frame(lines, ys, lo, 95, "thigh angle over the set")
    hi2 = max(185.0, max(_finite(hip, 0.0)) + 5)
    # trunk lean is against standing: a lifter more upright than at the start reads below 0, which
    # an axis from 0 drew under the chart's floor
    lo2 = min(0.0, math.floor((min(_finite(trunk, 0.0)) - 5) / 15) * 15)
    ys2 = _scale(lo2, hi2, H, PAD_T, PAD_B, invert=True)
    second = _frame([_polyline([xs(t) for t in ts], [ys2(v) for v in hip], COLOURS["hip"]),
                     _polyline([xs(t) for t in ts], [ys2(v) for v in trunk], COLOURS["trunk"])],
                    ys2, lo2, hi2, "hip angle and trunk lean over the set")
    return first, second


def depth_bars(reps: list[dict], target_deg: float | None) -> str:
    """One bar per rep from standing down to its deepest point, against parallel and the target."""
    depths = [r["max_depth_deg"] for r in reps if r["max_depth_deg"] is not None]
    if not depths:
        return ""
    n = len(reps)
    lo = min(-20.0, min(depths) - 5, (target_deg or 0.0) - 5)
    ys = _scale(lo, 90, H, PAD_T, PAD_B, invert=True)
    slot = (PLOT_R - PAD_L) / n
    parts = []
    for i, rep in enumerate(reps):
        x = PAD_L + i * slot + slot * 0.2
        parts.append(f'<text x="{x + slot * 0.3:.1f}" y="{H - 5}" text-anchor="middle" font-size="11" '
                     f'fill="{COLOURS["text"]}">{rep["index"]}</text>')
        if rep["max_depth_deg"] is None:
            continue  # not judged (not side-on): an empty slot, no bar
        # deeper than this lifter's self-test rounding is no success, even past the target
        colour = (COLOURS["wink"] if rep["wink"] else COLOURS["past"] if rep.get("past_safe_depth")
                  else COLOURS["target"] if rep["reached_target"] else COLOURS["thigh"])
        top, bottom = ys(90), ys(rep["max_depth_deg"])
        parts.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{slot * 0.6:.1f}" height="{bottom - top:.1f}" '
                     f'fill="{colour}" rx="3"><title>rep {rep["index"]}: {rep["max_depth_deg"]:.0f} deg</title></rect>')
        if rep["wink"] and rep.get("wink_onset_deg") is not None:
            y = ys(rep["wink_onset_deg"])
            parts.append(f'<line x1="{x - 3:.1f}" x2="{x + slot * 0.6 + 3:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="#fff" stroke-width="2"/>')
    parts += _reference_lines(ys, target_deg)  # lines over the bars, their names in the gutter
    return _frame(parts, ys, lo, 90, "depth per rep")


def rep_curves(series: dict) -> str:
    t = _decimate(series["t"])
    xs = _scale(0, max(t[-1], 0.1), W, PAD_L, W - PLOT_R)
    ys = _scale(-40, 185, H, PAD_T, PAD_B, invert=True)
    lines = [_hline(ys, 0, COLOURS["text"], "parallel")]
    for key, colour in (("thigh_deg", COLOURS["thigh"]), ("hip_deg", COLOURS["hip"]),
                        ("trunk_lean_deg", COLOURS["trunk"])):
        lines.append(_polyline([xs(v) for v in t], [ys(_num(v)) for v in _decimate(series[key])], colour))
    return _frame(lines, ys, -40, 185, "angles during the rep")


def history_chart(points: list[tuple[float, float | None, float | None]], join_onsets: bool = True) -> str:
    """(time, mean depth, wink onset) per set: is the wink starting deeper over the weeks? The onsets
    are joined by a line only when they are one lifter's (join_onsets)."""
    if not points:
        return ""
    t0, t1 = min(p[0] for p in points), max(p[0] for p in points)
    inset = ONSET_DOT_R + 4  # a dot at the first or last day stays whole inside the data area
    xs = _scale(t0, t1 if t1 > t0 else t0 + 1, W, PAD_L + inset, W - PLOT_R + inset)
    values = [v for p in points for v in p[1:] if v is not None]
    lo, hi = min(values + [-10]) - 5, max(values + [20]) + 5
    ys = _scale(lo, hi, H, PAD_T + inset, PAD_B + inset, invert=True)
    parts = [_hline(ys, 0, COLOURS["text"], "parallel")]
    for t, depth, onset in points:
        if depth is not None:
            parts.append(f'<circle cx="{xs(t):.1f}" cy="{ys(depth):.1f}" r="{DOT_R}" fill="{COLOURS["thigh"]}"/>')
        if onset is not None:
            parts.append(f'<circle cx="{xs(t):.1f}" cy="{ys(onset):.1f}" r="{ONSET_DOT_R}" fill="{COLOURS["wink"]}"/>')
    onsets = [(xs(t), ys(o)) for t, _, o in sorted(points) if o is not None]
    if join_onsets and len(onsets) > 1:
        parts.append(_polyline([p[0] for p in onsets], [p[1] for p in onsets], COLOURS["wink"], 1.5))
    parts.append(_time_axis(t0, t1, xs))
    return _frame(parts, ys, lo, hi, "depth and wink onset per set over time")


# --- the self-test's evidence and history ---------------------------------------------------------
EVIDENCE_H = 230
PANEL_TITLE_H = 34
J = {"ear": 0, "shoulder": 1, "hip": 2, "knee": 3, "ankle": 4, "wrist": 5}


def _deg_text(v: float) -> str:
    return "parallel" if abs(v) < 0.5 else f"{abs(v):.0f}° {'below' if v < 0 else 'above'}"


def evidence_svg(evidence: dict | None, onset_deg: float | None) -> str:
    """The evidence rep side-on: its skeleton where the lower back began to round (onset) and at the
    bottom, drawn at the same scale; parallel dashed through the knee; at the bottom, the thigh's
    position at the onset as a red ghost, so the depth past the onset shows. Without rounding: the
    bottom of the deepest rep alone."""
    if not evidence or not evidence.get("bottom"):
        return ""
    frames = [("onset", evidence["onset"])] if evidence.get("onset") and onset_deg is not None else []
    frames.append(("bottom", evidence["bottom"]))
    pts = [p for _, f in frames for p in f["joints"]]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    panel_w = W / len(frames)
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    scale = min(panel_w - 24, EVIDENCE_H - PANEL_TITLE_H - 16) / span
    parts = []
    for k, (name, frame) in enumerate(frames):
        j = frame["joints"]
        fx = [p[0] for p in j]
        fy = [p[1] for p in j]
        cx = k * panel_w + panel_w / 2
        ox = cx - (min(fx) + max(fx)) / 2 * scale
        oy = EVIDENCE_H - 12 - max(fy) * scale     # the ankle on the panel's floor

        def at(i: int, j: Sequence[Sequence[float]] = j, ox: float = ox, oy: float = oy) -> tuple[float, float]:
            return j[i][0] * scale + ox, j[i][1] * scale + oy

        def line(a: str, b: str, colour: str, width: float, extra: str = "") -> str:
            (x1, y1), (x2, y2) = at(J[a]), at(J[b])
            return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                    f'stroke-width="{width}" stroke-linecap="round"{extra}/>')

        rounding = name == "bottom" and onset_deg is not None
        title = (f"rounding began: {_deg_text(frame['depth_deg'])}" if name == "onset"
                 else f"bottom: {_deg_text(frame['depth_deg'])}")
        colour = COLOURS["wink"] if name == "onset" else COLOURS["text"]
        g = [f'<g class="panel {name}">',
             f'<text x="{cx:.1f}" y="20" text-anchor="middle" font-size="13" fill="{colour}">{escape(title)}</text>']
        kx, ky = at(J["knee"])
        hx, hy = at(J["hip"])
        reach = max(abs(hx - kx), 20.0) * 1.3
        left, right = max(k * panel_w + 6, kx - reach), min((k + 1) * panel_w - 6, kx + reach)
        # parallel as the depth number means it: the hip *point* sits above the joint (docs/depth.md), so
        # a hip point on the knee's level is already PARALLEL_LINE_DEG below; the line rises that much
        # towards the hip, and the picture and its title agree
        rise = math.tan(math.radians(PARALLEL_LINE_DEG)) * (1.0 if hx >= kx else -1.0)
        g.append(f'<line class="parallel-line" x1="{left:.1f}" x2="{right:.1f}" y1="{ky + (kx - left) * rise:.1f}" '
                 f'y2="{ky - (right - kx) * rise:.1f}" stroke="{COLOURS["text"]}" stroke-width="1" '
                 f'stroke-dasharray="4 3"/>')
        if rounding and evidence.get("onset"):  # where the thigh was when the rounding began
            o = evidence["onset"]["joints"]
            dx, dy = o[J["hip"]][0] - o[J["knee"]][0], o[J["hip"]][1] - o[J["knee"]][1]
            g.append(f'<line class="onset-ghost" x1="{kx:.1f}" y1="{ky:.1f}" x2="{kx + dx * scale:.1f}" '
                     f'y2="{ky + dy * scale:.1f}" stroke="{COLOURS["wink"]}" stroke-width="3" '
                     f'stroke-dasharray="5 4" stroke-linecap="round"/>')
        back_colour = COLOURS["wink"] if rounding else "#f2f4f7"
        g += [line("knee", "ankle", "#f2f4f7", 5), line("hip", "knee", COLOURS["thigh"], 6),
              line("shoulder", "hip", back_colour, 6), line("shoulder", "wrist", COLOURS["hip"], 4)]
        ex, ey = at(J["ear"])
        sx, sy = at(J["shoulder"])
        neck = max(((ex - sx) ** 2 + (ey - sy) ** 2) ** 0.5, 1e-6)
        r = max(6.0, 0.45 * neck)
        if neck > r:  # the neck ends at the head's outline
            nx, ny = ex + (sx - ex) * r / neck, ey + (sy - ey) * r / neck
            g.append(f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{nx:.1f}" y2="{ny:.1f}" stroke="#f2f4f7" '
                     f'stroke-width="4" stroke-linecap="round"/>')
        g.append(f'<circle cx="{ex:.1f}" cy="{ey:.1f}" r="{r:.1f}" fill="none" stroke="#f2f4f7" stroke-width="2.5"/>')
        dot = COLOURS["wink"] if name == "onset" else COLOURS["thigh"]
        g.append(f'<circle cx="{hx:.1f}" cy="{hy:.1f}" r="5" fill="{dot}"/>')
        g.append("</g>")
        parts += g
    if len(frames) == 2:
        parts.append(f'<line x1="{panel_w:.1f}" x2="{panel_w:.1f}" y1="30" y2="{EVIDENCE_H - 8}" '
                     f'stroke="{COLOURS["grid"]}" stroke-width="1"/>')
    label = ("the rep side-on where the lower back began to round and at the bottom" if len(frames) == 2
             else "the deepest rep side-on at the bottom")
    return (f'<svg viewBox="0 0 {W} {EVIDENCE_H}" role="img" aria-label="{label}" class="chart evidence" '
            f'id="evidence">{"".join(parts)}</svg>')


def selftest_history_chart(tests: list[dict]) -> str:
    """Per self-test over time: where the rounding began (red dots, joined), or, when there was none,
    the deepest rep without it (green ring: 'at least this deep')."""
    points = [t for t in tests if t["outcome"] in ("rounding", "no_rounding")]
    if not points:
        return ""
    t0, t1 = min(t["started_at"] for t in points), max(t["started_at"] for t in points)
    inset = ONSET_DOT_R + 4
    xs = _scale(t0, t1 if t1 > t0 else t0 + 1, W, PAD_L + inset, W - PLOT_R + inset)
    values = [t["onset_deg"] if t["outcome"] == "rounding" else t["deepest_deg"] for t in points]
    values = [v for v in values if v is not None]
    lo, hi = min(values + [-10]) - 5, max(values + [10]) + 5
    ys = _scale(lo, hi, H, PAD_T + inset, PAD_B + inset, invert=True)
    parts = [_hline(ys, 0, COLOURS["text"], "parallel")]
    onsets = []
    for t in sorted(points, key=lambda t: t["started_at"]):
        x = xs(t["started_at"])
        if t["outcome"] == "rounding" and t["onset_deg"] is not None:
            onsets.append((x, ys(t["onset_deg"])))
            parts.append(f'<circle class="onset" cx="{x:.1f}" cy="{ys(t["onset_deg"]):.1f}" r="{ONSET_DOT_R}" '
                         f'fill="{COLOURS["wink"]}"><title>rounding began {t["onset_deg"]:.0f} deg</title></circle>')
        elif t["deepest_deg"] is not None:
            parts.append(f'<circle class="clean" cx="{x:.1f}" cy="{ys(t["deepest_deg"]):.1f}" r="{ONSET_DOT_R}" '
                         f'fill="none" stroke="{COLOURS["target"]}" stroke-width="2"><title>no rounding down to '
                         f'{t["deepest_deg"]:.0f} deg</title></circle>')
    if len(onsets) > 1:
        parts.insert(1, _polyline([p[0] for p in onsets], [p[1] for p in onsets], COLOURS["wink"], 1.5))
    parts.append(_time_axis(t0, t1, xs))
    return _frame(parts, ys, lo, hi, "where the lower back began to round, per self-test")
