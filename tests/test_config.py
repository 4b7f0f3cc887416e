"""station.config: one validator for every layer, the settings file apart from the hand-written
config, the hashed PIN; station.files: atomic writes with their mode."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import math
import stat
import tomllib

import pytest

from station import config as config_mod
from station.config import ConfigError
from station.files import write_atomic


def _write(path, text: str, mode: int = 0o600):
    path.write_text(text)
    path.chmod(mode)
    return path


def test_config_defaults_and_round_trip(tmp_path):
    cfg = config_mod.Config()
    cfg.analysis.target_depth_deg = -5.0
    cfg.feedback.led_pins = [2, 3, 4]
    path = _write(tmp_path / "station.toml", config_mod.to_toml(cfg))
    again = config_mod.load(path)
    assert again.analysis.target_depth_deg == -5.0
    assert again.feedback.led_pins == [2, 3, 4]
    assert config_mod.to_dict(again) == config_mod.to_dict(cfg)


BIG_HASH = "scrypt$131072$8$1$fzL4Dqq0RzYJivMVyD/1+Q==$Igi4XWwQwPgamF54LhI6EeldfyW5fpm++PdsI0Erh1Y="


@pytest.mark.parametrize("text,message", [
    ("[analysis]\ntarget_depth = 3\n", "unknown key analysis.target_depth; allowed keys"),
    ("[analysis]\ntarget_depth_deg = 90\n", "analysis.target_depth_deg = 90.0: must be between -40.0 and 40.0"),
    ("[feedback]\nbuzzer_type = 'loud'\n", "feedback.buzzer_type = 'loud': allowed values are active, passive, none"),
    ("[model]\nthreads = 'two'\n", "model.threads = 'two': expected int"),
    ("[camera]\nfps = true\n", "camera.fps = True: expected float"),
    ("[feedback]\nled_pins = [5, 5]\n", "entries must be distinct"),
    ("[feedback]\nbuzzer_pin = 17\n", "feedback.buzzer_pin = 17: is also one of feedback.led_pins"),
    ("[station]\nlifter = ''\n", "station.lifter = '': lifter names are 1 to 40 letters"),
    ("[station]\nlifter = 'x'\n".replace("'x'", repr("x" * 41)), "lifter names are 1 to 40 letters"),
    ("[station]\nlifter = '  '\n", "station.lifter = '  ': lifter names are 1 to 40 letters"),
    ("[station]\nlifter = ' Ana'\n", "no space at either end"),
    ("[station]\nlifter = '--'\n", "with at least one letter or digit"),
    ("[gpio]\nx = 1\n", "unknown section [gpio]"),
    ("lifter = 'Ana'\n", "lifter = 'Ana' is outside any section: put it under [station]"),
    ("colour = 'red'\n", "colour = 'red' is outside any section: every setting belongs to a [section]"),
    ("[web]\npin = '12'\n", "web.pin = (hidden): must be 4 to 8 digits 0-9"),
    ("[web]\npin = '１２３４'\n", "web.pin = (hidden; its digits are not the plain 0-9): must be 4 to 8 digits 0-9"),
    ("[web]\npin = 987654\n", "web.pin = (hidden; a number, not a quoted string): must be 4 to 8 digits 0-9, as a quoted"),
    ("[web]\npin = '12a4'\n", "web.pin = (hidden; it holds characters other than digits): must be 4 to 8"),
    ("pin = '2468'\n", "pin = (hidden) is outside any section"),
    ("[web]\npin_hash = 2468\n", "web.pin_hash = (hidden): expected str"),
    ("[analysis]\ntarget_depth_deg = nan\n", "analysis.target_depth_deg = nan: must be a finite number"),
    ("[camera]\nfps = inf\n", "camera.fps = inf: must be a finite number between 1.0 and 120.0"),
    ("[model]\nthreads = 2.0\n", "model.threads = 2.0: expected int"),
    ("[station]\nlifter = \"a\\nb\"\n", "station.lifter = 'a\\nb': control characters are not allowed"),
    ("[web]\npin_hash = 'scrypt$1$1$1$x$y'\n", "web.pin_hash is not a hash made by `station pin set`"),
    # loaded, and then every right PIN on the page was a 500 ("memory limit exceeded"): scrypt's 128 MB
    (f"[web]\npin_hash = '{BIG_HASH}'\n", "web.pin_hash = (hidden): scrypt n=131072 r=8 p=1 is not allowed: n a "
     "power of 2 from 1024, r 1 to 32, p 1 to 16, and n*r*p at most 524288 (64 MB and 4x the time of the n=16384 r=8 "
     "p=1 that `station pin set` writes); delete it and run `station pin set`"),
    ("[web]\npin_hash = 'scrypt$1024$1$17$fzL4Dqq0RzYJivMVyD/1+Q==$Igi4XWwQwPgamF54LhI6EeldfyW5fpm++PdsI0Erh1Y='\n",
     "scrypt n=1024 r=1 p=17 is not allowed"),
    ("[web]\npin_hash = 'scrypt$65536$1$1$fzL4Dqq0RzYJivMVyD/1+Q==$Igi4XWwQwPgamF54LhI6EeldfyW5fpm++PdsI0Erh1Y='\n",
     "with r = 1, n must be below 65536"),
    ("[web]\npin_hash = 'scrypt$" + "9" * 5000 + "$8$1$fzL4Dqq0RzYJivMVyD/1+Q==$Igi4XWwQwPgamF54LhI6EeldfyW5fpm++PdsI0Erh1Y='\n",
     "web.pin_hash is not a hash made by `station pin set`"),
    ("[web\n", "not valid TOML"),
    ("[camera]\nsource = ''\n", "camera.source is empty: give 'camera', 'synthetic', or a video"),
    ("[web]\nhost = ' '\n", "web.host is empty: give 0.0.0.0"),
])
def test_config_errors_name_the_file_key_value_and_allowed(tmp_path, text, message):
    path = tmp_path / "station.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        config_mod.load(path)
    assert message in str(info.value) and str(path) in str(info.value)
    for secret in ("987654", "12a4", "2468", "１２３４"):
        assert secret not in str(info.value), "a PIN, even a mistyped one, is never printed"


def test_a_config_saved_with_a_byte_order_mark_reads_as_its_text(tmp_path):
    path = tmp_path / "station.toml"
    path.write_bytes(b"\xef\xbb\xbf[station]\nlifter = 'Ana'\n")    # what Windows Notepad writes
    assert config_mod.load(path).station.lifter == "Ana"


def test_a_config_that_is_not_utf8_or_is_a_folder_is_one_clear_error(tmp_path):
    latin1 = tmp_path / "station.toml"
    latin1.write_bytes("[station]\nlifter = 'Jos\xe9'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"station.toml is not UTF-8 text"):
        config_mod.load(latin1)
    with pytest.raises(ConfigError, match=r"is a folder; it must be a TOML file"):
        config_mod.load(tmp_path)


def _fields(kind):
    for section, cls in config_mod._SECTION_CLASSES.items():
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING and type(f.default) is kind:
                yield f"{section}.{f.name}"


@pytest.mark.parametrize("key", list(_fields(float)))
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_every_float_key_rejects_nan_and_inf_in_every_layer(tmp_path, key, value):
    """NaN passed `value < lo or value > hi` (false for NaN): a settings POST of target_depth_deg=nan was
    saved and broke every later rep. The file, the command line and the page share one validator."""
    section, name = key.split(".")
    with pytest.raises(ConfigError, match=f"{key} = {value!r}: must be a finite number"):
        config_mod.from_dict({section: {name: value}})
    with pytest.raises(ConfigError, match="must be a finite number"):
        config_mod.build(None, {key: value}, default_file=False)
    cfg = config_mod.build(None, {"station.state_dir": str(tmp_path)}, default_file=False)
    if key in config_mod.PAGE_KEYS:
        with pytest.raises(ConfigError, match="must be a finite number"):
            config_mod.save_settings(cfg, {key: value})
        assert not cfg.settings_path().exists()


@pytest.mark.parametrize("key", list(_fields(int)))
def test_every_int_key_rejects_floats_and_bools(key):
    section, name = key.split(".")
    for value in (2.0, True):
        with pytest.raises(ConfigError, match=f"{key} = {value!r}: expected int"):
            config_mod.from_dict({section: {name: value}})


def test_command_line_overrides_meet_the_same_checks_and_win_over_the_file(tmp_path):
    path = _write(tmp_path / "station.toml", f'[station]\nstate_dir = "{tmp_path}"\n[web]\nport = 8081\n')
    with pytest.raises(ConfigError, match=r"command line: web.port = 99999: must be between 0 and 65535"):
        config_mod.build(path, {"web.port": 99999})
    with pytest.raises(ConfigError, match=r"analysis.target_depth_deg = 90.0: must be between"):
        config_mod.build(path, {"analysis.target_depth_deg": 90})
    assert config_mod.build(path, {"web.port": 9000}).web.port == 9000
    assert config_mod.build(path).web.port == 8081


# --- the PIN ---------------------------------------------------------------------------------------

def test_pin_hash_and_verify():
    pin_hash = config_mod.hash_pin("2468")
    scheme, n, r, p, salt, digest = pin_hash.split("$")
    assert scheme == "scrypt" and (int(n), int(r), int(p)) == (config_mod.SCRYPT_N, config_mod.SCRYPT_R,
                                                              config_mod.SCRYPT_P)
    assert config_mod.hash_pin("2468") != pin_hash, "salted"
    assert config_mod.verify_pin(pin_hash, "2468")
    for wrong in ("2469", "", "２４６８", "2468\n", None, 2468, "9" * 10_000, "\udcff"):
        assert not config_mod.verify_pin(pin_hash, wrong), wrong
    assert not config_mod.verify_pin("", "2468"), "no PIN set: nothing verifies"
    assert not config_mod.verify_pin("scrypt$16384$8$1$bad$bad", "2468")
    with pytest.raises(ConfigError, match="4 to 8 digits"):
        config_mod.hash_pin("１２３４")


@pytest.mark.parametrize("n,r,p", [(2 ** 16, 8, 1), (2 ** 15, 1, 16), (1024, 32, 16)])
def test_every_hash_the_config_accepts_can_be_checked(n, r, p):
    """The config took n up to 2^20 and r up to 32, the check ran with 64 MB: 128*n*r bytes had to fit."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"2468", salt=salt, n=n, r=r, p=p, dklen=32, maxmem=2 ** 28)
    pin_hash = f"scrypt${n}${r}${p}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    cfg = config_mod.from_dict({"web": {"pin_hash": pin_hash}})
    assert config_mod.verify_pin(cfg.web.pin_hash, "2468") and not config_mod.verify_pin(cfg.web.pin_hash, "2469")


