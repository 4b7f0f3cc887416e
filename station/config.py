"""The station's one configuration object: defaults <- the TOML file <- the settings file <- the
command line, every layer through the same validator (`from_dict`).

Every setting has a default, so an empty file (or none) is a working station. Validation names
the key, the value and what is allowed: a gym owner editing /etc/station/station.toml over SSH
must be told exactly which line is wrong.

The hand-written file is never written by the station: what the page changes (and the PIN set by
`station pin set`) goes to its own small file, <state_dir>/settings.toml, overlaid at load. So a
save keeps the owner's comments and mode and never persists a command-line override.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from station.errors import StationError

DEFAULT_CONFIG_PATH = Path("/etc/station/station.toml")


class ConfigError(StationError):
    pass


_T = TypeVar("_T")


def _spec(default: _T, *, lo: float | None = None, hi: float | None = None, choices: tuple[str, ...] | None = None,
          doc: str = "") -> _T:
    return field(default=default, metadata={"lo": lo, "hi": hi, "choices": choices, "doc": doc})


def _spec_list(default: list[_T], *, lo: float | None = None, hi: float | None = None, doc: str = "") -> list[_T]:
    return field(default_factory=lambda: list(default), metadata={"lo": lo, "hi": hi, "choices": None, "doc": doc})


@dataclass
class ModelConfig:
    path: str = _spec("", doc="model file (relative: in <state_dir>); empty = models/ beside the package, "
                               "then <state_dir>/models")
    threads: int = _spec(0, lo=0, hi=8, doc="inference threads; 0 = cores - 1 (3 on a Pi 4/5), leaving one for capture")
    runtime: str = _spec("auto", choices=("auto", "litert", "tflite"), doc="which TFLite runtime")


@dataclass
class CameraConfig:
    source: str = _spec("camera", doc="'camera', 'synthetic', or a video/image/folder path")
    width: int = _spec(640, lo=160, hi=1920)
    height: int = _spec(480, lo=120, hi=1080)
    fps: float = _spec(30.0, lo=1.0, hi=120.0)
    exposure_us: int = _spec(0, lo=0, hi=200_000, doc="0 = auto; fixed exposure avoids flicker banding")
    analogue_gain: float = _spec(0.0, lo=0.0, hi=16.0, doc="0 = auto")


@dataclass
class PoseConfig:
    crop_tracking: bool = _spec(True)
    min_score: float = _spec(0.2, lo=0.0, hi=1.0)
    second_look: bool = _spec(True, doc="look again at the legs when a plate hides the hips (one more inference "
                                        "on those frames)")
    upright_check: bool = _spec(True, doc="near each bottom, look for a rack upright in front of the knees or hips; "
                                          "such a rep gets no depth (false: trust the keypoints)")


@dataclass
class AnalysisConfig:
    target_depth_deg: float = _spec(0.0, lo=-40.0, hi=40.0,
                                    doc="thigh angle that counts as target depth (0 = parallel, negative = below)")
    wink_sensitivity: str = _spec("normal", choices=("low", "normal", "high"))
    safe_depth_margin_deg: float = _spec(5.0, lo=0.0, hi=20.0,
                                         doc="suggested depth sits this far above the wink onset")
    set_idle_s: float = _spec(20.0, lo=3.0, hi=600.0, doc="standing still this long ends a set")
    min_rep_range_deg: float = _spec(35.0, lo=10.0, hi=120.0, doc="thigh travel that makes a rep")
    smoothing_min_cutoff_hz: float = _spec(1.5, lo=0.1, hi=30.0, doc="One Euro filter")
    smoothing_beta: float = _spec(0.05, lo=0.0, hi=10.0, doc="One Euro filter speed coefficient")


@dataclass
class FeedbackConfig:
    led_pins: list = _spec_list([17, 27, 22, 5, 6, 13, 26, 23, 24, 25], lo=2, hi=27,
                                doc="BCM pins, bottom segment first")
    led_active_high: bool = _spec(True)
    led_pwm: bool = _spec(False, doc="PWM LEDs allow brightness < 1")
    brightness: float = _spec(1.0, lo=0.05, hi=1.0)
    buzzer_pin: int = _spec(18, lo=2, hi=27)
    buzzer_type: str = _spec("active", choices=("active", "passive", "none"))
    mode: str = _spec("full", choices=("full", "lights_only", "off"),
                      doc="lights_only mutes the buzzer; off keeps everything dark")
    terminal_bar: bool = _spec(True, doc="draw the bar in the terminal when it is a TTY")


@dataclass
class StoreConfig:
    path: str = _spec("", doc="SQLite file (relative: in <state_dir>); empty = <state_dir>/station.db")
    retention_days: int = _spec(365, lo=1, hi=3650)
    max_db_mb: int = _spec(500, lo=10, hi=10_000)
    min_free_mb: int = _spec(200, lo=10, hi=100_000, doc="stop writing history below this free space")


@dataclass
class WebConfig:
    host: str = _spec("0.0.0.0")
    port: int = _spec(8080, lo=0, hi=65535, doc="0 = any free port (tests)")
    pin_hash: str = _spec("", doc="the PIN (4-8 digits) that changes settings or deletes data, hashed "
                                  "(station pin set; web.pin = \"1234\" in the config file is hashed at load). "
                                  "Empty = changes disabled")
    preview: bool = _spec(False, doc="low-rate camera preview with the skeleton, to aim the camera")
    threads: int = _spec(4, lo=1, hi=16)


@dataclass
class StationConfig:
    state_dir: str = _spec("", doc="empty = $STATE_DIRECTORY (systemd) or ~/.local/state/station")
    lifter: str = _spec("default", doc="lifter name new sets are filed under")
    log_level: str = _spec("info", choices=("debug", "info", "warning", "error"))


@dataclass
class Config:
    station: StationConfig = field(default_factory=StationConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    web: WebConfig = field(default_factory=WebConfig)
    source_path: str = ""  # where it was read from ("" = defaults only); not a TOML key

    # --- derived locations -------------------------------------------------------------
    def state_dir(self) -> Path:
        if self.station.state_dir:
            return Path(self.station.state_dir)
        if os.environ.get("STATE_DIRECTORY"):
            return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
        return Path.home() / ".local" / "state" / "station"

    def db_path(self) -> Path:
        # a relative path is the state directory's, whatever the current directory is by then (the
        # station may move there at start, docs/install.md): resolved against it, the same all run
        return self.state_dir() / self.store.path if self.store.path else self.state_dir() / "station.db"

    def settings_path(self) -> Path:
        """Where the page's changes and `station pin set` go (never the hand-written file)."""
        return self.state_dir() / "settings.toml"

    def model_path(self) -> Path:
        if self.model.path:
            return self.state_dir() / self.model.path     # an absolute path stays as it is
        from station.pose.modelfile import DEFAULT_MODEL_DIR, LIGHTNING_INT8

        name = LIGHTNING_INT8.filename
        candidates = [DEFAULT_MODEL_DIR / name, self.state_dir() / "models" / name]
        return next((p for p in candidates if p.exists()), candidates[0])


