"""The view and quality gate: can the station judge depth from this camera, and if not, why.

A number shown to a lifter must be true or absent. When the view is wrong (front or three-quarter),
the lifter is cut off or too small, the camera sits far above hip height, or the light is too poor,
the station abstains and says, in one sentence the lifter can act on, how to fix the setup.
"""

from __future__ import annotations

# code -> the one sentence a lifter reads (analyze output, live page, history)
SETUP_ADVICE = {
    "front_view": "Cannot judge from here: the camera sees you from the front. Turn the camera (or yourself) "
                  "so it sees your side.",
    "three_quarter_view": "Cannot judge from here: the camera sees you at an angle. Move it so it looks "
                          "straight at your side, level with your hips.",
    "feet_out": "Cannot judge from here: your feet are out of the picture. Move the camera back so your "
                "feet are in view.",
    "head_out": "Cannot judge from here: your head and shoulders are out of the picture. Move the camera back "
                "or tilt it up so all of you is in view.",
    "too_small": "Cannot judge from here: you are too small in the picture. Move the camera closer "
                 "(2-4 m away) so you fill most of its height.",
    "camera_high": "Cannot judge depth from here: the camera looks down on you. Lower it to hip height.",
    "too_dark": "Cannot judge from here: the camera cannot see you clearly. Add light or move away from "
                "bright windows behind you.",
    "lost": "Cannot see you: step into the camera's view, side-on.",
}
