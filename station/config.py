"""The station's one configuration object, built from a TOML file (tomllib) over defaults.

Every setting has a default, so an empty file (or none) is a working station. Validation names
the key, the value and what is allowed: a gym owner editing /etc/station/station.toml over SSH
must be told exactly which line is wrong.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.errors import StationError

DEFAULT_CONFIG_PATH = Path("/etc/station/station.toml")


class ConfigError(StationError):
    pass


def _spec(default, *, lo=None, hi=None, choices=None, doc=""):
    return field(default=default, metadata={"lo": lo, "hi": hi, "choices": choices, "doc": doc})


def _spec_list(default, *, lo=None, hi=None, doc=""):
    return field(default_factory=lambda: list(default), metadata={"lo": lo, "hi": hi, "choices": None, "doc": doc})


@dataclass
class ModelConfig:
    path: str = _spec("", doc="model file; empty = models/ beside the package, then /var/lib/station/models")
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
    path: str = _spec("", doc="SQLite file; empty = <state_dir>/station.db")
    retention_days: int = _spec(365, lo=1, hi=3650)
    max_db_mb: int = _spec(500, lo=10, hi=10_000)
    min_free_mb: int = _spec(200, lo=10, hi=100_000, doc="stop writing history below this free space")


@dataclass
class WebConfig:
    host: str = _spec("0.0.0.0")
    port: int = _spec(8080, lo=0, hi=65535, doc="0 = any free port (tests)")
    pin: str = _spec("", doc="4-8 digits; needed to change settings or delete data. Empty = changes disabled")
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
        return Path(self.store.path) if self.store.path else self.state_dir() / "station.db"

    def model_path(self) -> Path:
        if self.model.path:
            return Path(self.model.path)
        from station.pose.modelfile import DEFAULT_MODEL_DIR, LIGHTNING_INT8

        candidates = [DEFAULT_MODEL_DIR / LIGHTNING_INT8.filename, self.state_dir() / "models" / LIGHTNING_INT8.filename]
        return next((p for p in candidates if p.exists()), candidates[0])


_SECTION_CLASSES = {
    "station": StationConfig, "model": ModelConfig, "camera": CameraConfig, "pose": PoseConfig,
    "analysis": AnalysisConfig, "feedback": FeedbackConfig, "store": StoreConfig, "web": WebConfig,
}


def _check_value(key: str, f: dataclasses.Field, value: Any) -> Any:
    meta = f.metadata
    expected = type(f.default) if f.default is not dataclasses.MISSING else list
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is list:
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{key} = {value!r}: expected a list of integers")
        if not value:
            raise ConfigError(f"{key} = []: needs at least one entry")
        for item in value:
            if (meta["lo"] is not None and item < meta["lo"]) or (meta["hi"] is not None and item > meta["hi"]):
                raise ConfigError(f"{key} = {value!r}: each entry must be between {meta['lo']} and {meta['hi']}")
        if len(set(value)) != len(value):
            raise ConfigError(f"{key} = {value!r}: entries must be distinct")
        return list(value)
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        raise ConfigError(f"{key} = {value!r}: expected {expected.__name__}")
    if meta["choices"] and value not in meta["choices"]:
        raise ConfigError(f"{key} = {value!r}: allowed values are {', '.join(meta['choices'])}")
    if meta["lo"] is not None and value < meta["lo"] or meta["hi"] is not None and value > meta["hi"]:
        raise ConfigError(f"{key} = {value!r}: must be between {meta['lo']} and {meta['hi']}")
    return value


def from_dict(data: dict, source_path: str = "") -> Config:
    config = Config(source_path=source_path)
    for section, values in data.items():
        if section not in _SECTION_CLASSES:
            raise ConfigError(f"unknown section [{section}]; allowed sections are {', '.join(_SECTION_CLASSES)}")
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table of settings, got {values!r}")
        target = getattr(config, section)
        fields = {f.name: f for f in dataclasses.fields(target)}
        for key, value in values.items():
            if key not in fields:
                raise ConfigError(f"unknown key {section}.{key}; allowed keys in [{section}] are {', '.join(fields)}")
            setattr(target, key, _check_value(f"{section}.{key}", fields[key], value))
    pin = config.web.pin
    if pin and not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ConfigError(f"web.pin = {pin!r}: must be 4 to 8 digits")
    return config


def load(path: str | Path | None) -> Config:
    """Read `path` (None: /etc/station/station.toml if it exists, else defaults)."""
    if path is None:
        if not DEFAULT_CONFIG_PATH.exists():
            return Config()
        path = DEFAULT_CONFIG_PATH
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return from_dict(data, str(path))


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


def to_toml(config: Config) -> str:
    lines = []
    for section, values in to_dict(config).items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)


def save(config: Config, path: str | Path) -> None:
    """Write atomically (temp file + rename) so a power cut never leaves half a config."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(to_toml(config))
    os.replace(tmp, path)


def updated(config: Config, changes: dict[str, Any]) -> Config:
    """A validated copy with 'section.key' changes applied (used by the settings page)."""
    data = to_dict(config)
    for dotted, value in changes.items():
        section, _, key = dotted.partition(".")
        data.setdefault(section, {})[key] = value
    return from_dict(data, config.source_path)
