"""`station doctor`'s messages without a Pi (commands, paths and GPIO injected), and the working
directory lgpio needs (issue 13)."""

from __future__ import annotations

import os
from pathlib import Path

import fake_picamera2
import pytest

from station import config as config_mod
from station.app import doctor
from station.app.doctor import System
from station.app.workdir import ensure_writable_cwd

from conftest import SHARED

LGPIO_FALLBACK = ("BadPinFactory: Unable to load any default pin factory! (Falling back from lgpio: "
                  "[Errno 13] Permission denied: '.lgd-nfy0'); the working directory / is not writable, and "
                  "lgpio needs to create a file there (systemd: WorkingDirectory=/var/lib/station)")


class FakeOutputs:
    def __init__(self, error=None):
        self.error = error
        self.bar = None if error else type("Bar", (), {"pin_factory": type("LgpioFactory", (), {})()})()
        self.closed = False

    def close(self):
        self.closed = True


def system(units=None, installed=("systemctl", "avahi-daemon"), outputs=None, service_file=None, cwd="/home/pi",
           serving_problem=None):
    """A machine: `units` maps a unit to what `systemctl is-active` prints; `serving_problem` is why
    the page could not be served (None: it could)."""
    units = units or {}
    opened = []

    def open_outputs(fb):
        opened.append(outputs or FakeOutputs())
        return opened[-1]

    def run(cmd):
        assert cmd[:2] == ["systemctl", "is-active"], cmd
        return units.get(cmd[2], "inactive")

    fake = System(run=run, which=lambda name: f"/usr/bin/{name}" if name in installed else None,
                  open_outputs=open_outputs, avahi_service_file=service_file or Path("/nonexistent/station.service"),
                  cwd=lambda: cwd, try_serving=lambda host, port: serving_problem)
    fake.opened = opened
    return fake


# --- config --------------------------------------------------------------------------------------

def _deny_read(monkeypatch, path):
    """The login user's view of a 0640 root:station file (the tests may run as root, who reads it)."""
    path.chmod(0o640)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == path and m == os.R_OK else real_access(p, m))
    monkeypatch.setattr("grp.getgrgid", lambda gid: type("G", (), {"gr_name": "station"})())


def test_an_unreadable_config_is_one_clear_failure_not_a_traceback(tmp_path, monkeypatch):
    path = tmp_path / "station.toml"
    path.write_text("[web]\nport = 8080\n")
    _deny_read(monkeypatch, path)
    lines = []
    code = doctor.main(str(path), system(units={"station": "active"}), out=lines.append)
    text = "\n".join(lines)
    assert code == 1
    assert f"cannot read {path} (mode 0640, group station)" in text
    assert "fix: run `sudo station doctor` or add yourself to group station" in text
    assert "station.service is active" in text, "the checks that need no config still run"
    assert "Traceback" not in text
    assert lines[-1].splitlines()[-1].startswith("NOT READY: 1 check failed (config"), "the last line sums it up"


def test_the_closing_line_says_ready_warned_or_not_ready():
    ok, warn, fail, fail2 = (doctor.Check(s, n, "x") for s, n in
                             (("ok", "model"), ("warn", "clock"), ("fail", "camera"), ("fail", "disk")))
    assert doctor.summary([ok]) == "ready: every check passed"
    assert doctor.summary([ok, warn]) == "ready, with 1 warning (clock): see their fixes above"
    assert doctor.summary([fail, warn, fail2]) == ("NOT READY: 2 checks failed (camera, disk): fix them first, "
                                                   "then run `station doctor` again")


def test_an_unreadable_default_config_is_found_too(tmp_path, monkeypatch):
    path = tmp_path / "station.toml"
    path.write_text("")
    _deny_read(monkeypatch, path)
    monkeypatch.setattr(config_mod, "DEFAULT_CONFIG_PATH", path)
    cfg, check = doctor.load_config(None)
    assert cfg is None and check.detail == f"cannot read {path} (mode 0640, group station)"


def test_a_closed_config_folder_is_the_same_failure(tmp_path, monkeypatch):
    path = tmp_path / "station.toml"

    def load(p):   # /etc/station 0750: even exists() raises
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(config_mod, "load", load)
    cfg, check = doctor.load_config(path)
    assert cfg is None and check.detail == f"cannot read {path} (its directory is closed to this user)"
    assert check.fix.startswith("run `sudo station doctor` or add yourself to group station")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a 0600 file")
