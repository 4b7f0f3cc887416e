"""Pose stage against the peer suites, crop tracking, and the model checks."""

from __future__ import annotations

import csv
import json
import logging
import os

import numpy as np
import pytest

from station.pose import (
    CropRegion,
    CropResizer,
    ModelError,
    MoveNet,
    PoseEstimator,
    full_frame_region,
    next_crop_region,
)
from station.pose.keypoints import KEYPOINT_NAMES, KP
from station.sources import ImageSource, VideoFileSource

from conftest import require_shared


def test_runtime_is_the_expected_one(movenet):
    expected = os.environ.get("STATION_EXPECT_RUNTIME")
    if expected:
        assert movenet.runtime.name == expected
    assert movenet.runtime.name in ("ai-edge-litert", "tflite-runtime")
    assert movenet.runtime.version and movenet.runtime.version != "?"


@pytest.mark.parametrize("row,image", [(1, "image1.png"), (2, "image2.jpeg")])
def test_tf_pi_example_peer_suite_full_frame(movenet, row, image):
    folder = require_shared("peer-tf-pose-estimation")
    with open(folder / "pose_landmark_truth.csv") as fh:
        truth = np.array(list(csv.reader(fh))[row], dtype=float).reshape(17, 2)
    _, frame = next(iter(ImageSource(folder / image)))
    keypoints = PoseEstimator(movenet, crop_tracking=False).estimate(frame, 0.0)
    error = np.max(np.abs(keypoints.points[:, :2] - truth), axis=1)
    worst = int(np.argmax(error))
    assert error.max() <= 21, f"{KEYPOINT_NAMES[worst]} is {error.max():.1f} px from the truth"


def test_tfjs_video_suite_with_crop_tracking(movenet):
    folder = require_shared("peer-tfjs-pose-detection")
    golden = json.loads((folder / "pose_1.json").read_text())
    estimator = PoseEstimator(movenet, crop_tracking=True)
    source = VideoFileSource(folder / "pose_1.mp4")
    worst = []
    for index, (timestamp, frame) in enumerate(source):
        keypoints = estimator.estimate(frame, timestamp)
        gold = np.array([[golden[index][n]["x"], golden[index][n]["y"]] for n in KEYPOINT_NAMES])
        worst.append(np.abs(keypoints.points[:, :2] - gold).max())
    source.close()
    assert len(worst) == 120
    failing = [i for i, err in enumerate(worst) if err > 60]
    assert not failing, f"frames over 60 px: {failing}"


def test_real_side_clip_gives_a_confident_leg(movenet):
    clip = require_shared("clips", "side_barbell_squat_2reps.mp4")
    estimator = PoseEstimator(movenet, crop_tracking=True)
    source = VideoFileSource(clip)
    good = total = 0
    for timestamp, frame in source:
        points = estimator.estimate(frame, timestamp).points
        sides = [(KP.LEFT_HIP, KP.LEFT_KNEE, KP.LEFT_ANKLE), (KP.RIGHT_HIP, KP.RIGHT_KNEE, KP.RIGHT_ANKLE)]
        good += any(all(points[j, 2] >= 0.3 for j in side) for side in sides)
        total += 1
    source.close()
    assert total == 614
    assert good / total >= 0.9, f"only {good}/{total} frames have a confident hip, knee and ankle"


def test_a_second_look_at_the_legs_finds_the_hips_behind_a_plate(movenet):
    """The synthetic lifter with bumper plates, rendered and seen by the real model: at the bottom
    MoveNet's first look puts the hips on the plate with low scores; the second look, a crop around
    the remembered feet, finds them (frames flagged Keypoints.second_look)."""
    from station.sim.lifter import CameraParams, LifterParams, simulate_set
    from station.sim.render import MannequinRenderer

    truth = simulate_set(LifterParams(reps=1, plate_radius_m=0.225, facing=1), CameraParams(height_m=0.9),
                         fps=30, seed=5)
    renderer = MannequinRenderer(truth, seed=5)
    bottom = truth.reps[0].bottom_frame
    errors = {}
    for second_look in (False, True):
        estimator = PoseEstimator(movenet, crop_tracking=True, second_look=second_look)
        errors[second_look], flagged = [], 0
        for i, timestamp in enumerate(truth.timestamps):
            keypoints = estimator.estimate(renderer.render(i), float(timestamp))
            if abs(i - bottom) <= 10:
                hips = truth.keypoints_px[i, [KP.LEFT_HIP, KP.RIGHT_HIP], :2]
                errors[second_look].append(np.hypot(*(keypoints.points[[KP.LEFT_HIP, KP.RIGHT_HIP], :2] - hips).T).min())
                flagged += keypoints.second_look
        assert (flagged > 0) == second_look
    assert np.median(errors[True]) < 0.7 * np.median(errors[False]), \
        f"hip error at the bottom: {np.median(errors[False]):.0f} px first look, {np.median(errors[True]):.0f} px with"


