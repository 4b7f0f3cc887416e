"""Pose stage: MoveNet SinglePose through LiteRT (or tflite-runtime), with MoveNet's crop tracking.

The model sees a square crop resized to its input (192 px for Lightning). The first frame, and any
frame after the person is lost, is the whole frame padded to a centred square; after that the crop
follows the lifter (MoveNet's own cropping algorithm), which is what makes a small person in a
640x480 frame accurate enough to measure joint angles.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from station.keypoints import KP, Keypoints

log = logging.getLogger(__name__)

TFLITE_MAGIC = b"TFL3"  # flatbuffer file identifier at byte offset 4
VALID_INPUT_SIZES = (192, 256)  # Lightning, Thunder
MIN_SCORE = 0.2
TORSO_EXPANSION = 1.9
BODY_EXPANSION = 1.2
TORSO_JOINTS = (KP.LEFT_SHOULDER, KP.RIGHT_SHOULDER, KP.LEFT_HIP, KP.RIGHT_HIP)
# The crop never shrinks below this share of the lifter's stable size: a plate or a bar held in
# front of the body pulls MoveNet's points together, and a crop that follows them loses the legs.
MIN_CROP_SHARE = 0.85
# A crop this much smaller than the stable size is a collapse: look at the whole frame again.
COLLAPSE_SHARE = 0.6
# The stable size follows a lifter who walks away, but slowly (half-life in seconds).
STABLE_SIZE_HALF_LIFE_S = 4.0


class ModelError(Exception):
    """The model file cannot be used; the message names the file and what is wrong."""


class RuntimeMissingError(ModelError):
    """Neither LiteRT nor tflite-runtime can be imported."""


@dataclass(frozen=True)
class RuntimeInfo:
    name: str  # "ai-edge-litert" or "tflite-runtime"
    version: str


def load_runtime(preference: str = "auto"):
    """Return (Interpreter class, RuntimeInfo). preference: auto | litert | tflite."""
    errors = []
    order = {"auto": ("litert", "tflite"), "litert": ("litert",), "tflite": ("tflite",)}[preference]
    for name in order:
        try:
            if name == "litert":
                from ai_edge_litert.interpreter import Interpreter
                import ai_edge_litert as pkg

                return Interpreter, RuntimeInfo("ai-edge-litert", getattr(pkg, "__version__", "?"))
            from tflite_runtime.interpreter import Interpreter
            import tflite_runtime as pkg

            return Interpreter, RuntimeInfo("tflite-runtime", getattr(pkg, "__version__", "?"))
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise RuntimeMissingError(
        "no TFLite runtime could be imported (" + "; ".join(errors) + "). "
        "Install one: pip install ai-edge-litert (preferred) or, on Python <= 3.11 with numpy < 2, "
        "pip install tflite-runtime==2.14.0"
    )


def check_model_file(path: Path) -> None:
    """Cheap checks before the runtime sees the file, so errors name the file, not C++ internals."""
    if not path.exists():
        raise ModelError(
            f"model file {path} does not exist; install it with "
            f"`station model fetch` or `station model fetch --from PATH`"
        )
    if not path.is_file():
        raise ModelError(f"model file {path} is not a regular file")
    size = path.stat().st_size
    if size < 1024:
        raise ModelError(f"model file {path} is {size} bytes: truncated or empty (expected ~2.9 MB)")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head[4:8] != TFLITE_MAGIC:
        raise ModelError(f"model file {path} is not a TFLite model (no 'TFL3' identifier in its header)")


# Files we ship and have tested: loaded directly. Anything else is first opened in a child
# process, because tflite-runtime 2.14 has no flatbuffer verifier and segfaults on a truncated file.
KNOWN_MODEL_SHA256 = {"cd7cc22fa946e5d146a7b98d496853e1923e22828d3972d579973f27f91bb105"}

_PROBE = """
import json, sys
from station.pose import load_runtime
cls, _ = load_runtime(sys.argv[2])
it = cls(model_path=sys.argv[1], num_threads=1)
it.allocate_tensors()
print(json.dumps({"ok": True}))
"""


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def probe_model_in_child(path: Path, runtime: str) -> None:
    """Load the model in a throw-away interpreter process; a crash there becomes a ModelError."""
    try:
        result = subprocess.run([sys.executable, "-c", _PROBE, str(path), runtime], capture_output=True,
                                text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise ModelError(f"model file {path} hung the runtime while loading") from None
    if result.returncode < 0:
        raise ModelError(f"model file {path} crashed the runtime while loading (signal {-result.returncode}): "
                         "it is corrupt or truncated")
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise ModelError(f"model file {path} could not be loaded: it is corrupt or truncated ({last[:200]})")


class MoveNet:
    """The bare model: square uint8 RGB in, (17, 3) [y, x, score] normalised to the square out."""

    def __init__(self, model_path: str | Path, num_threads: int = 0, runtime: str = "auto"):
        self.model_path = Path(model_path)
        num_threads = num_threads or max(1, (os.cpu_count() or 2) - 1)
        check_model_file(self.model_path)
        interpreter_cls, self.runtime = load_runtime(runtime)
        if _file_sha256(self.model_path) not in KNOWN_MODEL_SHA256:
            probe_model_in_child(self.model_path, runtime)
        try:
            self._interpreter = interpreter_cls(model_path=str(self.model_path), num_threads=num_threads)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"model file {self.model_path} could not be loaded by {self.runtime.name}: "
                             f"it is corrupt or truncated ({str(exc).splitlines()[0][:200]})") from None
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"model file {self.model_path} has {len(inputs)} inputs and {len(outputs)} outputs; "
                             "MoveNet SinglePose has one of each")
        in_shape = tuple(int(v) for v in inputs[0]["shape"])
        out_shape = tuple(int(v) for v in outputs[0]["shape"])
        if (len(in_shape) != 4 or in_shape[0] != 1 or in_shape[3] != 3 or in_shape[1] != in_shape[2]
                or in_shape[1] not in VALID_INPUT_SIZES or inputs[0]["dtype"] != np.uint8):
            raise ModelError(
                f"model file {self.model_path} has input {in_shape} {np.dtype(inputs[0]['dtype']).name}; "
                "expected 1x192x192x3 uint8 (Lightning) or 1x256x256x3 uint8 (Thunder)")
        if out_shape != (1, 1, 17, 3):
            raise ModelError(f"model file {self.model_path} has output {out_shape}; expected (1, 1, 17, 3) "
                             "(MoveNet SinglePose keypoints)")
        self.input_size = in_shape[1]
        self.num_threads = num_threads
        self._input_index = inputs[0]["index"]
        self._output_index = outputs[0]["index"]
        log.info("pose model %s on %s %s, %d thread(s)", self.model_path.name, self.runtime.name,
                 self.runtime.version, num_threads)

    def infer(self, square_rgb: np.ndarray) -> np.ndarray:
        """square_rgb: (S, S, 3) uint8. Returns a (17, 3) float32 view that the next call overwrites."""
        self._interpreter.set_tensor(self._input_index, square_rgb[np.newaxis])
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output_index)[0, 0]

    def time_inference(self, runs: int = 20) -> float:
        """Median milliseconds per invoke on a blank input (for doctor and benchmarks)."""
        blank = np.zeros((self.input_size, self.input_size, 3), np.uint8)
        self.infer(blank)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            self.infer(blank)
            times.append((time.perf_counter() - start) * 1000)
        return float(np.median(times))


@dataclass(frozen=True)
class CropRegion:
    """A square in frame pixels; it may reach past the frame edges (that part is fed as black)."""

    x0: float
    y0: float
    side: float


def full_frame_region(width: int, height: int) -> CropRegion:
    side = float(max(width, height))
    return CropRegion((width - side) / 2, (height - side) / 2, side)


def next_crop_region(points: np.ndarray, width: int, height: int, min_score: float = MIN_SCORE) -> CropRegion:
    """MoveNet's cropping algorithm: centre on the mid-hip, size from torso and body extent."""
    scores = points[:, 2]
    hip_seen = scores[KP.LEFT_HIP] >= min_score or scores[KP.RIGHT_HIP] >= min_score
    shoulder_seen = scores[KP.LEFT_SHOULDER] >= min_score or scores[KP.RIGHT_SHOULDER] >= min_score
    if not (hip_seen and shoulder_seen):
        return full_frame_region(width, height)
    cx = (points[KP.LEFT_HIP, 0] + points[KP.RIGHT_HIP, 0]) / 2
    cy = (points[KP.LEFT_HIP, 1] + points[KP.RIGHT_HIP, 1]) / 2
    torso = points[list(TORSO_JOINTS), :2]
    torso_range = float(np.max(np.abs(torso - (cx, cy))))
    confident = points[scores >= min_score, :2]
    body_range = float(np.max(np.abs(confident - (cx, cy)))) if len(confident) else 0.0
    half = max(torso_range * TORSO_EXPANSION, body_range * BODY_EXPANSION)
    half = min(half, max(cx, width - cx, cy, height - cy))
    if half > max(width, height) / 2 or half < 4:
        return full_frame_region(width, height)
    return CropRegion(float(cx - half), float(cy - half), float(2 * half))