_SECTION_CLASSES = {
    "station": StationConfig, "model": ModelConfig, "camera": CameraConfig, "pose": PoseConfig,
    "analysis": AnalysisConfig, "feedback": FeedbackConfig, "store": StoreConfig, "web": WebConfig,
}

# what the settings page may change, and what the settings file may hold (the page's keys + the PIN)
PAGE_KEYS = ("analysis.target_depth_deg", "analysis.wink_sensitivity", "feedback.mode", "feedback.brightness",
             "station.lifter")
SETTINGS_KEYS = PAGE_KEYS + ("web.pin_hash",)


class SettingsNotSaved(ConfigError):
    """The settings file could not be written; nothing was applied."""


# --- one validator for every value ------------------------------------------------------------

def _check_value(key: str, f: dataclasses.Field, value: Any) -> Any:
    meta = f.metadata
    expected = type(f.default) if f.default is not dataclasses.MISSING else list
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    shown = "(hidden)" if key.endswith("pin_hash") else repr(value)   # a PIN put there by mistake is not echoed
    if expected is list:
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{key} = {shown}: expected a list of integers")
        if not value:
            raise ConfigError(f"{key} = []: needs at least one entry")
        for item in value:
            if (meta["lo"] is not None and item < meta["lo"]) or (meta["hi"] is not None and item > meta["hi"]):
                raise ConfigError(f"{key} = {shown}: each entry must be between {meta['lo']} and {meta['hi']}")
        if len(set(value)) != len(value):
            raise ConfigError(f"{key} = {shown}: entries must be distinct")
        return list(value)
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        raise ConfigError(f"{key} = {shown}: expected {expected.__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        # NaN compares false with everything, so a range check alone lets it through
        raise ConfigError(f"{key} = {shown}: must be a finite number"
                          + (f" between {meta['lo']} and {meta['hi']}" if meta["lo"] is not None else ""))
    if expected is str and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(f"{key} = {shown}: control characters are not allowed")
    if meta["choices"] and value not in meta["choices"]:
        raise ConfigError(f"{key} = {shown}: allowed values are {', '.join(meta['choices'])}")
    if meta["lo"] is not None and value < meta["lo"] or meta["hi"] is not None and value > meta["hi"]:
        raise ConfigError(f"{key} = {shown}: must be between {meta['lo']} and {meta['hi']}")
    return value


# --- the PIN: only its scrypt hash is kept --------------------------------------------------------

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1   # 16 MB and ~0.1-0.2 s per try on a Pi: slows any guessing
SCRYPT_MAX_COST = 2 ** 19   # n*r*p a stored hash may ask of one check: 128*n*r <= 64 MB, 4x the time of the above
SCRYPT_MAX_P = 16
SCRYPT_MAXMEM = 2 ** 26 + 2 ** 20   # the check's memory limit: those 64 MB plus OpenSSL's 128*r*(p+2) bytes besides
_PIN_RE = re.compile(r"[0-9]{4,8}")             # ASCII only: '１２３４'.isdigit() is True too


class PinCheckError(ConfigError):
    """The stored web.pin_hash cannot be checked on this station: no PIN can be right, and none is wrong."""


def url_host(host: str) -> str:
    """An IPv6 address goes in brackets in an address bar: http://[::1]:8080/, not http://::1:8080/."""
    return f"[{host}]" if ":" in host else host


def check_pin(pin: Any, key: str = "web.pin") -> str:
    if not isinstance(pin, str) or not _PIN_RE.fullmatch(pin):
        # never the value: 987654 without quotes, or 12a4, is the owner's PIN with a slip in it, and
        # this line goes to the journal
        if not isinstance(pin, str):
            kind = "a number" if isinstance(pin, (int, float)) and not isinstance(pin, bool) else type(pin).__name__
            shown = f"(hidden; {kind}, not a quoted string)"
        elif all(ch.isdigit() for ch in pin) and not pin.isascii():
            shown = "(hidden; its digits are not the plain 0-9)"     # full-width digits from a phone keyboard
        elif not all(ch.isdigit() for ch in pin):
            shown = "(hidden; it holds characters other than digits)"
        else:
            shown = "(hidden)"
        raise ConfigError(f"{key} = {shown}: must be 4 to 8 digits 0-9, as a quoted string")
    return pin


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(pin: str) -> str:
    """'scrypt$n$r$p$salt_b64$hash_b64' for a valid PIN (ConfigError otherwise)."""
    check_pin(pin)
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode("ascii"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _parse_pin_hash(pin_hash: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = pin_hash.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isascii() and p.isdigit() and len(p) <= 12
                                                          for p in parts[1:4]):
        return None
    n, r, p = (int(x) for x in parts[1:4])
    try:
        salt, digest = (base64.b64decode(x, validate=True) for x in parts[4:6])
    except (binascii.Error, ValueError):
        return None
    return (n, r, p, salt, digest) if len(salt) >= 8 and len(digest) >= 16 else None


def scrypt_problem(n: int, r: int, p: int) -> str | None:
    """Why this station would not check a PIN against scrypt(n, r, p), or None. The limits bound what
    one check costs (every web thread may run one at once), and OpenSSL refuses the rest at check time
    with "memory limit exceeded"; config load refuses them first, so no such hash reaches the page."""
    if n < 2 ** 10 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= SCRYPT_MAX_P or n * r * p > SCRYPT_MAX_COST:
        return (f"scrypt n={n} r={r} p={p} is not allowed: n a power of 2 from 1024, r 1 to 32, p 1 to "
                f"{SCRYPT_MAX_P}, and n*r*p at most {SCRYPT_MAX_COST} (64 MB and 4x the time of the "
                f"n={SCRYPT_N} r={SCRYPT_R} p={SCRYPT_P} that `station pin set` writes)")
    if n >= 2 ** (16 * r):
        return f"scrypt n={n} r={r} p={p} is not allowed: with r = 1, n must be below 65536 (scrypt's own rule)"
    return None


def verify_pin(pin_hash: str, attempt: Any) -> bool:
    """True when `attempt` is the PIN behind `pin_hash`; False for no PIN set, a malformed hash or any
    odd input (non-ASCII, not a string, too long). The comparison takes constant time. A hash whose
    scrypt cannot run here is PinCheckError, not an exception the page turns into a 500."""
    parsed = _parse_pin_hash(pin_hash) if pin_hash else None
    if parsed is None:
        return False
    n, r, p, salt, digest = parsed
    problem = scrypt_problem(n, r, p)
    if problem:
        raise PinCheckError(f"web.pin_hash = (hidden): {problem}")
    ok_input = isinstance(attempt, str) and attempt.isascii() and len(attempt) <= 64
    guess = attempt.encode("ascii") if ok_input else b"\0"   # still hash: a bad input costs the same time
    try:
        actual = hashlib.scrypt(guess, salt=salt, n=n, r=r, p=p, dklen=len(digest), maxmem=SCRYPT_MAXMEM)
    except (ValueError, MemoryError) as exc:   # OpenSSL's "memory limit exceeded", or a Pi out of memory
        raise PinCheckError(f"web.pin_hash = (hidden): scrypt n={n} r={r} p={p} failed on this station "
                            f"({exc})") from None
    return hmac.compare_digest(actual, digest) and ok_input


def _hash_plain_pin(data: dict) -> dict:
    """A plain web.pin (owners set it over SSH) becomes web.pin_hash here: the PIN itself is never kept."""
    web = data.get("web")
    if not isinstance(web, dict) or "pin" not in web:
        return data
    web = dict(web)
    pin = web.pop("pin")
    if "pin_hash" in web:
        raise ConfigError("web.pin and web.pin_hash are both set: keep one (station pin set writes pin_hash)")
    if pin != "":
        web["pin_hash"] = hash_pin(check_pin(pin))
    return {**data, "web": web}


# --- building a Config ------------------------------------------------------------------------------

LIFTER_NAME_RULE = ("lifter names are 1 to 40 letters, digits, spaces, '-', '_' or '.', with at least one "
                    "letter or digit and no space at either end")


def lifter_name_ok(name: str) -> bool:
    """One rule for the config file, the settings page and the sets filed under the name: the page
    strips what is typed, so "  " or " Ana" from the file would be a name the page cannot give."""
    return (1 <= len(name) <= 40 and all(c.isalnum() or c in " -_." for c in name)
            and name == name.strip() and any(c.isalnum() for c in name))


def from_dict(data: dict, source_path: str = "") -> Config:
    """The one validator: every layer (file, settings file, command line, page) goes through here."""
    data = _hash_plain_pin(data)
    config = Config(source_path=source_path)
    for section, values in data.items():
        if section not in _SECTION_CLASSES and not isinstance(values, dict):
            homes = [name for name, cls in _SECTION_CLASSES.items()
                     if section in {f.name for f in dataclasses.fields(cls)}]
            where = f"put it under [{homes[0]}]" if len(homes) == 1 else "every setting belongs to a [section]"
            shown = "(hidden)" if section in ("pin", "pin_hash") else repr(values)
            raise ConfigError(f"{section} = {shown} is outside any section: {where} "
                              f"(`station config show` lists each key under its section)")
        if section not in _SECTION_CLASSES:
            raise ConfigError(f"unknown section [{section}]; allowed sections are {', '.join(_SECTION_CLASSES)}")
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table of settings, got {values!r}")
        target = getattr(config, section)
        fields = {f.name: f for f in dataclasses.fields(target)}
        for key, value in values.items():
            if key not in fields:
                allowed = ", ".join(fields) + (", pin" if section == "web" else "")
                raise ConfigError(f"unknown key {section}.{key}; allowed keys in [{section}] are {allowed}")
            setattr(target, key, _check_value(f"{section}.{key}", fields[key], value))
    if config.feedback.buzzer_pin in config.feedback.led_pins:
        raise ConfigError(f"feedback.buzzer_pin = {config.feedback.buzzer_pin}: is also one of feedback.led_pins "
                          f"{config.feedback.led_pins}; the buzzer needs a pin of its own (docs/wiring.md)")
    if not lifter_name_ok(config.station.lifter):
        raise ConfigError(f"station.lifter = {config.station.lifter!r}: {LIFTER_NAME_RULE}")
    if not config.camera.source.strip():    # "" is the current folder to a path: the wrong error later
        raise ConfigError("camera.source is empty: give 'camera', 'synthetic', or a video, image or folder path")
    if not config.web.host.strip():         # passed here, then `run` failed on "cannot be resolved"
        raise ConfigError("web.host is empty: give 0.0.0.0 (every network), 127.0.0.1 (this machine only) "
                          "or one of this machine's addresses")
    if config.web.pin_hash:
        parsed = _parse_pin_hash(config.web.pin_hash)
        if parsed is None:
            raise ConfigError("web.pin_hash is not a hash made by `station pin set` (scrypt$n$r$p$salt$hash); "
                              "run `station pin set` again, or put web.pin = \"1234\" in the config file")
        problem = scrypt_problem(*parsed[:3])
        if problem:   # it loaded, and then every PIN typed on the page was a 500
            raise ConfigError(f"web.pin_hash = (hidden): {problem}; delete it and run `station pin set`, "
                              "or write web.pin = \"1234\" in its place")
    return config


def _nest(dotted: dict[str, Any]) -> dict:
    nested: dict = {}
    for name, value in dotted.items():
        section, dot, key = name.partition(".")
        if not dot:
            raise ConfigError(f"{name!r}: a setting is named 'section.key'")
        nested.setdefault(section, {})[key] = value
    return nested


def _merge(*layers: dict) -> dict:
    out: dict = {}
    for layer in layers:
        for section, values in layer.items():
            out[section] = {**out.get(section, {}), **values} if isinstance(values, dict) else values
    return out


def _layer(data: dict, origin: str) -> dict:
    """One layer checked on its own, so an error says where the bad value is."""
    try:
        data = _hash_plain_pin(data)
        from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    return data


def _read_toml(path: Path, what: str) -> dict:
    """A TOML file, or a ConfigError in one line for whatever is wrong with it."""
    try:
        raw = path.read_bytes()
        # Windows Notepad saves UTF-8 with a byte-order mark, which TOML does not allow: the file is
        # still the text its owner wrote, so it is read as that
        return tomllib.loads(raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {path} is a folder; it must be a TOML file") from None
    except PermissionError:
        raise ConfigError(f"{what} {path} cannot be read by this user (run as root or the station user)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path} cannot be read: {exc.strerror}") from None


def _read_settings(path: Path) -> dict:
    if not path.exists():
        return {}
    data = _read_toml(path, "settings file")
    for section, values in data.items():
        for key in values if isinstance(values, dict) else [""]:
            if f"{section}.{key}" not in SETTINGS_KEYS:
                name = f"{section}.{key}" if key else f"{section} (outside any [section])"
                raise ConfigError(f"settings file {path}: {name} does not belong there (it holds only "
                                  f"{', '.join(SETTINGS_KEYS)}); put it in the config file, or delete {path} "
                                  f"to go back to the config file's values")
    return _layer(data, f"settings file {path}")


def file_sets(path: str | Path, dotted_key: str) -> bool:
    """Does the config file itself set this key ('web.host')? For the demo, whose own defaults give
    way only to what a file says outright."""
    section, _, key = dotted_key.partition(".")
    values = _read_toml(Path(path), "config file").get(section)
    return isinstance(values, dict) and key in values


def build(path: str | Path | None = None, overrides: dict[str, Any] | None = None, *,
          default_file: bool = True) -> Config:
    """defaults <- TOML file <- settings file <- command-line overrides ('section.key': value).

    path None: /etc/station/station.toml when it exists and default_file, else no file. The settings
    file lives in the state dir that the file and the overrides give."""
    if path is None and default_file and DEFAULT_CONFIG_PATH.exists():
        path = DEFAULT_CONFIG_PATH
    file_layer = _layer(_read_toml(Path(path), "config file"), f"config file {path}") if path is not None else {}
    cli_layer = _layer(_nest(overrides or {}), "command line")
    state = from_dict({"station": _merge(file_layer, cli_layer).get("station", {})})
    settings_layer = _read_settings(state.settings_path())
    return from_dict(_merge(file_layer, settings_layer, cli_layer), str(path) if path is not None else "")


def load(path: str | Path | None) -> Config:
    """Read `path` (None: /etc/station/station.toml if it exists, else defaults) and the settings file."""
    return build(path)


def updated(config: Config, changes: dict[str, Any]) -> Config:
    """A validated copy with 'section.key' changes applied."""
    return from_dict(_merge(to_dict(config), _nest(changes)), config.source_path)


def save_settings(config: Config, changes: dict[str, Any], allowed: tuple[str, ...] = PAGE_KEYS) -> Config:
    """Validate `changes`, add them to the settings file (atomically, its mode kept, 0600 when new) and
    return the new Config. All or nothing: SettingsNotSaved when the file cannot be written."""
    from station.files import write_atomic

    for name in changes:
        if name not in allowed:
            raise ConfigError(f"{name} cannot be changed here (allowed: {', '.join(allowed)}); "
                              f"edit the config file instead")
    new = updated(config, changes)
    path = config.settings_path()
    kept = _merge(_read_settings(path), _nest({name: getattr(getattr(new, name.split(".")[0]), name.split(".")[1])
                                                for name in changes}))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, _toml_text(kept, "# Written by the station (settings page, station pin set); "
                                            "the config file is never changed.\n").encode())
    except OSError as exc:
        raise SettingsNotSaved(f"settings not saved to {path} ({exc.strerror or exc}); nothing was changed") from None
    return new


# --- writing TOML -------------------------------------------------------------------------------------

def to_dict(config: Config) -> dict:
    return {name: dataclasses.asdict(getattr(config, name)) for name in _SECTION_CLASSES}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _toml_text(data: dict, header: str = "") -> str:
    lines = [header] if header else []
    for section, values in data.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)


def to_toml(config: Config, *, redact: bool = True) -> str:
    """The whole configuration as TOML. redact: the PIN hash is shown only as set or not (a 4-digit
    PIN's hash is guessed offline in seconds), as a comment, so the text still loads."""
    data = to_dict(config)
    if redact and data["web"]["pin_hash"]:
        data["web"].pop("pin_hash")
        return _toml_text(data) + "# web.pin_hash: set (hidden); `station pin set` changes it\n"
    return _toml_text(data)