@pytest.mark.parametrize("shank_px, looks_again", [(20.0, False), (60.0, True)])
def test_no_second_look_at_a_lifter_too_small_to_judge(movenet, shank_px, looks_again):
    """A lifter under ~120 px tall (a 30 px shank) gets no second look: the legs' crop is blown up
    several times there and its hip took turns with the first look's, splitting a rep in two."""
    from station.pose.estimator import MIN_SECOND_LOOK_SHANK_PX

    assert (shank_px >= MIN_SECOND_LOOK_SHANK_PX) == looks_again
    estimator = PoseEstimator(movenet, crop_tracking=False)
    looks = []

    def scripted(frame, region):     # hips sure on the first frame (the feet are remembered), then not
        points = np.zeros((17, 3), np.float32)
        points[:, 2] = 0.9
        points[[KP.LEFT_ANKLE, KP.RIGHT_ANKLE], :2] = (100.0, 200.0)
        points[[KP.LEFT_KNEE, KP.RIGHT_KNEE], :2] = (100.0, 200.0 - shank_px)
        if looks:
            points[[KP.LEFT_HIP, KP.RIGHT_HIP], 2] = 0.3 if region.side > 4 * shank_px else 0.8
        looks.append(region)
        return points
    estimator._infer = scripted
    frame = np.zeros((240, 320, 3), np.uint8)
    estimator.estimate(frame, 0.0)
    second = estimator.estimate(frame, 0.1)
    assert second.second_look == looks_again and estimator.second_looks == int(looks_again)


def test_a_whole_frame_look_that_finds_someone_else_looks_again_where_the_lifter_was(movenet):
    """A lifter facing a mirror wall has a twin as near the picture's centre as they are. On a
    whole-frame look (here: the shoulders behind a plate scored too low to place a crop) MoveNet took
    the twin, and the set's reps split (bench_real.py --transform mirrorwall: every switch came so)."""
    from station.pose.estimator import SURE_MEMORY_S

    estimator = PoseEstimator(movenet)
    full = full_frame_region(640, 480)
    plate = {"on": False}

    def scripted(frame, region):       # the lifter at x=150; on the whole frame, the twin at x=490
        points = np.zeros((17, 3), np.float32)
        points[:, 2] = 0.9
        x = 490.0 if region == full and estimator._sure is not None else 150.0
        points[:, 0] = x
        points[:, 1] = np.linspace(100, 400, 17)
        if plate["on"] and region != full:
            points[[KP.LEFT_SHOULDER, KP.RIGHT_SHOULDER], 2] = 0.1
        return points
    estimator._infer = scripted
    frame = np.zeros((480, 640, 3), np.uint8)
    assert estimator.estimate(frame, 0.0).points[KP.LEFT_HIP, 0] == 150.0   # the first look: the whole frame
    assert estimator.estimate(frame, 0.1).points[KP.LEFT_HIP, 0] == 150.0   # a crop on a well-seen torso
    plate["on"] = True
    estimator.estimate(frame, 0.2)            # shoulders behind the plate: the next look is the whole frame
    assert estimator._region == full
    assert estimator.estimate(frame, 0.3).points[KP.LEFT_HIP, 0] == 150.0, "the twin is not the lifter"
    assert estimator.relooks == 1
    plate["on"] = False
    estimator._region = full                  # lost for longer than SURE_MEMORY_S: whoever is there
    assert estimator.estimate(frame, 0.1 + SURE_MEMORY_S + 0.1).points[KP.LEFT_HIP, 0] == 490.0


def test_crop_resizer_matches_a_plain_gather_and_pads_black():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    resize = CropResizer(192)
    out = resize(frame, full_frame_region(640, 480))
    scale = 640 / 192
    # rows above and below the frame (80 px each side of the 640 square) must be black
    assert out[: int(80 / scale)].max() == 0 and out[-int(80 / scale):].max() == 0
    row, col = 100, 50
    src_y = int(np.floor(-80 + (row + 0.5) * scale))
    src_x = int(np.floor((col + 0.5) * scale))
    assert (out[row, col] == frame[src_y, src_x]).all()
    # a region fully inside the frame has no black border
    inside = resize(frame, CropRegion(100, 50, 300))
    assert (inside == frame[50 + np.floor((np.arange(192) + 0.5) * 300 / 192).astype(int)][
        :, 100 + np.floor((np.arange(192) + 0.5) * 300 / 192).astype(int)]).all()


