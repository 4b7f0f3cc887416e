"""Is something standing still between the camera and the lifter's hips or knees (a rack upright)?

A station beside a rack films through the rack's near uprights. With an upright in front of the
knees or the hips at the bottom, MoveNet puts the joint at the visible edge of the leg and scores it
as usual, so the depth reads confidently wrong and no rule on keypoints can tell (docs/depth.md,
"Filmed from outside a power rack"). The picture can: an upright in front of the lifter is a long
vertical edge in the still background that stays in the picture while the lifter moves up to it
from one side. On the upright's side of the edge nothing changes; on the other side, the lifter
does. An upright *behind* the lifter is covered by them where they pass, and a lifter's own outline
at the bottom is never one straight vertical line from above the hips down to the feet.

The check runs only near the bottom of a squat (thigh within 35 deg of level), at most every
CHECK_EVERY_S, on a small region of a grey picture sampled down to about WORK_HEIGHT rows; every
length is a share of the lifter's standing height H. The background is the median of one picture
every BACKGROUND_EVERY_S over the last 20 s, so a lifter who stands still in one place for half of
that (10 s) leaves a ghost in it, and the check then stays quiet (it misses; it does not guess).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from station.pose.keypoints import KP

WORK_HEIGHT = 240              # the grey picture's rows (about): every step-th pixel of the frame
BACKGROUND_EVERY_S = 0.5       # one background picture this often ...
BACKGROUND_FRAMES = 41         # ... this many kept (the median of them is the still background)
MIN_BACKGROUND_FRAMES = 3      # fewer: no background yet, no check
REUSE_MARGIN_H = 0.05          # the median is taken over the region grown by this, and reused
CHECK_EVERY_S = 0.09           # check at most this often (every frame at 10 fps, every 3rd at 30)
NEAR_LEVEL_DEG = 35.0          # check only while the thigh is within this of level (the bottom)
MIN_HEIGHT_PX = 80             # a lifter shorter than this in the grey picture is not checked
HEIGHT_HALF_LIFE_S = 10.0      # the standing height: a running maximum that forgets this slowly
SHOULDERS_TO_HEIGHT = 1.15     # head out of the picture: eyes-to-ankles over shoulders-to-ankles (Winter)
MIN_JOINT_SCORE = 0.2
# where lines are looked for: from WINDOW_H either side of the hip and knee, over the rows from
# ABOVE_HIP_H above the hip down to the feet
WINDOW_H = 0.10
ABOVE_HIP_H = 0.10
SLOPES = np.linspace(-0.06, 0.06, 7)  # lines x = x0 + slope * (y - middle row): up to 3.4 deg off vertical
# the background's edge: right-minus-left mean over STEP_H either side, rows smoothed over SMOOTH_H
STEP_H = 0.010
SMOOTH_H = 0.010
EDGE_GREY = 12.0               # an edge row steps by at least this (grey levels, 0-255) ...
EDGE_ROWS = 0.85               # ... on this share of the rows, in one direction ...
EDGE_MAX_GAP_H = 0.03          # ... with no run of rows without it longer than this
CHANGED_GREY = 25.0            # a pixel this far from the background: the lifter (or someone)
STRIP_H = 0.02                 # the strips either side of the line, this wide
STILL_ROWS = 0.95              # the upright's side: its strip unchanged on this share of rows ...
LIFTER_ROWS = 0.20             # ... and the lifter right up to the line on the other, this share


def grey_step(frame_height: int) -> int:
    """Every step-th pixel gives a grey picture of about WORK_HEIGHT rows (never enlarged)."""
    return max(1, round(frame_height / WORK_HEIGHT))


def _longest_false_run(on: np.ndarray) -> np.ndarray:
    """The longest run of False down each column of a (rows, lines) mask."""
    index = np.arange(on.shape[0])[:, None]
    last_true = np.maximum.accumulate(np.where(on, index, -1), axis=0)
    return (index - last_true).max(axis=0)


def upright_in_front(now: np.ndarray, background: np.ndarray, x_from: int, x_to: int,
                     height_px: float) -> bool:
    """Whether a still vertical edge crosses `now` with the lifter pressed against one side of it.

    now, background: grey pictures of the region (rows from above the hips to the feet; float32);
    x_from..x_to: the columns (within the region) where the edge may stand; height_px: the lifter's
    standing height in these pixels.
    """
    rows, width = now.shape
    step = max(2, round(STEP_H * height_px))
    strip = max(2, round(STRIP_H * height_px))
    smooth = max(1, round(SMOOTH_H * height_px))
    margin = step + strip + 1
    if rows < 0.1 * height_px or width <= 2 * margin:
        return False
    # the background's step at every column c (an edge between c-1 and c): the mean of `step`
    # columns right of it minus the mean of `step` left, rows box-smoothed first (noise, not edges)
    smoothed = background
    if smooth > 1:
        summed = np.cumsum(np.pad(background, ((1, 0), (0, 0))), axis=0)
        low = np.clip(np.arange(rows) - smooth // 2, 0, rows)
        high = np.clip(np.arange(rows) - smooth // 2 + smooth, 0, rows)
        smoothed = (summed[high] - summed[low]) / (high - low).astype(np.float32)[:, None]
    across = np.cumsum(np.pad(smoothed, ((0, 0), (1, 0))), axis=1)
    edge = np.zeros((rows, width), np.float32)
    edge[:, step:width - step + 1] = (across[:, 2 * step:] - 2 * across[:, step:width - step + 1]
                                      + across[:, :width - 2 * step + 1]) / step
    # the share of changed pixels (the lifter, or anyone) in the strip left and right of every column
    changed = np.cumsum(np.pad((np.abs(now - background) > CHANGED_GREY).astype(np.float32), ((0, 0), (1, 0))),
                        axis=1)
    left = np.zeros((rows, width), np.float32)
    right = np.zeros((rows, width), np.float32)
    left[:, strip + 1:] = (changed[:, strip:width - 1] - changed[:, :width - strip - 1]) / strip
    right[:, :width - strip] = (changed[:, strip + 1:] - changed[:, 1:width - strip + 1]) / strip
    y = np.arange(rows)[:, None]
    starts = np.arange(x_from, x_to + 1)
    for slope in SLOPES:
        cols = starts[None, :] + np.round(slope * (y - rows / 2)).astype(np.int64)   # (rows, lines)
        cols = cols[:, ((cols >= margin) & (cols <= width - margin)).all(axis=0)]
        if not cols.shape[1]:
            continue
        steps = edge[y, cols]
        direction = np.sign(np.sign(steps).sum(axis=0))     # the way most rows step
        on = (np.abs(steps) >= EDGE_GREY) & (np.sign(steps) == direction)
        lines = np.flatnonzero(on.mean(axis=0) >= EDGE_ROWS)
        if lines.size:
            lines = lines[_longest_false_run(on[:, lines]) <= EDGE_MAX_GAP_H * height_px]
        if not lines.size:
            continue
        cols = cols[:, lines]
        on_left, on_right = left[y, cols], right[y, cols]
        left_still = (on_left < 0.1).mean(axis=0) >= STILL_ROWS
        right_still = (on_right < 0.1).mean(axis=0) >= STILL_ROWS
        lifter_left = (on_left > 0.5).mean(axis=0) >= LIFTER_ROWS
        lifter_right = (on_right > 0.5).mean(axis=0) >= LIFTER_ROWS
        if ((right_still & lifter_left) | (left_still & lifter_right)).any():
            return True
    return False


class ObstructionCheck:
    """Fed every frame and its keypoints; says, near the bottom, whether an upright stands in front
    of the hips or knees (True), not (False), or that it did not look (None)."""

    def __init__(self) -> None:
        self._shape: tuple[int, int] | None = None
        self._step = 1
        self._now = np.zeros((0, 0), np.uint8)
        self._ring = np.zeros((0, 0, 0), np.uint8)
        self._samples = 0        # background pictures taken (the ring keeps the last BACKGROUND_FRAMES)
        self._sampled_t = -math.inf
        self._checked_t = -math.inf
        self._height_px = 0.0
        self._height_t: float | None = None
        self._background = np.zeros((0, 0), np.float32)   # the still background of a region ...
        self._background_at = (0, 0, 0, 0)                  # ... its rows and columns (y0, y1, x0, x1)
        self._background_sample = -1                        # ... as of this many samples

    def reset(self) -> None:
        self._shape = None

    def _start(self, frame: np.ndarray) -> None:
        self._shape = frame.shape[:2]
        self._step = grey_step(frame.shape[0])
        rows, cols = frame[::self._step, ::self._step, 1].shape
        self._now = np.zeros((rows, cols), np.uint8)
        self._ring = np.zeros((BACKGROUND_FRAMES, rows, cols), np.uint8)
        self._samples = 0
        self._background_sample = -1
        self._sampled_t = self._checked_t = -math.inf
        self._height_px, self._height_t = 0.0, None

    def observe(self, frame: np.ndarray, points: np.ndarray, timestamp: float) -> bool | None:
        if self._shape != frame.shape[:2]:
            self._start(frame)
        step = self._step
        self._now[...] = frame[::step, ::step, 1]     # green: near enough to grey for edges
        if timestamp - self._sampled_t >= BACKGROUND_EVERY_S or timestamp < self._sampled_t:
            self._ring[self._samples % BACKGROUND_FRAMES] = self._now
            self._samples += 1
            self._sampled_t = timestamp
        self._remember_height(points, timestamp)
        if self._samples < MIN_BACKGROUND_FRAMES or 0.0 <= timestamp - self._checked_t < CHECK_EVERY_S:
            return None
        region = self._region(points)
        if region is None:
            return None
        self._checked_t = timestamp
        (y0, y1), (x0, x1), (search_from, search_to) = region
        background = self._still_background(y0, y1, x0, x1)
        now = self._now[y0:y1, x0:x1].astype(np.float32)
        return upright_in_front(now, background, search_from - x0, search_to - x0, self._height_px / step)

    def _still_background(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """The median background over the region: taken once per new background picture over a region
        grown by a margin, and reused while the bottom's region stays inside it (a bottom moves
        little), about a third of a look's cost."""
        by0, by1, bx0, bx1 = self._background_at
        if self._background_sample != self._samples or not (by0 <= y0 and y1 <= by1 and bx0 <= x0 and x1 <= bx1):
            rows, cols = self._now.shape
            margin = int(REUSE_MARGIN_H * self._height_px / self._step)
            by0, by1 = max(0, y0 - margin), min(rows, y1 + margin)
            bx0, bx1 = max(0, x0 - margin), min(cols, x1 + margin)
            kept = min(self._samples, BACKGROUND_FRAMES)
            self._background = np.median(self._ring[:kept, by0:by1, bx0:bx1], axis=0).astype(np.float32)
            self._background_at, self._background_sample = (by0, by1, bx0, bx1), self._samples
        return self._background[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0]

    def _remember_height(self, points: np.ndarray, timestamp: float) -> None:
        """The lifter's standing height (px): the running maximum of head-to-feet, slowly forgotten.
        With the head out of the picture, shoulders-to-feet stands in (x SHOULDERS_TO_HEIGHT)."""
        if self._height_t is not None and timestamp > self._height_t:
            self._height_px *= 0.5 ** ((timestamp - self._height_t) / HEIGHT_HALF_LIFE_S)
        self._height_t = timestamp
        feet = _seen_y(points, _ANKLES, max)
        if feet is None:
            return
        head = _seen_y(points, _HEAD, min)
        if head is not None:
            height = feet - head
        else:
            shoulders = _seen_y(points, _SHOULDERS, min)
            height = (feet - shoulders) * SHOULDERS_TO_HEIGHT if shoulders is not None else 0.0
        self._height_px = max(self._height_px, height)

    def _region(self, points: np.ndarray) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
        """Rows, columns and the columns searched (grey-picture pixels) near the bottom; else None."""
        step = self._step
        height = self._height_px / step
        if height < MIN_HEIGHT_PX:
            return None
        hip, knee = _seen_mean(points, _HIPS), _seen_mean(points, _KNEES)
        if hip is None or knee is None:
            return None
        (hip_x, hip_y), (knee_x, knee_y) = hip, knee
        if math.degrees(math.atan2(abs(knee_y - hip_y), abs(knee_x - hip_x) + 1e-6)) > NEAR_LEVEL_DEG:
            return None
        feet = _seen_y(points, _ANKLES, max)
        feet_y = feet / step if feet is not None else knee_y / step + 0.25 * height
        rows, cols = self._now.shape
        y0, y1 = max(0, int(min(hip_y, knee_y) / step - ABOVE_HIP_H * height)), min(rows, int(feet_y) + 1)
        search_from = max(0, int(min(hip_x, knee_x) / step - WINDOW_H * height))
        search_to = min(cols - 1, int(max(hip_x, knee_x) / step + WINDOW_H * height))
        pad = int(0.08 * height) + 4
        x0, x1 = max(0, search_from - pad), min(cols, search_to + pad + 1)
        if y1 - y0 < 0.1 * height or search_to <= search_from:
            return None
        return (y0, y1), (x0, x1), (search_from, search_to)


