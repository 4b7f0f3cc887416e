"""The self-test, "find my safe depth": pure logic, no I/O (docs/self-test.md).

A lifter does a few slow bodyweight squats, each a little deeper than the last. The station
watches every rep's wink verdict (RepResult.wink, wink_onset_deg, wink_confidence) and stops
when it has seen where the lower back starts to round, or that it does not round down to full
depth. The result: the onset depth and a safe depth just above it (onset + margin), which
becomes the lifter's target depth, so the LED bar's "target reached" means "deep enough, still
safe".

Depths follow the analysis: the top of the thigh against horizontal, degrees, 0 = parallel,
negative = below. "Shallower" means a larger number.

    plan = SelfTestPlan(margin_deg=5)
    test = SelfTestTracker(plan, lifter="maria")
    test.begin(t)                  # source clock: reps that started earlier do not count
    step = test.feed(rep)          # each RepCompleted; step.target_deg is the next rep's target
    if step.done: test.result      # SelfTestResult
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from station.analysis.quality import SETUP_SHORT, TRANSIENT
from station.analysis.summary import SET_BLOCKED_SHARE, onset_frame
from station.analysis.types import SERIES_JOINTS, RepResult
from station.errors import StationError

# outcomes
ROUNDING = "rounding"          # rounding seen: onset and safe depth
NO_ROUNDING = "no_rounding"    # no rounding down to the deepest rep (full depth or the rep limit)
# What "no rounding" can and cannot promise: the station sees a lower back that rounds by the trunk
# tipping back; one that rounds while the upper back keeps the trunk line still escapes it (one of
# the two real winks on the dev clips did; docs/butt-wink.md).
UNSEEN_ROUNDING = ("The station sees rounding that tips your trunk back; rounding that leaves your trunk "
                   "line still can escape it, so film a rep from the side if you are unsure.")
INCOMPLETE = "incomplete"      # too many reps could not be judged: no verdict
CANCELLED = "cancelled"        # stopped from the page, or nobody squatted for IDLE_LIMIT_S

IDLE_LIMIT_S = 300.0           # no rep for this long after the start (or the last rep): the test is dropped
DEPTH_LIMITS_DEG = (-40.0, 40.0)   # the range a target depth may take (config analysis.target_depth_deg)


class SelfTestError(StationError):
    """A self-test request the station cannot honour now (one already runs...): the message says why."""


@dataclass(frozen=True)
class SelfTestPlan:
    """Targets per rep: start_deg, then step_deg deeper per judged rep and at least min_step_deg
    deeper than that rep went, down to full_depth_deg."""

    start_deg: float = 25.0
    step_deg: float = 7.0
    min_step_deg: float = 3.0       # the next target is at least this much deeper than the rep went
    full_depth_deg: float = -30.0
    max_reps: int = 10              # judged reps; the plan reaches full depth on rep 9
    max_unjudged: int = 4           # reps that could not be judged before the test gives up
    margin_deg: float = 5.0         # safe depth = onset + margin (AnalysisParams.safe_depth_margin_deg)
    high_confidence: float = 0.99   # one rep this sure of rounding ends the test (a trunk back-tilt of ~10 deg)
    full_depth_tolerance_deg: float = 3.0   # a rep within this of full depth counts as full depth

    def target(self, step: int) -> float:
        """The target of plan step `step` (0-based), never deeper than full depth."""
        return max(self.full_depth_deg, self.start_deg - step * self.step_deg)


@dataclass
class SelfTestRep:
    """One rep of the test as the page shows it."""

    number: int                     # 1-based within the test (every rep the station counted)
    rep_index: int                  # RepResult.index (within its set)
    set_key: int                    # the analyzer's set index, for the evidence link
    target_deg: float
    judged: bool
    depth_deg: float | None         # None when not seen side-on (a hidden back keeps its depth)
    wink: bool = False
    onset_deg: float | None = None
    confidence: float = 0.0
    note: str = ""                  # what the lifter is told about this rep
    verdict: str | None = None      # below | parallel | above, as the rep's set shows it (None: no depth)
    reason: str = ""                # not judged: why, in the table's words ("back hidden", "not side-on")


@dataclass
class SelfTestStep:
    """What feed() decided about a rep."""

    counted: bool                   # False: the rep began before the test (ignored)
    done: bool
    target_deg: float               # the next rep's target (the last one when done)
    deeper: bool                    # the next target is deeper than this rep's
    message: str


@dataclass
class SelfTestResult:
    outcome: str                    # ROUNDING | NO_ROUNDING | INCOMPLETE | CANCELLED
    lifter: str
    onset_deg: float | None = None          # where the lower back began to round (the shallowest seen)
    safe_depth_deg: float | None = None     # onset + margin: the lifter's new target depth
    margin_deg: float = 5.0
    confirmed: bool = False                 # rounding: seen on two reps in a row, or once with high confidence
    full_depth_deg: float = -30.0
    deepest_deg: float | None = None        # the deepest judged rep
    reached_full_depth: bool = False        # no rounding: full depth reached on two reps
    evidence_rep: int | None = None         # SelfTestRep.number of the rep shown as evidence
    message: str = ""
    reps: list[SelfTestRep] = field(default_factory=list)

    @property
    def sets_target(self) -> bool:
        """Rounding found: the lifter's target becomes the safe depth. No rounding: the configured target
        applies again. Incomplete or cancelled: the target stays as it was."""
        return self.outcome in (ROUNDING, NO_ROUNDING)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["sets_target"] = self.sets_target
        return out


def off_view(rep: RepResult) -> bool:
    """The view gate did not pass the rep (the head out of the picture does not count: depth stands)."""
    return not rep.side_view or rep.depth_verdict == "unknown"


# the table's short word for a rep the camera set-up kept from being judged (no longer than
# "not side-on": the cell does not wrap, and the table fits a 360 px phone)
OFF_VIEW_REASONS = {issue: SETUP_SHORT[issue] for issue in ("feet_out", "too_dark", "too_small", "camera_high",
                                                              "hips_hidden", "upright_in_front",
                                                              "walked_past")}


def off_view_reason(rep: RepResult) -> str:
    return OFF_VIEW_REASONS.get(rep.setup_issue or "", "not side-on")


def why_not_judged(rep: RepResult) -> str | None:
    """None when the rep counts for the test; otherwise why not, in the lifter's words (no final
    full stop: the callers' sentences carry on)."""
    if off_view(rep):
        from station.analysis.quality import advice_cause

        cause = advice_cause(rep.setup_issue)
        if cause is None:
            return "the camera did not see it side-on. Stand side-on to the camera, whole body in view"
        return cause.rstrip(".")
    if not rep.wink_judged and rep.setup_issue == "head_out":
        return ("your head and shoulders were out of the picture on the way down: move the camera back or "
                "tilt it up so all of you is in view")
    if not rep.wink_judged:
        return ("your lower back was hidden at the bottom (a plate, the bar or an arm in front of it): "
                "keep the side of your back in view")
    return None


