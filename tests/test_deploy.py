"""The systemd unit, the installer (dry run and a scratch root) and `station doctor`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SHARED_MODEL

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "scripts" / "install.sh"


def _need(tool: str):
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install {tool} (.ci/run does)")
        pytest.skip(f"{tool} is not installed")


def test_unit_verifies_with_systemd_analyze(tmp_path):
    _need("systemd-analyze")
    unit = tmp_path / "station.service"
    station = shutil.which("station") or str(ROOT / ".venv" / "bin" / "station")
    unit.write_text((ROOT / "systemd" / "station.service").read_text().replace("/opt/station/venv/bin/station", station))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "station.service" not in result.stderr, result.stderr  # no warnings about our unit
    text = unit.read_text()
    for key in ("Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                "PrivateTmp=yes", "StateDirectory=station", "SupplementaryGroups=video gpio", "Restart=always",
                "RestartPreventExitStatus=2", "WorkingDirectory=/var/lib/station", "WatchdogSignal=SIGTERM",
                "Wants=network-online.target", "After=network-online.target"):
        assert key in text


def test_shell_scripts_pass_shellcheck():
    _need("shellcheck")
    scripts = [str(p) for p in (ROOT / "scripts").glob("*.sh")] + [str(ROOT / ".ci" / "run")]
    result = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_installer_dry_run_prints_every_action_and_changes_nothing(tmp_path):
    result = subprocess.run(["bash", str(INSTALL), "--dry-run", "--root", str(tmp_path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for action in ("venv --system-site-packages", "fetch_model.py", "station.toml", "station.service",
                   "systemctl enable station", "skip (scratch root): useradd"):
        assert action in out, action
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suite", ["bookworm", "trixie"])
def test_the_build_backend_is_held_to_the_tested_version_too(tmp_path, suite):
    """pip builds the package in an isolated environment that `--constraint` does not reach: on the
    emulated Trixie the build pulled the newest setuptools. The installer passes the constraints as
    PIP_CONSTRAINT as well, and they pin a setuptools that pyproject's [build-system] accepts."""
    import re
    import tomllib

    result = subprocess.run(["bash", str(INSTALL), "--dry-run", "--root", str(tmp_path)], capture_output=True,
                            text=True, env={**os.environ, "STATION_SUITE": suite})
    assert result.returncode == 0, result.stderr
    pip = next(line for line in result.stdout.splitlines() if "/bin/pip install" in line)
    build = f"{tmp_path}/opt/station/src/build.txt"      # the clean copy's (constraints/build.txt)
    assert f"PIP_CONSTRAINT={build}" in pip and f"PIP_BUILD_CONSTRAINT={build}" in pip   # pip up to 25.2, 25.3 on
    assert f"--constraint {ROOT}/constraints/{suite}.txt" in pip
    assert "constraints/build.txt" in next(line for line in result.stdout.splitlines() if line.startswith("+ cp -r"))
    # offline the wheelhouse's own setuptools builds it: one made before the pin still installs
    offline = subprocess.run(["bash", str(INSTALL), "--dry-run", "--root", str(tmp_path), "--wheels", str(tmp_path)],
                             capture_output=True, text=True, env={**os.environ, "STATION_SUITE": suite})
    pip = next(line for line in offline.stdout.splitlines() if "/bin/pip install" in line)
    assert "PIP_CONSTRAINT" not in pip and f"--constraint {ROOT}/constraints/{suite}.txt" in pip
    pinned = re.search(r"^setuptools==(\d+)\.", (ROOT / "constraints" / "build.txt").read_text(), re.M)
    assert pinned, "constraints/build.txt pins no setuptools"
    assert "setuptools" not in (ROOT / "constraints" / f"{suite}.txt").read_text(), \
        "a runtime pin breaks wheelhouses made before it (colorzero asks for a setuptools)"
    needs = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    least = int(re.fullmatch(r"setuptools>=(\d+)", needs[0]).group(1))
    assert int(pinned.group(1)) >= least


