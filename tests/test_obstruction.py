"""The pose stage's look for a rack upright in front of the legs (station/pose/obstruction.py), on
painted scenes: the same steel in front of the lifter and behind them, the lifter standing and at
the bottom, before and after the background is known."""

from __future__ import annotations

import numpy as np
import pytest

from station.pose.keypoints import KP
from station.pose.obstruction import (
    BACKGROUND_EVERY_S,
    MIN_BACKGROUND_FRAMES,
    ObstructionCheck,
    grey_step,
    upright_in_front,
)

SIZE = (480, 640)
UPRIGHT = slice(300, 318)          # columns of a dark steel upright, full height
STEEL, SKIN = 40, 190


def _room(seed: int) -> np.ndarray:
    """A gym wall: a soft gradient, a few posters, and a grey level or two of sensor noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:SIZE[0], 0:SIZE[1]]
    wall = 110 + 40 * cols / SIZE[1] + 10 * rows / SIZE[0]
    wall[60:140, 80:160] = 150
    wall[200:230, 480:600] = 70
    wall = wall + rng.integers(-2, 3, SIZE)
    return np.repeat(np.clip(wall, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def _at_the_bottom(frame: np.ndarray) -> None:
    """A lifter at the bottom of a squat, facing right: thigh level from x 200 to 420, shins down to
    the floor, a torso leaning forward over the hips."""
    frame[255:300, 200:425] = SKIN        # thigh
    frame[290:420, 385:425] = SKIN        # shin
    frame[120:280, 190:250] = SKIN        # trunk


def _bottom_points() -> np.ndarray:
    points = np.zeros((17, 3), np.float32)
    for index, (x, y) in {KP.NOSE: (300, 60), KP.LEFT_EYE: (305, 55), KP.LEFT_SHOULDER: (240, 140),
                          KP.LEFT_HIP: (215, 278), KP.RIGHT_HIP: (220, 278), KP.LEFT_KNEE: (405, 282),
                          KP.RIGHT_KNEE: (410, 282), KP.LEFT_ANKLE: (400, 418),
                          KP.RIGHT_ANKLE: (405, 418)}.items():
        points[index] = (x, y, 0.8)
    return points


def _standing_points() -> np.ndarray:
    points = _bottom_points()
    points[[KP.LEFT_HIP, KP.RIGHT_HIP], 1] = 240
    points[[KP.LEFT_HIP, KP.RIGHT_HIP], 0] = 395
    points[[KP.LEFT_KNEE, KP.RIGHT_KNEE], 1] = 330
    points[[KP.LEFT_KNEE, KP.RIGHT_KNEE], 0] = 400
    return points


def _scene(seed: int, lifter: bool, upright: str | None) -> np.ndarray:
    frame = _room(seed)
    if upright == "behind":
        frame[:, UPRIGHT] = STEEL
    if lifter:
        _at_the_bottom(frame)
    if upright == "in_front":
        frame[:, UPRIGHT] = STEEL
    return frame


def _smaller(points: np.ndarray, scale: float) -> np.ndarray:
    """The same pose, `scale` times the size (around the middle of the picture)."""
    points = points.copy()
    points[:, :2] = 300 + (points[:, :2] - 300) * scale
    return points


def _mirrored(points: np.ndarray) -> np.ndarray:
    """The same pose facing left: x mirrored across the picture."""
    points = points.copy()
    points[:, 0] = SIZE[1] - 1 - points[:, 0]
    return points


def _watch(upright: str | None, seconds: float = 4.0, fps: float = 10.0, scale: float = 1.0,
           facing_left: bool = False) -> tuple[ObstructionCheck, float]:
    """A check that has seen the empty rack for a few seconds (the background), and a lifter standing
    (their height). Returns it and the next frame's time."""
    check = ObstructionCheck()
    frames = round(seconds * fps)
    for i in range(frames):
        standing = _smaller(_standing_points(), scale)
        frame = _scene(i, lifter=False, upright=upright)
        if facing_left:
            frame, standing = np.ascontiguousarray(frame[:, ::-1]), _mirrored(standing)
        assert check.observe(frame, standing, i / fps) is None
    return check, frames / fps


@pytest.mark.parametrize("upright, expected", [("in_front", True), ("behind", False), (None, False)])
def test_an_upright_is_seen_only_when_it_stands_in_front_of_the_legs(upright, expected):
    check, t = _watch(upright)
    assert check.observe(_scene(99, lifter=True, upright=upright), _bottom_points(), t) is expected