def test_the_hash_station_pin_set_writes_loads_and_verifies():
    assert config_mod.scrypt_problem(config_mod.SCRYPT_N, config_mod.SCRYPT_R, config_mod.SCRYPT_P) is None
    cfg = config_mod.from_dict({"web": {"pin_hash": config_mod.hash_pin("2468")}})
    assert config_mod.verify_pin(cfg.web.pin_hash, "2468") and not config_mod.verify_pin(cfg.web.pin_hash, "2469")


def test_a_stored_hash_scrypt_will_not_run_is_a_pin_check_error_not_a_crash(monkeypatch):
    """Defence in depth behind the config check: a hash that got past it, or a Pi out of memory."""
    with pytest.raises(config_mod.PinCheckError, match="n=131072 r=8 p=1 is not allowed"):
        config_mod.verify_pin(BIG_HASH, "2468")

    def refused(*args, **kwargs):
        raise ValueError("[digital envelope routines] memory limit exceeded")
    monkeypatch.setattr(config_mod.hashlib, "scrypt", refused)
    pin_hash = "scrypt$16384$8$1$fzL4Dqq0RzYJivMVyD/1+Q==$Igi4XWwQwPgamF54LhI6EeldfyW5fpm++PdsI0Erh1Y="
    with pytest.raises(config_mod.PinCheckError, match="failed on this station .*memory limit exceeded"):
        config_mod.verify_pin(pin_hash, "2468")