def test_crop_region_follows_the_hips_and_falls_back_without_torso():
    points = np.zeros((17, 3), np.float32)
    points[:, 2] = 0.9
    points[:, 0] = 300
    points[:, 1] = np.linspace(100, 400, 17)
    region = next_crop_region(points, 640, 480)
    hips_y = (points[KP.LEFT_HIP, 1] + points[KP.RIGHT_HIP, 1]) / 2
    assert region.y0 + region.side / 2 == pytest.approx(hips_y)
    assert region.x0 + region.side / 2 == pytest.approx(300)
    lost = points.copy()
    lost[[KP.LEFT_SHOULDER, KP.RIGHT_SHOULDER], 2] = 0.1
    assert next_crop_region(lost, 640, 480) == full_frame_region(640, 480)


def test_loading_the_model_keeps_stderr_but_the_runtimes_banner(model_path, capfd):
    """LiteRT prints an INFO banner from C++ when it makes an interpreter; users read it as a problem."""
    import sys

    from station.pose.movenet import RUNTIME_BANNER, without_runtime_banner

    MoveNet(model_path, num_threads=1)
    assert RUNTIME_BANNER not in capfd.readouterr().err
    with without_runtime_banner():
        os.write(2, f"{RUNTIME_BANNER}\nW: something the runtime warns about\n".encode())
        print("a thread's log line", file=sys.stderr)
    err = capfd.readouterr().err
    assert RUNTIME_BANNER not in err
    assert "W: something the runtime warns about\n" in err and "a thread's log line\n" in err


def test_frame_must_be_rgb_uint8(movenet):
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        PoseEstimator(movenet).estimate(np.zeros((10, 10), np.uint8), 0.0)


def test_the_crop_allocates_nothing_per_frame_worth_counting():
    """np.take with its default mode="raise" buffered the whole output: 110 KB a frame, 10 frames a
    second on a Pi, for nothing. (Allocation is counted, not timed: no flaky timing in tests.)"""
    import tracemalloc

    from station.pose.crop import CropRegion, CropResizer

    frame = np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    resize = CropResizer(192)
    resize(frame, CropRegion(100, 50, 300))       # the row band is made on the first frame
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    out = resize(frame, CropRegion(110, 40, 320))
    transient = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    assert transient < 8_000, f"{transient} bytes allocated for one crop"
    rows = np.clip(np.floor(40 + (np.arange(192) + 0.5) * 320 / 192).astype(int), 0, 479)
    cols = np.clip(np.floor(110 + (np.arange(192) + 0.5) * 320 / 192).astype(int), 0, 639)
    assert np.array_equal(out[:, :150], frame[rows][:, cols][:, :150]), "nearest neighbour, as before"


# --- bad model files: one clear error naming the file ---------------------------------------

def test_missing_model(tmp_path):
    with pytest.raises(ModelError, match=r"does not exist.*station model fetch"):
        MoveNet(tmp_path / "nope.tflite")


def test_an_unreadable_model_says_whose_it_is_and_how_to_fix_it(tmp_path, model_path, monkeypatch):
    """A model file the station's user may not read was a bare "[Errno 13] Permission denied", exit 1,
    and systemd restarted the station every 5 s for ever. (As root the test cannot chmod it away.)"""
    import pathlib

    locked = tmp_path / "locked.tflite"
    locked.write_bytes(model_path.read_bytes())
    real_open = pathlib.Path.open

    def open_(self, *args, **kwargs):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", open_)
    with pytest.raises(ModelError, match=r"locked.tflite cannot be read by user \w+ \(Permission denied\).*chmod a\+r"):
        MoveNet(locked)


def test_truncated_model(tmp_path, model_path):
    bad = tmp_path / "truncated.tflite"
    bad.write_bytes(model_path.read_bytes()[:200_000])
    with pytest.raises(ModelError) as info:
        MoveNet(bad)
    assert str(bad) in str(info.value) and "corrupt or truncated" in str(info.value)