def _deg(value: float) -> str:
    if abs(value) < 0.5:
        return "parallel"
    return f"{abs(value):.0f}° {'below' if value < 0 else 'above'} parallel"


def target_words(value: float) -> str:
    """A target as the bar's label and the pages say it ("8° above", "parallel"), rounded once,
    here: the page rounding the API's 8.5 (8.49 to one decimal) again said "9° above" beside the
    bar's "8° above"."""
    whole = f"{abs(value):.0f}"
    return "parallel" if whole == "0" else f"{whole}° {'below' if value < 0 else 'above'}"


def rep_depth_words(depth_deg: float, verdict: str | None) -> str:
    """A rep's depth as its set's table gives it: a rep within the parallel band is "at parallel" there,
    so here it is "at parallel (3° below)", never a bare "3° below parallel" beside it. Targets and
    onsets are depths to aim for, not verdicts, and keep `_deg`."""
    exact = _deg(depth_deg)
    if verdict != "parallel" or exact == "parallel":
        return exact
    return f"at parallel ({exact.removesuffix(' parallel')})"


class SelfTestTracker:
    """Fed each RepResult as reps complete; says the next rep's target and when the test is over.

    Ends when rounding is seen on two judged reps in a row, or on one with high confidence; when
    two judged reps reach full depth without rounding; at the rep limit; or when too many reps
    could not be judged. After a rep with rounding (not yet confirmed) the next rep keeps the same
    target: the station confirms at that depth instead of going deeper. A rep that was not judged
    (not side-on, or the lower back hidden) does not count: same target again, and the lifter is
    told why.
    """

    def __init__(self, plan: SelfTestPlan, lifter: str):
        self.plan = plan
        self.lifter = lifter
        self.started_t: float | None = None    # source clock; None until begin()
        self.last_activity_t: float | None = None
        self.reps: list[SelfTestRep] = []
        self.rep_results: dict[int, RepResult] = {}   # SelfTestRep.number -> the rep (its series: evidence)
        self._run: list[SelfTestRep] = []       # consecutive judged reps with rounding
        self._full_clean = 0
        self._unjudged = 0
        self._off_view = 0                      # of those, the reps the view gate did not pass
        self._target = plan.target(0)
        self.message = (f"Self-test started: slow bodyweight squats, side-on to the camera. "
                        f"Rep 1: down to {_deg(self._target)} (the top LED).")
        self.result: SelfTestResult | None = None

    # --- state --------------------------------------------------------------------------
    @property
    def target_deg(self) -> float:
        return self._target

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def rep_number(self) -> int:
        """The number of the next rep (1-based)."""
        return len(self.reps) + 1

    def begin(self, t: float) -> None:
        self.started_t = self.last_activity_t = t

    def expired(self, t: float) -> bool:
        return (not self.done and self.last_activity_t is not None
                and t - self.last_activity_t > IDLE_LIMIT_S)

    def status(self) -> dict:
        """For the page and /api/selftest."""
        # a finished test has no current rep or target (they read as a test still waiting for one)
        return {"running": not self.done, "lifter": self.lifter, "rep": None if self.done else self.rep_number,
                "target_deg": None if self.done else round(self._target, 1),
                "target_words": None if self.done else target_words(self._target), "max_reps": self.plan.max_reps,
                "message": self.message, "reps": [asdict(r) for r in self.reps],
                "outcome": self.result.outcome if self.result else None}

    # --- the rules ----------------------------------------------------------------------
    def feed(self, rep: RepResult, set_key: int = 0) -> SelfTestStep:
        if self.done:
            return SelfTestStep(False, True, self._target, False, self.message)
        if self.started_t is not None and rep.start_t < self.started_t:
            return SelfTestStep(False, False, self._target, False, self.message)  # began before the test
        self.last_activity_t = rep.end_t
        number, target = self.rep_number, self._target
        self.rep_results[number] = rep
        why = why_not_judged(rep)
        if why is not None:
            self._unjudged += 1
            self._off_view += off_view(rep) and rep.setup_issue not in TRANSIENT   # not the camera's fault
            # a rep whose back was hidden was still seen side-on: its depth is the one its set shows
            depth = None if off_view(rep) or not math.isfinite(rep.max_depth_deg) else rep.max_depth_deg
            entry = SelfTestRep(number, rep.index, set_key, target, False, depth, note=f"Not judged: {why}.",
                                verdict=rep.depth_verdict if depth is not None else None,
                                reason=off_view_reason(rep) if off_view(rep) else
                                SETUP_SHORT["head_out"] if rep.setup_issue == "head_out" else "back hidden")
            self.reps.append(entry)
            if self._unjudged >= self.plan.max_unjudged:
                return self._finish(INCOMPLETE, f"Rep {number} was not judged either: {why}. "
                                    f"{self._unjudged} reps could not be judged, so the test stops without a "
                                    f"verdict. Fix the view and start it again.")
            self.message = f"Rep {number} did not count: {why}. Rep {number + 1}: the same depth again."
            return SelfTestStep(True, False, target, False, self.message)

        entry = SelfTestRep(number, rep.index, set_key, target, True, rep.max_depth_deg, bool(rep.wink),
                            rep.wink_onset_deg if rep.wink else None, float(rep.wink_confidence),
                            verdict=rep.depth_verdict)
        self.reps.append(entry)
        judged = [r for r in self.reps if r.judged]
        if rep.wink:
            self._run.append(entry)
            where = f" from {_deg(rep.wink_onset_deg)}" if rep.wink_onset_deg is not None else ""
            entry.note = f"Lower back rounded{where}."
            if rep.wink_confidence >= self.plan.high_confidence or len(self._run) >= 2:
                return self._finish_rounding(confirmed=True)
            if len(judged) >= self.plan.max_reps:
                return self._finish_rounding(confirmed=False)
            self.message = (f"Rep {number}: your lower back rounded{where}. "
                            f"Rep {number + 1}: the same depth once more, to confirm.")
            return SelfTestStep(True, False, target, False, self.message)

        if self._run:
            entry.note = "No rounding seen: the rounding of the rep before was not seen again."
        else:
            entry.note = "No rounding seen."
        self._run = []
        if rep.max_depth_deg <= self.plan.full_depth_deg + self.plan.full_depth_tolerance_deg:
            self._full_clean += 1
            if self._full_clean >= 2:
                return self._finish_no_rounding()
        if len(judged) >= self.plan.max_reps:
            return self._finish_no_rounding()
        # a step deeper than this target, and at least min_step_deg deeper than the rep went: a rep that
        # went past its target showed that depth clean, and "a little deeper, to 11 deg above" after a
        # rep to 11 deg above is no step
        self._target = max(self.plan.full_depth_deg,
                           min(target - self.plan.step_deg, rep.max_depth_deg - self.plan.min_step_deg))
        deeper = self._target < min(target, rep.max_depth_deg)
        short = rep.max_depth_deg - target
        said = f"Rep {number}: {rep_depth_words(rep.max_depth_deg, rep.depth_verdict)}, no rounding seen"
        if short > self.plan.full_depth_tolerance_deg:
            said += f" (it stopped {short:.0f}° above its target)"
        nxt = f"Rep {number + 1}: " + (f"a little deeper, to {_deg(self._target)}." if deeper
                                       else f"full depth again ({_deg(self._target)}).")
        self.message = f"{said}. {nxt}"
        return SelfTestStep(True, False, self._target, deeper, self.message)

    def cancel(self, reason: str = "cancelled from the page") -> SelfTestResult:
        if not self.done:
            self.result = self._result(CANCELLED, f"Self-test {reason}: nothing was changed.")
            self.message = self.result.message
        assert self.result is not None
        return self.result

    # --- results ------------------------------------------------------------------------
    def _result(self, outcome: str, message: str, **extra) -> SelfTestResult:
        judged = [r for r in self.reps if r.judged]
        deepest = min((r.depth_deg for r in judged if r.depth_deg is not None), default=None)
        return SelfTestResult(outcome=outcome, lifter=self.lifter, margin_deg=self.plan.margin_deg,
                              full_depth_deg=self.plan.full_depth_deg, deepest_deg=deepest, message=message,
                              reps=list(self.reps), **extra)

    def _finish(self, outcome: str, message: str, **extra) -> SelfTestStep:
        if outcome in (ROUNDING, NO_ROUNDING) and self._off_view >= SET_BLOCKED_SHARE * len(self.reps):
            # the set it is filed under would not be judged (summary.summarise_set): neither is the test
            outcome, extra = INCOMPLETE, {}
            message = (f"{self._off_view} of {len(self.reps)} reps could not be judged from the camera, so the station "
                       f"does not trust the others either: no verdict. Fix the view and start the test again.")
        self.result = self._result(outcome, message, **extra)
        self.message = message
        return SelfTestStep(True, True, self._target, False, message)

    def _finish_rounding(self, confirmed: bool) -> SelfTestStep:
        """Onset: the shallowest onset among the reps that showed the rounding (the confirming run);
        the evidence is the rep that gave it. A flagged rep without an onset depth stands in with its
        bottom (the rounding began no deeper than that)."""
        candidates = [(_onset_or_bottom(r), r) for r in self._run]
        onset, evidence = max(candidates, key=lambda c: c[0])
        low, high = DEPTH_LIMITS_DEG
        safe = float(min(high, max(low, onset + self.plan.margin_deg)))
        how = "on two reps in a row" if len(self._run) >= 2 else (
            "clearly" if confirmed else "on one rep only, at the rep limit: repeat the test to confirm")
        message = (f"Your lower back starts to round at {_deg(onset)} (seen {how}). Safe depth: "
                   f"{_deg(safe)}, {self.plan.margin_deg:.0f}° above where it starts to round. It is now your "
                   f"target: the top LED means deep enough, still safe.")
        return self._finish(ROUNDING, message, onset_deg=float(onset), safe_depth_deg=safe, confirmed=confirmed,
                            evidence_rep=evidence.number)

    def _finish_no_rounding(self) -> SelfTestStep:
        judged = [r for r in self.reps if r.judged]
        deepest = min(judged, key=_judged_depth)
        full = self._full_clean >= 2
        if full:
            message = (f"No rounding down to {_deg(_judged_depth(deepest))} (full depth): no safe-depth limit. "
                       f"Your target stays the configured one. {UNSEEN_ROUNDING}")
        else:
            message = (f"No rounding down to {_deg(_judged_depth(deepest))}, your deepest rep; full depth "
                       f"({_deg(self.plan.full_depth_deg)}) was not reached. No safe-depth limit was set: "
                       f"your target stays the configured one. {UNSEEN_ROUNDING}")
        return self._finish(NO_ROUNDING, message, reached_full_depth=full, evidence_rep=deepest.number)


