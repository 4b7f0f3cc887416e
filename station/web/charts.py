"""Inline SVG charts drawn on the server: no script, no CDN, a few kB, readable on a phone."""

from __future__ import annotations

from html import escape

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 360, 170, 34, 8, 10, 20
# Reference lines (parallel, target) end where the data ends and carry their names in this gutter on
# the right, so a label never sits on a bar, a dot or a curve.
GUTTER = 52
PLOT_R = W - PAD_R - GUTTER     # right edge of the data area
LABEL_GAP = 12                  # two reference labels closer than this (px) are stacked apart
DOT_R, ONSET_DOT_R = 3, 4       # history dots; the data area is inset by the larger one so none is clipped
COLOURS = {"thigh": "#ffd23f", "hip": "#6ec1ff", "trunk": "#ff8fa3", "grid": "#3a3f47", "target": "#7ee081",
           "wink": "#ff5d5d", "text": "#aab2bd"}


def _scale(lo, hi, size, pad_lo, pad_hi, invert=False):
    span = (hi - lo) or 1.0

    def f(v):
        frac = (v - lo) / span
        return pad_lo + (1 - frac if invert else frac) * (size - pad_lo - pad_hi)
    return f


def _frame(lines: list[str], ys, y_lo, y_hi, label) -> str:
    body = "".join(lines)
    ticks = "".join(
        f'<line x1="{PAD_L}" x2="{PLOT_R}" y1="{ys(v):.1f}" y2="{ys(v):.1f}" stroke="{COLOURS["grid"]}" stroke-width="1"/>'
        f'<text x="{PAD_L - 4}" y="{ys(v) + 4:.1f}" text-anchor="end" font-size="11" fill="{COLOURS["text"]}">{v:.0f}</text>'
        for v in _ticks(y_lo, y_hi))
    return (f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}" class="chart">{ticks}{body}</svg>')


def _ticks(lo, hi):
    step = 30 if hi - lo > 100 else 15 if hi - lo > 40 else 5
    start = int(lo // step + 1) * step
    return list(range(start, int(hi) + 1, step))


def _polyline(xs, ys, colour, width=2.0) -> str:
    pts = " ".join(f"{x:.0f},{y:.0f}" for x, y in zip(xs, ys))
    return f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-linejoin="round"/>'


def _hline(ys, value, colour, text, dash="4 3", label_dy=0.0) -> str:
    """A dashed reference line across the data area, named in the gutter (text lines split on '\n')."""
    y = ys(value)
    words = "".join(f'<tspan x="{PLOT_R + 4}" dy="{0 if i == 0 else 12}">{escape(part)}</tspan>'
                    for i, part in enumerate(text.split("\n")))
    return (f'<line x1="{PAD_L}" x2="{PLOT_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-dasharray="{dash}"/>'
            f'<text class="ref" x="{PLOT_R + 4}" y="{y + 4 + label_dy:.1f}" font-size="11" fill="{colour}">{words}</text>')


def _reference_lines(ys, target_deg) -> list[str]:
    if abs(target_deg) < 1.5:
        return [_hline(ys, 0, COLOURS["target"], "parallel\n= target")]
    gap = ys(target_deg) - ys(0)   # > 0: the target line is below parallel on the chart
    push = 0.0 if abs(gap) >= LABEL_GAP else (LABEL_GAP - abs(gap)) / 2
    return [_hline(ys, 0, COLOURS["text"], "parallel", label_dy=-push if gap > 0 else push),
            _hline(ys, target_deg, COLOURS["target"], "target", label_dy=push if gap > 0 else -push)]


def _decimate(values, limit=240):
    step = max(1, len(values) // limit)
    return values[::step]


def set_curves(reps: list[dict], target_deg: float) -> tuple[str, str]:
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
            thigh.append(s["thigh_deg"][i])
            hip.append(s["hip_deg"][i])
            trunk.append(s["trunk_lean_deg"][i])
        if rep.get("wink") and rep.get("wink_onset_deg") is not None:
            marks.append((offset, offset + s["t"][-1], rep["wink_onset_deg"]))
        offset += s["t"][-1] + 0.6
    if not ts:
        return "", ""
    xs = _scale(0, max(ts), W, PAD_L, W - PLOT_R)
    lo = min(-20.0, min(thigh) - 5, target_deg - 5)
    ys = _scale(lo, 95, H, PAD_T, PAD_B, invert=True)
    lines = _reference_lines(ys, target_deg)
    lines += [f'<line x1="{xs(a):.1f}" x2="{xs(b):.1f}" y1="{ys(v):.1f}" y2="{ys(v):.1f}" stroke="{COLOURS["wink"]}" '
              f'stroke-width="3"/>' for a, b, v in marks]
    lines.append(_polyline([xs(t) for t in ts], [ys(v) for v in thigh], COLOURS["thigh"], 2.5))
    first = _frame(lines, ys, lo, 95, "thigh angle over the set")
    hi2 = max(185.0, max(hip) + 5)
    ys2 = _scale(0, hi2, H, PAD_T, PAD_B, invert=True)
    second = _frame([_polyline([xs(t) for t in ts], [ys2(v) for v in hip], COLOURS["hip"]),
                     _polyline([xs(t) for t in ts], [ys2(v) for v in trunk], COLOURS["trunk"])],
                    ys2, 0, hi2, "hip angle and trunk lean over the set")
    return first, second


def depth_bars(reps: list[dict], target_deg: float) -> str:
    """One bar per rep from standing down to its deepest point, against parallel and the target."""
    depths = [r["max_depth_deg"] for r in reps if r["max_depth_deg"] is not None]
    if not depths:
        return ""
    n = len(reps)
    lo = min(-20.0, min(depths) - 5, target_deg - 5)
    ys = _scale(lo, 90, H, PAD_T, PAD_B, invert=True)
    slot = (PLOT_R - PAD_L) / n
    parts = []
    for i, rep in enumerate(reps):
        x = PAD_L + i * slot + slot * 0.2
        parts.append(f'<text x="{x + slot * 0.3:.1f}" y="{H - 5}" text-anchor="middle" font-size="11" '
                     f'fill="{COLOURS["text"]}">{rep["idx"]}</text>')
        if rep["max_depth_deg"] is None:
            continue  # not judged (not side-on): an empty slot, no bar
        colour = COLOURS["wink"] if rep["wink"] else (COLOURS["target"] if rep["reached_target"] else COLOURS["thigh"])
        top, bottom = ys(90), ys(rep["max_depth_deg"])
        parts.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{slot * 0.6:.1f}" height="{bottom - top:.1f}" '
                     f'fill="{colour}" rx="3"><title>rep {rep["idx"]}: {rep["max_depth_deg"]:.0f} deg</title></rect>')
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
        lines.append(_polyline([xs(v) for v in t], [ys(v) for v in _decimate(series[key])], colour))
    return _frame(lines, ys, -40, 185, "angles during the rep")


def history_chart(points: list[tuple[float, float | None, float | None]]) -> str:
    """(time, mean depth, wink onset) per set: is the wink starting deeper over the weeks?"""
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
    if len(onsets) > 1:
        parts.append(_polyline([p[0] for p in onsets], [p[1] for p in onsets], COLOURS["wink"], 1.5))
    return _frame(parts, ys, lo, hi, "depth and wink onset per set over time")
