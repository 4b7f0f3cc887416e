#!/usr/bin/env python3
"""The lower back's outline at the bottom of each rep, from MediaPipe's person mask (a measurement
for docs/butt-wink.md, not yet a station stage).

For each side-view real clip: the analysis finds the reps; for the frame where the depth passes
30 deg above parallel on the way down ('mid') and the bottom frame, a square crop around the lifter goes through
MediaPipe's pose_landmark_full model (../shared/models, Apache-2.0) and its segmentation output is
thresholded into a person mask. Along the near hip -> near shoulder chord the back's outline is
traced (distance from the chord to the mask's edge, on the back side, over the chord length), and
its *sagitta* over the lumbar part (20-55 % of the chord from the hip) is the bulge past a straight
line through the outline's ends: positive = rounded, negative = arched. Also the cost per crop.

    python scripts/bench_backshape.py [--shared ../shared] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_real import keypoints_for, load_clips  # noqa: E402

from station.analysis import AnalysisParams  # noqa: E402
from station.analysis.analyzer import analyze_keypoints  # noqa: E402
from station.pose.keypoints import KP  # noqa: E402

MODEL = "pose_landmark_full.tflite"
SIZE = 256
CHORD_STEPS = np.linspace(0.1, 0.9, 17)
LUMBAR = slice(2, 9)                 # 20-55 % of the chord from the hip
MID_DEPTH_DEG = 30.0                 # 'mid-descent': the depth (top of the thigh) 30 deg above parallel


class PersonMask:
    def __init__(self, path: Path, threads: int):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = next(d["index"] for d in self.interpreter.get_output_details() if d["name"] == "Identity_2")

    def __call__(self, crop_rgb: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input, (crop_rgb.astype(np.float32) / 255.0)[np.newaxis])
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output)[0, :, :, 0] > 0


def crop_around(frame: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """A square crop around the confident keypoints, resized to SIZE; (crop, origin, scale)."""
    from PIL import Image

    seen = points[points[:, 2] > 0.2, :2]
    low, high = seen.min(axis=0), seen.max(axis=0)
    centre, side = (low + high) / 2, 1.25 * float(np.max(high - low))
    origin = centre - side / 2
    box = tuple(int(v) for v in (*origin, *(origin + side)))
    crop = Image.fromarray(frame).crop(box).resize((SIZE, SIZE), Image.BILINEAR)
    return np.asarray(crop), origin, SIZE / side


def back_sagitta(mask: np.ndarray, hip: np.ndarray, shoulder: np.ndarray, facing: int) -> float:
    chord = shoulder - hip
    length = float(np.hypot(*chord))
    along = chord / length
    back = np.array([-along[1], along[0]])
    if np.sign(back[0]) == np.sign(facing):
        back = -back
    depth = []
    for s in CHORD_STEPS:
        start, d = hip + along * length * s, 0
        while d < length:
            x, y = (start + back * (d + 1)).round().astype(int)
            if not (0 <= x < SIZE and 0 <= y < SIZE) or not mask[y, x]:
                break
            d += 1
        depth.append(d / length)
    depth = np.array(depth)
    ends = [0, 1, -2, -1]
    line = np.polyfit(CHORD_STEPS[ends], depth[ends], 1)
    return float(np.max((depth - np.polyval(line, CHORD_STEPS))[LUMBAR]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=os.environ.get("STATION_SHARED", str(ROOT.parent / "shared")))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", help="keypoint cache (as bench_real.py)")
    args = parser.parse_args()
    shared = Path(args.shared)
    if not (shared / "models" / MODEL).exists() or not (shared / "testdata/real/labels.tsv").exists():
        print(f"skipped: needs {shared}/models/{MODEL} and the labelled clips")
        return 0
    from station import config
    from station.pose import PoseEstimator
    from station.sources import VideoFileSource

    cfg = config.Config()
    estimator = PoseEstimator.from_config(cfg.model, cfg.pose, cfg.model_path())
    segment = PersonMask(shared / "models" / MODEL, args.threads)
    costs = []
    print("| clip | wink label | rep | depth deg | lumbar sagitta mid-descent | at the bottom | change |")
    print("|---|---|---|---|---|---|---|")
    for clip in load_clips(shared):
        if not clip.side:
            continue
        keypoints, _ = keypoints_for(clip, "native", estimator, Path(args.cache) if args.cache else None)
        reps = [r for s in analyze_keypoints(keypoints, AnalysisParams()) for r in s.reps if r.side_view]
        times = np.array([k.timestamp for k in keypoints])
        wanted = {}
        for rep in reps:
            t = rep.series.t + rep.start_t
            bottom = int(np.argmin(rep.series.thigh_deg))
            mid = int(np.argmin(np.abs(rep.series.thigh_deg[:bottom + 1] - MID_DEPTH_DEG)))
            wanted[rep.index] = (rep, float(t[mid]), rep.bottom_t)
        targets = sorted({x for _, a, b in wanted.values() for x in (a, b)})
        frames = {}
        source = VideoFileSource(clip.path)
        for t, frame in source:
            for x in targets:
                if x not in frames or abs(t - x) < frames[x][0]:
                    frames[x] = (abs(t - x), t, frame)
        source.close()
        for index, (rep, mid_t, bottom_t) in wanted.items():
            values = []
            for x in (mid_t, bottom_t):
                _, t, frame = frames[x]
                points = keypoints[int(np.argmin(np.abs(times - t)))].points
                near = 0 if points[KP.LEFT_SHOULDER, 2] + points[KP.LEFT_HIP, 2] >= \
                    points[KP.RIGHT_SHOULDER, 2] + points[KP.RIGHT_HIP, 2] else 1
                hip, shoulder, knee = (points[k + near, :2] for k in (KP.LEFT_HIP, KP.LEFT_SHOULDER, KP.LEFT_KNEE))
                crop, origin, scale = crop_around(frame, points)
                start = time.perf_counter()
                mask = segment(crop)
                costs.append(time.perf_counter() - start)
                facing = 1 if knee[0] > hip[0] else -1
                values.append(back_sagitta(mask, (hip - origin) * scale, (shoulder - origin) * scale, facing))
            print(f"| {clip.name} | {clip.labels.get('wink', '?')} | {index} | {rep.max_depth_deg:+.0f} | "
                  f"{values[0]:+.3f} | {values[1]:+.3f} | {values[1] - values[0]:+.3f} |", flush=True)
    print(f"\nMediaPipe pose_landmark_full per crop ({args.threads} threads, LiteRT, this machine): "
          f"median {1000 * float(np.median(costs)):.1f} ms over {len(costs)} crops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
