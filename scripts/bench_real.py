#!/usr/bin/env python3
"""Real-footage benchmark: reps, depth verdict, view verdict and wink flags against labels.

Runs pose + analysis on every clip of ../shared/testdata/real/labels.tsv plus the two older clips
(side_barbell_squat_2reps, pose_squats), at each clip's own frame rate and at 15 and 10 fps (the
newest frame first, as a Pi 5 and a Pi 4 manage), and prints one row per clip and rate and the
totals. The clips are evaluation data: they are read from ../shared and never copied.

Scoring (the labels' own definitions, real/README.md):
- reps: the count equals reps=N or bottoms=M (a rep cut off by the start or end may count);
- depth: side views only; the verdict of the deepest rep equals depth=below|parallel|above;
- view: side views are judged; front and three-quarter clips get no depth, with setup advice;
- wink: clips labelled wink=no must have no rep flagged; wink=yes must have one flagged.
Then, needing no labels: each judged rep's depth at 15 and 10 fps against the same rep at the
clip's own rate (what the Pi's frame rate costs).

    python scripts/bench_real.py [--rates native,15,10] [--quick] [--cache DIR] [--json OUT]
                                 [--transform mirror|half|far|dark|rolled|feetoff|headoff|handheld|
                                              mirrorwall|mirrorwall_far|passerby|passerby_behind|rack|rack_tight|
                                              slowmo2|slowmo3|fast2]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from station.analysis import AnalysisParams  # noqa: E402
from station.analysis.analyzer import analyze_keypoints  # noqa: E402
from station.analysis.quality import SETUP_SHORT  # noqa: E402
from station.analysis.summary import judged_reps  # noqa: E402
from station.pose.keypoints import Keypoints  # noqa: E402

EXTRA_CLIPS = {  # the older clips, labelled the same way (testdata/README.md)
    "clips/side_barbell_squat_2reps.mp4": "reps=2 bottoms=2 depth=below wink=unsure view=side-right-facing",
    "peer-tfjs-pose-detection/pose_squats.mp4": "reps=2 bottoms=3 depth=below wink=unsure view=three-quarter",
}
QUICK_MAX_S = 16.0          # --quick (CI): clips up to this long, at the clip's rate and 10 fps


@dataclass
class Clip:
    name: str
    path: Path
    labels: dict

    @property
    def side(self) -> bool:
        return self.labels["view"].startswith("side")


def load_clips(shared: Path) -> list[Clip]:
    clips = []
    with (shared / "testdata/real/labels.tsv").open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            path = shared / "testdata/real" / row["name"]
            clips.append(Clip(Path(row["name"]).stem, path, parse_labels(row["labels"])))
    for rel, text in EXTRA_CLIPS.items():
        clips.append(Clip(Path(rel).stem, shared / "testdata" / rel, parse_labels(text)))
    return clips


def parse_labels(text: str) -> dict:
    """'reps=8 bottoms=8 depth=parallel ... (free text)' -> {'reps': '8', ...}"""
    return dict(item.split("=", 1) for item in text.split(" (")[0].split() if "=" in item)


def code_version() -> str:
    """Cache key: the pose stage, the sources and the model (the analysis is always re-run)."""
    digest = hashlib.sha256()
    for rel in ("pose/crop.py", "pose/estimator.py", "pose/keypoints.py", "pose/movenet.py", "pose/obstruction.py",
                "sources/base.py", "sources/video.py"):
        digest.update(rel.encode() + (ROOT / "station" / rel).read_bytes())
    return digest.hexdigest()[:12]


def _mirror(frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frame[:, ::-1])


def _half(frame: np.ndarray) -> np.ndarray:
    """Half the resolution (2x2 means): the lifter at half the pixels, as from further away."""
    h, w = frame.shape[0] // 2 * 2, frame.shape[1] // 2 * 2
    return frame[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3)).astype(np.uint8)


def _dark(frame: np.ndarray) -> np.ndarray:
    """A dim gym: a third of the light, with the sensor noise that comes with it."""
    noise = np.random.default_rng(int(frame[::97, ::89].sum())).normal(0, 3, frame.shape)
    return np.clip(frame * 0.33 + noise, 0, 255).astype(np.uint8)


def _far(frame: np.ndarray) -> np.ndarray:
    """A camera twice as far back: the picture at half size in the middle of a frame of the same
    size, the rest one flat colour (the picture's median). Unlike --transform half the pose
    stage's first look sees the lifter at half the size, so it tests finding a small lifter."""
    small = _half(frame)
    out = np.empty_like(frame)
    out[:] = np.median(small.reshape(-1, 3), axis=0).astype(np.uint8)
    top, left = (frame.shape[0] - small.shape[0]) // 2, (frame.shape[1] - small.shape[1]) // 2
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    return out


ROLL_DEG = 3.0


def _rolled(frame: np.ndarray) -> np.ndarray:
    """A camera rolled ROLL_DEG (its horizon not level; the picture turns counter-clockwise),
    black where the turned picture leaves the frame."""
    from PIL import Image
    return np.asarray(Image.fromarray(frame).rotate(ROLL_DEG, resample=Image.BILINEAR))


def _feet_off_row(clip: Clip, estimator, cache: Path | None) -> int:
    """Where --transform feetoff cuts the picture: halfway between the lifter's median knee and
    ankle height in the clip as filmed, so the feet are out and the knees in (a camera too close or
    tilted down). Rows, from the clip's own keypoints."""
    keypoints, _ = keypoints_for(clip, "native", estimator, cache)
    points = np.stack([k.points for k in keypoints])
    seen = points[:, :, 2] >= 0.3
    knee = np.median(points[:, [13, 14], 1][seen[:, [13, 14]]])
    ankle = np.median(points[:, [15, 16], 1][seen[:, [15, 16]]])
    return int(round((knee + ankle) / 2))


def _head_off_row(clip: Clip, estimator, cache: Path | None) -> int:
    """Where --transform headoff cuts the picture: halfway between the lifter's median nose/eye and
    shoulder height in the clip as filmed, so the head is out and the shoulders in (a camera too
    close or tilted up). The medians take in the bottoms, where the head is lower, so standing the
    cut can reach the shoulders too. Rows, from the clip's own keypoints; the rows below are kept."""
    keypoints, _ = keypoints_for(clip, "native", estimator, cache)
    points = np.stack([k.points for k in keypoints])
    seen = points[:, :, 2] >= 0.3
    head = np.median(points[:, [0, 1, 2], 1][seen[:, [0, 1, 2]]])
    shoulder = np.median(points[:, [5, 6], 1][seen[:, [5, 6]]])
    return int(round((head + shoulder) / 2))


HANDHELD_SHIFT = 0.03       # the picture wanders this share of its width / height (1 sd; at most twice)
HANDHELD_ROLL_DEG = 2.0     # ... and rolls up to this either way
HANDHELD_TAU_S = 1.5        # how long the hand takes to drift back (the walk's memory)


def _handheld(clip: Clip):
    """A phone held in the hand: each frame shifted by a smooth random walk (HANDHELD_SHIFT of the
    picture, pulled back to the middle over HANDHELD_TAU_S) and rolled up to HANDHELD_ROLL_DEG,
    black where the picture leaves the frame. A function of the frame's time, seeded by the clip's
    name: the same shake at every rate and on every run."""
    from PIL import Image
    step, seconds = 0.02, 600.0
    rng = np.random.default_rng(int(hashlib.sha256(clip.name.encode()).hexdigest()[:8], 16))
    noise = rng.normal(size=(int(seconds / step), 3))
    walk = np.zeros_like(noise)
    keep = np.exp(-step / HANDHELD_TAU_S)
    for i in range(1, len(noise)):      # a random walk that drifts back to the middle (Ornstein-Uhlenbeck)
        walk[i] = keep * walk[i - 1] + np.sqrt(1 - keep * keep) * noise[i]
    smooth = np.ones(15) / 15           # 0.3 s: a hand's sway, not a sensor's jitter
    walk = np.stack([np.convolve(walk[:, k], smooth, mode="same") for k in range(3)], axis=1)
    walk /= walk.std(axis=0)
    walk[:, :2] = np.clip(walk[:, :2] * HANDHELD_SHIFT, -2 * HANDHELD_SHIFT, 2 * HANDHELD_SHIFT)
    walk[:, 2] = np.clip(walk[:, 2] * HANDHELD_ROLL_DEG / 2, -HANDHELD_ROLL_DEG, HANDHELD_ROLL_DEG)
    grid = np.arange(len(walk)) * step

    def shake(t: float, frame: np.ndarray) -> np.ndarray:
        dx, dy, roll = (float(np.interp(t, grid, walk[:, k])) for k in range(3))
        height, width = frame.shape[:2]
        return np.asarray(Image.fromarray(frame).rotate(roll, resample=Image.BILINEAR,
                                                        translate=(dx * width, dy * height)))
    return shake


MIRROR_FAR_SCALE = 0.85     # --transform mirrorwall_far: the reflection at this size ...
MIRROR_FAR_LIGHT = 0.8      # ... and this share of the light


def _mirror_wall(clip: Clip, scale: float = 1.0, light: float = 1.0):
    """A mirror wall in front of the lifter: the picture with its own mirror image beside it, on the
    side the lifter faces (view=side-left-facing: the left; any other view: the right), a second
    lifter doing the same squat the other way. The mirror line is the picture's edge, so in the new
    frame both are as far from its centre (MoveNet's only tie-break between people): a worst case.
    A mirror square to the camera shows the reflection at the lifter's size; mirrorwall_far shrinks
    and dims it (a mirror turned a little away, dull glass), centred in its half, the rest one flat
    colour (its median)."""
    from PIL import Image
    left = clip.labels["view"] == "side-left-facing"

    def wall(frame: np.ndarray) -> np.ndarray:
        image = frame[:, ::-1]
        if scale != 1.0 or light != 1.0:
            height, width = frame.shape[:2]
            small = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(
                (round(width * scale), round(height * scale)), Image.BILINEAR)) * light
            image = np.empty_like(frame)
            image[:] = np.median(small.reshape(-1, 3), axis=0).astype(np.uint8)
            top, side = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
            image[top:top + small.shape[0], side:side + small.shape[1]] = small.astype(np.uint8)
        return np.ascontiguousarray(np.concatenate([image, frame] if left else [frame, image], axis=1))
    return wall


