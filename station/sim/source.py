"""The demo's frame source: the synthetic lifter rendered as video, a few sets with rests between.

Default programme: first the self-test ("find my safe depth", docs/self-test.md): a bodyweight
lifter whose lower back starts to round at a known depth does slow squats, each a little deeper,
as the station's plan asks (the runner presses the page's button for them once they have walked
in: selftest_press_times); then a clean set to just below parallel, a deep set with a butt wink,
and a shallow set. Between sets the lifter leaves the frame, which is what ends a set at a real rack.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np

from station.analysis.analyzer import THIGH_TAPER_DEG
from station.analysis.selftest import SelfTestPlan
from station.sim.lifter import CameraParams, LifterParams, SetTruth, lean_curve, simulate_set
from station.sim.render import MannequinRenderer

DEMO_SETS = (
    LifterParams(reps=5, target_depth_deg=-10, wink_magnitude_deg=0),
    LifterParams(reps=6, target_depth_deg=-20, wink_onset_flexion_deg=130, wink_magnitude_deg=25, thorax_follow=0.9,
                 lean_flattening=0.2),
    LifterParams(reps=4, target_depth_deg=25, wink_magnitude_deg=0, trunk_lean_max_deg=38),
)
EMPTY_S = 4.5  # nobody in view between sets

# --- the self-test programme ---------------------------------------------------------------
# Where the synthetic lifter's lower back starts to round, in the station's depth convention (top
# of the thigh, 0 = parallel): 8 deg below parallel. The generator's onset is a hip-flexion demand
# ((90 - joint-line thigh angle) + trunk lean); the joint line is THIGH_TAPER_DEG deeper than the top.
SELFTEST_ONSET_DEG = -8.0
SELFTEST_LEAN_MAX_DEG = 45.0


def _onset_flexion(top_of_thigh_deg: float) -> float:
    joint = top_of_thigh_deg + THIGH_TAPER_DEG
    return (90.0 - joint) + float(lean_curve(joint, SELFTEST_LEAN_MAX_DEG, 1.0))


# slow bodyweight squats (no plates), a trunk that tips back when the pelvis tucks (thorax_follow)
SELFTEST_LIFTER = LifterParams(reps=1, depth_jitter_deg=0.0, trunk_lean_max_deg=SELFTEST_LEAN_MAX_DEG,
                               wink_onset_flexion_deg=_onset_flexion(SELFTEST_ONSET_DEG), wink_magnitude_deg=25,
                               thorax_follow=0.9, down_s=2.4, pause_s=0.4, up_s=1.6, walk_in_s=2.5, settle_s=1.0)
SELFTEST_REPS = 9              # the plan's first nine targets: +25 ... -30 deg
SELFTEST_OVERSHOOT_DEG = 3.0   # the lifter goes this far past each target (to be sure of the top LED)
PRESS_AFTER_WALK_S = 0.3       # the lifter presses "Find my safe depth" this long after walking in


def selftest_truth(fps: float = 30.0, camera: CameraParams | None = None, seed: int = 101,
                   plan: SelfTestPlan | None = None, reps: int = SELFTEST_REPS,
                   lifter: LifterParams = SELFTEST_LIFTER) -> tuple[SetTruth, float]:
    """The self-test programme as one continuous set: walk in, one rep per plan target (each
    SELFTEST_OVERSHOOT_DEG past it) with a short stand between, walk out. Returns the truth and
    the time (seconds from its start) at which the lifter presses the button."""
    plan = plan or SelfTestPlan()
    camera = camera or CameraParams()
    pieces = []
    for k in range(reps):
        joint_depth = plan.target(k) - SELFTEST_OVERSHOOT_DEG + THIGH_TAPER_DEG
        truth = simulate_set(replace(lifter, target_depth_deg=joint_depth), camera, fps=fps, seed=seed)
        moving = [i for i, name in enumerate(truth.phase) if name != "walk"]
        first = 0 if k == 0 else moving[0]                         # walk in before the first rep only
        last = len(truth.phase) if k == reps - 1 else moving[-1] + 1  # walk out after the last only
        pieces.append((truth, first, last))
    walk_frames = next(i for i, name in enumerate(pieces[0][0].phase) if name != "walk")
    return _concatenate(pieces, fps), walk_frames / fps + PRESS_AFTER_WALK_S


def _concatenate(pieces: list[tuple[SetTruth, int, int]], fps: float) -> SetTruth:
    """Frames [first, last) of each one-rep truth, end to end, as one SetTruth (frames and reps renumbered)."""
    head = pieces[0][0]
    cut = lambda name: np.concatenate([getattr(t, name)[a:b] for t, a, b in pieces])  # noqa: E731
    joints = {name: np.concatenate([t.joints_world[name][a:b] for t, a, b in pieces]) for name in head.joints_world}
    phase, rep_index, reps, offset = [], [], [], 0
    for k, (truth, a, b) in enumerate(pieces):
        phase += truth.phase[a:b]
        rep_index.append(np.where(truth.rep_index[a:b] >= 0, k, -1))
        shift = offset - a
        for r in truth.reps:
            reps.append(replace(r, index=k, start_frame=r.start_frame + shift, bottom_frame=r.bottom_frame + shift,
                                end_frame=r.end_frame + shift,
                                wink_onset_frame=None if r.wink_onset_frame is None else r.wink_onset_frame + shift))
        offset += b - a
    return SetTruth(fps=fps, params=head.params, camera=head.camera, timestamps=np.arange(offset) / fps,
                    joints_world=joints, keypoints_px=cut("keypoints_px"), visible_side=head.visible_side,
                    thigh_deg=cut("thigh_deg"), hip_flexion_deg=cut("hip_flexion_deg"),
                    pelvic_tilt_deg=cut("pelvic_tilt_deg"), lumbar_flexion_deg=cut("lumbar_flexion_deg"),
                    trunk_lean_deg=cut("trunk_lean_deg"), phase=phase, rep_index=np.concatenate(rep_index),
                    reps=reps, lateral_m=head.lateral_m, plate_px=None)


def selftest_truth_onset_deg(truth: SetTruth) -> float | None:
    """Where the lifter's back truly starts to round, in the station's convention (top of the thigh):
    the shallowest per-rep onset of the generator's joint line, minus the thigh's taper."""
    onsets = [r.wink_onset_thigh_deg for r in truth.reps if r.wink_onset_thigh_deg is not None]
    return max(onsets) - THIGH_TAPER_DEG if onsets else None


def selftest_press_times(fps: float = 30.0, selftest: bool = True) -> list[float]:
    """Source times at which the default programme's lifter presses "Find my safe depth"."""
    if not selftest:
        return []
    frames = int(round(SELFTEST_LIFTER.walk_in_s * fps))
    return [frames / fps + PRESS_AFTER_WALK_S]


