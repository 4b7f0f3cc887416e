#!/usr/bin/env python3
"""Accuracy benchmark of the squat analysis against ground truth.

- keypoint level: fixed-seed synthetic sets across the parameter space, MoveNet-like noise;
- rendered: synthetic sets drawn as a mannequin and pushed through the real model;
- the real clip ../shared/testdata/clips/side_barbell_squat_2reps.mp4 (2 reps below parallel).
Prints the main table (reps, depth, wink), a table of the secondary per-rep numbers (trunk lean,
knee travel, heel lift, tempo, pelvic tilt) against truth with a tolerance each, and a realism
line to compare the synthetic keypoints with what real clips showed. The synthetic population
includes the effects seen on real footage (hip keypoint above the joint, 3-D legs and camera
heights up to 1.4 m, plates covering the torso, trunk lean flattening near the bottom);
--no-realism runs the earlier, plainer population. The seeds differ from the ones the
thresholds were chosen on (seed 0).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from station.analysis import AnalysisParams  # noqa: E402
from station.pose.modelfile import DEFAULT_MODEL_DIR, LIGHTNING_INT8  # noqa: E402
from station.sim.evaluate import SECONDARY, realism_metrics, run_analysis, score_set  # noqa: E402
from station.sim.lifter import random_camera, random_lifter, simulate_set  # noqa: E402
from station.sim.noise import REALISTIC_NOISE, NoiseParams, noisy_keypoints  # noqa: E402

CLIP = ROOT.parent / "shared" / "testdata" / "clips" / "side_barbell_squat_2reps.mp4"
BENCH_SEED = 2026
SECONDARY_PASS_SHARE = 0.8  # a quantity passes when >= 80 % of the reported reps are within its tolerance
# measured on real clips (issue 9): lean growth over the last 20 deg / mid-descent rate (median),
# and the near thigh reading ~7 deg shallower and the far one ~7 deg deeper at the bottom
REAL_FLATTENING, REAL_NEAR_FAR_DEG = 0.23, 14.0


def population(count: int, seed: int, realism: bool, **overrides):
    """(index, truth) for the benchmark's lifters; with realism the effects seen on real footage
    are drawn from a generator of their own, so the base population is the same either way."""
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 9]) if realism else None
    for i in range(count):
        drawn = {key: value(rng) if callable(value) else value for key, value in overrides.items()}
        params = random_lifter(rng, realism=extra, **drawn)
        yield i, simulate_set(params, random_camera(rng, params, realism=extra), seed=seed + i)


def summarise(scores) -> dict:
    exact = np.mean([s.true_reps == s.counted_reps for s in scores]) if scores else float("nan")
    depth = np.abs(np.concatenate([s.depth_errors for s in scores if s.depth_errors] or [[np.nan]]))
    judged = sum(len(s.depth_errors) for s in scores)
    abstained = sum(s.depth_abstained for s in scores)
    pairs = [p for s in scores for p in s.wink_pairs]
    positives = [detected for magnitude, detected, _ in pairs if magnitude >= 10]
    negatives = [detected for magnitude, detected, _ in pairs if magnitude <= 3]
    signed = [err for magnitude, detected, err in pairs if err is not None and magnitude >= 10]
    onset = [abs(err) for err in signed]
    return {
        "sets": len(scores), "reps": sum(s.true_reps for s in scores), "exact": exact,
        "depth_median": float(np.nanmedian(depth)), "depth_p95": float(np.nanpercentile(depth, 95)),
        "abstained": abstained / max(1, judged + abstained),
        "recall": float(np.mean(positives)) if positives else float("nan"), "n_pos": len(positives),
        "fpr": float(np.mean(negatives)) if negatives else float("nan"), "n_neg": len(negatives),
        "onset_median": float(np.median(onset)) if onset else float("nan"),
        "onset_signed": float(np.median(signed)) if signed else float("nan"),
    }


HIGH_CAMERA_M = 1.1   # a camera above this (hip height and more) sees the legs from above


def kind_of(truth) -> tuple[bool, bool]:
    """(plates on the bar, camera above the hips): the kinds of set the station finds hard."""
    return truth.params.plate_radius_m > 0, truth.camera.height_m > HIGH_CAMERA_M


def keypoint_suite(count: int, seed: int, sensitivity: str = "normal", realism: bool = True, realism_out=None,
                   kinds_out=None):
    noise = REALISTIC_NOISE if realism else NoiseParams()
    scores = []
    for i, truth in population(count, seed, realism):
        keypoints = noisy_keypoints(truth, noise, seed=seed + i)
        # without realism the keypoints sit on the joints: no MoveNet hip-point offset to correct
        params = AnalysisParams(wink_sensitivity=sensitivity, hip_point_offset_deg=5.0 if realism else 0.0)
        reps, sets = run_analysis(keypoints, params)
        scores.append(score_set(truth, reps, sets))
        if kinds_out is not None:
            kinds_out.append(kind_of(truth))
        if realism_out is not None:
            realism_out["keypoints"] += realism_metrics(truth, keypoints)
            realism_out["ideal"] += realism_metrics(truth)
    return scores


def rendered_suite(count: int, seed: int, model: Path, realism: bool = True, realism_out=None, kinds_out=None):
    from station.pose import MoveNet, PoseEstimator
    from station.sim.render import MannequinRenderer

    net = MoveNet(model, num_threads=2)
    scores = []
    for i, truth in population(count, seed, realism, reps=lambda rng: int(rng.integers(2, 6))):
        renderer = MannequinRenderer(truth, second_person=bool(i % 3 == 0), seed=seed + i)
        estimator = PoseEstimator(net)
        keypoints = [estimator.estimate(renderer.render(f), float(t)) for f, t in enumerate(truth.timestamps)]
        reps, sets = run_analysis(keypoints)
        scores.append(score_set(truth, reps, sets))
        if kinds_out is not None:
            kinds_out.append(kind_of(truth))
        if realism_out is not None:
            realism_out["rendered"] += realism_metrics(truth, keypoints)
    return scores


def secondary_rows(suite: str, scores) -> list[str]:
    """Per quantity: |analyzer - truth| over matched reps where the analyzer reports a value."""
    rows = []
    triples = [t for s in scores for t in s.secondary]
    for name, unit, _, _, tolerance in SECONDARY:
        variants = [(name, lambda true: True)]
        if name == "heel lift":
            variants.append(("heel lift, heels that lift", lambda true: true > 0))
        for label, keep in variants:
            pairs = [(true, measured) for n, true, measured in triples if n == name and keep(true)]
            reported = [(true, measured) for true, measured in pairs if measured is not None]
            if not pairs:
                continue
            share = len(reported) / len(pairs)
            if reported:
                signed = np.array([measured - true for true, measured in reported])
                err = np.abs(signed)
                within = float(np.mean(err <= tolerance))
                verdict = "pass" if within >= SECONDARY_PASS_SHARE else "FAIL"
                stats = (f"{np.median(err):.2f} | {np.percentile(err, 95):.2f} | {np.median(signed):+.2f} | "
                         f"{100 * within:.0f}%")
            else:
                verdict, stats = "n/a (not reported)", "- | - | - | -"
            rows.append(f"| {suite} | {label} ({unit}) | {len(pairs)} | {100 * share:.0f}% | {stats} | "
                        f"{tolerance:g} | {verdict} |")
    return rows


def realism_line(name: str, metrics: list[dict]) -> str:
    """Medians over reps. The flattening ratio is given for reps without a wink (true peak pelvic
    tilt <= 3 deg: a wink tilts the trunk back at the bottom and drives the ratio below 0) and
    for all reps; the real clips are mostly lifters without a visible wink."""
    def median(values, fmt):
        values = [v for v in values if v is not None]
        return f"{fmt.format(np.median(values))} (n={len(values)})" if values else "n/a"

    calm = median([m["flattening"] for m in metrics if m["true_tilt_deg"] <= 3], "{:.2f}")
    every = median([m["flattening"] for m in metrics], "{:.2f}")
    diff = [m["near_minus_far_deg"] for m in metrics if m["near_minus_far_deg"] is not None]
    diff_s = (f"{np.median(diff):.1f} deg (p25-p75 {np.percentile(diff, 25):.1f} to {np.percentile(diff, 75):.1f}, "
              f"n={len(diff)})") if diff else "n/a"
    return (f"- {name}: lean flattening ratio median {calm} without a wink, {every} all reps; "
            f"near-minus-far thigh angle at the bottom median {diff_s}")


def real_clip(model: Path):
    from station.analysis import SetFinished, SquatAnalyzer
    from station.pose import MoveNet, PoseEstimator
    from station.sources import VideoFileSource

    estimator = PoseEstimator(MoveNet(model, num_threads=2))
    analyzer = SquatAnalyzer(AnalysisParams())
    sets, last = [], 0.0
    for t, frame in VideoFileSource(CLIP):
        sets += [e.result for e in analyzer.update(estimator.estimate(frame, t))[1] if isinstance(e, SetFinished)]
        last = t
    sets += [e.result for e in analyzer.finish(last) if isinstance(e, SetFinished)]
    return [r for s in sets for r in s.reps]


def calibration_rows(suite: str, scores) -> list[str]:
    """Flagged reps binned by their confidence: does "confidence 97 %" come true 97 % of the time?
    A flag is right when the true pelvic tilt exceeds 3 deg (the false-positive limit)."""
    flags = [pair for s in scores for pair in s.flag_confidence]
    rows = []
    for low, high in ((0.0, 0.9), (0.9, 0.97), (0.97, 0.99), (0.99, 1.01)):
        chosen = [(tilt, conf) for tilt, conf in flags if low <= conf < high]
        if chosen:
            right = np.mean([tilt > 3.0 for tilt, _ in chosen])
            said = np.mean([conf for _, conf in chosen])
            rows.append(f"| {suite} | {low:.2f}-{min(high, 1.0):.2f} | {len(chosen)} | {100 * said:.1f}% | "
                        f"{100 * right:.1f}% |")
    return rows


def kind_rows(suite: str, scores, kinds) -> list[str]:
    """Rep count and depth per kind of set: where the misses are, not only how many."""
    out = []
    for name, pick in (("plates on the bar", lambda k: k[0]), ("no plates", lambda k: not k[0]),
                       (f"camera above {HIGH_CAMERA_M} m", lambda k: k[1]),
                       (f"camera at most {HIGH_CAMERA_M} m", lambda k: not k[1])):
        chosen = [score for score, kind in zip(scores, kinds) if pick(kind)]
        if not chosen:
            continue
        s = summarise(chosen)
        out.append(f"| {suite} | {name} | {s['sets']} | {100 * s['exact']:.0f}% | {s['depth_median']:.1f} / "
                   f"{s['depth_p95']:.1f} | {100 * s['abstained']:.0f}% |")
    return out


def row(name, s):
    return (f"| {name} | {s['sets']} | {s['reps']} | {100 * s['exact']:.1f}% | {s['depth_median']:.1f} | "
            f"{s['depth_p95']:.1f} | {100 * s['abstained']:.0f}% | {100 * s['recall']:.1f}% (n={s['n_pos']}) | "
            f"{100 * s['fpr']:.1f}% (n={s['n_neg']}) | "
            f"{s['onset_median']:.1f} (signed {s['onset_signed']:+.1f}) |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keypoint-sets", type=int, default=300)
    parser.add_argument("--rendered-sets", type=int, default=20)
    parser.add_argument("--seed", type=int, default=BENCH_SEED)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR / LIGHTNING_INT8.filename)
    parser.add_argument("--sweep", action="store_true", help="also the wink trade-off for each sensitivity setting")
    parser.add_argument("--no-realism", dest="realism", action="store_false",
                        help="the plainer population without the effects seen on real footage")
    args = parser.parse_args()

    start = time.time()
    realism = {"keypoints": [], "ideal": [], "rendered": []}
    keypoint_kinds: list = []
    keypoint_scores = keypoint_suite(args.keypoint_sets, args.seed, realism=args.realism, realism_out=realism,
                                     kinds_out=keypoint_kinds)
    rows = [row("keypoint level", summarise(keypoint_scores))]
    kinds = kind_rows("keypoint level", keypoint_scores, keypoint_kinds)
    calibration = calibration_rows("keypoint level", keypoint_scores)
    second = secondary_rows("keypoint level", keypoint_scores)
    if args.rendered_sets:
        rendered_kinds: list = []
        rendered_scores = rendered_suite(args.rendered_sets, args.seed + 1, args.model, args.realism, realism,
                                         kinds_out=rendered_kinds)
        rows.append(row("rendered, real MoveNet", summarise(rendered_scores)))
        kinds += kind_rows("rendered", rendered_scores, rendered_kinds)
        calibration += calibration_rows("rendered", rendered_scores)
        second += secondary_rows("rendered", rendered_scores)
    print(f"population: {'with' if args.realism else 'WITHOUT'} the effects seen on real footage")
    print("goals: rep count exact >= 99% (keypoint) / 95% (rendered); "
          "depth median <= 3, p95 <= 8 deg (reps given a depth); "
          "wink recall >= 90%, false positives <= 5%, onset median error <= 5 deg")
    print()
    print("| suite | sets | reps | rep count exact | depth median err deg | depth p95 err deg | depth not judged | "
          "wink recall (>= 10 deg) | wink false pos (<= 3 deg) | onset median err deg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\nby kind of set (depth median / p95 over the reps given a depth)")
    print("\n| suite | kind | sets | rep count exact | depth err deg | depth not judged |")
    print("|---|---|---|---|---|---|")
    print("\n".join(kinds))
    print("\nwink confidence against outcome, flagged reps (right = true pelvic tilt > 3 deg)")
    print("\n| suite | confidence | flagged reps | mean confidence | right |")
    print("|---|---|---|---|---|")
    print("\n".join(calibration))
    print(f"\nsecondary numbers per matched rep, |analyzer - truth|; reported = share of reps with a value "
          f"(None = not measurable is allowed); pass = >= {100 * SECONDARY_PASS_SHARE:.0f}% of reported reps "
          f"within tolerance")
    print("\n| suite | quantity | reps | reported | median abs err | p95 abs err | median signed err | within tol | "
          "tolerance | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(second))
    print(f"\nrealism (real clips: flattening ratio {REAL_FLATTENING}, "
          f"near-minus-far thigh ~{REAL_NEAR_FAR_DEG:.0f} deg):")
    print(realism_line("synthetic, ideal projection", realism["ideal"]))
    print(realism_line("synthetic, noisy keypoints", realism["keypoints"]))
    if realism["rendered"]:
        print(realism_line("rendered, real MoveNet", realism["rendered"]))
    if args.sweep:
        print("\n| sensitivity (keypoint level) | wink recall | wink false positives | onset median err deg |")
        print("|---|---|---|---|")
        for sensitivity in ("low", "normal", "high"):
            s = summarise(keypoint_suite(args.keypoint_sets, args.seed, sensitivity, realism=args.realism))
            print(f"| {sensitivity} | {100 * s['recall']:.1f}% | {100 * s['fpr']:.1f}% | {s['onset_median']:.1f} |")
    if CLIP.exists():
        reps = real_clip(args.model)
        depths = ", ".join(f"{r.max_depth_deg:.1f}" for r in reps)
        print(f"\nreal clip {CLIP.name}: {len(reps)} reps (truth 2), depths {depths} deg "
              f"(labelled below; verdicts: {', '.join(r.depth_verdict for r in reps)}), "
              f"winks flagged: {sum(r.wink for r in reps)} (no wink ground truth for this clip)")
    else:
        print(f"\nreal clip skipped: {CLIP} is absent")
    print(f"\n({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