def test_a_model_that_hangs_the_probe_is_reported_as_corrupt(tmp_path, monkeypatch):
    """A runtime that never returns on a damaged file (or a machine too busy to load it within the
    probe's time) gives the same clear error as a crash, naming the file and what to do."""
    import subprocess

    from station.pose import movenet

    bad = tmp_path / "odd.tflite"
    bad.write_bytes(b"\0\0\0\0TFL3" + b"\0" * 4096)

    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs.get("timeout"))

    monkeypatch.setattr(movenet.subprocess, "run", hang)
    with pytest.raises(ModelError) as info:
        movenet.probe_model_in_child(bad, "auto")
    message = str(info.value)
    assert str(bad) in message and "corrupt or truncated" in message and "station model fetch" in message


def test_tiny_file_is_reported_as_truncated(tmp_path):
    bad = tmp_path / "empty.tflite"
    bad.write_bytes(b"")
    with pytest.raises(ModelError, match="0 bytes: truncated or empty"):
        MoveNet(bad)
    cut = tmp_path / "cut.tflite"       # the first bytes of a real model
    cut.write_bytes(b"\x1c\0\0\0TFL3" + bytes(200))
    with pytest.raises(ModelError, match="208 bytes: truncated or empty"):
        MoveNet(cut)


def test_a_small_text_file_is_not_a_model_rather_than_truncated(tmp_path):
    """25 bytes of text were called "truncated or empty (expected ~2.9 MB)": it is another kind of file."""
    text = tmp_path / "text.tflite"
    text.write_text("this is not a model file\n")
    with pytest.raises(ModelError, match="is not a TFLite model"):
        MoveNet(text)


def test_random_bytes_model(tmp_path):
    bad = tmp_path / "random.tflite"
    bad.write_bytes(np.random.default_rng(1).bytes(50_000))
    with pytest.raises(ModelError, match="not a TFLite model"):
        MoveNet(bad)


def test_random_bytes_with_a_tflite_header(tmp_path):
    bad = tmp_path / "random-header.tflite"
    bad.write_bytes(b"\x1c\0\0\0TFL3" + np.random.default_rng(2).bytes(50_000))
    with pytest.raises(ModelError, match="corrupt or truncated"):
        MoveNet(bad)


def test_a_model_that_is_not_the_tested_file_loads_with_a_warning(model_path, monkeypatch, caplog):
    """Another model (another name and size) ran with only an INFO line: the owner never learnt that
    the numbers were not measured with it. Only `station doctor` said so."""
    import dataclasses

    import station.pose.movenet as movenet

    monkeypatch.setattr(movenet, "KNOWN_MODEL_SHA256", set())
    monkeypatch.setattr(movenet, "TESTED_MODEL", dataclasses.replace(movenet.TESTED_MODEL, filename="other.tflite",
                                                                      size=1))
    with caplog.at_level(logging.WARNING, logger="station.pose.movenet"):
        MoveNet(model_path)
    assert any(r.levelno == logging.WARNING and "is not the tested MoveNet Lightning int8 file" in r.getMessage()
               and "station model fetch" in r.getMessage() for r in caplog.records)


def test_the_tested_model_with_a_few_bytes_changed_is_damaged_not_another_model(model_path, tmp_path):
    """400 bytes overwritten mid-file, same name and size: it loaded with a warning and moved the
    keypoints (a shoulder 26 px). Its name or size says which file it should be: refused."""
    data = bytearray(model_path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 400] = bytes(400)
    for name in (model_path.name, "renamed.tflite"):
        bad = tmp_path / name
        bad.write_bytes(bytes(data))
        with pytest.raises(ModelError, match=r"is damaged: it has the name or size of .* `station model fetch`"):
            MoveNet(bad)


def test_wrong_input_shape(tmp_path):
    from tflite_builder import passthrough_model

    bad = tmp_path / "wrong-input.tflite"
    bad.write_bytes(passthrough_model((1, 64, 64, 3)))
    with pytest.raises(ModelError, match=r"input \(1, 64, 64, 3\) uint8; expected 1x192x192x3"):
        MoveNet(bad)


def test_wrong_output_shape(tmp_path, caplog):
    """It also warned "it loads, but ... measured with the tested one" before saying it is no MoveNet."""
    from tflite_builder import passthrough_model

    bad = tmp_path / "wrong-output.tflite"
    bad.write_bytes(passthrough_model((1, 192, 192, 3)))
    with caplog.at_level(logging.WARNING, logger="station.pose.movenet"):
        with pytest.raises(ModelError, match=r"output \(1, 192, 192, 3\); expected \(1, 1, 17, 3\)"):
            MoveNet(bad)
    assert not [r for r in caplog.records if "not the tested" in r.getMessage()]