class CropResizer:
    """Nearest-neighbour crop-and-resize into a reused buffer.

    Measured on the dev machine: ~0.15 ms for 640x480 -> 192x192, against ~0.9-1.3 ms for Pillow's
    bilinear paths; the model's accuracy on the peer suites is the same (see tests). All buffers are
    allocated once; a frame only costs index arithmetic and one gather.
    """

    def __init__(self, size: int):
        self.size = size
        self.output = np.zeros((size, size, 3), np.uint8)
        self._centres = np.arange(size, dtype=np.float64) + 0.5
        self._coord = np.empty(size, np.float64)
        self._rows = np.empty(size, np.intp)
        self._cols = np.empty(size, np.intp)
        self._index = np.empty((size, size), np.intp)
        self._flat_out = self.output.reshape(-1, 3)

    def _sample_positions(self, start: float, scale: float, limit: int, out: np.ndarray) -> tuple[int, int]:
        np.multiply(self._centres, scale, out=self._coord)
        self._coord += start
        np.floor(self._coord, out=self._coord)
        first = int(np.searchsorted(self._coord, 0, side="left"))
        last = int(np.searchsorted(self._coord, limit, side="left"))
        np.clip(self._coord, 0, limit - 1, out=self._coord)
        np.copyto(out, self._coord, casting="unsafe")
        return first, last

    def __call__(self, frame: np.ndarray, region: CropRegion) -> np.ndarray:
        height, width = frame.shape[:2]
        if not frame.flags.c_contiguous:
            frame = np.ascontiguousarray(frame)
        scale = region.side / self.size
        row0, row1 = self._sample_positions(region.y0, scale, height, self._rows)
        col0, col1 = self._sample_positions(region.x0, scale, width, self._cols)
        np.multiply(self._rows[:, np.newaxis], width, out=self._index)
        self._index += self._cols
        np.take(frame.reshape(-1, 3), self._index.reshape(-1), axis=0, out=self._flat_out)
        out = self.output
        out[:row0] = 0
        out[row1:] = 0
        out[:, :col0] = 0
        out[:, col1:] = 0
        return out


