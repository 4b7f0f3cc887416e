#!/usr/bin/env python3
"""Pose-stage benchmark: per-stage milliseconds and frames per second, model-only vs whole stage.

Input: the real side-view clip letterboxed into 640x480 frames (or --video FILE), decoded once up
front so decode is timed on its own. "Whole stage" is PoseEstimator.estimate(): crop-and-resize,
invoke, keypoint mapping and the next crop. Every importable runtime is measured; run this in the
tflite-runtime environment too (.ci/run does). Last, the look for a rack upright in front of the
legs (pose/obstruction.py) on its own: its cost on the frames it looks at (near the bottom) and on
the others, with the clip's own timestamps.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from station.pose import MoveNet, PoseEstimator, full_frame_region  # noqa: E402
from station.pose.modelfile import DEFAULT_MODEL_DIR, LIGHTNING_INT8  # noqa: E402
from station.pose.obstruction import ObstructionCheck  # noqa: E402
from station.sources import VideoFileSource  # noqa: E402

DEFAULT_CLIP = ROOT.parent / "shared" / "testdata" / "clips" / "side_barbell_squat_2reps.mp4"


def letterbox(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    scale = min(width / frame.shape[1], height / frame.shape[0])
    size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
    resized = np.asarray(Image.fromarray(frame).resize(size, Image.BILINEAR))
    out = np.zeros((height, width, 3), np.uint8)
    y0, x0 = (height - size[1]) // 2, (width - size[0]) // 2
    out[y0:y0 + size[1], x0:x0 + size[0]] = resized
    return out


def load_frames(video: Path, count: int | None, width: int,
                height: int) -> tuple[list[np.ndarray], list[float], float]:
    """Frames letterboxed (all of them when count is None), their timestamps, median decode ms."""
    source = VideoFileSource(video)
    frames, stamps, decode_ms = [], [], []
    iterator = iter(source)
    while count is None or len(frames) < count:
        start = time.perf_counter()
        try:
            timestamp, frame = next(iterator)
        except StopIteration:
            break
        decode_ms.append((time.perf_counter() - start) * 1000)
        frames.append(letterbox(frame, width, height))
        stamps.append(timestamp)
    source.close()
    return frames, stamps, statistics.median(decode_ms)


def bench_obstruction(model: Path, frames: list[np.ndarray], stamps: list[float], repeats: int) -> dict:
    """The upright look alone, fed the clip's frames and the model's keypoints at the clip's times."""
    estimator = PoseEstimator(MoveNet(model, num_threads=1))
    points = [estimator.estimate(frame, t).points for frame, t in zip(frames, stamps)]
    looked, other = [], []
    for _ in range(repeats):
        check = ObstructionCheck()
        for frame, pts, t in zip(frames, points, stamps):
            start = time.perf_counter()
            answer = check.observe(frame, pts, t)
            (other if answer is None else looked).append((time.perf_counter() - start) * 1000)
    return {"looks": len(looked) // repeats, "frames": len(frames),
            "look_ms": statistics.median(looked) if looked else None, "look_max_ms": max(looked, default=None),
            "other_ms": statistics.median(other), "other_max_ms": max(other)}


def bench_runtime(runtime: str, model: Path, frames: list[np.ndarray], threads: int, repeats: int) -> dict:
    net = MoveNet(model, num_threads=threads, runtime=runtime)
    estimator = PoseEstimator(net, crop_tracking=True)
    height, width = frames[0].shape[:2]
    # warm-up, and record the crop each frame gets so the pre-process timing uses real crops
    regions = []
    for frame in frames:
        regions.append(estimator._region or full_frame_region(width, height))
        estimator.estimate(frame, 0.0)
    resize = estimator._resize
    inputs = [resize(f, r).copy() for f, r in zip(frames, regions)]

    def timed(fn, items):
        start = time.perf_counter()
        for item in items:
            fn(item)
        return (time.perf_counter() - start) * 1000 / len(items)

    # Interleave the three measurements and take medians, so a burst of load on the machine
    # hits all of them alike instead of skewing the ratio.
    samples = {"invoke": [], "pre": [], "stage": []}
    for _ in range(repeats):
        samples["invoke"].append(timed(net.infer, inputs))
        samples["pre"].append(timed(lambda fr: resize(*fr), list(zip(frames, regions))))
        estimator.reset()
        samples["stage"].append(timed(lambda f: estimator.estimate(f, 0.0), frames))
    invoke_ms, pre_ms, stage_ms = (statistics.median(samples[k]) for k in ("invoke", "pre", "stage"))
    return {
        "runtime": f"{net.runtime.name} {net.runtime.version}", "threads": threads,
        "pre": pre_ms, "invoke": invoke_ms, "post": max(0.0, stage_ms - pre_ms - invoke_ms),
        "stage": stage_ms, "model_fps": 1000 / invoke_ms, "stage_fps": 1000 / stage_ms,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR / LIGHTNING_INT8.filename)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    if not args.video.exists():
        print(f"no video at {args.video}: pass --video FILE", file=sys.stderr)
        return 2
    frames, _, decode_ms = load_frames(args.video, args.frames, width, height)
    print(f"input: {len(frames)} frames of {args.video.name} letterboxed to {width}x{height}; "
          f"decode (PyAV, {args.video.name} native size) {decode_ms:.2f} ms/frame median")
    rows = []
    for runtime in ("litert", "tflite"):
        for threads in args.threads:
            try:
                rows.append(bench_runtime(runtime, args.model, frames, threads, args.repeats))
            except Exception as exc:  # a runtime that is not installed here is reported, not fatal
                print(f"{runtime}: skipped ({str(exc)[:120]})")
                break
    print()
    print("| runtime | threads | pre-process ms | invoke ms | post-process ms | stage ms | model-only fps "
          "| stage fps | stage/model |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['runtime']} | {r['threads']} | {r['pre']:.3f} | {r['invoke']:.2f} | {r['post']:.3f} | "
              f"{r['stage']:.2f} | {r['model_fps']:.1f} | {r['stage_fps']:.1f} | "
              f"{100 * r['stage_fps'] / r['model_fps']:.1f}% |")
    whole, stamps, _ = load_frames(args.video, None, width, height)
    cost = bench_obstruction(args.model, whole, stamps, repeats=3)
    print()
    if cost["look_ms"] is None:
        print(f"upright look: no bottom in {cost['frames']} frames; {cost['other_ms']:.3f} ms a frame")
    else:
        print(f"upright look ({args.video.name}, {cost['frames']} frames at its own rate): "
              f"{cost['looks']} looks near the bottoms, {cost['look_ms']:.2f} ms median "
              f"({cost['look_max_ms']:.2f} max); other frames {cost['other_ms']:.3f} ms "
              f"({cost['other_max_ms']:.2f} max)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