def test_a_plain_pin_is_hashed_at_load_and_never_shown(tmp_path):
    path = _write(tmp_path / "station.toml", f'[station]\nstate_dir = "{tmp_path}"\n[web]\npin = "97531"\n')
    cfg = config_mod.load(path)
    assert not hasattr(cfg.web, "pin")
    assert config_mod.verify_pin(cfg.web.pin_hash, "97531")
    shown = config_mod.to_toml(cfg)
    assert "97531" not in shown and cfg.web.pin_hash not in shown and "pin_hash: set (hidden)" in shown
    assert config_mod.from_dict(tomllib.loads(shown)).web.pin_hash == "", "show's text still loads"


# --- the settings file ----------------------------------------------------------------------------

HAND_WRITTEN = """# Squat station, set up by the owner over SSH
[station]
state_dir = "{state}"   # the data

[analysis]
target_depth_deg = -2   # what the coach asked for
"""


def test_a_settings_save_never_touches_the_hand_written_file(tmp_path):
    """A save used to rewrite the whole config: comments gone, `--source clip.mp4` persisted, 0600 -> 0644."""
    state = tmp_path / "state"
    path = _write(tmp_path / "station.toml", HAND_WRITTEN.format(state=state), 0o600)
    before = path.read_bytes()
    cfg = config_mod.build(path, {"camera.source": "clip.mp4"})
    new = config_mod.save_settings(cfg, {"analysis.target_depth_deg": -7, "feedback.mode": "lights_only"})
    assert new.analysis.target_depth_deg == -7.0 and new.camera.source == "clip.mp4"
    assert path.read_bytes() == before and stat.S_IMODE(path.stat().st_mode) == 0o600
    settings = state / "settings.toml"
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600
    text = settings.read_text()
    assert "clip.mp4" not in text and "target_depth_deg = -7.0" in text and "mode = \"lights_only\"" in text
    again = config_mod.load(path)   # the overlay at load; the override is gone
    assert again.analysis.target_depth_deg == -7.0 and again.feedback.mode == "lights_only"
    assert again.camera.source == "camera"
    assert config_mod.save_settings(again, {"station.lifter": "ana"}).station.lifter == "ana"
    assert config_mod.load(path).analysis.target_depth_deg == -7.0, "earlier changes are kept"
    assert [p.name for p in state.iterdir()] == ["settings.toml"], "no temporary file left"


