"""A finished rep's numbers, and the set's summary sentence. Every number is true or absent.

Depth (docs/depth.md): the deepest midline thigh angle averaged over 0.3 s, in the top-of-thigh convention,
corrected for where MoveNet puts the hip point, with a three-way verdict and its uncertainty band.
Secondary numbers are given only when the view lets us stand behind them, and only within
physically plausible ranges; otherwise they are None and the page shows nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from station.analysis.filters import running_median3, trimmed_mean, window_half_s
from station.analysis.quality import (
    BLOCKING,
    LOST_SIGHT_S,
    MIN_SEEN_AT_BOTTOM,
    MIN_SURE_AT_BOTTOM,
    SETUP_ADVICE,
    TIME_EPS_S,
    TRANSIENT,
    ViewGate,
    advice_cause,
    judge,
    lost_sight_s,
    obstructed,
)
from station.analysis.types import RepResult, RepSeries, SetResult

PARALLEL_BAND_DEG = 3.0          # |depth| within this: "at parallel" (rep-to-rep spread on real clips: 2-3 deg)
ONE_LEG_EXTRA_BAND_DEG = 3.0     # only one leg seen at the bottom: parallax not cancelled
BOTTOM_WINDOW_S = 0.3            # +- this around the bottom: where heels lift
PAUSE_BAND_DEG = 3.0             # within this of the bottom counts as pausing there
BOTTOM_HALF_WINDOW_S = 0.15      # the depth is the deepest mean angle over +- this (glitch-trimmed)
SHANK_PER_HEIGHT = 0.246         # shank length / body height (Winter's anthropometry)
HEEL_NOISE_FLOOR_CM = 3.0        # ankle-point rises below this are keypoint noise: reported as 0
MAX_HEEL_LIFT_CM = 8.0           # beyond this the measurement is broken, not the heel
HEEL_END_S = 0.25                # a rep's first and last this long: heels down, the lift's reference
MAX_KNEE_TRAVEL_CM = 30.0
MAX_TRUNK_LEAN_DEG = 75.0
ONE_DEGREE = 0.5                 # closer to parallel than this rounds to "parallel" in a sentence
# No pelvic tilt is given (wink_magnitude_deg is None): the trunk line tips back by 0.36-1.0 deg per
# degree of pelvic tilt depending on how far the thorax follows the pelvis (segment geometry), which
# one side camera cannot see; back / 0.45 read +9 deg high on the synthetic winks it flagged (16 %
# within 5 deg). The wink's flag and onset do not depend on that ratio and are given.
TEMPO_FIT_S = 0.25               # frames at each end of a rep that give its rate of movement there
TEMPO_FIT_MIN_FRAMES = 3
MIN_RATE_DEG_S = 10.0            # slower than this is no movement to extrapolate from
MAX_EXTRAPOLATE_S = 1.0          # an end is never put further than this from the rep's frames
# The trunk's lean is measured from the lifter's own standing posture: where MoveNet puts the hip
# and shoulder points on a body and its clothes tilts the hip->shoulder line by several degrees
# (synthetic keypoints +6 deg, MoveNet on the mannequin -8 deg against the joints' line), but the
# same way standing and squatting, like the ankle and shin references of heel lift and knee travel.
MIN_SURE_LEAN_SHARE = 0.8        # torso seen surely in this share of the bottom's frames, or no lean


def heel_lift_cm(t: np.ndarray, ankle_y: np.ndarray, at_bottom: np.ndarray, bottom_t: float,
                 standing_ankle_y: float, cm_per_px: float, ends_standing: bool) -> float | None:
    """How far the ankle point rose at the bottom, against where the heels were down: standing
    before the rep, and the rep's own first and last HEEL_END_S joined by a straight line. A still
    camera makes the two agree; where they disagree by the noise floor (or the rep's two ends do),
    the camera (a phone held in the hand) or the feet moved, and no heel lift is given: a 3 % sway
    read 3-7 cm of "heel lift" on reps whose heels never left the floor. A rep cut off by the
    footage has one standing end at most, and only the standing reference."""
    bottom = ankle_y[at_bottom]
    bottom = bottom[np.isfinite(bottom)]          # the frames whose feet were seen
    if not len(bottom) or not math.isfinite(standing_ankle_y):
        return None
    rise_cm = (standing_ankle_y - float(np.median(bottom))) * cm_per_px
    if ends_standing:
        ends = []
        for edge in (t <= t[0] + HEEL_END_S, t >= t[-1] - HEEL_END_S):
            seen = np.isfinite(ankle_y) & edge
            if seen.any():
                ends.append((float(np.median(t[seen])), float(np.median(ankle_y[seen]))))
        if len(ends) < 2:
            return None         # an end unseen: a still camera cannot be told from a moving one
        (t0, y0), (t1, y1) = ends
        down = y0 + (y1 - y0) * (bottom_t - t0) / (t1 - t0) if t1 > t0 else (y0 + y1) / 2
        from_ends_cm = (down - float(np.median(bottom))) * cm_per_px
        if abs(y1 - y0) * cm_per_px >= HEEL_NOISE_FLOOR_CM or abs(from_ends_cm - rise_cm) >= HEEL_NOISE_FLOOR_CM:
            return None
    if rise_cm > MAX_HEEL_LIFT_CM:
        return None
    return rise_cm if rise_cm >= HEEL_NOISE_FLOOR_CM else 0.0


def trunk_lean_from_standing(lean_deg: np.ndarray, torso_sure: np.ndarray, at_bottom: np.ndarray,
                             standing_deg: float) -> float | None:
    """The most the trunk leaned forward beyond its standing angle, over frames with the torso seen
    surely; None without a standing reference or when the torso was unsure at the bottom, where the
    lean peaks (MoveNet then tends to put the hip on a plate or the bar)."""
    sure = torso_sure > 0.5
    if not math.isfinite(standing_deg) or not sure.any() or float(np.mean(sure[at_bottom])) < MIN_SURE_LEAN_SHARE:
        return None
    lean = float(np.nanmax(running_median3(lean_deg[sure]))) - standing_deg
    return lean if 0.0 <= lean <= MAX_TRUNK_LEAN_DEG else None


def sustained_bottom(t: np.ndarray, angle_deg: np.ndarray, half_window_s: float = BOTTOM_HALF_WINDOW_S,
                     hips_sure: np.ndarray | None = None, legs_fresh: np.ndarray | None = None
                     ) -> tuple[int, float]:
    """The bottom of a rep: (frame index, angle), the deepest *average* over +- half_window_s.

    One frame's angle jitters by 1-2 deg with the pixels (another decoder, sensor noise); an
    average over 0.3 s of frames jitters less than the deepest angle held for a while (the method
    before: docs/depth.md has the numbers) and reads a bouncing bottom (a parabola) ~1.5 deg
    shallow after a 1 s descent, ~3.5 after a 0.65 s one. Each window leaves out its deepest
    frame, so a single glitched frame cannot set the depth, and the window reaches at least the
    neighbouring frames, so it means the same at 10 fps as at 60. Windows of fewer than three
    frames (a rep's first and last frames, a frame between gaps) count only when there is nothing
    else, and then by their shallower frame.

    With hips_sure and legs_fresh (per frame, 0 or 1), a window the rep's "not judged" rule would
    call hidden is skipped, as filters.SettledDepth skips it live: otherwise a bottom with a few
    unsure frames in its deepest window was stored past a target the buzzer never saw reached.
    """
    n = len(t)
    if n < 3:
        i = int(np.argmax(angle_deg))
        return i, float(angle_deg[i])
    half = window_half_s(float(np.median(np.diff(t))), half_window_s)
    lo = np.searchsorted(t, t - half, side="left")
    hi = np.searchsorted(t, t + half, side="right")
    settled = np.full(n, np.inf)
    for i in range(n):
        if hi[i] - lo[i] >= 3:
            settled[i] = trimmed_mean(angle_deg[lo[i]:hi[i]])
    if hips_sure is not None and legs_fresh is not None:
        seen = np.array([hips_sure[a:b].mean() >= MIN_SURE_AT_BOTTOM and legs_fresh[a:b].mean() >= MIN_SEEN_AT_BOTTOM
                         for a, b in zip(lo, hi)])
        if np.isfinite(settled[seen]).any():
            settled[~seen] = np.inf
    if not np.isfinite(settled).any():
        settled = np.array([angle_deg[lo[i]:hi[i]].max() for i in range(n)])
    i = int(np.argmin(settled))
    order = np.argsort(angle_deg[lo[i]:hi[i]])
    deepest_kept = order[1] if len(order) >= 3 else order[0]   # the trimmed frame is not the bottom
    return int(lo[i] + deepest_kept), float(settled[i])


def pause_middle(t: np.ndarray, angle_deg: np.ndarray, bottom_i: int, bottom_deg: float) -> float:
    """The middle of the time spent at the bottom (within PAUSE_BAND_DEG of it): a paused squat's
    'down' ends halfway through the pause and its 'up' starts there."""
    near = angle_deg <= bottom_deg + PAUSE_BAND_DEG
    first = last = bottom_i
    while first > 0 and near[first - 1]:
        first -= 1
    while last < len(t) - 1 and near[last + 1]:
        last += 1
    return float(t[first] + t[last]) / 2


def movement_edges(t: np.ndarray, signal: np.ndarray, standing_deg: float, fit_s: float = TEMPO_FIT_S
                   ) -> tuple[float | None, float | None]:
    """When the lifter left standing and when they got back there: (start, end), None where unknown.

    The rep's own frames begin and end at threshold crossings (15 deg into the descent, 10 deg short
    of standing), and near standing the thigh angle is too noisy to see where the movement began.
    So each end is extrapolated from the frames next to it as movement from (or to) rest at a steady
    acceleration: a lifter at rate v, s degrees from standing, left it 2 s / v ago (arrives 2 s / v on).
    """
    def line(sel: np.ndarray) -> tuple[float, float, float] | None:
        if np.count_nonzero(sel) < TEMPO_FIT_MIN_FRAMES or not math.isfinite(standing_deg):
            return None
        tc = float(np.mean(t[sel]))
        rate, level = np.polyfit(t[sel] - tc, signal[sel], 1)
        return tc, float(level), float(rate)

    start = end = None
    if len(t) >= 2:   # at 8 fps, 0.25 s holds three frames only if no timestamp comes a little late
        fit_s = max(fit_s, 1.01 * (TEMPO_FIT_MIN_FRAMES - 1) * float(np.median(np.diff(t))))
    fit = line(t <= t[0] + fit_s)
    if fit is not None and fit[2] < -MIN_RATE_DEG_S and fit[1] < standing_deg:
        start = max(fit[0] - 2 * (standing_deg - fit[1]) / -fit[2], float(t[0]) - MAX_EXTRAPOLATE_S)
    fit = line(t >= t[-1] - fit_s)
    if fit is not None and fit[2] > MIN_RATE_DEG_S and fit[1] < standing_deg:
        end = min(fit[0] + 2 * (standing_deg - fit[1]) / fit[2], float(t[-1]) + MAX_EXTRAPOLATE_S)
    return start, end


def reached(depth_deg: float, target_deg: float) -> bool:
    """The target is reached in the whole degrees the lifter sees, on the page, the bar and the
    buzzer alike. A parallel target (the default) is reached by every rep the page calls "at
    parallel" or below: "+2°, at parallel" beside "stopped short of your target" was two answers
    to one question, 2 deg apart inside the band the station says it cannot tell apart."""
    if round(target_deg) == 0:
        return round(depth_deg) <= PARALLEL_BAND_DEG
    return round(depth_deg) <= round(target_deg)


def onset_frame(depth_deg: Sequence[float] | np.ndarray, onset_deg: float) -> int:
    """The frame on the way down (up to the deepest) whose depth is nearest the onset: the picture
    closest to the number it illustrates, as frames can be 3 deg apart (the self-test's evidence and
    the replay's mark)."""
    depth = np.asarray(depth_deg, float)
    bottom = int(np.argmin(depth))
    return int(np.argmin(np.abs(depth[:bottom + 1] - onset_deg)))


def depth_verdict(depth_deg: float, band_deg: float) -> str:
    """Judged on the whole degrees every page and `station analyze` show: a rep shown as "3°" with a
    3 deg band is at parallel, never "at parallel" beside another "3°" that is "below"."""
    shown = round(depth_deg)
    if shown < -band_deg:
        return "below"
    return "above" if shown > band_deg else "parallel"


def build_rep(index: int, start_t: float, rows: np.ndarray, columns: dict, *, target_depth_deg: float,
              depth_from_thigh: Callable[[Any], Any],   # float -> float, array -> array
              standing_ankle_y: float, standing_shin_deg: float, shank_px: float,
              standing_trunk_deg: float, standing_deg: float,
              lifter_height_cm: float, frame_size: tuple[int, int], cut_off_start: bool = False,
              cut_off_end: bool = False, top_t: float | None = None,
              next_top_t: float | None = None, plates_hid_set: bool = False,
              lead_in: np.ndarray | None = None) -> tuple[RepResult, bool]:
    """One rep's numbers from its per-frame rows (columns: name -> column index), and whether its
    own bottom was hidden. A rep cut off by the start of the footage has no 'down' time, one cut off
    by its end no 'up' time: a guess there would read 0.3 s or 0.03 s.

    plates_hid_set: most of this set's earlier bottoms were hidden (a plate over the hip). Then a
    bottom that happens to score well is not judged either: it is the same camera, bar and plates,
    and MoveNet's hip there is a guess that scored well by chance (a deep set read +19 deg).

    lead_in: rows from up to 0.5 s before the rep's start, where the lifter still stood; only its
    series (the replay, the charts) shows them, no number is measured on them."""
    col = {name: rows[:, i] for name, i in columns.items()}
    t = col["t"]
    view, issue = judge(rows[:, columns["spread"]:columns["spread"] + len(ViewGate.FEATURES)])
    signal = col["thigh_deg"] if issue not in BLOCKING else col["drop_deg"]
    bottom_i, bottom_deg = sustained_bottom(t, signal)
    bottom_t = pause_middle(t, signal, bottom_i, bottom_deg)
    at_bottom = np.abs(t - bottom_t) <= BOTTOM_WINDOW_S
    own_bottom_hidden = (float(np.mean(col["hips_sure"][at_bottom])) < MIN_SURE_AT_BOTTOM
                         or float(np.mean(col["legs_fresh"][at_bottom])) < MIN_SEEN_AT_BOTTOM)
    if not (own_bottom_hidden or plates_hid_set):
        # a judged bottom's depth skips the narrow windows the live depth skipped (the buzzer's word)
        bottom_i, bottom_deg = sustained_bottom(t, signal, hips_sure=col["hips_sure"], legs_fresh=col["legs_fresh"])
        bottom_t = pause_middle(t, signal, bottom_i, bottom_deg)
        at_bottom = np.abs(t - bottom_t) <= BOTTOM_WINDOW_S
    # a note gives way; feet out of the picture do not (cut by the frame's edge, the hips near it score
    # low too, and "plates hide your hips" would name the wrong cause to a bodyweight lifter)
    if issue not in BLOCKING and (own_bottom_hidden or plates_hid_set):
        issue = "hips_hidden"      # a plate over the hip at the bottom: MoveNet guesses, we do not
    # an upright in front of the legs: MoveNet puts the joint at its edge and scores it as usual. It
    # outranks a plate (its advice is the one that helps), not the feet out of the picture (whose
    # advice, move back, comes first: the look needs the feet)
    if (issue not in BLOCKING or issue == "hips_hidden") and obstructed(col["obstructed"][at_bottom]):
        issue = "upright_in_front"
    # someone walked past in front: the tracker held the lifter's pose while they did, and the
    # bottom may have been then. It says nothing of the camera, so it is not counted as hidden hips
    # (plates_hid_set) nor against the set (TRANSIENT)
    passed = bool(np.any(col["passing"] > 0)) and lost_sight_s(t, col["legs_fresh"]) >= LOST_SIGHT_S - TIME_EPS_S
    if passed and (issue not in BLOCKING or issue in ("hips_hidden", "feet_out")):
        own_bottom_hidden = False
        if issue != "feet_out":         # the camera's own fault is the advice that helps
            issue = "walked_past"
    side_view = issue not in BLOCKING
    depth = depth_from_thigh(bottom_deg) if side_view else bottom_deg
    around = slice(max(0, bottom_i - 2), bottom_i + 3)
    both_legs = float(np.mean(col["legs_seen"][around])) >= 1.5
    band = PARALLEL_BAND_DEG + (0.0 if both_legs else ONE_LEG_EXTRA_BAND_DEG)
    cm_per_px = lifter_height_cm * SHANK_PER_HEIGHT / shank_px if shank_px > 0 else math.nan

    lean = knee_travel = heel = None
    if side_view:
        lean = trunk_lean_from_standing(col["trunk_lean_deg"], col["torso_sure"], at_bottom, standing_trunk_deg)
        if math.isfinite(cm_per_px):
            shin = -sustained_bottom(t, -col["shin_deg"])[1]   # its most forward 0.3 s, glitch-trimmed
            if math.isfinite(standing_shin_deg):
                # the knee's forward travel over the ankle from standing (DOMAIN.md: ankle mobility)
                travel = lifter_height_cm * SHANK_PER_HEIGHT * (math.sin(math.radians(shin))
                                                                - math.sin(math.radians(standing_shin_deg)))
                knee_travel = travel if 0.0 <= travel <= MAX_KNEE_TRAVEL_CM else None
            heel = heel_lift_cm(t, col["ankle_y"], at_bottom, bottom_t, standing_ankle_y, cm_per_px,
                                ends_standing=not (cut_off_start or cut_off_end))
    moved, stood = movement_edges(t, signal, standing_deg)
    moved = start_t if moved is None else min(moved, float(t[0]))
    stood = float(t[-1]) if stood is None else max(stood, float(t[-1]))
    # no lockout: the rep left from the last one's top (top_t) or turned into the next at its own
    # top (next_top_t), never passing through standing
    moved = moved if top_t is None else top_t
    stood = stood if next_top_t is None else next_top_t
    series = _series(rows if lead_in is None else np.concatenate([lead_in, rows]), columns,
                     depth_from_thigh if side_view else None, frame_size)
    hidden = issue in ("hips_hidden", "walked_past")     # no bottom time we can stand behind
    verdict = depth_verdict(depth, band) if side_view else "unknown"
    rep = RepResult(
        index=index, start_t=start_t, bottom_t=bottom_t, end_t=float(t[-1]), max_depth_deg=depth,
        below_parallel=verdict == "below", reached_target=reached(depth, target_depth_deg) if side_view else False,
        tut_s=None if cut_off_start or cut_off_end else stood - moved,
        # a bottom hidden behind the plates has no time we can stand behind: the total only
        down_s=None if cut_off_start or hidden else bottom_t - moved,
        up_s=None if cut_off_end or hidden else stood - bottom_t,
        max_trunk_lean_deg=lean, knee_travel_cm=knee_travel, heel_lift_cm=heel,
        wink=False, wink_onset_deg=None, wink_magnitude_deg=None, wink_confidence=0.0, series=series,
        depth_verdict=verdict, depth_uncertainty_deg=band, side_view=side_view,
        view=view, setup_issue=issue, cut_off_end=cut_off_end)
    return rep, own_bottom_hidden


def _series(rows: np.ndarray, columns: dict, depth_from_thigh: Callable[[Any], Any] | None,
            frame_size: tuple[int, int]) -> RepSeries:
    """What is stored per frame for the replay and the charts; t from the first row shown."""
    col = {name: rows[:, columns[name]] for name in ("t", "thigh_deg", "hip_deg", "trunk_lean_deg", "knee_deg",
                                                     "torso_sure")}
    joints = rows[:, columns["joints"]:columns["joints"] + 12].reshape(-1, 6, 2).astype(np.float32)
    # the replay and the charts speak the lifter's depth convention (top of the thigh), like the onset
    shown = col["thigh_deg"] if depth_from_thigh is None else depth_from_thigh(col["thigh_deg"])
    return RepSeries(t=(col["t"] - col["t"][0]).astype(np.float32), thigh_deg=shown.astype(np.float32),
                     hip_deg=col["hip_deg"].astype(np.float32),
                     # a frame whose torso was unsure (a plate over it, the legs from a second look)
                     # has no trunk line we stand behind: a gap in the chart, not a jump
                     trunk_lean_deg=np.where(col["torso_sure"] > 0.5, col["trunk_lean_deg"],
                                             np.nan).astype(np.float32),
                     knee_deg=col["knee_deg"].astype(np.float32), joints=joints, frame_size=frame_size)


def _commonest(values: list[str]) -> str:
    """The commonest value, ties broken by name: a set's iteration order is the hash seed's, and what
    the page says must not change with it."""
    return max(set(values), key=lambda v: (values.count(v), v))


# a set with at least this share of its reps not judged is not judged as a whole (summarise_set)
SET_BLOCKED_SHARE = 1 / 3


def summarise_set(result: SetResult, margin_deg: float) -> None:
    """Per-set numbers and the one sentence a lifter reads first."""
    reps = result.reps
    views = [r.view for r in reps]
    result.view = _commonest(views) if views else "unknown"
    # The set is "not judged" when at least SET_BLOCKED_SHARE of its reps were: then the rest share
    # their camera, light and plates and are not trusted either (a lucky side-on rep of a front-view
    # set, a bottom that scored well behind the plates). Below that, one rep in the dark does not
    # hide five good ones. A judged set publishes only what its judged reps say.
    blocked = [r.setup_issue for r in reps if not r.side_view and r.setup_issue and r.setup_issue not in TRANSIENT]
    set_blocked = bool(blocked) and len(blocked) >= SET_BLOCKED_SHARE * len(reps)
    result.setup_issue = _commonest(blocked) if set_blocked else None
    result.setup_advice = SETUP_ADVICE.get(result.setup_issue) if result.setup_issue else None
    side = judged_reps(result)
    depths = np.array([r.max_depth_deg for r in side])
    result.depth_sd_deg = float(depths.std()) if len(depths) > 1 else None
    winks = [r for r in side if r.wink]
    # one flagged rep in a longer set could be noise; two are a pattern (the self-test's own rule,
    # so a self-test set and its result never disagree). A one-rep set has only its rep.
    if winks and len(winks) >= min(len(side), 2):
        onset = float(np.median([r.wink_onset_deg for r in winks]))
        result.wink_onset_deg = onset
        result.suggested_depth_deg = onset + margin_deg
        if result.lifter_onset_deg is not None:
            # the target is this lifter's self-test safe depth: a set never advises going deeper than
            # that (a set under load may round earlier, and then its own, shallower advice stands)
            result.suggested_depth_deg = max(result.suggested_depth_deg, result.target_depth_deg)
    result.summary = set_sentence(result)


def judged_reps(result: SetResult) -> list[RepResult]:
    """The reps whose depth and rounding the set may speak for: side-on, in a set the view gate passed
    (the store's `judged`, station.store.public_rep)."""
    return [] if result.setup_issue else [r for r in result.reps if r.side_view]


def back_seen(result: SetResult) -> bool:
    """Whether the lower back was seen at the bottom of any judged rep: without that, "no rounding"
    is no verdict (the sentence, the set-end cue and History's "not seen" say so)."""
    return any(r.wink_judged for r in judged_reps(result))


# A rep whose head was out of the picture still has a depth (hip and knee were seen); what that
# costs is said once for the set. (Feet out of the picture block the depth: quality.BLOCKING.)
SETUP_NOTES = {
    "head_out": "Your head was out of the picture: move the camera back or tilt it up so all of you is in view.",
}


def depth_words(deg: float, band_deg: float = PARALLEL_BAND_DEG) -> str:
    if abs(round(deg)) <= band_deg:     # whole degrees, as depth_verdict
        return "at parallel"
    return f"{abs(deg):.0f} deg {'below' if deg < 0 else 'above'} parallel"


def safe_depth_advised(suggested_deg: float | None, lifter_onset_deg: float | None,
                       target_depth_deg: float | None) -> bool:
    """Whether a set's advice is the lifter's self-test safe depth (their target), as the words say it:
    the sentence then says "your self-test's safe depth" and the page's tile "safe depth"."""
    return (suggested_deg is not None and lifter_onset_deg is not None and target_depth_deg is not None
            and stop_words(suggested_deg) == stop_words(target_depth_deg))


def stop_words(deg: float) -> str:
    """A depth to stop at, in whole degrees as the self-test words it ("parallel", "5 deg below
    parallel"): two advices are the same when their words are (-4.6 and -5.0 both "5 deg below")."""
    return "parallel" if abs(deg) < ONE_DEGREE else depth_words(deg, 0.0)


def _rep_list(indices: list[int]) -> str:
    if len(indices) == 1:
        return f"rep {indices[0]}"
    if indices == list(range(indices[0], indices[-1] + 1)):
        return f"reps {indices[0]}-{indices[-1]}"
    return "reps " + ", ".join(str(i) for i in indices)


def set_sentence(result: SetResult) -> str:
    """What the set showed, then, for reps the view gate did not pass in a set it did, why and what to
    change: said last and once, not nested in the depth's parenthesis."""
    sentence = _judged_sentence(result)
    unjudged = [r for r in result.reps if not r.side_view]
    if judged_reps(result) and unjudged:
        # the camera's problem before a passer-by's: that advice is the one to act on
        issues = [r.setup_issue or "" for r in unjudged]
        cause = advice_cause(_commonest([i for i in issues if i not in TRANSIENT] or issues)) or \
            "the camera did not see it side-on. Stand side-on to the camera, whole body in view."
        sentence += f" {_rep_list([r.index for r in unjudged]).capitalize()} " \
                    f"{'was' if len(unjudged) == 1 else 'were'} not judged: {cause}"
    return sentence


def _judged_sentence(result: SetResult) -> str:
    reps = result.reps
    n = len(reps)
    counted = f"{n} rep{'s' if n != 1 else ''}"
    side = judged_reps(result)
    if not side:
        passers = all(r.setup_issue in TRANSIENT for r in reps) and bool(reps)
        advice = result.setup_advice or SETUP_ADVICE["walked_past" if passers else "front_view"]
        return f"{counted}. {advice}"
    deepest = min(side, key=lambda r: r.max_depth_deg)
    head = f"{counted}, deepest {depth_words(deepest.max_depth_deg, deepest.depth_uncertainty_deg)}"
    unjudged = [r.setup_issue for r in reps if not r.side_view]
    if unjudged:
        head += f" ({len(unjudged)} not judged)"
    notes = [r.setup_issue for r in side if r.setup_issue in SETUP_NOTES]
    if notes and 2 * len(notes) >= len(side):
        head += f". {SETUP_NOTES[_commonest(notes)][:-1]}"
    winks = [r.index for r in side if r.wink]
    onset = result.lifter_onset_deg
    # the target is "deep enough, still safe": reaching it is not the whole story when a rep went on
    # past the depth at which this lifter's back rounded in the self-test, seen or not this time (a
    # self-test goes past it on purpose)
    past_onset = [r.index for r in side if round(r.max_depth_deg) < round(onset)] \
        if onset is not None and not result.selftest else []
    past = (f"{_rep_list(past_onset).capitalize()} went deeper than where your lower back began to round "
            f"in your self-test ({depth_words(onset, 0.0)})" if onset is not None and past_onset else "")
    if winks and result.wink_onset_deg is not None and result.suggested_depth_deg is not None:
        # whole degrees, as the self-test words them: its page and this sentence say the same thing
        stop = stop_words(result.suggested_depth_deg)
        rounded = f"{head}. Your lower back started to round {depth_words(result.wink_onset_deg, ONE_DEGREE)} on " \
                  f"{_rep_list(winks)}"
        if onset is not None and safe_depth_advised(result.suggested_depth_deg, onset, result.target_depth_deg):
            target = f"stop at your target, {stop} (your self-test's safe depth)."
            return f"{rounded}. {past}: {target}" if past else f"{rounded}: {target}"
        earlier = ""
        if onset is not None and result.target_depth_deg is not None:   # two advices: say why this one
            earlier = (f" That is shallower than your self-test's safe depth ({stop_words(result.target_depth_deg)}): "
                       "your back rounded earlier in this set.")
        return f"{rounded}: try stopping at {stop}.{earlier}{' ' + past + '.' if past else ''}"
    if winks:
        return f"{head}. Possible lower-back rounding on {_rep_list(winks)} only: film a few more reps to confirm."
    missed = short_reps(result)
    goal = "its self-test target" if result.selftest else "your target depth"
    # a rep the footage cut off may have gone deeper after it: not "short", and said once
    cut = [r.index for r in side if r.cut_off_end and not r.reached_target]
    every = ("the other judged reps" if unjudged else "the other reps") if cut else \
        ("every judged rep" if unjudged else "every rep")
    tail = f" {_rep_list(cut).capitalize()} was cut off before it ended." if cut else ""
    if not back_seen(result):
        back = ("Your lower back was hidden at the bottom of every rep (plates, the bar or an arm in front of "
                "it), so rounding was not judged")
        if all(r.setup_issue == "head_out" for r in judged_reps(result)):   # said in the head's note before
            back = "Without it, rounding was not judged"
        joined = "; "
    else:
        # "none seen" speaks only for the backs that were seen: a hidden one is named (the table's "not seen")
        hidden = [r.index for r in side if not r.wink_judged]
        back = "No lower-back rounding seen" + (f" (lower back hidden on {_rep_list(hidden)})" if hidden else "")
        joined = " and "
    if missed:
        past = f" {past}: stop at your target." if past else ""
        return f"{head}. {back}; {_rep_list(missed)} stopped short of {goal}.{past}{tail}"
    if past:
        # not "every rep reached your target depth" before "but go no deeper": the lifter hears the first
        return f"{head}. {back}. {past}: stop at your target.{tail}"
    if cut and len(cut) == len(side):
        return f"{head}. {back}.{tail}"
    return f"{head}. {back}{joined}{every} reached {goal}.{tail}"


def short_reps(result: SetResult) -> list[int]:
    """The judged reps that stopped short of the target: the sentence names them, the set's end cue
    does not call such a set clean. A rep cut off before it ended may have gone deeper: not short."""
    return [r.index for r in judged_reps(result) if not r.reached_target and not r.cut_off_end]
