"""The `station` command line: one Config per command, start-up errors in one line with the right
exit code (2: the owner must fix something, systemd does not restart; 1: anything else), the PIN
command, and log lines that do not run into the terminal bar."""

from __future__ import annotations

import io
import json
import logging
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from station import config as config_mod
from station.app import cli
from station.app.cli import main
from station.app.runner import source_opener

from conftest import SHARED_MODEL, require_shared, write_clip

ROOT = Path(__file__).resolve().parent.parent


def _one_line_error(capsys, *parts: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("station: error: ") and err.count("\n") == 1, err
    for part in parts:
        assert part in err, err
    return err


def _config(tmp_path, text: str = "") -> Path:
    path = tmp_path / "station.toml"
    path.write_text(f'[station]\nstate_dir = "{tmp_path / "state"}"\n{text}')
    return path


def test_cli_pose_prints_json_lines_and_annotates(tmp_path, capsys, model_path):
    folder = require_shared("peer-tf-pose-estimation")
    out = tmp_path / "annotated.png"
    assert main(["pose", str(folder / "image2.jpeg"), "--annotate", str(out), "--model", str(model_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["width"] == 399 and record["height"] == 640
    assert set(record["keypoints"]) >= {"left_hip", "right_knee", "nose"}
    with Image.open(out) as img:
        assert img.size == (399, 640)


def test_cli_pose_on_a_folder_with_one_bad_image_does_the_rest_and_exits_1(tmp_path, capsys, model_path):
    images = tmp_path / "frames"
    images.mkdir()
    for i in range(3):
        Image.new("RGB", (64, 96), (40 * i, 90, 120)).save(images / f"f{i}.png")
    (images / "f1.png").write_bytes((images / "f1.png").read_bytes()[:40])
    assert main(["pose", str(images), "--model", str(model_path), "--config", str(_config(tmp_path))]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["frame"] for line in out.strip().splitlines()] == [0, 1], "the two good images"
    assert "station: error: 1 image(s) could not be read and were skipped: f1.png" in err
    assert main(["analyze", str(images), "--model", str(model_path), "--config", str(_config(tmp_path))]) == 1
    assert "1 image(s) could not be read and were skipped: f1.png" in capsys.readouterr().err


def test_cli_reports_a_bad_model_without_a_traceback(tmp_path, capsys):
    folder = require_shared("peer-tf-pose-estimation")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"x" * 5000)
    assert main(["pose", str(folder / "image1.png"), "--model", str(bad)]) == 2
    _one_line_error(capsys, f"station: error: model file {bad} is not a TFLite model")


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_show_takes_config_before_or_after_the_subcommand(tmp_path, capsys, where):
    path = _config(tmp_path, "[analysis]\ntarget_depth_deg = -3\n")
    argv = ["--config", str(path), "config", "show"] if where == "before" else ["config", "show", "-c", str(path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "target_depth_deg = -3.0" in out and str(path) in out


def test_config_show_says_where_the_empty_paths_point(tmp_path, capsys):
    """A fresh user saw `path = ""` and could not tell where the model or the history lived."""
    state = tmp_path / "state"
    path = _config(tmp_path, '[model]\npath = "nowhere.tflite"\n')
    assert main(["config", "show", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"history database {state / 'station.db'}" in out
    assert f"model file       {state / 'nowhere.tflite'}  (missing: station model fetch)" in out
    assert f"settings file    {state / 'settings.toml'}" in out


def test_config_show_never_prints_the_pin(tmp_path, capsys):
    path = _config(tmp_path, '[web]\npin = "86420"\n')
    assert main(["config", "show", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "86420" not in out and "scrypt$" not in out and "pin_hash: set (hidden)" in out


@pytest.mark.parametrize("argv,message", [
    (["demo", "--port", "99999"], "command line: web.port = 99999: must be between 0 and 65535"),
    (["analyze", "clip.mp4", "--target", "90"], "analysis.target_depth_deg = 90.0: must be between -40.0 and 40.0"),
    (["analyze", "clip.mp4", "--target", "nan"], "analysis.target_depth_deg = nan: must be a finite number"),
    (["run", "--source", "a\x07b"], "camera.source = 'a\\x07b': control characters are not allowed"),
])
def test_command_line_overrides_meet_the_config_checks(tmp_path, capsys, argv, message):
    assert main([*argv, "--config", str(_config(tmp_path))]) == 2
    _one_line_error(capsys, message)


def test_config_errors_at_start_up_are_one_line_and_exit_2(tmp_path, capsys):
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b"[station]\nlifter = 'Jos\xe9'\n")
    assert main(["--config", str(latin1), "run"]) == 2
    _one_line_error(capsys, "is not UTF-8 text")
    assert main(["run", "--config", str(tmp_path)]) == 2
    _one_line_error(capsys, f"config file {tmp_path} is a folder")


@pytest.mark.parametrize("command", ["run", "demo"])
def test_a_missing_source_file_is_exit_2_not_zero_frames(tmp_path, capsys, command):
    """`bash scripts/demo.sh --source typo.mp4` said the demo's sets were done; now nothing starts."""
    argv = [command, "--source", str(tmp_path / "typo.mp4"), "--config", str(_config(tmp_path))]
    if command == "demo":
        argv += ["--port", "0", "--state-dir", str(tmp_path / "demo")]
    assert main(argv) == 2
    _one_line_error(capsys, "typo.mp4': no such file or folder: a source is 'camera', 'synthetic', a video file, an image "
                             "or a folder of images")


def test_analyze_says_what_it_reads_for_a_picture_a_typo_or_a_live_source(tmp_path, capsys, model_path):
    """A still picture printed "no reps found: is the whole lifter in view..." and exit 0, and a typo
    or 'synthetic' was told that 'synthetic' is a source, which analyze does not take."""
    picture = tmp_path / "lifter.png"
    Image.new("RGB", (64, 48)).save(picture)
    config = ["--model", str(model_path), "--config", str(_config(tmp_path))]
    assert main(["analyze", str(picture), *config]) == 2
    _one_line_error(capsys, "lifter.png is a single picture: `station analyze` reads a video file or a folder of "
                            "pictures", f"`station pose {picture}`")
    assert main(["analyze", str(tmp_path / "typo.mp4"), *config]) == 2
    err = _one_line_error(capsys, "typo.mp4': no such file or folder: `station analyze` reads a video file")
    assert "synthetic" not in err
    for live in ("synthetic", "camera"):
        assert main(["analyze", live, *config]) == 2
        _one_line_error(capsys, f"not '{live}': `station run --source {live}` watches it live")


def test_demo_script_passes_the_exit_code_on(tmp_path):
    """scripts/demo.sh execs the command, so a typo ends the script with 2 and the reason."""
    text = (ROOT / "scripts" / "demo.sh").read_text()
    assert 'exec .venv/bin/station demo "$@"' in text and "set -euo pipefail" in text


@pytest.mark.parametrize("out,message", [
    ("missing-folder/out.png", "missing-folder does not exist"),
    ("out.txt", ".txt is not an image type Pillow writes"),
])
def test_pose_checks_the_annotate_target_before_processing(tmp_path, capsys, monkeypatch, out, message):
    import station.pose

    def no_model(*args, **kwargs):
        raise AssertionError("the model must not be loaded before --annotate is checked")

    monkeypatch.setattr(station.pose.PoseEstimator, "from_config", no_model)
    assert main(["pose", str(tmp_path / "in.png"), "--annotate", str(tmp_path / out),
                 "--config", str(_config(tmp_path))]) == 2
    _one_line_error(capsys, message)


def test_strip_every_must_be_positive(capsys):
    with pytest.raises(SystemExit) as info:
        main(["pose", "x.png", "--strip-every", "0"])
    assert info.value.code == 2 and "0 must be 1 or more" in capsys.readouterr().err


@pytest.mark.parametrize("fps", ["0", "-3", "nan", "inf", "1.5", "abc"])
def test_analyze_fps_must_be_a_rate_the_analysis_can_use(capsys, fps):
    """--fps 0 and inf meant 'no limit', nan none at all, and 1.5 printed numpy warnings and reps
    'up -1.0 s': a rate under 5 frames a second cannot find a bottom."""
    with pytest.raises(SystemExit) as info:
        main(["analyze", "clip.mp4", "--fps", fps])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--fps" in err
    assert "between 5 and 240" in err or "is not a number" in err


def test_analyze_keeps_what_came_before_a_file_breaks(tmp_path, capsys, model_path):
    """A clip cut off part-way (a copy interrupted, a card pulled) used to print only the decoding
    error: the reps before it were lost. They are printed, and the exit is 1 (the README's
    'a video that breaks part-way')."""
    clip = require_shared("real", "pasan_squat2.mp4")
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    argv = ["analyze", str(cut), "--fps", "10", "--model", str(model_path), "--config", str(_config(tmp_path))]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "reps" in out and out.count("above") + out.count("at par") >= 4, out
    assert "station: error: decoding" in err and "the result above is up to there" in err
    assert main(argv + ["--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert len(result["sets"][0]["reps"]) >= 4 and result["error"].startswith("decoding")
    assert "Errno" not in result["error"] and "failed after " in result["error"]
    # broken before the first rep ended: no advice about the lifter, whose squats were never seen
    early = tmp_path / "early.mp4"
    early.write_bytes(data[: len(data) // 40])
    assert main(["analyze", str(early), "--model", str(model_path), "--config", str(_config(tmp_path))]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == "no reps found before the file broke" and "side-on" not in out
    assert "the file is damaged or cut short" in err and "Errno" not in err


def test_analyze_goes_on_past_damaged_packets_and_says_how_many(tmp_path, capsys, model_path):
    """A real clip with 200 zeroed blocks of 500 bytes (a copy with holes, a card with bad sectors)
    said "no reps found before the file broke": its first damaged packet, 1 s in, ended it. The
    damaged packets are skipped and counted, the reps after them found; exit 1, as for a folder's
    unreadable images: the result is without their frames."""
    import random

    data = bytearray(require_shared("real", "pasan_squat2.mp4").read_bytes())
    rng = random.Random(1)
    for _ in range(200):
        at = rng.randrange(len(data) // 50, len(data) - 500)    # past the index at the start (moov)
        data[at:at + 500] = bytes(500)
    holes = tmp_path / "holes.mp4"
    holes.write_bytes(data)
    argv = ["analyze", str(holes), "--fps", "10", "--model", str(model_path), "--config", str(_config(tmp_path))]
    assert main(argv + ["--json"]) == 1
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["error"] is None and result["damaged_packets"] >= 10
    assert len(result["sets"]) == 1 and len(result["sets"][0]["reps"]) >= 10, "12 in the whole clip"
    assert re.search(r"station: error: \d+ damaged packets skipped in holes.mp4 \(between \d+\.\d s and "
                     r"\d+\.\d s\): the result above is without their frames", err), err


def test_the_run_says_what_the_video_skipped_when_it_ends(tmp_path, monkeypatch, caplog):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the runner is a stand-in")
    _fake_runner(monkeypatch, damage="3 damaged packets skipped in clip.mp4 (between 1.2 s and 5.2 s)")
    assert main(["run", "--source", str(clip), "--config", str(_config(tmp_path))]) == 0
    assert ("station", logging.WARNING, "3 damaged packets skipped in clip.mp4 (between 1.2 s and 5.2 s)") \
        in caplog.record_tuples


def test_a_relative_source_is_found_after_the_station_moves_out_of_a_read_only_directory(tmp_path, monkeypatch,
                                                                                         capsys):
    """Started in a folder it cannot write to (lgpio needs to), the station moves to its state
    directory; the clip was checked before the move and opened after it, from there: "the source
    clip.mp4 failed: ... neither 'camera', 'synthetic' nor an existing file or folder", exit 2."""
    import os

    import station.app.runner as runner

    here = tmp_path / "clips"
    here.mkdir()
    write_clip(here / "clip.mp4", seconds=1)
    here.chmod(0o555)
    monkeypatch.chdir(here)
    if os.geteuid() == 0:    # root may write anywhere: the folder must look read-only to the station
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == here else real_access(p, m))
    frames = []

    class Watching(_FakeStation):
        def __init__(self, cfg, stages, opener, **kwargs):
            super().__init__(cfg, stages, opener, **kwargs)
            self.opener = opener

        def run_frames(self):
            source = self.opener()        # as the capture thread does, after the move
            frames.extend(t for t, _ in source)
            source.close()

    _fake_runner(monkeypatch)
    monkeypatch.setattr(runner, "Station", Watching)
    monkeypatch.setattr(runner, "source_opener", source_opener)     # the real one: files are opened
    try:
        assert main(["run", "--source", "clip.mp4", "--mock-gpio", "--config", str(_config(tmp_path))]) == 0
    finally:
        here.chmod(0o755)
    assert Path(os.getcwd()) == tmp_path / "state", "it did move"
    assert len(frames) == 25
    assert f"station: {here / 'clip.mp4'} -> fake" in capsys.readouterr().out


def test_model_fetch_errors(tmp_path, capsys):
    models = tmp_path / "models"
    assert main(["model", "fetch", "--from", str(tmp_path / "missing.tflite"), "--dest", str(models)]) == 2
    _one_line_error(capsys, "missing.tflite: no such file")
    assert main(["model", "fetch", "--url", "http://127.0.0.1:9/x", "--dest", str(models)]) == 2
    _one_line_error(capsys, "station model fetch --from PATH")


def test_model_fetch_installs_where_the_configuration_reads_the_model(tmp_path, capsys):
    """On a Pi the installer's config reads /var/lib/station/models/...; `station model fetch`, the fix
    `station run` prints, installed into models/ beside the package, and the station stayed down. A
    [model] path with a file name of its own got the tested file beside it, under another name."""
    if not SHARED_MODEL.exists():
        pytest.skip("../shared/models is absent")
    from station.app import doctor

    wanted = tmp_path / "mdir" / "pose.tflite"
    conf = tmp_path / "station.toml"
    conf.write_text(f"[station]\nstate_dir = '{tmp_path / 'state'}'\n[model]\npath = '{wanted}'\n")
    (before,) = doctor.check_model(config_mod.load(conf))
    assert before.status == "fail" and before.fix.startswith(f"station -c {conf} model fetch (installs {wanted}")
    assert main(["-c", str(conf), "model", "fetch", "--from", str(SHARED_MODEL)]) == 0
    assert capsys.readouterr().out.strip() == f"model installed and verified: {wanted}"
    assert wanted.read_bytes() == SHARED_MODEL.read_bytes()
    assert doctor.check_model(config_mod.load(conf))[1].status == "ok", "doctor's model line passes now"


def test_model_fetch_into_an_unwritable_folder(tmp_path, capsys):
    if not SHARED_MODEL.exists():
        pytest.skip("../shared/models is absent")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["model", "fetch", "--from", str(SHARED_MODEL), "--dest", str(blocker / "models")]) == 2
    _one_line_error(capsys, "cannot write the model to", "choose another --dest or run with sudo")


def test_an_os_error_at_start_up_is_one_line_and_exit_1(monkeypatch, capsys):
    def broken(args):
        raise PermissionError(13, "Permission denied", "/var/lib/station")

    monkeypatch.setattr(cli, "cmd_doctor", broken)
    assert main(["doctor"]) == 1
    _one_line_error(capsys, "Permission denied: '/var/lib/station'")


class _FakeStation:
    """Stands in for the runner: the CLI's exit codes without the model."""

    fault = None
    damage = None     # what the video source skipped (CaptureThread.damage)

    made: list[dict] = []

    def __init__(self, cfg, stages, opener, **kwargs):
        self.made.append(kwargs)
        self.web_url = "http://127.0.0.1:1/"
        self.phone_url = None
        self.exit_code = 1 if self.fault else 0
        self.capture = type("C", (), {"error": self.fault, "damage": self.damage})()
        import threading

        self.stop_event = threading.Event()
        self.stats = type("S", (), {"frames": 0, "fps": lambda self: 0.0})()
        self.mailbox = type("M", (), {"dropped": 0})()

    def run_frames(self):
        logging.getLogger("station.test").warning("a log line while the bar is drawn")

    def live(self):
        return {"fault": self.fault}

    def stop(self):
        self.stop_event.set()

    def shutdown(self):
        return 0


def _fake_runner(monkeypatch, fault=None, damage=None):
    import station.app.runner as runner

    monkeypatch.setattr(runner, "Station", type("F", (_FakeStation,), {"fault": fault, "damage": damage}))
    monkeypatch.setattr(runner, "build_stages", lambda *a, **k: type("S", (), {"pose": type("P", (), {"label": "fake"})()})())
    monkeypatch.setattr(runner, "source_opener", lambda *a, **k: (lambda: io.BytesIO()))


def test_a_file_source_that_fails_part_way_exits_1(tmp_path, monkeypatch, capsys):
    """Not 0 (systemd would think all is well) and not 2 (it may work next time): 1, Restart= retries."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    _fake_runner(monkeypatch, fault="decode error at frame 7")
    assert main(["run", "--source", str(clip), "--config", str(_config(tmp_path))]) == 1
    assert "the source " in capsys.readouterr().err
    _fake_runner(monkeypatch, fault=None)
    assert main(["run", "--source", str(clip), "--config", str(_config(tmp_path))]) == 0


def test_paced_runs_take_the_newest_frame_and_only_fast_ones_every_frame(tmp_path, monkeypatch):
    """A paced file or the demo plays at the camera's pace: a Pi slower than it must skip to the
    newest frame, as with the camera, not fall further behind real time (a lossless mailbox did:
    10 s behind by the end of a 30 fps clip at 100 ms a frame)."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the runner is a stand-in")
    _fake_runner(monkeypatch)
    _FakeStation.made.clear()
    config = ["--config", str(_config(tmp_path))]
    assert main(["run", "--source", str(clip), "--realtime"] + config) == 0
    assert main(["run", "--source", str(clip)] + config) == 0
    state = ["--state-dir", str(tmp_path / "demo"), "--port", "0", "--exit-when-done"]
    assert main(["demo"] + state) == 0
    assert main(["demo", "--fast"] + state) == 0
    assert [(k["live_source"], k["lossless"]) for k in _FakeStation.made] == \
        [(False, False), (False, True), (False, False), (False, True)], "a file is never retried; paced drops"


class _TTY(io.StringIO):
    def isatty(self):
        return True


def test_log_lines_start_on_their_own_line_while_the_bar_is_drawn(monkeypatch):
    from station.feedback import BarState, Render, TerminalBar

    screen = _TTY()
    bar = TerminalBar(screen)
    bar.show(Render(bar=BarState((1.0, 0.0), "depth", "going down"), led_values=(1.0, 0.0), tone=None,
                    detail="", next_change_s=None))
    monkeypatch.setattr(sys, "stderr", screen)
    cli.LOG_HANDLER.terminal = bar
    try:
        cli.LOG_HANDLER.emit(logging.LogRecord("station", logging.WARNING, __file__, 1, "camera lost", None, None))
    finally:
        cli.LOG_HANDLER.terminal = None
    text = screen.getvalue()
    assert "\x1b[K\n" in text and text.rstrip().endswith("camera lost"), repr(text)
    assert text.index("\x1b[K") < text.index("camera lost")


def test_the_run_command_installs_the_line_aware_handler_for_an_enabled_bar(tmp_path, monkeypatch):
    import station.feedback as feedback

    seen = []

    class Bar:
        enabled = True

        def __init__(self, *a):
            pass

        def break_line(self):
            seen.append("break")

    monkeypatch.setattr(feedback, "TerminalBar", Bar)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    _fake_runner(monkeypatch)
    assert main(["run", "--source", str(clip), "--config", str(_config(tmp_path))]) == 0
    assert seen, "the fake station logged while the bar was enabled: the bar's line must be ended first"
    assert cli.LOG_HANDLER.terminal is None, "and the handler lets go of the bar afterwards"


# --- station pin set ----------------------------------------------------------------------------

def test_pin_set_from_the_terminal_writes_only_a_hash_to_the_settings_file(tmp_path, monkeypatch, capsys):
    path = _config(tmp_path, '[web]\npin = "1111"   # set up over SSH\n')
    before = path.read_bytes()
    answers = iter(["24680", "24680"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin", _Terminal())
    assert main(["pin", "set", "--config", str(path)]) == 0
    settings = tmp_path / "state" / "settings.toml"
    assert "24680" not in settings.read_text() and "scrypt$" in settings.read_text()
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600 and path.read_bytes() == before
    cfg = config_mod.load(path)
    assert config_mod.verify_pin(cfg.web.pin_hash, "24680") and not config_mod.verify_pin(cfg.web.pin_hash, "1111")
    assert str(settings) in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["config", "show"], ["run"]])
def test_a_pin_hash_the_check_cannot_run_is_refused_at_load(tmp_path, capsys, argv):
    """`config show` and `doctor` passed it; then every right PIN on the page was a 500."""
    big = "scrypt$131072$8$1$fzL4Dqq0RzYJivMVyD/1+Q==$Igi4XWwQwPgamF54LhI6EeldfyW5fpm++PdsI0Erh1Y="
    path = _config(tmp_path, f'[web]\npin_hash = "{big}"\n')
    assert main([*argv, "--config", str(path)]) == 2
    err = _one_line_error(capsys, f"config file {path}: web.pin_hash = (hidden): scrypt n=131072 r=8 p=1 is not "
                                  "allowed", "n*r*p at most 524288")
    assert big not in err and "fzL4" not in err


def test_pin_set_refuses_a_mismatch_and_a_bad_pin(tmp_path, monkeypatch, capsys):
    path = _config(tmp_path)
    answers = iter(["2468", "2469"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin", _Terminal())
    assert main(["pin", "set", "--config", str(path)]) == 2
    _one_line_error(capsys, "the two PINs differ")
    for typed in ("１２３４", "abcd", "12"):    # never echoed: it is a secret, whatever is wrong with it
        monkeypatch.setattr("sys.stdin", io.StringIO(typed + "\n"))
        assert main(["pin", "set", "--stdin", "--config", str(path)]) == 2
        assert typed not in _one_line_error(capsys, "the PIN must be 4 to 8 digits 0-9")
    assert not (tmp_path / "state" / "settings.toml").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_pin_set_without_a_terminal_says_use_stdin_in_one_line(tmp_path):
    """It printed four lines of GetPassWarning, then took piped lines as both PINs."""
    path = _config(tmp_path)
    result = subprocess.run([sys.executable, "-m", "station", "pin", "set", "--config", str(path)],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["station: error: no terminal to read the PIN from: pipe it in "
                                                  "with --stdin (printf '%s\\n' 123456 | sudo station pin set --stdin)"]


def test_pin_set_from_stdin_in_a_subprocess(tmp_path):
    path = _config(tmp_path)
    result = subprocess.run([sys.executable, "-m", "station", "pin", "set", "--stdin", "--config", str(path)],
                            input="13579\n", capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert config_mod.verify_pin(config_mod.load(path).web.pin_hash, "13579")


def test_the_configured_log_level_applies_unless_the_command_line_says_otherwise(tmp_path, capsys):
    """[station] log_level was accepted, shown by `config show`, and ignored."""
    path = tmp_path / "station.toml"
    path.write_text(f'[station]\nlog_level = "error"\nstate_dir = "{tmp_path}"\n')
    root = logging.getLogger()
    try:
        assert main(["config", "show", "--config", str(path)]) == 0
        assert root.level == logging.ERROR
        assert main(["config", "show", "--config", str(path), "--log-level", "debug"]) == 0
        assert root.level == logging.DEBUG
    finally:
        root.setLevel(logging.INFO)


@pytest.mark.parametrize("config_text,argv,host,port", [
    ("[web]\nport = 8196\n", [], "127.0.0.1", 8196),                  # the file's port; still this machine only
    ("[web]\nhost = \"0.0.0.0\"\nport = 8196\n", [], "0.0.0.0", 8196),  # the file's host, said outright
    ("[web]\nport = 8196\n", ["--port", "8197", "--host", "127.0.0.2"], "127.0.0.2", 8197),  # options win
    ("", [], "127.0.0.1", 8080),                                       # the demo's own defaults
])
def test_the_demo_serves_where_its_config_file_says_unless_told_otherwise(tmp_path, monkeypatch, config_text, argv,
                                                                          host, port):
    """`station -c f demo` printed 127.0.0.1:8080 whatever [web] said, and its 'port in use' error told
    the user to set the [web] port it ignored."""
    from station.app import cli

    seen = {}
    monkeypatch.setattr(cli, "_run_station", lambda cfg, *a, **k: seen.setdefault("web", cfg.web) and 0)
    path = tmp_path / "demo.toml"
    path.write_text(config_text)
    cli.main(["--config", str(path), "demo", "--state-dir", str(tmp_path / "state"), *argv])
    assert (seen["web"].host, seen["web"].port) == (host, port)


@pytest.mark.parametrize("in_file, argv, where", [
    (True, [], "file"), (True, ["--state-dir", "{tmp}/option"], "option"), (False, [], "demo default")])
def test_the_demo_keeps_its_data_where_its_config_file_says_unless_told_otherwise(tmp_path, monkeypatch, in_file,
                                                                                  argv, where):
    """`station -c f demo` ignored f's [station] state_dir and wrote to ~/.local/state/station-demo"""
    from station.app import cli
    from station.app.runner import default_state_dir_for_demo

    seen = {}
    monkeypatch.setattr(cli, "_run_station", lambda cfg, *a, **k: seen.setdefault("dir", cfg.state_dir()) and 0)
    path = tmp_path / "demo.toml"
    path.write_text(f'[station]\nstate_dir = "{tmp_path}/file"\n' if in_file else "")
    cli.main(["--config", str(path), "demo", *[a.format(tmp=tmp_path) for a in argv]])
    expected = {"file": tmp_path / "file", "option": tmp_path / "option",
                "demo default": Path(default_state_dir_for_demo())}[where]
    assert Path(seen["dir"]) == expected
