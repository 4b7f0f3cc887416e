"""`station doctor`: every check a gym owner (or whoever they phone) needs, each with its fix."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass

from station import config as config_mod


@dataclass
class Check:
    status: str  # ok | warn | fail
    name: str
    detail: str
    fix: str = ""


def check_config(cfg: config_mod.Config) -> Check:
    origin = cfg.source_path or "built-in defaults (no /etc/station/station.toml)"
    return Check("ok", "config", f"valid, from {origin}")


def check_model(cfg: config_mod.Config) -> list[Check]:
    from station.pose.modelfile import LIGHTNING_INT8, sha256_of
    from station.pose import ModelError, MoveNet

    path = cfg.model_path()
    try:
        model = MoveNet(path, num_threads=cfg.model.threads, runtime=cfg.model.runtime)
    except ModelError as exc:
        return [Check("fail", "model", str(exc), "sudo station model fetch --dest /var/lib/station/models "
                                                 "(or --from FILE offline)")]
    ms = model.time_inference(20)
    known = sha256_of(path) == LIGHTNING_INT8.sha256
    checks = [Check("ok", "runtime", f"{model.runtime.name} {model.runtime.version}, {model.num_threads} thread(s)"),
              Check("ok" if known else "warn", "model",
                    f"{path} ({'MoveNet Lightning int8, checksum verified' if known else 'not the tested Lightning int8 file'})",
                    "" if known else "station model fetch installs the tested file")]
    budget = 1000.0 / cfg.camera.fps
    checks.append(Check("ok" if ms < budget else "warn", "inference", f"{ms:.1f} ms per frame (budget {budget:.0f} ms "
                        f"at {cfg.camera.fps:.0f} fps)", "" if ms < budget else
                        "lower [camera] fps, raise [model] threads, or close other programs"))
    return checks


def check_camera(cfg: config_mod.Config) -> Check:
    if cfg.camera.source != "camera":
        return Check("ok", "camera", f"not used: source is {cfg.camera.source!r}")
    try:
        from picamera2 import Picamera2
    except ImportError:
        return Check("fail", "camera", "picamera2 is not installed",
                     "sudo apt install python3-picamera2, and make the venv with --system-site-packages")
    try:
        cameras = Picamera2.global_camera_info()
    except Exception as exc:
        return Check("fail", "camera", f"libcamera error: {exc}", "check the ribbon cable, then reboot")
    if not cameras:
        return Check("fail", "camera", "no camera detected", "reseat the ribbon cable (contacts facing the board), reboot")
    return Check("ok", "camera", ", ".join(c.get("Model", "?") for c in cameras))


def check_gpio(cfg: config_mod.Config) -> Check:
    from station.feedback import GpioOutputs, make_pin_factory

    outputs = GpioOutputs(cfg.feedback, make_pin_factory("auto"))
    try:
        if outputs.error:
            return Check("warn", "gpio", f"unavailable ({outputs.error}): the station runs with the virtual bar only",
                         "on a Pi: sudo apt install python3-lgpio, and add the user to the gpio group")
        factory = type(outputs.bar.pin_factory).__name__
        return Check("ok", "gpio", f"{len(cfg.feedback.led_pins)} LEDs on BCM {cfg.feedback.led_pins}, "
                                   f"{cfg.feedback.buzzer_type} buzzer on BCM {cfg.feedback.buzzer_pin} ({factory})")
    finally:
        outputs.close()


def check_storage(cfg: config_mod.Config) -> list[Check]:
    from station.store import Store

    state = cfg.state_dir()
    if not state.exists():
        return [Check("warn", "state dir", f"{state} does not exist yet", "it is created on first run "
                                                                          "(systemd's StateDirectory on the Pi)")]
    if not os.access(state, os.W_OK):
        return [Check("fail", "state dir", f"{state} is not writable by this user", "run as the station user")]
    free_mb = shutil.disk_usage(state).free / 1e6
    checks = [Check("ok" if free_mb > 1000 else "warn" if free_mb > cfg.store.min_free_mb else "fail", "disk",
                    f"{free_mb:,.0f} MB free in {state}",
                    "" if free_mb > 1000 else "free space on the SD card; history stops below "
                                               f"{cfg.store.min_free_mb} MB")]
    if cfg.db_path().exists():
        try:
            store = Store(cfg.db_path())
            ok = store.integrity_ok()
            count = len(store.list_sets(limit=100000))
            store.close()
            checks.append(Check("ok" if ok else "fail", "database", f"{cfg.db_path()}: {count} sets, integrity "
                                f"{'ok' if ok else 'FAILED'}", "" if ok else "stop the service, move the file away"))
        except Exception as exc:
            checks.append(Check("fail", "database", f"{cfg.db_path()}: {exc}", "stop the service, move the file away"))
    return checks


def check_service() -> Check:
    if not shutil.which("systemctl"):
        return Check("warn", "service", "systemctl not found (not a systemd machine)")
    result = subprocess.run(["systemctl", "is-active", "station"], capture_output=True, text=True)
    state = (result.stdout.strip() or result.stderr.strip() or "unknown").splitlines()[0]
    if state == "active":
        return Check("ok", "service", "station.service is active")
    return Check("warn", "service", f"station.service: {state}",
                 "sudo systemctl enable --now station; journalctl -u station -e for why")


def local_addresses() -> list[str]:
    addresses = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addresses.add(info[4][0])
    except OSError:
        pass
    if shutil.which("hostname"):
        result = subprocess.run(["hostname", "-I"], capture_output=True, text=True)
        addresses.update(result.stdout.split())
    return sorted(a for a in addresses if not a.startswith("127.") and ":" not in a)


def check_web(cfg: config_mod.Config) -> list[Check]:
    host, port = socket.gethostname(), cfg.web.port
    urls = [f"http://{host}.local:{port}/"] + [f"http://{a}:{port}/" for a in local_addresses()]
    avahi = shutil.which("avahi-daemon") is not None
    checks = [Check("ok" if avahi else "warn", "page", " or ".join(urls),
                    "" if avahi else "sudo apt install avahi-daemon for the .local name")]
    if not cfg.web.pin:
        checks.append(Check("warn", "pin", "no settings PIN: the Settings page is read-only",
                            "set web.pin (4-8 digits) in /etc/station/station.toml"))
    return checks


def run_checks(cfg: config_mod.Config) -> list[Check]:
    checks = [check_config(cfg)]
    checks += check_model(cfg)
    checks.append(check_camera(cfg))
    checks.append(check_gpio(cfg))
    checks += check_storage(cfg)
    checks.append(check_service())
    checks += check_web(cfg)
    return checks


def report(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"{c.status.upper():4s}  {c.name:10s}  {c.detail}")
        if c.fix and c.status != "ok":
            lines.append(f"{'':16s}fix: {c.fix}")
    return "\n".join(lines)