class PoseEstimator:
    """Frames in, Keypoints out, tracking the crop between frames when enabled."""

    @classmethod
    def from_config(cls, cfg, crop_tracking: bool | None = None) -> "PoseEstimator":
        """The model and estimator as [model] and [pose] say (one place for the CLI and the runner)."""
        model = MoveNet(cfg.model_path(), num_threads=cfg.model.threads, runtime=cfg.model.runtime)
        tracking = cfg.pose.crop_tracking if crop_tracking is None else crop_tracking
        return cls(model, crop_tracking=tracking, min_score=cfg.pose.min_score)

    def __init__(self, model: MoveNet, crop_tracking: bool = True, min_score: float = MIN_SCORE):
        self.model = model
        self.crop_tracking = crop_tracking
        self.min_score = min_score
        self._resize = CropResizer(model.input_size)
        self._region: CropRegion | None = None
        self._frame_shape: tuple[int, int] | None = None
        self._stable_side = 0.0        # the lifter's usual crop side (px), slowly decaying maximum
        self._last_t: float | None = None
        self.collapses = 0             # crops that collapsed and fell back to the whole frame

    def reset(self) -> None:
        self._region = None
        self._stable_side = 0.0
        self._last_t = None

    def _track(self, points: np.ndarray, width: int, height: int, timestamp: float) -> CropRegion:
        """MoveNet's next crop, held to the lifter's stable size (plates, bars, racks)."""
        region = next_crop_region(points, width, height, self.min_score)
        full = full_frame_region(width, height)
        dt = 0.0 if self._last_t is None else max(0.0, timestamp - self._last_t)
        self._last_t = timestamp
        self._stable_side *= 0.5 ** (dt / STABLE_SIZE_HALF_LIFE_S)
        if region == full:
            return region
        if self._stable_side and region.side < COLLAPSE_SHARE * self._stable_side:
            self.collapses += 1
            return full
        self._stable_side = max(self._stable_side, region.side)
        side = max(region.side, MIN_CROP_SHARE * self._stable_side)
        if side > region.side:
            grow = (side - region.side) / 2
            region = CropRegion(region.x0 - grow, region.y0 - grow, side)
        return region

    def track(self, frames, max_fps: float | None = None):
        """Keypoints for each (timestamp, frame), as a station that manages max_fps would see them.

        A Pi slower than its camera does not take every k-th frame: when the model is done it takes
        the newest frame there is. So a frame is used when the station is idle at its timestamp, or
        when it is the newest one the moment the station frees up; each one keeps it busy 1/max_fps.
        """
        if not max_fps:
            for timestamp, frame in frames:
                yield self.estimate(frame, timestamp)
            return
        period = 1.0 / max_fps
        busy_until = -np.inf
        pending = None                      # the newest frame while the station is busy
        for timestamp, frame in frames:
            if pending is not None and timestamp > busy_until:
                yield self.estimate(pending[1], pending[0])
                busy_until = max(busy_until, pending[0]) + period
                pending = None
            if timestamp > busy_until:
                yield self.estimate(frame, timestamp)
                busy_until = timestamp + period
            else:
                pending = (timestamp, frame)
        if pending is not None:             # the station frees up after the stream ends: one more
            yield self.estimate(pending[1], pending[0])

    def estimate(self, frame: np.ndarray, timestamp: float) -> Keypoints:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frames must be HxWx3 uint8 RGB, got {frame.shape} {frame.dtype}")
        height, width = frame.shape[:2]
        if self._region is None or self._frame_shape != (height, width) or not self.crop_tracking:
            self._region = full_frame_region(width, height)
            self._frame_shape = (height, width)
        region = self._region
        raw = self.model.infer(self._resize(frame, region))
        points = np.empty((17, 3), np.float32)
        points[:, 0] = region.x0 + raw[:, 1] * region.side
        points[:, 1] = region.y0 + raw[:, 0] * region.side
        points[:, 2] = raw[:, 2]
        if self.crop_tracking:
            self._region = self._track(points, width, height, timestamp)
        return Keypoints(points, width, height, timestamp)
