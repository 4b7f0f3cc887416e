"""`station doctor`: every check a gym owner (or whoever they phone) needs, each with its fix.

It runs as root or as the login user, often while the service runs: it must not crash on a config it
may not read, nor fight the service for its pins. What it asks the machine (commands, paths, the
GPIO devices) goes through `System`, so every message can be tested without a Pi.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from station import config as config_mod
from station.errors import StationError

if TYPE_CHECKING:
    from station.feedback import GpioOutputs

AVAHI_SERVICE_FILE = Path("/etc/avahi/services/station.service")
RTC_DEVICE = Path("/sys/class/rtc/rtc0")
# No set can be older than this release: a clock before it was never set (a Pi without a battery
# clock and without network time starts where it was last saved, or at 1970)
CLOCK_FLOOR = 1767225600  # 2026-01-01 UTC


def _run(cmd: list[str]) -> str:
    """First line of a command's output ('' when it cannot run): `systemctl is-active` prints the
    state and exits non-zero for anything but active."""
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return ((result.stdout.strip() or result.stderr.strip()).splitlines() or [""])[0]


def _try_serving(host: str, port: int) -> str | None:
    """Why the page could not be served on host:port (the station's own one-line error), or None."""
    from flask import Flask

    from station.web import WebError, serve, stop_server

    try:
        stop_server(serve(Flask("doctor"), host, port, threads=1))
    except WebError as exc:
        return str(exc)
    return None


def _open_outputs(feedback_cfg: config_mod.FeedbackConfig) -> GpioOutputs:
    from station.feedback import GpioOutputs, make_pin_factory

    return GpioOutputs(feedback_cfg, make_pin_factory("auto"))


UNIT_STATES = ("active", "inactive", "failed", "activating", "deactivating", "reloading", "refreshing",
               "maintenance", "unknown")
NO_SYSTEMD = "no-systemd"


@dataclass
class System:
    """The machine as doctor sees it; tests pass their own."""
    run: Callable[[list[str]], str] = _run
    which: Callable[[str], str | None] = shutil.which
    open_outputs: Callable = _open_outputs
    avahi_service_file: Path = AVAHI_SERVICE_FILE
    cwd: Callable[[], str] = os.getcwd
    try_serving: Callable[[str, int], str | None] = _try_serving
    now: Callable[[], float] = time.time
    has_rtc: Callable[[], bool] = lambda: RTC_DEVICE.exists()

    def network_time(self) -> str:
        """timedatectl's NTPSynchronized ('yes' or 'no'); '' when it cannot be asked (no systemd)."""
        if not self.which("timedatectl"):
            return ""
        answer = self.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        return answer if answer in ("yes", "no") else ""

    def unit_state(self, unit: str) -> str:
        """systemctl's state of the unit; '' without systemctl, NO_SYSTEMD when systemd does not run
        (a container, a chroot): systemctl then prints why on stderr, which is no state."""
        if not self.which("systemctl"):
            return ""
        state = self.run(["systemctl", "is-active", unit])
        if not state:
            return "unknown"
        return state if state in UNIT_STATES else NO_SYSTEMD


@dataclass
class Check:
    status: str  # ok | warn | fail
    name: str
    detail: str
    fix: str = ""


def _group_of(path: Path) -> tuple[str, str | None]:
    """'mode 0640, group station' when stat() is allowed (it is, unless the directory is closed)."""
    try:
        st = path.stat()
    except OSError:
        return "its directory is closed to this user", None
    try:
        import grp

        group = grp.getgrgid(st.st_gid).gr_name
    except (ImportError, KeyError):
        group = str(st.st_gid)
    return f"mode {st.st_mode & 0o7777:04o}, group {group}", group


def _unreadable(path: Path) -> Check:
    how, group = _group_of(path)
    group = group or "station"
    return Check("fail", "config", f"cannot read {path} ({how})",
                 f"run `sudo station doctor` or add yourself to group {group} "
                 f"(sudo adduser $USER {group}, then log in again)")


def load_config(path: str | Path | None) -> tuple[config_mod.Config | None, Check]:
    """The config and its check. The installed file is 0640 root:station, so the login user
    cannot read it: say who may, instead of a traceback or a bare 'cannot be read'."""
    try:
        target = Path(path) if path is not None else (
            config_mod.DEFAULT_CONFIG_PATH if config_mod.DEFAULT_CONFIG_PATH.exists() else None)
        if target is not None and target.exists() and not os.access(target, os.R_OK):
            return None, _unreadable(target)
        cfg = config_mod.load(path)
    except PermissionError as exc:   # /etc/station itself closed to this user: exists() cannot tell
        return None, _unreadable(Path(exc.filename or path or config_mod.DEFAULT_CONFIG_PATH))
    except StationError as exc:
        fix = ("run `sudo station doctor`" if "cannot be read" in str(exc) else
               "fix the file; `station config show` lists every key")
        return None, Check("fail", "config", str(exc), fix)
    return cfg, check_config(cfg)


def check_config(cfg: config_mod.Config) -> Check:
    origin = cfg.source_path or "built-in defaults (no /etc/station/station.toml)"
    return Check("ok", "config", f"valid, from {origin}")


def check_model(cfg: config_mod.Config) -> list[Check]:
    from station.pose import ModelError, MoveNet, NotMoveNetError
    from station.pose.modelfile import LIGHTNING_INT8, sha256_of

    path = cfg.model_path()
    try:
        model = MoveNet(path, num_threads=cfg.model.threads, runtime=cfg.model.runtime)
    except NotMoveNetError as exc:   # `model fetch` would write MoveNet over that other model
        return [Check("fail", "model", str(exc), f"[model] path points at another model: correct it "
                                                 f"(the tested file is {LIGHTNING_INT8.filename})")]
    except ModelError as exc:
        # `station model fetch` installs where this configuration reads the model, its file name
        # included (a --dest FOLDER fix put the tested file beside a [model] path of another name)
        folder = path.parent
        writable = os.access(folder if folder.exists() else folder.parent, os.W_OK)
        config = (f"-c {cfg.source_path} " if cfg.source_path
                  and Path(cfg.source_path).resolve() != config_mod.DEFAULT_CONFIG_PATH else "")
        return [Check("fail", "model", str(exc), f"{'' if writable else 'sudo '}station {config}model fetch "
                                                 f"(installs {path}; add --from FILE offline)")]
    ms = model.time_inference(20)
    known = sha256_of(path) == LIGHTNING_INT8.sha256
    checks = [Check("ok", "runtime", f"{model.runtime.name} {model.runtime.version}, {model.num_threads} thread(s)"),
              Check("ok" if known else "warn", "model",
                    f"{path} (MoveNet Lightning int8, checksum verified)" if known
                    else f"{path} (not the tested Lightning int8 file)",
                    "" if known else f"remove [model] path (or name {LIGHTNING_INT8.filename} in it), "
                                     "then station model fetch installs the tested file")]
    budget = 1000.0 / cfg.camera.fps
    checks.append(Check("ok" if ms < budget else "warn", "inference", f"{ms:.1f} ms per frame (budget {budget:.0f} ms "
                        f"at {cfg.camera.fps:.0f} fps)", "" if ms < budget else
                        "lower [camera] fps, raise [model] threads, or close other programs"))
    return checks


def check_camera(cfg: config_mod.Config) -> Check:
    from station.sources.camera import NO_CAMERA_FIX, numpy_abi_advice

    if cfg.camera.source != "camera":
        return Check("ok", "camera", f"not used: source is {cfg.camera.source!r}")
    try:
        from picamera2 import Picamera2
    except ValueError as exc:  # "numpy.dtype size changed": the venv's numpy is not apt's
        return Check("fail", "camera", *numpy_abi_advice(exc))
    except ImportError:
        return Check("fail", "camera", "picamera2 is not installed",
                     "sudo apt install python3-picamera2, and make the venv with --system-site-packages")
    try:
        cameras = Picamera2.global_camera_info()
    except Exception as exc:
        return Check("fail", "camera", f"libcamera error: {exc}", "check the ribbon cable, then reboot")
    if not cameras:
        return Check("fail", "camera", "no camera detected",
                     NO_CAMERA_FIX)
    return Check("ok", "camera", ", ".join(c.get("Model", "?") for c in cameras))


def check_gpio(cfg: config_mod.Config, system: System | None = None) -> Check:
    """Open the pins, unless the running service holds them: opening them here would fail with
    'GPIO busy' (or, worse, take them from the service)."""
    system = system or System()
    fb = cfg.feedback
    pins = f"{len(fb.led_pins)} LEDs on BCM {fb.led_pins}, {fb.buzzer_type} buzzer on BCM {fb.buzzer_pin}"
    if system.unit_state("station") == "active":
        return Check("ok", "gpio", f"{pins}: held by the running station.service, not opened here",
                     "to test the pins themselves: sudo systemctl stop station, run doctor, start it again")
    outputs = system.open_outputs(fb)
    try:
        if outputs.error:
            if "working directory" in outputs.error:
                fix = (f"lgpio creates a file in the current directory and {system.cwd()} is read-only: "
                       "run from a writable directory (cd ~); the service runs in /var/lib/station")
            elif "busy" in outputs.error.lower():
                fix = "another program holds these pins: stop it (is a second station running?)"
            else:
                fix = "on a Pi: sudo apt install python3-lgpio, and add the user to the gpio group"
            return Check("warn", "gpio", f"unavailable ({outputs.error}): the station runs with the virtual bar only",
                         fix)
        factory = type(outputs.bar.pin_factory).__name__
        return Check("ok", "gpio", f"{pins} ({factory})")
    finally:
        outputs.close()


def check_storage(cfg: config_mod.Config) -> list[Check]:
    state = cfg.state_dir()
    if not state.exists():
        return [Check("warn", "state dir", f"{state} does not exist yet", "it is created on first run "
                                                                          "(systemd's StateDirectory on the Pi)")]
    free_mb = shutil.disk_usage(state).free / 1e6
    # ok well above the store's own floor (min_free_mb, which an owner may set high), a warning near it
    roomy_mb = cfg.store.min_free_mb + 1000
    checks = [Check("ok" if free_mb > roomy_mb else "warn" if free_mb > cfg.store.min_free_mb else "fail", "disk",
                    f"{free_mb:,.0f} MB free in {state}",
                    "" if free_mb > roomy_mb else "free space on the SD card (or lower [store] min_free_mb); "
                                                  f"history stops below {cfg.store.min_free_mb} MB")]
    if not os.access(state, os.W_OK):   # the login user: the service's user owns it, as it should
        checks.append(Check("warn", "database", f"{state} belongs to the service user: the database "
                                                "is not checked as this user", "sudo station doctor"))
        return checks
    checks.append(check_database(cfg.db_path(), state))
    return checks


def check_database(path: Path, state: Path) -> Check:
    """Read only (doctor must not write to a file it may be about to call damaged, nor migrate the
    service's history as root), and for the service's user: root reads any file, the service may not."""
    if not path.exists():
        return Check("ok", "database", f"{path} not created yet: the station creates it with the first set")
    info = path.stat()
    service_uid = _service_uid(state)
    if service_uid is not None:
        if info.st_uid != service_uid or info.st_mode & 0o600 != 0o600:
            user = _user_name(service_uid)
            return Check("fail", "database", f"{path} cannot be read and written by the service's user {user} "
                                             f"(owner {_user_name(info.st_uid)}, mode {info.st_mode & 0o777:o})",
                         f"sudo chown {user}: {path} && sudo chmod u+rw {path}")
    elif not os.access(path, os.R_OK | os.W_OK):
        return Check("fail", "database", f"{path} cannot be read and written by this user",
                     f"sudo chown $(id -un): {path} && sudo chmod u+rw {path}")
    verdict, count = _read_only_check(path)
    if verdict != "ok" and path.with_name(path.name + "-wal").exists():
        verdict, count = _read_only_check(path)    # the station started meanwhile: read through its log
    if verdict != "ok":
        return Check("fail", "database", f"{path} is damaged ({verdict})",
                     "stop the service and move the file away: the station starts a fresh one (the old file "
                     "keeps what can be saved)")
    return Check("ok", "database", f"{path}: {count} set{'' if count == 1 else 's'}, integrity ok")


def _read_only_check(path: Path) -> tuple[str, int]:
    """(integrity verdict, sets). Without a write-ahead log (the station is not running, everything is
    in the file) the file is opened immutable: a read-only open of a WAL database creates its -wal and
    -shm files, and as root it would leave them root's, which the service's user cannot open. With one
    (the station running), read-only through the log and the station's own -shm."""
    mode = "mode=ro" if path.with_name(path.name + "-wal").exists() else "immutable=1"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
        try:
            verdict = str(conn.execute("PRAGMA integrity_check(1)").fetchone()[0])
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            # an empty file (no tables yet) is set up by the station when it starts
            count = conn.execute("SELECT COUNT(*) FROM sets").fetchone()[0] if "sets" in tables else 0
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return str(exc), 0
    return verdict, count


def _service_uid(state: Path) -> int | None:
    """Run as root, for a station run as another user (the owner of its state dir): that user's id."""
    owner = state.stat().st_uid
    return owner if os.geteuid() == 0 and owner != 0 else None


def _user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def check_clock(system: System) -> Check:
    """A gym without internet has no network time: a Pi 4 has no battery clock, so after a power cut
    its clock resumes from when it was last saved and the history's dates are off by the outage."""
    now = system.now()
    set_it = "set it: sudo date -s 'YYYY-MM-DD HH:MM' (the time now)"
    if now < CLOCK_FLOOR:
        return Check("fail", "clock", f"the clock reads {time.strftime('%Y-%m-%d %H:%M', time.localtime(now))}, "
                                      "which is before this software was made: every set is dated wrong",
                     f"{set_it}; to keep it right: network time, or a Pi 5's clock battery")
    synced = system.network_time()
    reads = f"reads {time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(now))}"
    if synced == "yes":
        return Check("ok", "clock", f"{reads}, set from network time")
    if synced == "":
        return Check("warn", "clock", f"{reads}; whether network time sets it cannot be told here (no timedatectl "
                                      "or no systemd): if that is wrong, the history's dates are too", set_it)
    if system.has_rtc():
        return Check("ok", "clock", f"{reads}, kept by the battery clock (no network time): if it is wrong, the "
                                    "battery is flat or missing")
    return Check("warn", "clock", f"{reads}, with no network time and no battery clock: after a power cut it "
                                  "resumes from when it was last saved, so new sets are dated too early (the page "
                                  "tells a phone whose clock differs by more than 5 minutes)",
                 f"after a power cut, {set_it}; to keep it right: network time (a time server on the gym's router, "
                 "NTP= in /etc/systemd/timesyncd.conf), or a Pi 5 with its clock battery")


def check_service(system: System | None = None) -> Check:
    state = (system or System()).unit_state("station")
    if not state:
        return Check("warn", "service", "systemctl not found (not a systemd machine)")
    if state == NO_SYSTEMD:
        return Check("warn", "service", "systemd is not running here (a container or a chroot?): the service "
                                        "cannot be checked")
    if state == "active":
        return Check("ok", "service", "station.service is active")
    return Check("warn", "service", f"station.service: {state}",
                 "sudo systemctl enable --now station; journalctl -u station -e for why")


def local_addresses() -> list[str]:
    addresses: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addresses.add(str(info[4][0]))
    except OSError:
        pass
    if shutil.which("hostname"):
        result = subprocess.run(["hostname", "-I"], capture_output=True, text=True)
        addresses.update(result.stdout.split())
    return sorted(a for a in addresses if not a.startswith("127.") and ":" not in a)


def check_web(cfg: config_mod.Config, system: System | None = None) -> list[Check]:
    """The addresses, and whether phones can find the page by name: avahi must run and the
    station's service file must be there (Bonjour browsers and station.local)."""
    system = system or System()
    host, port, bind = socket.gethostname(), cfg.web.port, cfg.web.host
    if bind in ("localhost", "::1") or bind.startswith("127."):
        return [Check("warn", "page", f"web.host is {bind}: the page opens on this machine only "
                                      f"(http://{config_mod.url_host(bind)}:{port}/), phones cannot reach it",
                      "set [web] host = \"0.0.0.0\" in the config, then restart the station")]
    # the running station holds its own port; otherwise the page must be servable where it is set
    problem = None if system.unit_state("station") == "active" else system.try_serving(bind, port)
    if problem:
        return [Check("fail", "page", problem, "fix [web] host or port in the config, then start the station")]
    addresses = local_addresses() if bind in ("0.0.0.0", "::", "") else [bind]
    urls = [f"http://{host}.local:{port}/"] + [f"http://{config_mod.url_host(a)}:{port}/" for a in addresses]
    checks = [Check("ok", "page", " or ".join(urls))]
    avahi = system.unit_state("avahi-daemon")
    installed = system.which("avahi-daemon") is not None or avahi not in ("", "unknown", "inactive", NO_SYSTEMD)
    if avahi == NO_SYSTEMD or (avahi == "" and installed):
        # without systemd (a container, a chroot) or its systemctl, an installed daemon is not "not found"
        why = "systemd is not running here" if avahi == NO_SYSTEMD else "there is no systemctl here"
        checks.append(Check("warn", "mdns", f"{why}, so whether avahi-daemon runs cannot be "
                                            f"told: if phones cannot find {host}.local, use the address"))
    elif avahi != "active":
        checks.append(Check("warn", "mdns", f"avahi-daemon is {avahi or 'not installed'}: phones cannot find "
                                            f"{host}.local, use the address",
                            "sudo systemctl enable --now avahi-daemon" if installed else
                            "sudo apt install avahi-daemon"))
    elif not system.avahi_service_file.exists():
        checks.append(Check("warn", "mdns", f"avahi runs, but the page is not announced ({system.avahi_service_file} "
                                            f"is missing): {host}.local works, Bonjour browsers do not list it",
                            "sudo scripts/install.sh writes it"))
    else:
        checks.append(Check("ok", "mdns", f"avahi-daemon active, the page announced ({system.avahi_service_file})"))
    if not cfg.web.pin_hash:
        checks.append(Check("warn", "pin", "no settings PIN: the Settings page is read-only",
                            "sudo station pin set (4-8 digits)"))
    return checks


def run_checks(cfg: config_mod.Config, system: System | None = None) -> list[Check]:
    system = system or System()
    checks = [check_config(cfg)]
    checks += check_model(cfg)
    checks.append(check_camera(cfg))
    checks.append(check_gpio(cfg, system))
    checks += check_storage(cfg)
    checks.append(check_clock(system))
    checks.append(check_service(system))
    checks += check_web(cfg, system)
    return checks


def main(config_path: str | Path | None, system: System | None = None, out: Callable[[str], object] = print) -> int:
    """`station doctor`: 1 when any check fails. An unreadable config is one failed check (with
    the service's state, which needs no config), not a traceback."""
    system = system or System()
    cfg, config_check = load_config(config_path)
    if cfg is None:
        checks = [config_check, check_service(system)]
    else:
        checks = [config_check] + run_checks(cfg, system)[1:]
    out(report(checks))
    return 1 if any(c.status == "fail" for c in checks) else 0


def report(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"{c.status.upper():4s}  {c.name:10s}  {c.detail}")
        if c.fix and c.status != "ok":
            lines.append(f"{'':16s}fix: {c.fix}")
    lines.append(summary(checks))
    return "\n".join(lines)


def summary(checks: list[Check]) -> str:
    """The one line an owner reads last: whether the station is ready, and which lines need them."""
    failed = [c.name for c in checks if c.status == "fail"]
    warned = [c.name for c in checks if c.status == "warn"]
    if failed:
        return (f"NOT READY: {len(failed)} check{'s' * (len(failed) > 1)} failed ({', '.join(failed)}): "
                f"fix {'them' if len(failed) > 1 else 'it'} first, then run `station doctor` again")
    if warned:
        return (f"ready, with {len(warned)} warning{'s' * (len(warned) > 1)} ({', '.join(warned)}): "
                "see their fixes above")
    return "ready: every check passed"
