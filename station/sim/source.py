"""The demo's frame source: the synthetic lifter rendered as video, a few sets with rests between.

Default programme: a clean set to just below parallel, a deep set with a butt wink, and a
shallow set; between sets the lifter leaves the frame, which is what ends a set at a real rack.
"""

from __future__ import annotations

import time


from station.sim.lifter import CameraParams, LifterParams, simulate_set
from station.sim.render import MannequinRenderer

DEMO_SETS = (
    LifterParams(reps=5, target_depth_deg=-10, wink_magnitude_deg=0),
    LifterParams(reps=6, target_depth_deg=-20, wink_onset_flexion_deg=130, wink_magnitude_deg=25, thorax_follow=0.9,
                 lean_flattening=0.2),
    LifterParams(reps=4, target_depth_deg=25, wink_magnitude_deg=0, trunk_lean_max_deg=38),
)
EMPTY_S = 4.5  # nobody in view between sets


class SyntheticSource:
    def __init__(self, width=640, height=480, fps=30.0, realtime=False, loop=False, seed=1, sets=DEMO_SETS):
        self.name = "synthetic"
        self.nominal_fps = fps
        self._realtime = realtime
        self._loop = loop
        camera = CameraParams(width=width, height=height, focal_px=height, distance_m=3.0)
        self._renderers = [MannequinRenderer(simulate_set(p, camera, fps=fps, seed=seed + i),
                                             second_person=(i == 1), seed=seed + i)
                           for i, p in enumerate(sets)]

    def __iter__(self):
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