PASSER_SCALE = 1.3          # --transform passerby: someone this much taller than the lifter (nearer the camera) ...
PASSER_BEHIND_SCALE = 0.8   # ... passerby_behind: this size, further away, behind the lifter
PASSER_CROSS_S = 1.5        # ... crosses the whole frame (edge to edge) in this long, left to right, once,
PASSER_LEAD_S = 0.75        # ... starting this long before the bottom of the clip's middle rep as filmed
STANDING_S = 2.0            # the lifter standing tallest in the clip's first seconds (passer-by, rack scale)


def _lifter_box(points: np.ndarray, min_score: float = 0.3) -> tuple[float, float, float, float] | None:
    """A rectangle around one pose's keypoints (x0, y0, x1, y1), padded to the body: the head's top
    above the eyes, the feet below the ankles, the arms, bar and plates either side."""
    seen = points[:, 2] >= min_score
    if seen.sum() < 8:
        return None
    xs, ys = points[seen, 0], points[seen, 1]
    tall = float(ys.max() - ys.min())
    return (float(xs.min()) - 0.15 * tall, float(ys.min()) - 0.12 * tall,
            float(xs.max()) + 0.15 * tall, float(ys.max()) + 0.05 * tall)


def _body_mask(points: np.ndarray, shape: tuple[int, int], thick: float, min_score: float = 0.15) -> np.ndarray:
    """The lifter's silhouette, roughly: limbs and torso drawn from the keypoints, `thick` px wide."""
    from PIL import Image, ImageDraw
    mask = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(mask)
    ok = points[:, 2] >= min_score
    xy = [(float(x), float(y)) for x, y in points[:, :2]]
    for a, b in ((5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (11, 12), (5, 11), (6, 12),
                 (11, 13), (13, 15), (12, 14), (14, 16), (0, 5), (0, 6), (3, 5), (4, 6)):
        if ok[a] and ok[b]:
            draw.line([xy[a], xy[b]], fill=255, width=max(1, int(thick)))
    for i in np.flatnonzero(ok):
        r = thick * (0.9 if i <= 4 else 0.5)
        draw.ellipse([xy[i][0] - r, xy[i][1] - r, xy[i][0] + r, xy[i][1] + r], fill=255)
    torso = [xy[i] for i in (5, 6, 12, 11) if ok[i]]
    if len(torso) >= 3:
        draw.polygon(torso, fill=255)
    return np.asarray(mask) > 0


def _standing_box(keypoints: list[Keypoints]) -> tuple[tuple[float, float, float, float], float]:
    """The lifter standing tallest in the clip's first STANDING_S (any time if never seen
    there): their box (_lifter_box) and its time."""
    times = [k.timestamp for k in keypoints]
    boxes = [(_lifter_box(k.points), k.timestamp) for k in keypoints if k.timestamp <= times[0] + STANDING_S]
    boxes = [(b, t) for b, t in boxes if b is not None] or \
        [(b, k.timestamp) for k in keypoints if (b := _lifter_box(k.points)) is not None]
    return max(boxes, key=lambda bt: bt[0][3] - bt[0][1])


RACK_HALF_DEPTH = 0.27      # --transform rack: the near uprights this many lifter heights either side of mid-foot
RACK_TIGHT_HALF_DEPTH = 0.18  # ... rack_tight: a 0.5 m rack, its uprights over the knees or seat at the bottom
RACK_POST_WIDTH = 0.054     # ... this wide (a 75 mm upright, 1.25x nearer the camera than a 1.75 m lifter)
RACK_PIN_WIDTH = 0.018      # ... and a safety pin this thick
RACK_PIN_BELOW = 0.03       # ... this far below the shoulders at the deepest bottom (set to catch the bar)
RACK_STEEL = (38, 38, 42)


def rack_mask(keypoints: list[Keypoints], facing_left: bool,
              half_depth: float = RACK_HALF_DEPTH) -> tuple[np.ndarray, list[float], float | None]:
    """Where a power rack's near parts stand in the picture, from a clip's own keypoints as filmed:
    the two uprights (full height) half_depth lifter heights in front of and behind the lifter's
    median ankle, the front being the way the lifter faces, and the safety pin between them
    RACK_PIN_BELOW lifter heights below the shoulders at the deepest rep's bottom (where it is set to
    catch the bar; no pin without a rep). Returns the mask (True: steel), the uprights' centres
    (front first) and the pin's row."""
    box, _ = _standing_box(keypoints)
    tall = box[3] - box[1]
    points = np.stack([k.points for k in keypoints])
    times = np.array([k.timestamp for k in keypoints])
    seen = points[:, [15, 16], 2] >= 0.3
    mid_foot = float(np.median(points[:, [15, 16], 0][seen])) if seen.any() else (box[0] + box[2]) / 2
    front = -1.0 if facing_left else 1.0
    posts = [mid_foot + side * half_depth * tall for side in (front, -front)]
    reps = [r for s in analyze_keypoints(keypoints, AnalysisParams()) for r in s.reps]
    pin_y = None
    if reps:
        bottom = points[int(np.argmin(np.abs(times - min(reps, key=lambda r: r.max_depth_deg).bottom_t)))]
        shoulders = bottom[[5, 6]][bottom[[5, 6], 2] >= 0.2]
        if len(shoulders):
            pin_y = float(shoulders[:, 1].mean()) + RACK_PIN_BELOW * tall
    mask = np.zeros((keypoints[0].frame_height, keypoints[0].frame_width), bool)
    half_post = max(1.0, RACK_POST_WIDTH * tall / 2)
    for x in posts:
        mask[:, max(0, round(x - half_post)):max(0, round(x + half_post))] = True
    if pin_y is not None:
        half_pin = max(1.0, RACK_PIN_WIDTH * tall / 2)
        left, right = max(0, round(min(posts) - half_post)), max(0, round(max(posts) + half_post))
        mask[max(0, round(pin_y - half_pin)):max(0, round(pin_y + half_pin)), left:right] = True
    return mask, posts, pin_y


def _rack(clip: Clip, estimator, cache: Path | None, half_depth: float = RACK_HALF_DEPTH):
    """Filmed from outside a power rack: its near uprights and safety pin (rack_mask: RACK_HALF_DEPTH
    is a 0.75 m deep rack, RACK_TIGHT_HALF_DEPTH a 0.5 m one whose uprights stand over the knees or
    the seat at the bottom) painted in dark steel over every frame, between the camera and the
    lifter. The same picture at every rate."""
    keypoints, _ = keypoints_for(clip, "native", estimator, cache)
    mask, posts, pin_y = rack_mask(keypoints, clip.labels["view"] == "side-left-facing", half_depth)
    print(f"# {clip.name}: rack uprights at x {posts[0]:.0f} (front), {posts[1]:.0f}, "
          f"pin at y {'none' if pin_y is None else f'{pin_y:.0f}'}", file=sys.stderr)
    steel = np.array(RACK_STEEL, np.uint8)

    def through_rack(frame: np.ndarray) -> np.ndarray:
        if frame.shape[:2] != mask.shape:
            return frame
        out = frame.copy()
        out[mask] = steel
        return out
    return through_rack


def _passerby(clip: Clip, estimator, cache: Path | None, behind: bool = False):
    """Someone walks across the picture mid-set: the lifter's own standing picture (a rectangle cut
    around them on the tallest pose of the clip's first STANDING_S, from the clip's own keypoints),
    scaled PASSER_SCALE (nearer the camera) and pasted opaquely, sliding from just off the left edge
    to just off the right in PASSER_CROSS_S, from PASSER_LEAD_S before the bottom of the clip's middle
    rep as filmed (at the clip's rate; at 40 % of the clip if no rep was found), its middle height at
    the lifter's standing middle (a camera at hip height sees everyone's hips on one line). behind: at
    PASSER_BEHIND_SCALE, and the lifter's own pixels (a silhouette drawn from that frame's keypoints as
    filmed) stay on top. A function of the frame's time: the same pass at every rate."""
    from PIL import Image

    from station.sources import VideoFileSource
    keypoints, _ = keypoints_for(clip, "native", estimator, cache)
    times = np.array([k.timestamp for k in keypoints])
    reps = [r for s in analyze_keypoints(keypoints, AnalysisParams()) for r in s.reps]
    start = (reps[(len(reps) - 1) // 2].bottom_t - PASSER_LEAD_S if reps
             else times[0] + 0.4 * (times[-1] - times[0]))
    box, stand_t = _standing_box(keypoints)
    source = VideoFileSource(clip.path)
    try:
        standing = next(frame for t, frame in source if t >= stand_t - 1e-6)
    finally:
        source.close()
    height, width = standing.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in (max(box[0], 0), max(box[1], 0), min(box[2], width), min(box[3], height)))
    scale = PASSER_BEHIND_SCALE if behind else PASSER_SCALE
    person = np.asarray(Image.fromarray(np.ascontiguousarray(standing[y0:y1, x0:x1])).resize(
        (round((x1 - x0) * scale), round((y1 - y0) * scale)), Image.BILINEAR))
    ph, pw = person.shape[:2]
    top = int(round((box[1] + box[3]) / 2 - ph / 2))
    thick = 0.12 * (box[3] - box[1])
    print(f"# {clip.name}: passer-by {pw}x{ph} px (lifter {box[2] - box[0]:.0f}x{box[3] - box[1]:.0f} at "
          f"{stand_t:.2f} s) crosses {start:.2f}-{start + PASSER_CROSS_S:.2f} s", file=sys.stderr)

    def walk(t: float, frame: np.ndarray) -> np.ndarray:
        share = (t - start) / PASSER_CROSS_S
        if not 0.0 <= share <= 1.0 or frame.shape[:2] != (height, width):
            return frame
        left = int(round(-pw + share * (width + pw)))
        a, b = max(left, 0), min(left + pw, width)
        c, d = max(top, 0), min(top + ph, height)
        if a >= b or c >= d:
            return frame
        out = frame.copy()
        out[c:d, a:b] = person[c - top:d - top, a - left:b - left]
        if behind:
            i = int(np.argmin(np.abs(times - t)))
            keep = _body_mask(keypoints[i].points, frame.shape[:2], thick)
            out[keep] = frame[keep]
        return out
    return walk


# --transform: the same labelled clips as other kinds of clip (the labels do not change): a lifter
# facing the other way, a smaller lifter, a camera further back, a dim gym, a camera not level, the
# feet out of the picture (depth is not judged, with advice), the head out of the picture (depth is
# still judged, with a note), a phone held in the hand, a mirror wall in front of the lifter (their
# reflection beside them: a second person), someone walking across in front of the lifter or behind
# them mid-set, a camera outside a power rack (its uprights and safety pin in front of the lifter).
# A verdict that flips under them is fragile.
TRANSFORMS = {"none": None, "mirror": _mirror, "half": _half, "far": _far, "dark": _dark, "rolled": _rolled,
              "feetoff": None, "headoff": None, "handheld": None, "mirrorwall": None, "mirrorwall_far": None,
              "passerby": None, "passerby_behind": None, "rack": None,
              "rack_tight": None}

# Timing kinds (the pictures as filmed; only the frames' times and which frames are kept change):
# name -> (each kept frame's time multiplied by this, every k-th frame of the file kept).
# slowmo2 / slowmo3: a phone's slow motion played back without its capture-rate tag, every frame kept
# and each rep 2 / 3 times as long (the file at a half / a third of its frame rate); fast2: a clip sped
# up twice (a timelapse), every 2nd frame kept at half its time. --rates then means frames per second
# on the file's new clock, which is all a station can see: a slowmo2 clip filmed at 30 fps is a 15 fps
# file, so at 15 it keeps every frame and at 10 two in three. The pose stage keeps time too (the
# crop's stable size forgets over STABLE_SIZE_HALF_LIFE_S), so a timing kind's keypoints are its own.
TIMINGS = {"slowmo2": (2.0, 1), "slowmo3": (3.0, 1), "fast2": (0.5, 2)}
TRANSFORMS.update(dict.fromkeys(TIMINGS))

# kinds whose set-up advice has one right cause, scored per run: the set's advice names it, or, on a
# front or three-quarter clip, its view's advice (said first: the lifter turns the camera, then moves it)
EXPECTED_CAUSE = {"feetoff": "feet_out"}
VIEW_CAUSES = ("front_view", "three_quarter_view")


def _retimed(frames, stretch: float, every: int):
    """(timestamp, frame) pairs on a new clock: every `every`-th frame from the first, its time x stretch."""
    for i, (t, frame) in enumerate(frames):
        if i % every == 0:
            yield t * stretch, frame


def keypoints_for(clip: Clip, rate: str, estimator, cache: Path | None,
                  transform: str = "none") -> tuple[list[Keypoints], float]:
    """Keypoints of a clip at a rate ('native' or fps), and the seconds the pose stage took."""
    from station.sources import VideoFileSource

    variant = "" if transform == "none" else f"_{transform}"
    looks = ("" if estimator.second_look else "_onelook") + ("" if estimator.upright_check else "_nolook")
    key = cache / f"{clip.name}_{rate}{variant}{looks}_{code_version()}.npz" if cache else None
    if key and key.exists():
        data = np.load(key)
        width, height = (int(v) for v in data["size"])
        looks = zip(data["points"], data["t"], data["second_look"], data["obstructed"])
        return [Keypoints(p, width, height, float(t), bool(again), None if np.isnan(blocked) else bool(blocked))
                for p, t, again, blocked in looks], 0.0
    row = _feet_off_row(clip, estimator, cache) if transform == "feetoff" else 0
    top = _head_off_row(clip, estimator, cache) if transform == "headoff" else 0
    walk = _passerby(clip, estimator, cache, transform == "passerby_behind") \
        if transform.startswith("passerby") else None
    estimator.reset()
    source = VideoFileSource(clip.path)
    start = time.perf_counter()
    try:
        change = TRANSFORMS[transform]
        if transform == "feetoff":
            change = lambda frame: frame[:row]  # noqa: E731
        elif transform == "headoff":
            change = lambda frame: np.ascontiguousarray(frame[top:])  # noqa: E731
        elif transform == "mirrorwall":
            change = _mirror_wall(clip)
        elif transform == "mirrorwall_far":
            change = _mirror_wall(clip, MIRROR_FAR_SCALE, MIRROR_FAR_LIGHT)
        elif transform == "rack":
            change = _rack(clip, estimator, cache)
        elif transform == "rack_tight":
            change = _rack(clip, estimator, cache, RACK_TIGHT_HALF_DEPTH)
        frames = source if change is None else ((t, change(frame)) for t, frame in source)
        if transform == "handheld":
            shake = _handheld(clip)
            frames = ((t, shake(t, frame)) for t, frame in source)
        elif transform in ("passerby", "passerby_behind"):
            frames = ((t, walk(t, frame)) for t, frame in source)
        elif transform in TIMINGS:
            frames = _retimed(source, *TIMINGS[transform])
        keypoints = list(estimator.track(frames, max_fps=None if rate == "native" else float(rate)))
    finally:
        source.close()
    elapsed = time.perf_counter() - start
    if key and keypoints:
        key.parent.mkdir(parents=True, exist_ok=True)
        np.savez(key, points=np.stack([k.points for k in keypoints]), t=np.array([k.timestamp for k in keypoints]),
                 second_look=np.array([k.second_look for k in keypoints]),
                 obstructed=np.array([np.nan if k.obstructed is None else float(k.obstructed) for k in keypoints]),
                 size=(keypoints[0].frame_width, keypoints[0].frame_height))
    return keypoints, elapsed


def score(clip: Clip, sets) -> dict:
    reps = [r for s in sets for r in s.reps]
    labels = clip.labels
    counted = len(reps)
    row = {"clip": clip.name, "reps": counted, "reps_label": f"{labels['reps']}/{labels['bottoms']}",
           "reps_ok": str(counted) in (labels["reps"], labels["bottoms"])}
    judged = [r for s in sets for r in judged_reps(s)]     # what the page and `station analyze` give
    advice = next((s.setup_advice for s in sets if s.setup_advice), None)
    if clip.side:
        deepest = min(judged, key=lambda r: r.max_depth_deg) if judged else None
        row["depth"] = None if deepest is None else round(deepest.max_depth_deg, 1)
        row["verdict"] = deepest.depth_verdict if deepest else "abstained"
        row["depth_ok"] = row["verdict"] == labels["depth"]
        row["depth_abstained"] = deepest is None
        # the view verdict: called side-on (a rep may still abstain on depth, e.g. hips hidden)
        row["view_ok"] = bool(reps) and all(r.view == "side" for r in reps)
        unjudged = [(SETUP_SHORT[issue], sum(1 for r in reps if r.setup_issue == issue))
                    for issue in SETUP_SHORT if issue != "head_out"]
        row["view"] = "side" + "".join(f", {n} of {len(reps)} reps not judged: {why}" for why, n in unjudged if n) \
            if row["view_ok"] else (advice or "not judged")
    else:
        row["depth"], row["verdict"], row["depth_ok"], row["depth_abstained"] = None, "-", None, None
        row["view_ok"] = not judged and advice is not None
        row["view"] = advice or "judged (wrong)"
    # the set's own advice (a set not judged): what the lifter is told to change first
    row["advice_issue"] = next((s.setup_issue for s in sets if s.setup_advice), None)
    flagged = [r.index for r in judged if r.wink]
    row["winks"] = flagged
    row["wink_ok"] = {"no": not flagged, "yes": bool(flagged)}.get(labels.get("wink"))
    row["wink_label"] = labels.get("wink", "?")
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=os.environ.get("STATION_SHARED", str(ROOT.parent / "shared")))
    parser.add_argument("--rates", default="native,15,10", help="comma list of 'native' and frame rates")
    parser.add_argument("--quick", action="store_true", help=f"CI: clips up to {QUICK_MAX_S:.0f} s, native and 10 fps")
    parser.add_argument("--cache", help="keep keypoints here between runs (keyed by the pose code's hash)")
    parser.add_argument("--json", help="write the rows as JSON here")
    parser.add_argument("--transform", choices=sorted(TRANSFORMS), default="none",
                        help="the clips as another kind of clip: mirrored, half resolution, further back, dim, "
                             "a camera not level, the feet or the head cut off, a phone held in the hand, or a mirror "
                             "wall in front of the lifter (mirrorwall_far: its reflection smaller and dimmer), or "
                             "someone walking across mid-set in front of the lifter (passerby) or behind them "
                             "(passerby_behind), or filmed through a power rack's near uprights and safety pin (rack; "
                             "rack_tight: a shallow rack, an upright over the knees or seat); "
                             "or the same pictures on another clock: slow motion played back "
                             "(slowmo2, slowmo3: each rep 2 or 3 times as long) or sped up twice (fast2)")
    args = parser.parse_args(argv)
    shared = Path(args.shared)
    if not (shared / "testdata/real/labels.tsv").exists():
        print(f"skipped: no labelled clips at {shared}/testdata/real (the benchmark needs ../shared)")
        return 0
    from station import config
    from station.pose import PoseEstimator

    cfg = config.Config()
    estimator = PoseEstimator.from_config(cfg.model, cfg.pose, cfg.model_path())
    params = AnalysisParams()
    rates = ["native", "10"] if args.quick else args.rates.split(",")
    clips = load_clips(shared)
    if args.quick:
        from station.sources import VideoFileSource

        def short(clip):
            source = VideoFileSource(clip.path)
            duration = float(source._container.duration or 0) / 1e6
            source.close()
            return duration <= QUICK_MAX_S
        clips = [c for c in clips if short(c)]
    rows = []
    bottoms: dict = {}        # (rate, clip) -> [(bottom_t, depth)] of the judged reps
    print("| rate | clip | reps (label N/M) | deepest deg | verdict (label) | view | winks (label) |")
    print("|---|---|---|---|---|---|---|")
    for rate in rates:
        for clip in clips:
            keypoints, _ = keypoints_for(clip, rate, estimator, Path(args.cache) if args.cache else None,
                                         args.transform)
            sets = analyze_keypoints(keypoints, params)
            row = score(clip, sets)
            row["rate"] = rate
            bottoms[rate, clip.name] = [(r.bottom_t, r.max_depth_deg) for s in sets for r in s.reps
                                        if r.side_view and clip.side]
            rows.append(row)
            mark = lambda ok: "" if ok is None else (" ok" if ok else " MISS")  # noqa: E731
            depth = "-" if row["depth"] is None else f"{row['depth']:+.1f}"
            verdict = f"{row['verdict']} ({clip.labels['depth']}){mark(row['depth_ok'])}" if clip.side else "-"
            view = row["view"] if clip.side and row["view_ok"] else row["view"][:60]
            print(f"| {rate} | {clip.name} | {row['reps']} ({row['reps_label']}){mark(row['reps_ok'])} | {depth} | "
                  f"{verdict} | {view}{mark(row['view_ok'])} | {row['winks'] or '-'} ({row['wink_label']})"
                  f"{mark(row['wink_ok'])} |", flush=True)
    print()
    print("| rate | rep count exact | depth verdict right (side views) | of those: abstained | view verdict right | "
          "no wink on wink=no | wink on wink=yes |")
    print("|---|---|---|---|---|---|---|")
    for rate in rates:
        mine = [r for r in rows if r["rate"] == rate]

        def tally(key, subset=None, mine=mine):
            values = [r[key] for r in (subset or mine) if r[key] is not None]
            return f"{sum(values)}/{len(values)}"
        no = [r for r in mine if r["wink_label"] == "no"]
        yes = [r for r in mine if r["wink_label"] == "yes"]
        abstained = sum(1 for r in mine if r["depth_abstained"])
        print(f"| {rate} | {tally('reps_ok')} | {tally('depth_ok')} | {abstained} | {tally('view_ok')} | "
              f"{tally('wink_ok', no) if no else '-'} | {tally('wink_ok', yes) if yes else '-'} |")
    cause = EXPECTED_CAUSE.get(args.transform)
    if cause:
        side = {c.name: c.side for c in clips}
        print()
        print(f"| rate | set-up advice names the cause ({SETUP_SHORT[cause]}) | named instead |")
        print("|---|---|---|")
        for rate in rates:
            right, total, wrong = cause_named([r for r in rows if r["rate"] == rate], side, cause)
            print(f"| {rate} | {right}/{total} | {'; '.join(wrong) or '-'} |")
    if "native" in rates and len(rates) > 1:
        print()
        print(rate_table(bottoms, [c.name for c in clips], [r for r in rates if r != "native"]))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def cause_named(rows: list[dict], side: dict, cause: str) -> tuple[int, int, list[str]]:
    """(runs whose set-up advice names the cause, runs, "clip: what it named instead" for the rest)."""
    right = [r["advice_issue"] == cause or (not side[r["clip"]] and r["advice_issue"] in VIEW_CAUSES)
             for r in rows]
    wrong = sorted(f"{r['clip']}: {r['advice_issue'] or 'no advice'}" for r, ok in zip(rows, right) if not ok)
    return sum(right), len(rows), wrong


def rate_table(bottoms: dict, clips: list[str], rates: list[str]) -> str:
    """Each judged rep's depth at a lower rate against the same rep at the clip's own rate (bottoms
    within 0.5 s): no labels needed, and what a Pi's lower frame rate costs."""
    lines = ["| rate | reps matched | mean deg (lower rate - clip rate) | median abs deg | p90 abs deg "
             "| worst abs deg |",
             "|---|---|---|---|---|---|"]
    for rate in rates:
        diffs = []
        for name in clips:
            lower = bottoms.get((rate, name), [])
            for bottom_t, own in bottoms.get(("native", name), []):
                nearest = min(lower, key=lambda rep: abs(rep[0] - bottom_t), default=None)
                if nearest is not None and abs(nearest[0] - bottom_t) < 0.5:
                    diffs.append(nearest[1] - own)
        if diffs:
            d = np.array(diffs)
            lines.append(f"| {rate} | {len(d)} | {d.mean():+.2f} | {np.median(np.abs(d)):.2f} | "
                         f"{np.percentile(np.abs(d), 90):.2f} | {np.abs(d).max():.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