def test_an_unreadable_config_for_real(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text("")
    path.chmod(0)
    _, check = doctor.load_config(path)
    assert check.status == "fail" and check.detail.startswith(f"cannot read {path} (mode 0000, group ")


def test_a_bad_config_value_is_a_failed_check(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text("[web]\npin = 'abc'\n")
    cfg, check = doctor.load_config(path)
    assert cfg is None and check.status == "fail" and "web.pin" in check.detail


def test_a_pin_hash_the_page_cannot_check_is_a_failed_check(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text('[web]\npin_hash = "scrypt$131072$8$1$fzL4Dqq0RzYJivMVyD/1+Q==$'
                    'Igi4XWwQwPgamF54LhI6EeldfyW5fpm++PdsI0Erh1Y="\n')
    cfg, check = doctor.load_config(path)
    assert cfg is None and check.status == "fail" and "web.pin_hash = (hidden): scrypt n=131072" in check.detail


# --- gpio ----------------------------------------------------------------------------------------

def test_gpio_is_not_opened_while_the_service_holds_the_pins():
    machine = system(units={"station": "active"})
    check = doctor.check_gpio(config_mod.Config(), machine)
    assert check.status == "ok" and "held by the running station.service, not opened here" in check.detail
    assert "sudo systemctl stop station" in check.fix
    assert machine.opened == []


def test_gpio_opened_and_released_when_the_service_is_stopped():
    machine = system(units={"station": "inactive"})
    check = doctor.check_gpio(config_mod.Config(), machine)
    assert check.status == "ok" and "LgpioFactory" in check.detail and machine.opened[0].closed


def test_gpio_with_the_mock_factory(monkeypatch):
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    check = doctor.check_gpio(config_mod.Config(), System(run=lambda cmd: "inactive"))
    assert check.status == "ok" and "MockFactory" in check.detail


def test_gpio_fallback_from_a_read_only_working_directory_says_so():
    machine = system(outputs=FakeOutputs(LGPIO_FALLBACK), cwd="/")
    check = doctor.check_gpio(config_mod.Config(), machine)
    assert check.status == "warn" and "the working directory / is not writable" in check.detail
    assert "/ is read-only: run from a writable directory (cd ~)" in check.fix
    assert machine.opened[0].closed


def test_gpio_without_lgpio_says_what_to_install():
    check = doctor.check_gpio(config_mod.Config(), system(outputs=FakeOutputs("BadPinFactory: no factory")))
    assert check.status == "warn" and "python3-lgpio" in check.fix


# --- camera --------------------------------------------------------------------------------------

def _camera_config():
    cfg = config_mod.Config()
    cfg.camera.source = "camera"
    return cfg


def test_camera_check_under_the_wrong_numpy_fails_with_the_fix(monkeypatch, tmp_path):
    """Bookworm: apt's numpy 1 under a pip numpy 2 wants numpy<2; Trixie: apt's numpy 2 under a
    pinned numpy 1 wants the pin gone. The advice follows the versions, not one OS release."""
    import numpy

    from station.sources import camera
    fake_picamera2.install(monkeypatch, "import")
    for apt, expected, unwanted in (("1.24.2", "numpy<2 (docs", "without"), ("2.2.4", "without the numpy<2 pin", "")):
        (tmp_path / apt).mkdir()
        (tmp_path / apt / f"numpy-{apt}.egg-info").mkdir()
        monkeypatch.setattr(camera, "APT_PYTHON_PACKAGES", tmp_path / apt)
        monkeypatch.setattr(numpy, "__version__", "2.3.1" if apt.startswith("1") else "1.26.4")
        check = doctor.check_camera(_camera_config())
        assert check.status == "fail" and "numpy.dtype size changed" in check.detail
        assert "from apt" in check.detail and apt in check.detail
        assert expected in check.fix and (not unwanted or unwanted not in check.fix)


def test_the_same_numpy_on_both_sides_is_not_told_to_rerun_the_installer():
    """On the emulated Pi the forced fault with venv numpy == apt numpy said 'rerun install.sh',
    which would change nothing: then a module of picamera2's own is built for another numpy."""
    from station.sources.camera import numpy_abi_advice
    error = ValueError("numpy.dtype size changed")
    what, fix = numpy_abi_advice(error, venv_numpy="1.24.2", apt_numpy="1.24.2")
    assert "numpy 1.24.2 in the venv, 1.24.2 from apt" in what
    assert "install.sh" not in fix and "apt install --reinstall python3-picamera2 python3-simplejpeg" in fix
    assert "rerun scripts/install.sh" in numpy_abi_advice(error, venv_numpy="1.26.4", apt_numpy="1.24.2")[1]


def test_apt_numpy_is_read_from_its_metadata_folder(tmp_path):
    from station.sources.camera import apt_numpy_version
    assert apt_numpy_version(tmp_path) is None
    (tmp_path / "numpy-2.2.4.dist-info").mkdir()
    (tmp_path / "numpydoc-1.0.egg-info").mkdir()
    assert apt_numpy_version(tmp_path) == "2.2.4"


@pytest.mark.parametrize("mode, status, text", [("ok", "ok", "imx708"), ("nocamera", "fail", "no camera detected")])
def test_camera_check(monkeypatch, mode, status, text):
    fake_picamera2.install(monkeypatch, mode)
    check = doctor.check_camera(_camera_config())
    assert check.status == status and text in check.detail


# --- service and page ----------------------------------------------------------------------------

@pytest.mark.parametrize("units, installed, status, text", [
    ({"station": "active"}, ("systemctl",), "ok", "station.service is active"),
    ({"station": "failed"}, ("systemctl",), "warn", "station.service: failed"),
    ({}, (), "warn", "systemctl not found"),
])
def test_service_check(units, installed, status, text):
    check = doctor.check_service(system(units=units, installed=installed))
    assert check.status == status and text in check.detail


def _mdns(machine):
    return next(c for c in doctor.check_web(config_mod.Config(), machine) if c.name == "mdns")


def test_avahi_installed_but_not_running():
    check = _mdns(system(units={"avahi-daemon": "inactive"}))
    assert check.status == "warn" and "avahi-daemon is inactive" in check.detail
    assert check.fix == "sudo systemctl enable --now avahi-daemon"


def test_avahi_not_installed():
    check = _mdns(system(units={}, installed=("systemctl",)))
    assert check.status == "warn" and check.fix == "sudo apt install avahi-daemon"


@pytest.mark.parametrize("installed, text, fix", [
    (("avahi-daemon",), "there is no systemctl here, so whether avahi-daemon runs cannot be told", ""),
    ((), "avahi-daemon is not installed", "sudo apt install avahi-daemon"),
])
def test_avahi_without_systemctl(installed, text, fix):
    """Without systemctl the check said "avahi-daemon is not found" next to an installed daemon."""
    check = _mdns(system(units={}, installed=installed))
    assert check.status == "warn" and text in check.detail and check.fix == fix


def test_avahi_running_without_the_station_service_file(tmp_path):
    check = _mdns(system(units={"avahi-daemon": "active"}, service_file=tmp_path / "station.service"))
    assert check.status == "warn" and "is missing" in check.detail and "not announced" in check.detail


def test_avahi_running_and_the_page_announced(tmp_path):
    (tmp_path / "station.service").write_text("<service-group/>")
    check = _mdns(system(units={"avahi-daemon": "active"}, service_file=tmp_path / "station.service"))
    assert check.status == "ok" and "announced" in check.detail


@pytest.mark.parametrize("bind, status, text", [
    ("127.0.0.1", "warn", "phones cannot reach it"),
    ("localhost", "warn", "phones cannot reach it"),
    ("192.168.4.20", "ok", "http://192.168.4.20:8080/"),
])
def test_the_page_check_follows_the_address_the_page_is_served_on(monkeypatch, bind, status, text):
    """A page bound to loopback is not offered to phones: the check says so and how to open it up;
    a page bound to one address lists that address, not every address of the machine."""
    monkeypatch.setattr(doctor, "local_addresses", lambda: ["10.9.8.7"])
    cfg = config_mod.Config()
    cfg.web.host, cfg.web.port = bind, 8080
    page = next(c for c in doctor.check_web(cfg, system(units={"avahi-daemon": "active"})) if c.name == "page")
    assert page.status == status and text in page.detail and "10.9.8.7" not in page.detail
    if status == "warn":
        assert 'host = "0.0.0.0"' in page.fix


def test_the_page_check_lists_every_address_when_served_on_all(monkeypatch):
    monkeypatch.setattr(doctor, "local_addresses", lambda: ["10.9.8.7"])
    page = next(c for c in doctor.check_web(config_mod.Config(), system(units={})) if c.name == "page")
    assert page.status == "ok" and "http://10.9.8.7:" in page.detail


def test_the_login_user_gets_no_database_failure_for_the_services_directory(tmp_path, monkeypatch):
    cfg = config_mod.Config()
    cfg.station.state_dir = str(tmp_path)
    (tmp_path / "station.db").write_bytes(b"")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == tmp_path else real_access(p, m))
    checks = doctor.check_storage(cfg)
    assert [c.name for c in checks] == ["disk", "database"]
    assert checks[-1].status == "warn" and checks[-1].fix == "sudo station doctor"


# --- the working directory lgpio writes to -------------------------------------------------------

@pytest.fixture
def read_only_cwd(tmp_path, monkeypatch):
    """The service's cwd: / under ProtectSystem=strict. A 0555 directory (and, for root, who may
    write anywhere, os.access told so)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    monkeypatch.chdir(ro)
    if os.geteuid() == 0:
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == ro else real_access(p, m))
    yield ro
    ro.chmod(0o755)


def test_an_unwritable_cwd_moves_to_the_state_dir(read_only_cwd, tmp_path):
    state = tmp_path / "state" / "station"
    message = ensure_writable_cwd(state)
    assert Path(os.getcwd()) == state and state.is_dir()
    assert message == (f"working directory {read_only_cwd} is not writable (lgpio needs to create a file there): "
                       f"using {state}")


def test_a_writable_cwd_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ensure_writable_cwd(tmp_path / "state") is None
    assert Path(os.getcwd()) == tmp_path and not (tmp_path / "state").exists()


def test_an_unusable_state_dir_is_reported_not_raised(read_only_cwd, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    message = ensure_writable_cwd(blocker / "state")
    assert "cannot be used" in message and Path(os.getcwd()) == read_only_cwd


def test_a_page_address_the_station_could_not_serve_fails_with_the_stations_own_reason():
    """doctor said 'OK page http://nonexistent.invalid:8197/' for a host `station run` refuses."""
    cfg = config_mod.build(overrides={"web.host": "10.99.99.99", "web.port": 8197})
    why = "web.host '10.99.99.99' is not an address of this machine: use 0.0.0.0 ..."
    checks = doctor.check_web(cfg, system(serving_problem=why))
    assert [(c.status, c.name, c.detail) for c in checks] == [("fail", "page", why)]
    # a running station holds its own port: not tried, the addresses are listed
    checks = doctor.check_web(cfg, system(units={"station": "active"}, serving_problem="in use"))
    assert checks[0].status == "ok" and "10.99.99.99:8197" in checks[0].detail


def test_the_real_serving_check_names_an_address_of_another_machine_and_a_port_in_use():
    import socket

    assert "is not an address of this machine" in doctor._try_serving("10.99.99.99", 8197)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert "already in use" in doctor._try_serving("127.0.0.1", port)


def test_without_systemd_running_the_service_and_mdns_say_so_not_systemctls_complaint():
    complaint = "System has not been booted with systemd as init system (PID 1). Can't operate."
    machine = System(run=lambda cmd: complaint, which=lambda name: f"/usr/bin/{name}",
                     try_serving=lambda host, port: None)
    service = doctor.check_service(machine)
    assert service.status == "warn" and "systemd is not running here" in service.detail
    assert complaint not in service.detail and "systemctl enable" not in service.fix
    mdns = next(c for c in doctor.check_web(config_mod.Config(), machine) if c.name == "mdns")
    assert "systemd is not running here" in mdns.detail and complaint not in mdns.detail


def test_a_missing_model_is_fetched_into_the_folder_this_configuration_reads(tmp_path):
    """The fix said --dest /var/lib/station/models whatever the configuration read."""
    cfg = config_mod.build(overrides={"model.path": str(tmp_path / "models" / "movenet.tflite")})
    (model,) = doctor.check_model(cfg)
    assert model.status == "fail"
    assert model.fix.startswith(f"station model fetch (installs {tmp_path / 'models' / 'movenet.tflite'}; ")



def test_a_path_to_another_model_is_not_fixed_by_fetching_over_it(tmp_path):
    """the file loads but is not MoveNet: the fix is the configured path, not `model fetch` (which
    refuses to replace it, and used to write MoveNet over it)"""
    other = SHARED / "models" / "selfie_segmentation.tflite"
    if not other.exists():
        pytest.skip("../shared/models is absent")
    cfg = config_mod.build(overrides={"model.path": str(other)})
    (model,) = doctor.check_model(cfg)
    assert model.status == "fail" and "expected 1x192x192x3 uint8" in model.detail
    assert "points at another model" in model.fix and "model fetch" not in model.fix

# --- the history database, read only and for the service's user ------------------------------------

def test_the_database_check_reads_only_and_counts_sets(tmp_path):
    from station.store import Store

    path = tmp_path / "station.db"
    missing = doctor.check_database(path, tmp_path)
    assert missing.status == "ok" and "not created yet" in missing.detail
    Store(path).close()
    before = path.read_bytes()
    empty = doctor.check_database(path, tmp_path)
    assert empty.status == "ok" and empty.detail.endswith(": 0 sets, integrity ok")
    assert path.read_bytes() == before, "doctor wrote to the history"
    # a read-only open of a WAL database made its -wal and -shm files and left them: as root, files the
    # service's user could not open, and the station would not start
    assert sorted(p.name for p in tmp_path.iterdir()) == ["station.db"]
    running = Store(path)                      # the station running: read through its log
    running.conn.execute("INSERT INTO lifters (name, created_at) VALUES ('x', 0)")
    assert doctor.check_database(path, tmp_path).status == "ok"
    running.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["station.db"]


def test_a_damaged_database_is_named_damaged_and_left_as_it_was(tmp_path):
    path = tmp_path / "station.db"
    path.write_bytes(b"this is not a database, just a file that took its name" * 100)
    before = path.read_bytes()
    check = doctor.check_database(path, tmp_path)
    assert check.status == "fail" and check.detail == f"{path} is damaged (file is not a database)"
    assert check.fix.startswith("stop the service and move the file away")
    assert path.read_bytes() == before


def test_as_root_a_database_the_service_user_cannot_open_fails_with_chown(tmp_path, monkeypatch):
    """`sudo station doctor` said OK on a file the service user could not open: root reads anything.
    (Run as root, the service's user is the owner of its state dir: _service_uid; stood in for here.)"""
    from station.store import Store

    path = tmp_path / "station.db"
    Store(path).close()
    me = os.getuid()
    monkeypatch.setattr(doctor, "_service_uid", lambda state: me + 1)    # someone else owns the state dir
    check = doctor.check_database(path, tmp_path)
    assert check.status == "fail" and "cannot be read and written by the service's user" in check.detail
    assert check.fix.startswith("sudo chown ") and check.fix.endswith(f": {path} && sudo chmod u+rw {path}")
    monkeypatch.setattr(doctor, "_service_uid", lambda state: me)
    os.chmod(path, 0o200)
    try:
        assert doctor.check_database(path, tmp_path).status == "fail", "write-only: the service cannot read it"
    finally:
        os.chmod(path, 0o640)
    assert doctor.check_database(path, tmp_path).status == "ok"


def test_the_disk_check_fails_below_the_configured_floor_not_a_fixed_one(tmp_path):
    """min_free_mb may be set high: at 100000 MB with less free, every set went unsaved while the
    doctor said "OK disk" (it compared against a fixed 1000 MB)."""
    import shutil

    cfg = config_mod.Config()
    cfg.station.state_dir = str(tmp_path)
    free_mb = shutil.disk_usage(tmp_path).free / 1e6
    cfg.store.min_free_mb = int(min(free_mb + 10, 100_000))
    if cfg.store.min_free_mb <= free_mb:
        pytest.skip("this disk has more than 100000 MB free")
    disk = doctor.check_storage(cfg)[0]
    assert disk.name == "disk" and disk.status == "fail" and "min_free_mb" in disk.fix
    cfg.store.min_free_mb = 10
    assert doctor.check_storage(cfg)[0].status == ("ok" if free_mb > 1010 else "warn")


# --- clock ---------------------------------------------------------------------------------------

def _clock_machine(synced, rtc=False, now=1_800_000_000.0):
    asked = []

    def run(cmd):
        asked.append(cmd)
        return {"yes": "yes", "no": "no"}.get(synced, "Failed to connect to bus: No such file or directory")

    return System(run=run, which=lambda name: f"/usr/bin/{name}" if synced is not None else None,
                  has_rtc=lambda: rtc, now=lambda: now), asked


@pytest.mark.parametrize("synced, rtc, status, says", [
    ("yes", False, "ok", "set from network time"),
    ("no", True, "ok", "kept by the battery clock"),
    ("no", False, "warn", "after a power cut it resumes from when it was last saved"),
    ("bus", False, "warn", "cannot be told here"),
    (None, False, "warn", "cannot be told here"),
])
def test_the_clock_says_whether_anything_keeps_it_right(synced, rtc, status, says):
    """an offline gym has no network time and a Pi 4 no battery clock: the history's dates are only as
    good as the clock, so the owner is told what keeps it and how to set it"""
    machine, asked = _clock_machine(synced, rtc)
    check = doctor.check_clock(machine)
    assert (check.status, check.name) == (status, "clock") and says in check.detail
    assert "reads 2027-01-15" in check.detail
    if status == "warn":
        assert "sudo date -s" in check.fix
    if synced is not None:
        assert asked == [["timedatectl", "show", "-p", "NTPSynchronized", "--value"]]


def test_a_clock_before_this_software_existed_fails():
    machine, _ = _clock_machine("no", now=86400.0 * 3.5)
    check = doctor.check_clock(machine)
    assert check.status == "fail" and "1970-01-04" in check.detail and "every set is dated wrong" in check.detail
