"""The values the analysis hands to the outputs (feedback, store, web). Plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# joints kept per frame of a rep for the replay: chosen side's ear, shoulder, hip, knee, ankle, wrist
SERIES_JOINTS = ("ear", "shoulder", "hip", "knee", "ankle", "wrist")


@dataclass(frozen=True, slots=True)
class FrameState:
    """What the LED bar and the live page need, every frame."""

    timestamp: float
    lifter_present: bool
    calibrated: bool
    phase: str                 # absent | waiting | standing | descent | ascent
    depth_fraction: float      # 0 at the lifter's standing baseline, 1 at the target depth
    target_reached: bool
    thigh_deg: float | None
    hip_deg: float | None
    trunk_lean_deg: float | None
    rep_count: int
    wink_active: bool
    set_active: bool
    # The view and quality gate (station/analysis/quality.py): when the station cannot judge
    # from here, a short code and one sentence the lifter can act on; no depth numbers then.
    setup_issue: str | None = None     # e.g. "front_view", "camera_high": an issue that blocks depth
    setup_advice: str | None = None    # "Turn the camera to your side: ..."
    setup_note: str | None = None      # an issue that leaves the depth (the head out of the picture): what to change


@dataclass
class RepSeries:
    """Per-frame record of one rep, compact enough to store and replay."""

    t: np.ndarray              # seconds from the rep start
    thigh_deg: np.ndarray
    hip_deg: np.ndarray
    trunk_lean_deg: np.ndarray
    knee_deg: np.ndarray
    joints: np.ndarray         # (N, len(SERIES_JOINTS), 2) pixels, image y down
    frame_size: tuple[int, int] = (0, 0)


@dataclass
class RepResult:
    index: int                 # 1-based within the set
    start_t: float
    bottom_t: float
    end_t: float
    max_depth_deg: float       # lowest thigh angle (0 = parallel, negative = below)
    below_parallel: bool       # depth_verdict == "below"
    reached_target: bool
    tut_s: float | None        # None: the rep was cut off by the start or the end of the footage ...
    down_s: float | None       # ... so where it began (down) or ended (up) was not seen; both None when
                               # the bottom was hidden (behind the plates: its time is not known)
    up_s: float | None
    max_trunk_lean_deg: float | None   # None: not measurable from this view (never a guess)
    knee_travel_cm: float | None
    heel_lift_cm: float | None
    wink: bool
    wink_onset_deg: float | None       # thigh angle where the rounding began
    wink_magnitude_deg: float | None   # pelvic tilt: None, not measurable from one side camera (summary.py)
    wink_confidence: float             # 0..1
    series: RepSeries | None = None
    # three-way verdict with its uncertainty: "below" | "parallel" | "above" (parallel = within the
    # band), or "unknown" when the view gate could not judge this rep (then max_depth_deg is only
    # the rep counter's signal and must not be shown)
    depth_verdict: str = "parallel"
    depth_uncertainty_deg: float = 0.0
    side_view: bool = True             # the view gate called this rep side-on (depth and wink judged)
    view: str = "side"                 # side | front | three-quarter | unknown
    setup_issue: str | None = None     # SETUP_ADVICE key when the rep's view was not good enough
    wink_judged: bool = True           # False: the lower back was hidden at the bottom (plate, bar)
    cut_off_end: bool = False          # the footage (or the station) stopped before the rep ended


@dataclass
class SetResult:
    index: int
    start_t: float
    end_t: float
    end_reason: str            # idle | left | selftest_done | shutdown | source_ended | source_failed
    target_depth_deg: float
    reps: list[RepResult] = field(default_factory=list)
    wink_onset_deg: float | None = None
    suggested_depth_deg: float | None = None
    depth_sd_deg: float | None = None  # spread of the judged reps' depths; None under two judged reps
    summary: str = ""
    view: str = "side"                 # side | front | three-quarter | unknown (the view gate's verdict)
    setup_issue: str | None = None     # the set could not be judged: why (SETUP_ADVICE key) ...
    setup_advice: str | None = None    # ... and what to change
    # where this lifter's lower back began to round in their self-test (None: no self-test limit):
    # the summary names the reps that went past it
    lifter_onset_deg: float | None = None
    # a self-test guided this set: each rep had a target of its own, deliberately deeper step by step
    selftest: bool = False

    @property
    def rep_count(self) -> int:
        return len(self.reps)


# --- events: things that happen at one moment ------------------------------------------------

@dataclass(frozen=True)
class LifterReady:
    timestamp: float


@dataclass(frozen=True)
class DepthReached:
    timestamp: float
    rep_index: int
    thigh_deg: float


@dataclass(frozen=True)
class WinkWarning:
    timestamp: float
    rep_index: int
    onset_deg: float


@dataclass(frozen=True)
class RepCompleted:
    """Carries what the store files the rep under, so nobody reaches back into the analyzer."""

    timestamp: float
    rep: RepResult
    set_index: int = 0
    target_depth_deg: float = 0.0   # the target this rep was measured against
    lifter_onset_deg: float | None = None   # the lifter's self-test onset behind that target (None: none)


@dataclass(frozen=True)
class SetFinished:
    timestamp: float
    result: SetResult


@dataclass(frozen=True)
class RepStarted:
    timestamp: float
    rep_index: int


# every event the analyzer hands the outputs, for the consumers' type hints
AnalysisEvent = LifterReady | RepStarted | DepthReached | WinkWarning | RepCompleted | SetFinished