class SyntheticSource:
    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0, realtime: bool = False,
                 loop: bool = False, seed: int = 1, sets: Sequence[LifterParams] = DEMO_SETS,
                 selftest: bool = True) -> None:
        self.name = "synthetic"
        self.nominal_fps = fps
        self._realtime = realtime
        self._loop = loop
        camera = CameraParams(width=width, height=height, focal_px=height, distance_m=3.0)
        self._renderers = [MannequinRenderer(simulate_set(p, camera, fps=fps, seed=seed + i),
                                             second_person=(i == 1), seed=seed + i)
                           for i, p in enumerate(sets)]
        self.press_times: list[float] = []
        if selftest:
            truth, press_s = selftest_truth(fps, camera, seed=seed + 100)
            self._renderers.insert(0, MannequinRenderer(truth, seed=seed + 100))
            self.press_times.append(press_s)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        t = 0.0
        start = time.monotonic()
        dt = 1.0 / self.nominal_fps
        while True:
            for renderer in self._renderers:
                for index in range(len(renderer.truth.timestamps)):
                    yield self._pace(start, t), renderer.render(index)
                    t += dt
                empty = renderer.render_empty()
                for _ in range(int(EMPTY_S * self.nominal_fps)):
                    yield self._pace(start, t), empty
                    t += dt
            if not self._loop:
                return

    def _pace(self, start: float, t: float) -> float:
        if self._realtime:
            delay = start + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return t

    def close(self) -> None:
        pass