def test_installer_is_idempotent_in_a_scratch_root(tmp_path):
    if not SHARED_MODEL.exists():
        pytest.skip("../shared/models is absent")
    args = ["bash", str(INSTALL), "--root", str(tmp_path), "--model-file", str(SHARED_MODEL)]
    first = subprocess.run(args, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr + first.stdout
    conf = tmp_path / "etc/station/station.toml"
    unit = tmp_path / "etc/systemd/system/station.service"
    model = tmp_path / "var/lib/station/models/movenet_singlepose_lightning_int8_v4.tflite"
    assert conf.exists() and unit.exists() and model.exists()
    pin_line = next(line for line in conf.read_text().splitlines() if line.startswith("pin"))
    stamps = {p: p.stat().st_mtime_ns for p in (conf, unit, model)}
    second = subprocess.run(args, capture_output=True, text=True)
    assert second.returncode == 0
    assert "kept (your settings and PIN)" in second.stdout and "up to date" in second.stdout
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps, "a second run must change nothing"
    assert pin_line in conf.read_text()
    from station import config as config_mod

    config_mod.load(conf)  # the generated config is valid
    keep = subprocess.run(["bash", str(INSTALL), "--root", str(tmp_path), "--uninstall"], capture_output=True, text=True)
    assert keep.returncode == 0 and conf.exists() and model.exists() and not unit.exists()
    purge = subprocess.run(["bash", str(INSTALL), "--root", str(tmp_path), "--uninstall", "--purge"],
                           capture_output=True, text=True)
    assert purge.returncode == 0 and not conf.exists() and not model.exists()


def test_rerunning_the_installer_repairs_a_damaged_model(tmp_path):
    """It stopped on the checksum mismatch, without a word on what to do."""
    if not SHARED_MODEL.exists():
        pytest.skip("../shared/models is absent")
    args = ["bash", str(INSTALL), "--root", str(tmp_path)]
    assert subprocess.run(args + ["--model-file", str(SHARED_MODEL)], capture_output=True, text=True).returncode == 0
    model = tmp_path / "var/lib/station/models/movenet_singlepose_lightning_int8_v4.tflite"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    again = subprocess.run(args, capture_output=True, text=True)   # online: fetched; here, maybe offline
    assert f"the installed model {model} is damaged: fetching it again" in again.stdout, again.stdout
    if again.returncode != 0:
        assert "Offline? Copy" in again.stderr and "--model-file FILE" in again.stdout
    repaired = subprocess.run(args + ["--model-file", str(SHARED_MODEL)], capture_output=True, text=True)
    assert repaired.returncode == 0 and model.read_bytes() == SHARED_MODEL.read_bytes()


def _doctor(tmp_path, capsys, model: str, source: str) -> tuple[int, str]:
    from station.app.cli import main

    config = tmp_path / "station.toml"
    config.write_text(f'[model]\npath = "{model}"\n[station]\nstate_dir = "{tmp_path}"\n'
                      f'[camera]\nsource = "{source}"\n[web]\npin = "2468"\n')
    code = main(["--config", str(config), "doctor"])
    return code, capsys.readouterr().out


def test_doctor_reports_each_check_and_passes_when_nothing_fails(tmp_path, model_path, capsys):
    code, out = _doctor(tmp_path, capsys, str(model_path), "synthetic")
    for name in ("config", "runtime", "model", "inference", "camera", "gpio", "disk", "service", "page"):
        assert f"  {name}" in out, name
    assert "ms per frame" in out
    assert "FAIL" not in out and code == 0, out


def test_doctor_fails_without_a_camera_when_the_source_is_the_camera(tmp_path, model_path, capsys):
    try:
        import picamera2  # noqa: F401
        pytest.skip("picamera2 is installed here: the camera check may pass")
    except ImportError:
        pass
    code, out = _doctor(tmp_path, capsys, str(model_path), "camera")
    assert code == 1 and "FAIL  camera" in out and "picamera2 is not installed" in out, out


def test_doctor_fails_on_a_broken_model_with_its_fix(tmp_path, capsys):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"x" * 5000)
    code, out = _doctor(tmp_path, capsys, str(bad), "synthetic")
    # the fix installs where this configuration reads the model, so it names the config file and the path
    assert code == 1 and "FAIL  model" in out and f"model fetch (installs {bad};" in out, out
    assert f"station -c {tmp_path / 'station.toml'} model fetch" in out, out