_HEAD = (KP.NOSE, KP.LEFT_EYE, KP.RIGHT_EYE, KP.LEFT_EAR, KP.RIGHT_EAR)
_SHOULDERS = (KP.LEFT_SHOULDER, KP.RIGHT_SHOULDER)
_HIPS = (KP.LEFT_HIP, KP.RIGHT_HIP)
_KNEES = (KP.LEFT_KNEE, KP.RIGHT_KNEE)
_ANKLES = (KP.LEFT_ANKLE, KP.RIGHT_ANKLE)


def _seen(points: np.ndarray, index: int) -> bool:
    """Scored well enough, and a finite place (scalar reads: nothing allocated per frame)."""
    x, y, score = float(points[index, 0]), float(points[index, 1]), float(points[index, 2])
    return score >= MIN_JOINT_SCORE and math.isfinite(x) and math.isfinite(y)


def _seen_y(points: np.ndarray, joints: tuple[int, ...], pick: Callable[[float, float], float]) -> float | None:
    """The highest (pick=min) or lowest (pick=max) image row of the joints seen; None if none is."""
    best = None
    for j in joints:
        if _seen(points, j):
            y = float(points[j, 1])
            best = y if best is None else pick(best, y)
    return best


def _seen_mean(points: np.ndarray, joints: tuple[int, ...]) -> tuple[float, float] | None:
    """The mean place of the joints seen (the two labels of one joint); None if neither is."""
    n, x, y = 0, 0.0, 0.0
    for j in joints:
        if _seen(points, j):
            n, x, y = n + 1, x + float(points[j, 0]), y + float(points[j, 1])
    return (x / n, y / n) if n else None