def test_it_looks_only_near_the_bottom_and_once_it_knows_the_background():
    check = ObstructionCheck()
    frame = _scene(1, lifter=True, upright="in_front")
    assert check.observe(frame, _bottom_points(), 0.0) is None, "no background yet"
    check, t = _watch("in_front")
    assert check.observe(_scene(2, lifter=False, upright="in_front"), _standing_points(), t) is None, \
        "standing: the thigh is far from level, no look"
    assert check.observe(frame, _bottom_points(), t + 0.5) is True


def test_it_needs_a_few_background_pictures_first():
    """One picture every BACKGROUND_EVERY_S: at 0, 0.5 and 1.0 s, so a bottom at 0.9 s is not looked
    at and one at 1.0 s is."""
    assert MIN_BACKGROUND_FRAMES == 3 and BACKGROUND_EVERY_S == 0.5
    check, _ = _watch("in_front", seconds=0.9)
    assert check.observe(_scene(3, lifter=True, upright="in_front"), _bottom_points(), 0.9) is None
    assert check.observe(_scene(4, lifter=True, upright="in_front"), _bottom_points(), 1.0) is True


def test_a_lifter_facing_left_is_looked_at_the_same_way():
    check, t = _watch("in_front", facing_left=True)
    frame = np.ascontiguousarray(_scene(6, lifter=True, upright="in_front")[:, ::-1])
    assert check.observe(frame, _mirrored(_bottom_points()), t) is True
    check, t = _watch("behind", facing_left=True)
    frame = np.ascontiguousarray(_scene(6, lifter=True, upright="behind")[:, ::-1])
    assert check.observe(frame, _mirrored(_bottom_points()), t) is False


def test_a_new_picture_size_or_a_reset_starts_the_background_again():
    check, t = _watch("in_front")
    check.reset()
    assert check.observe(_scene(7, lifter=True, upright="in_front"), _bottom_points(), t) is None
    check, t = _watch("in_front")
    bigger = np.zeros((600, 800, 3), np.uint8)
    bigger[:480, :640] = _scene(8, lifter=True, upright="in_front")
    assert check.observe(bigger, _bottom_points(), t) is None, "pictures of another size: no background yet"


def test_the_head_out_of_the_picture_still_gets_a_look():
    """The advice for an upright (closer to the rack) can cut the head off: the height then comes
    from the shoulders to the feet."""
    def headless(points):
        points = points.copy()
        points[[KP.NOSE, KP.LEFT_EYE, KP.RIGHT_EYE, KP.LEFT_EAR, KP.RIGHT_EAR], 2] = 0.0
        return points
    check = ObstructionCheck()
    for i in range(40):
        assert check.observe(_scene(i, lifter=False, upright="in_front"), headless(_standing_points()), i / 10) is None
    assert check.observe(_scene(50, lifter=True, upright="in_front"), headless(_bottom_points()), 4.0) is True


def test_a_point_at_infinity_does_not_break_the_look():
    check, t = _watch("in_front")
    broken = _standing_points()
    broken[KP.LEFT_ANKLE] = (np.inf, np.inf, 0.9)
    broken[KP.NOSE] = (np.nan, np.nan, 0.9)
    assert check.observe(_scene(9, lifter=False, upright="in_front"), broken, t) is None
    bottom = _bottom_points()
    bottom[KP.LEFT_KNEE] = (np.nan, np.inf, 0.9)
    assert check.observe(_scene(10, lifter=True, upright="in_front"), bottom, t + 0.5) is True


def test_a_lifter_too_small_in_the_picture_is_not_looked_at():
    check, t = _watch("in_front", scale=0.3)
    assert check.observe(_scene(5, lifter=True, upright="in_front"), _smaller(_bottom_points(), 0.3), t) is None


def test_the_edge_test_on_its_own():
    """upright_in_front on grey pictures: a still edge with the lifter against it, and what is not."""
    rows, cols = 120, 100
    background = np.full((rows, cols), 120.0, np.float32)
    background[:, 50:56] = 40.0                        # the upright
    now = background.copy()
    now[20:100, 20:50] = 200.0                         # the lifter up against its left edge
    assert upright_in_front(now, background, 30, 70, height_px=200.0)
    behind = now.copy()
    behind[20:100, 20:80] = 200.0                      # the lifter over it: it stands behind
    assert not upright_in_front(behind, background, 30, 70, height_px=200.0)
    assert not upright_in_front(background.copy(), background, 30, 70, height_px=200.0), "no lifter near it"


def test_the_grey_picture_keeps_about_240_rows():
    assert grey_step(480) == 2 and grey_step(1920) == 8 and grey_step(360) == 2 and grey_step(200) == 1