def test_the_settings_file_keeps_its_mode_and_holds_only_its_keys(tmp_path):
    cfg = config_mod.build(None, {"station.state_dir": str(tmp_path)}, default_file=False)
    config_mod.save_settings(cfg, {"analysis.wink_sensitivity": "high"})
    cfg.settings_path().chmod(0o640)
    config_mod.save_settings(cfg, {"analysis.wink_sensitivity": "low"})
    assert stat.S_IMODE(cfg.settings_path().stat().st_mode) == 0o640
    with pytest.raises(ConfigError, match=r"analysis.set_idle_s cannot be changed here"):
        config_mod.save_settings(cfg, {"analysis.set_idle_s": 30})
    with pytest.raises(ConfigError, match=r"web.pin_hash cannot be changed here"):
        config_mod.save_settings(cfg, {"web.pin_hash": config_mod.hash_pin("1234")})
    cfg.settings_path().write_text('[camera]\nsource = "clip.mp4"\n')
    with pytest.raises(ConfigError, match=r"settings.toml: camera.source does not belong there"):
        config_mod.build(None, {"station.state_dir": str(tmp_path)}, default_file=False)
    cfg.settings_path().write_text('lifter = "ana"\n')     # a key outside any section: named as it is
    with pytest.raises(ConfigError, match=r"settings.toml: lifter \(outside any \[section\]\) does not belong"):
        config_mod.build(None, {"station.state_dir": str(tmp_path)}, default_file=False)
    cfg.settings_path().write_text('[analysis]\ntarget_depth_deg = nan\n')
    with pytest.raises(ConfigError, match=r"settings file .*settings.toml: analysis.target_depth_deg = nan"):
        config_mod.build(None, {"station.state_dir": str(tmp_path)}, default_file=False)