# --- evidence: the rep's skeleton at the onset and at the bottom -----------------------------

def _judged_depth(rep: SelfTestRep) -> float:
    assert rep.depth_deg is not None, "only judged reps have a depth"
    return rep.depth_deg


def _onset_or_bottom(rep: SelfTestRep) -> float:
    """Where a flagged rep's rounding began; without an onset its bottom stands in (no deeper)."""
    return rep.onset_deg if rep.onset_deg is not None else _judged_depth(rep)


def evidence(rep: RepResult, onset_deg: float | None) -> dict | None:
    """The evidence rep's joints at the onset frame and at the bottom frame, from its series.

    The series' thigh angle is the depth (top of the thigh, as the onset). The onset frame is the
    frame on the way down whose depth is nearest the onset depth (summary.onset_frame, as the
    replay's mark), labelled with the onset itself; the bottom frame is the deepest
    one, labelled with the rep's own depth (held over 0.3 s, as the rep table shows it). Each panel
    says the number the page says, not its one frame's reading (frames can be 3 deg apart).
    None without a series."""
    series = rep.series
    if series is None or len(series.t) == 0:
        return None
    depth = np.asarray(series.thigh_deg, float)
    bottom = int(np.argmin(depth))

    def frame(i: int) -> dict:
        return {"index": i, "t": round(float(series.t[i]), 3), "depth_deg": round(float(depth[i]), 1),
                "joints": np.round(np.asarray(series.joints[i], float), 1).tolist()}

    onset = None
    if onset_deg is not None:
        onset = frame(onset_frame(depth, onset_deg))
        onset["depth_deg"] = round(float(onset_deg), 1)    # the page's one onset, not this frame's reading
    deepest = frame(bottom)
    if rep.side_view and math.isfinite(rep.max_depth_deg):
        deepest["depth_deg"] = round(float(rep.max_depth_deg), 1)
    return {"joint_names": list(SERIES_JOINTS), "frame_size": [int(v) for v in series.frame_size],
            "onset": onset, "bottom": deepest}
