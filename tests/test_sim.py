"""The synthetic lifter's realism effects (issue 9): they exist, have the stated sizes, and are off
by default. No analysis here: these test the generator, the keypoint noise and the renderer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from station.pose.keypoints import KP
from station.sim.evaluate import SECONDARY, realism_metrics, score_set
from station.sim.lifter import (
    CameraParams,
    LifterParams,
    RepTruth,
    flattened_lean,
    lean_curve,
    lean_flattening_ratio,
    random_camera,
    random_lifter,
    simulate_set,
)
from station.sim.noise import REALISTIC_NOISE, NoiseParams, body_height_px, noisy_keypoints

CLEAN = NoiseParams(0, 0, 0, 0)


def _points(keypoints):
    return np.stack([kp.points for kp in keypoints]).astype(float)


def _thigh(points, side):
    hip, knee = points[:, KP[f"{side}_HIP"]], points[:, KP[f"{side}_KNEE"]]
    return np.degrees(np.arctan2(knee[:, 1] - hip[:, 1], np.abs(knee[:, 0] - hip[:, 0])))


def _near_far(truth):
    return ("RIGHT", "LEFT") if truth.visible_side == "right" else ("LEFT", "RIGHT")


# --- defaults: every realism effect is off ------------------------------------------------------

def test_realism_is_off_by_default():
    p, n = LifterParams(), NoiseParams()
    assert (p.lean_flattening, p.parallax, p.toe_out_deg, p.plate_radius_m) == (1.0, False, 0.0, 0.0)
    assert n.hip_offset_frac == 0.0
    truth = simulate_set(LifterParams(reps=2), CameraParams(), seed=1)
    assert truth.plate_px is None
    assert set(np.unique([np.ravel(v) for v in truth.lateral_m.values()])) == {p.stance_width_m / 2}
    np.testing.assert_allclose(truth.trunk_lean_deg, lean_curve(truth.thigh_deg, p.trunk_lean_max_deg, 1.0))
    clean = _points(noisy_keypoints(truth, CLEAN))
    np.testing.assert_allclose(clean[:, :, :2], truth.keypoints_px, atol=1e-3)


def test_random_lifter_base_draws_do_not_change_with_realism():
    plain = random_lifter(np.random.default_rng(5))
    real = random_lifter(np.random.default_rng(5), realism=np.random.default_rng(6))
    for name in ("height_m", "target_depth_deg", "trunk_lean_max_deg", "reps", "facing", "wink_magnitude_deg"):
        assert getattr(plain, name) == getattr(real, name)
    assert not plain.parallax and real.parallax


def test_random_population_draws_the_realism_effects():
    rng, extra = np.random.default_rng(0), np.random.default_rng(1)
    lifters = [random_lifter(rng, realism=extra) for _ in range(400)]
    flat = np.array([p.lean_flattening for p in lifters])
    assert flat.min() >= 0 and flat.max() <= 0.6
    assert np.median(flat) == pytest.approx(0.23, abs=0.04)
    assert 0.25 < np.mean([p.plate_radius_m > 0 for p in lifters]) < 0.45
    cams = [random_camera(rng, p, realism=extra) for p in lifters[:200]]
    heights = np.array([c.height_m for c in cams])
    assert heights.min() >= 0.5 and heights.max() <= 1.4 and np.mean(heights > 0.9) > 0.4
    for cam, p in zip(cams, lifters):  # the lifter fits in the frame
        assert cam.focal_px * p.height_m * 1.05 / cam.distance_m <= 0.85 * cam.height + 1e-6


# --- a) the hip keypoint above the hip joint -----------------------------------------------------

@pytest.mark.parametrize("facing", [1, -1])
def test_hip_keypoint_offset_is_up_and_back_in_body_heights(facing):
    truth = simulate_set(LifterParams(reps=1, facing=facing), CameraParams(), seed=2)
    ideal = truth.keypoints_px.copy()
    noise = NoiseParams(0, 0, 0, 0, hip_offset_frac=0.03)
    shift = _points(noisy_keypoints(truth, noise))[:, :, :2] - truth.keypoints_px
    up = 0.03 * body_height_px(truth)
    assert 8 < up < 25  # px, for a 1.75 m lifter at 3 m through a 480 px focal length
    for hip in (KP.LEFT_HIP, KP.RIGHT_HIP):
        np.testing.assert_allclose(shift[:, hip, 1], -up, atol=1e-3)               # image y grows down
        np.testing.assert_allclose(shift[:, hip, 0], -facing * 0.3 * up, atol=1e-3)  # behind the lifter
    others = [k for k in KP if k not in (KP.LEFT_HIP, KP.RIGHT_HIP)]
    np.testing.assert_allclose(shift[:, others], 0, atol=1e-3)
    np.testing.assert_array_equal(truth.keypoints_px, ideal)  # the truth is untouched by the keypoint model


def test_hip_offset_makes_the_thigh_read_shallow_by_up_to_about_10_deg():
    truth = simulate_set(LifterParams(reps=1, target_depth_deg=0, depth_jitter_deg=0), CameraParams(), seed=3)
    bottom = truth.reps[0].bottom_frame
    near = _near_far(truth)[0]
    base = _thigh(_points(noisy_keypoints(truth, CLEAN)), near)[bottom]
    high = _thigh(_points(noisy_keypoints(truth, NoiseParams(0, 0, 0, 0, hip_offset_frac=0.04))), near)[bottom]
    assert 5 < high - base < 12


def test_hip_offset_range_is_drawn_per_set_and_stays_in_it():
    truth = simulate_set(LifterParams(reps=1), CameraParams(), seed=4)
    noise = NoiseParams(0, 0, 0, 0, hip_offset_frac=(0.0, 0.04))
    ups = []
    for seed in range(20):
        hip = _points(noisy_keypoints(truth, noise, seed=seed))[:, KP.LEFT_HIP, 1]
        shift = hip - truth.keypoints_px[:, KP.LEFT_HIP, 1]
        assert np.ptp(shift) < 1e-3  # one offset for the whole set (one lifter)
        ups.append(-shift[0] / body_height_px(truth))
    assert min(ups) >= 0 and max(ups) <= 0.04 and np.ptp(ups) > 0.015
    assert REALISTIC_NOISE.hip_offset_frac == (0.0, 0.04)


def test_realism_effects_leave_the_base_noise_stream_alone():
    truth = simulate_set(LifterParams(reps=1), CameraParams(), seed=4)
    plain = _points(noisy_keypoints(truth, NoiseParams(), seed=9))
    shifted = _points(noisy_keypoints(truth, NoiseParams(hip_offset_frac=0.02), seed=9))
    others = [k for k in KP if k not in (KP.LEFT_HIP, KP.RIGHT_HIP)]
    np.testing.assert_array_equal(plain[:, others], shifted[:, others])


# --- b) parallax between the legs ----------------------------------------------------------------

def _bottom_thighs(camera_height, parallax=True, distance=3.0):
    params = LifterParams(reps=1, target_depth_deg=-5, depth_jitter_deg=0, parallax=parallax, toe_out_deg=25,
                          stance_width_m=0.4)
    aim = math.degrees(math.atan2(camera_height - 0.87, distance))
    truth = simulate_set(params, CameraParams(height_m=camera_height, distance_m=distance, tilt_deg=aim), seed=5)
    b = truth.reps[0].bottom_frame
    near, far = _near_far(truth)
    return _thigh(truth.keypoints_px, near)[b], _thigh(truth.keypoints_px, far)[b], truth


def test_near_thigh_reads_shallower_and_far_deeper_growing_with_camera_height():
    diffs = []
    for height in (0.5, 0.8, 1.1, 1.4):
        near, far, truth = _bottom_thighs(height)
        diffs.append(near - far)
    assert abs(diffs[0]) < 3          # camera about knee height: the legs agree
    assert all(b > a + 1.5 for a, b in zip(diffs, diffs[1:]))
    assert diffs[-1] > 10             # camera at 1.4 m: ~14 deg between the legs, as on real clips
    near, far, truth = _bottom_thighs(1.4)
    true_bottom = truth.reps[0].max_depth_deg
    assert near > true_bottom + 4 and far < true_bottom - 4


def test_without_parallax_the_legs_agree():
    for height in (0.5, 1.4):
        near, far, _ = _bottom_thighs(height, parallax=False)
        assert near == pytest.approx(far, abs=0.3)


def test_far_side_keypoints_are_emitted_with_lower_scores():
    params = LifterParams(reps=2, parallax=True, toe_out_deg=20)
    truth = simulate_set(params, CameraParams(height_m=1.2), seed=6)
    points = _points(noisy_keypoints(truth, NoiseParams(), seed=6))
    near, far = _near_far(truth)
    for part in ("HIP", "KNEE", "ANKLE", "SHOULDER"):
        assert np.isfinite(points[:, KP[f"{far}_{part}"], :2]).all()
        assert np.median(points[:, KP[f"{far}_{part}"], 2]) < np.median(points[:, KP[f"{near}_{part}"], 2]) - 0.2
    # the far knee is a different point from the near one (parallax), not a copy
    b = truth.reps[0].bottom_frame
    gap = truth.keypoints_px[b, KP[f"{near}_KNEE"]] - truth.keypoints_px[b, KP[f"{far}_KNEE"]]
    assert np.hypot(*gap) > 5


def test_visible_side_is_the_side_nearer_the_camera():
    for facing in (1, -1):
        params = LifterParams(reps=1, facing=facing)
        truth = simulate_set(params, CameraParams(), seed=7)
        near, far = _near_far(truth)
        # nearer = larger in the image: the near shank is longer in pixels
        def shank(side, truth=truth):
            return np.hypot(*(truth.keypoints_px[0, KP[f"{side}_KNEE"]] - truth.keypoints_px[0, KP[f"{side}_ANKLE"]]))
        assert shank(near) > shank(far)


def test_realism_metrics_measure_the_parallax():
    _, _, truth = _bottom_thighs(1.3)
    metrics = realism_metrics(truth)
    assert metrics[0]["near_minus_far_deg"] > 8
    _, _, flat = _bottom_thighs(1.3, parallax=False)
    assert abs(realism_metrics(flat)[0]["near_minus_far_deg"]) < 0.5


# --- c) plates in front of the torso -------------------------------------------------------------

def test_plates_lower_scores_and_raise_noise_of_the_torso_keypoints_only():
    camera = CameraParams()
    plain = simulate_set(LifterParams(reps=2), camera, seed=8)
    plated = simulate_set(LifterParams(reps=2, plate_radius_m=0.225), camera, seed=8)
    assert plated.plate_px is not None and plain.plate_px is None
    a, b = _points(noisy_keypoints(plain, seed=8)), _points(noisy_keypoints(plated, seed=8))
    torso = [KP.LEFT_SHOULDER, KP.RIGHT_SHOULDER, KP.LEFT_HIP, KP.RIGHT_HIP, KP.LEFT_EAR, KP.RIGHT_EAR]
    legs = [KP.LEFT_KNEE, KP.RIGHT_KNEE, KP.LEFT_ANKLE, KP.RIGHT_ANKLE]
    near_shoulder = KP[f"{_near_far(plated)[0]}_SHOULDER"]
    assert np.mean(b[:, near_shoulder, 2]) < 0.8 * np.mean(a[:, near_shoulder, 2])
    np.testing.assert_array_equal(a[:, legs], b[:, legs])
    err_a = np.hypot(*(a[:, torso, :2] - plain.keypoints_px[:, torso]).transpose(2, 0, 1))
    err_b = np.hypot(*(b[:, torso, :2] - plated.keypoints_px[:, torso]).transpose(2, 0, 1))
    assert np.median(err_b) > 1.5 * np.median(err_a)
    # the plate sits on the bar, so it covers the shoulder
    for frame in (plated.reps[0].start_frame, plated.reps[0].bottom_frame):
        centre, radius = plated.plate_px[frame, :2], plated.plate_px[frame, 2]
        assert np.hypot(*(plated.keypoints_px[frame, near_shoulder] - centre)) < radius
    assert 30 < radius < 60  # a 45 cm plate, 0.7 m nearer the camera than the lifter's midline


def test_renderer_draws_the_plate_over_the_torso():
    from station.sim.render import PLATE, MannequinRenderer

    params = LifterParams(reps=1, plate_radius_m=0.225)
    truth = simulate_set(params, CameraParams(), seed=9)
    frame = MannequinRenderer(truth).render(truth.reps[0].bottom_frame)
    x, y, r = truth.plate_px[truth.reps[0].bottom_frame]
    ring = frame[int(y - 0.6 * r), int(x)]  # between the hub and the rim
    assert tuple(int(c) for c in ring) == PLATE
    plain = simulate_set(LifterParams(reps=1), CameraParams(), seed=9)
    plain_frame = MannequinRenderer(plain).render(plain.reps[0].bottom_frame)
    assert tuple(int(c) for c in plain_frame[int(y - 0.6 * r), int(x)]) != PLATE


def test_renderer_draws_the_legs_with_parallax():
    from station.sim.render import MannequinRenderer

    params = LifterParams(reps=1, parallax=True, toe_out_deg=25)
    truth = simulate_set(params, CameraParams(height_m=1.3, tilt_deg=8), seed=10)
    renderer = MannequinRenderer(truth)
    b = truth.reps[0].bottom_frame
    near, far = renderer._img["near"], renderer._img["far"]
    near_knee, far_knee = near["knee"][b], far["knee"][b]
    near_side, far_side = _near_far(truth)
    np.testing.assert_allclose(near_knee, truth.keypoints_px[b, KP[f"{near_side}_KNEE"]], atol=1e-6)
    np.testing.assert_allclose(far_knee, truth.keypoints_px[b, KP[f"{far_side}_KNEE"]], atol=1e-6)


# --- d) trunk lean flattening near the bottom ----------------------------------------------------

@pytest.mark.parametrize("flattening", [0.0, 0.23, 0.6])
@pytest.mark.parametrize("gamma", [0.8, 1.0, 1.3])
def test_generated_lean_flattens_by_the_drawn_factor(flattening, gamma):
    params = LifterParams(reps=3, target_depth_deg=-10, trunk_lean_gamma=gamma, lean_flattening=flattening)
    truth = simulate_set(params, CameraParams(), seed=11)
    for rep in truth.reps:
        assert rep.lean_flattening_ratio == pytest.approx(flattening, abs=0.05)
    # the ideal keypoints (the shoulder->hip line a camera sees) show the same ratio
    for m in realism_metrics(truth):
        assert m["flattening"] == pytest.approx(flattening, abs=0.08)


def test_without_flattening_the_lean_keeps_its_rate():
    truth = simulate_set(LifterParams(reps=2, target_depth_deg=-10), CameraParams(), seed=12)
    assert all(r.lean_flattening_ratio == pytest.approx(1.0, abs=0.02) for r in truth.reps)


def test_flattening_is_not_a_wink():
    params = LifterParams(reps=3, target_depth_deg=-15, lean_flattening=0.1)
    truth = simulate_set(params, CameraParams(), seed=13)
    assert truth.pelvic_tilt_deg.max() == 0 and truth.lumbar_flexion_deg.max() == 0
    assert all(r.peak_pelvic_tilt_deg == 0 and r.wink_onset_frame is None for r in truth.reps)
    # the lean still grows to the bottom (flattened, not reversed), and is untouched up high
    base = lean_curve(truth.thigh_deg, params.trunk_lean_max_deg, params.trunk_lean_gamma)
    high = truth.thigh_deg > params.target_depth_deg + 40
    np.testing.assert_allclose(truth.trunk_lean_deg[high], base[high], atol=1e-6)
    for rep in truth.reps:
        descent = slice(rep.start_frame, rep.bottom_frame + 1)
        assert np.all(np.diff(truth.trunk_lean_deg[descent]) >= -1e-9)


def test_flattened_lean_is_continuous():
    thigh = np.linspace(90, -20, 2000)
    lean = flattened_lean(thigh, -20.0, 45.0, 1.0, 0.23)
    assert np.max(np.abs(np.diff(lean))) < 0.05
    assert lean_flattening_ratio(thigh, lean) == pytest.approx(0.23, abs=0.03)


def test_flattening_ratio_rejects_shallow_reps():
    thigh = np.linspace(88, 40, 50)
    assert lean_flattening_ratio(thigh, lean_curve(thigh, 45, 1.0)) is None


# --- e) secondary truth per rep ------------------------------------------------------------------

def test_secondary_truth_on_a_plain_lifter():
    params = LifterParams(reps=2, target_depth_deg=-10, depth_jitter_deg=0, down_s=1.5, pause_s=0.4, up_s=1.0)
    truth = simulate_set(params, CameraParams(), seed=14)
    h = params.height_m
    shank = 0.246 * h
    for rep in truth.reps:
        assert rep.heel_lift_cm == 0.0
        assert rep.peak_pelvic_tilt_deg == 0.0
        shin_bottom = float(lean_curve(rep.max_depth_deg, params.shin_max_deg, 1.0))
        shin_standing = float(lean_curve(88.0, params.shin_max_deg, 1.0))
        expected = 100 * shank * (math.sin(math.radians(shin_bottom)) - math.sin(math.radians(shin_standing)))
        assert rep.knee_travel_cm == pytest.approx(expected, abs=0.5)
        assert rep.knee_past_toes_cm == pytest.approx(100 * (shank * math.sin(math.radians(shin_bottom)) - 0.11 * h),
                                                      abs=0.5)
        # tempo: down + up is the whole rep from the last standing frame; the pause splits evenly
        whole = truth.timestamps[rep.end_frame] - truth.timestamps[rep.start_frame] + 1 / truth.fps
        assert rep.down_s + rep.up_s == pytest.approx(whole, abs=1e-6)
        assert rep.bottom_pause_s == pytest.approx(0.4, abs=1 / truth.fps)
        assert rep.down_s == pytest.approx(1.5 + 0.2, abs=0.2)
        assert rep.up_s == pytest.approx(1.0 + 0.2, abs=0.15)
        # max trunk lean: hip joint -> shoulder against the vertical
        span = slice(rep.start_frame, rep.end_frame + 1)
        j = truth.joints_world
        trunk = j["shoulder"][span] - j["hip"][span]
        lean = np.degrees(np.arctan2(trunk[:, 0], trunk[:, 1]))
        assert rep.max_trunk_lean_deg == pytest.approx(lean.max())
        standing = truth.joints_world["shoulder"][rep.start_frame - 1] - j["hip"][rep.start_frame - 1]
        assert rep.trunk_lean_from_standing_deg == pytest.approx(
            lean.max() - math.degrees(math.atan2(standing[0], standing[1])))
        assert 0 < rep.trunk_lean_from_standing_deg < rep.max_trunk_lean_deg
        assert 30 < rep.max_trunk_lean_deg < 70


def test_secondary_truth_heel_lift_and_pelvic_tilt():
    params = LifterParams(reps=2, target_depth_deg=-10, heel_lift_m=0.03, wink_onset_flexion_deg=120,
                          wink_magnitude_deg=18)
    truth = simulate_set(params, CameraParams(), seed=15)
    for rep in truth.reps:
        assert rep.heel_lift_cm == pytest.approx(3.0, abs=0.01)  # thigh below 0 deg: the full lift
        assert rep.peak_pelvic_tilt_deg == pytest.approx(rep.wink_magnitude_deg)
        assert 0 < rep.peak_pelvic_tilt_deg <= 18


def test_reptruth_fields_have_docstrings_and_backward_compatible_construction():
    rep = RepTruth(0, 1, 2, 3, -5.0, 0.0, None, None)
    assert rep.heel_lift_cm == 0.0 and rep.lean_flattening_ratio is None


def test_score_set_pairs_secondary_numbers_and_allows_none():
    from types import SimpleNamespace

    truth = simulate_set(LifterParams(reps=1), CameraParams(), seed=16)
    true_rep = truth.reps[0]
    t = truth.timestamps
    measured = SimpleNamespace(start_t=t[true_rep.start_frame], end_t=t[true_rep.end_frame], max_depth_deg=-5.0,
                               wink=False, wink_onset_deg=None, wink_magnitude_deg=1.0, max_trunk_lean_deg=None,
                               knee_travel_cm=20.0, heel_lift_cm=None, down_s=1.5, up_s=1.2, side_view=True)
    score = score_set(truth, [measured])
    assert score.depth_errors and score.depth_abstained == 0
    unjudged = score_set(truth, [SimpleNamespace(**{**vars(measured), "side_view": False})])
    assert not unjudged.depth_errors and unjudged.depth_abstained == 1, "no depth shown: an abstention, not an error"
    # with its sets, a side-on rep of a set the view gate did not pass is scored as the page shows it
    flagged = SimpleNamespace(**{**vars(measured), "wink": True, "wink_confidence": 0.99})
    blocked = SimpleNamespace(setup_issue="front_view", reps=[flagged])
    hidden = score_set(truth, [flagged], [blocked])
    assert hidden.depth_abstained == 1 and hidden.wink_pairs[0][1] is False and not hidden.flag_confidence
    passed = score_set(truth, [flagged], [SimpleNamespace(setup_issue=None, reps=[flagged])])
    assert passed.depth_errors and passed.wink_pairs[0][1] is True
    got = {name: (true, m) for name, true, m in score.secondary}
    assert set(got) == {name for name, *_ in SECONDARY}
    assert got["max trunk lean"][1] is None and got["heel lift"][1] is None
    assert got["knee travel"] == (true_rep.knee_travel_cm, 20.0)
    assert got["peak pelvic tilt"][1] is None, "pelvic tilt is shown only on a flagged rep: not scored otherwise"