def test_a_settings_save_that_cannot_be_written_changes_nothing(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cfg = config_mod.build(None, {"station.state_dir": str(blocker / "state")}, default_file=False)
    with pytest.raises(config_mod.SettingsNotSaved, match=r"settings not saved to .*nothing was changed"):
        config_mod.save_settings(cfg, {"analysis.target_depth_deg": -3})


def test_layers_file_then_settings_then_command_line(tmp_path):
    path = _write(tmp_path / "station.toml", f'[station]\nstate_dir = "{tmp_path}"\n[web]\npin = "1111"\n'
                                              '[analysis]\ntarget_depth_deg = -2\n')
    cfg = config_mod.load(path)
    config_mod.save_settings(cfg, {"analysis.target_depth_deg": -4})
    config_mod.save_settings(cfg, {"web.pin_hash": config_mod.hash_pin("2222")}, allowed=("web.pin_hash",))
    cfg = config_mod.load(path)
    assert cfg.analysis.target_depth_deg == -4.0
    assert config_mod.verify_pin(cfg.web.pin_hash, "2222") and not config_mod.verify_pin(cfg.web.pin_hash, "1111")
    assert config_mod.build(path, {"analysis.target_depth_deg": -6}).analysis.target_depth_deg == -6.0


# --- station.files ------------------------------------------------------------------------------

def test_write_atomic_modes(tmp_path):
    path = tmp_path / "secret"
    write_atomic(path, b"one")
    assert path.read_bytes() == b"one" and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o640)
    write_atomic(path, b"two")
    assert path.read_bytes() == b"two" and stat.S_IMODE(path.stat().st_mode) == 0o640, "an existing mode is kept"
    write_atomic(path, b"three", mode=0o644)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing-folder" / "x", b"")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret"]


def test_relative_paths_in_the_config_are_the_state_directorys(tmp_path, monkeypatch):
    """Resolved against the current directory, a relative model path moved when the station moved
    to its state directory at start (models/m.tflite became /tmp/models/m.tflite)."""
    cfg = config_mod.Config()
    cfg.station.state_dir = str(tmp_path / "state")
    cfg.model.path, cfg.store.path = "models/m.tflite", "history/station.db"
    monkeypatch.chdir("/tmp")
    assert cfg.model_path() == tmp_path / "state" / "models" / "m.tflite"
    assert cfg.db_path() == tmp_path / "state" / "history" / "station.db"
    cfg.model.path = "/opt/m.tflite"
    assert str(cfg.model_path()) == "/opt/m.tflite", "an absolute path stays"


def test_an_ipv6_host_is_bracketed_in_an_address():
    """`[web] host = "::1"` printed http://::1:8080/, which no browser opens."""
    assert config_mod.url_host("::1") == "[::1]" and config_mod.url_host("fe80::1") == "[fe80::1]"
    assert config_mod.url_host("127.0.0.1") == "127.0.0.1" and config_mod.url_host("station.local") == "station.local"
