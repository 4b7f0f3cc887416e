"""The bare model: MoveNet SinglePose through LiteRT (or tflite-runtime), and the checks that make a bad
model file an error that names the file instead of a crash inside the runtime."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from station.errors import StationError
from station.pose.modelfile import LIGHTNING_INT8, sha256_of

log = logging.getLogger(__name__)

TFLITE_MAGIC = b"TFL3"  # flatbuffer file identifier at byte offset 4
VALID_INPUT_SIZES = (192, 256)  # Lightning, Thunder


class ModelError(StationError):
    """The model file cannot be used; the message names the file and what is wrong."""


class NotMoveNetError(ModelError):
    """The file loads but is another model (its inputs or outputs are not MoveNet's): fetching MoveNet
    over it would destroy it, so the fix is the configured path, not `model fetch`."""


class RuntimeMissingError(ModelError):
    """Neither LiteRT nor tflite-runtime can be imported."""


@dataclass(frozen=True)
class RuntimeInfo:
    name: str  # "ai-edge-litert" or "tflite-runtime"
    version: str


def load_runtime(preference: str = "auto") -> tuple[type, RuntimeInfo]:
    """Return (Interpreter class, RuntimeInfo). preference: auto | litert | tflite."""
    errors = []
    order = {"auto": ("litert", "tflite"), "litert": ("litert",), "tflite": ("tflite",)}[preference]
    for name in order:
        try:
            if name == "litert":
                import ai_edge_litert as pkg
                from ai_edge_litert.interpreter import Interpreter

                return Interpreter, RuntimeInfo("ai-edge-litert", getattr(pkg, "__version__", "?"))
            import tflite_runtime as pkg
            from tflite_runtime.interpreter import Interpreter

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
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:   # exit 2 with the fix, not 1 and a restart every 5 s that cannot help
        raise ModelError(f"model file {path} cannot be read by user {_user()} ({exc.strerror}); "
                         f"make it readable: sudo chmod a+r {path}") from exc
    if size >= 8 and head[4:8] != TFLITE_MAGIC:   # a small text file is another kind of file, not a cut model
        raise ModelError(f"model file {path} is not a TFLite model (no 'TFL3' identifier in its header)")
    if size < 1024:
        raise ModelError(f"model file {path} is {size} bytes: truncated or empty (expected ~2.9 MB)")


RUNTIME_BANNER = "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."


@contextmanager
def without_runtime_banner() -> Iterator[None]:
    """LiteRT's C++ prints RUNTIME_BANNER on the process's stderr when it makes an interpreter, with
    no switch to stop it: users took it for a problem ahead of `station analyze`'s table. Hold file
    descriptor 2 in a temporary file meanwhile and pass on everything else it got, so no warning
    or error from the runtime (or another thread) is lost."""
    try:
        held = tempfile.TemporaryFile()
        saved = os.dup(2)
    except OSError:       # no temporary folder, no descriptors: the banner is the lesser evil
        yield
        return
    sys.stderr.flush()
    os.dup2(held.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        held.seek(0)
        text = held.read().decode(errors="replace")
        held.close()
        rest = "".join(line for line in text.splitlines(keepends=True) if line.strip() != RUNTIME_BANNER)
        if rest:
            sys.stderr.write(rest)
            sys.stderr.flush()


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - a uid without a name (a container): the number will do
        return str(os.getuid())


# Files we ship and have tested: loaded directly. Anything else is first opened in a child
# process, because tflite-runtime 2.14 has no flatbuffer verifier and segfaults on a truncated file.
KNOWN_MODEL_SHA256 = {LIGHTNING_INT8.sha256}
PROBE_TIMEOUT_S = 60.0   # a sound model loads in a few seconds even on a busy Pi 4
TESTED_MODEL = LIGHTNING_INT8


def check_not_a_damaged_copy(path: Path) -> None:
    """A file with the tested model's name or exact size but another checksum is that model damaged
    (a bad SD card sector, an interrupted copy), not another model: it may even load and give
    shifted keypoints. Refuse it. (Called only when the checksum is not a known one.)"""
    if path.name == TESTED_MODEL.filename or path.stat().st_size == TESTED_MODEL.size:
        raise ModelError(f"model file {path} is damaged: it has the name or size of {TESTED_MODEL.filename} but "
                         "not its SHA-256 checksum; fetch it again: `station model fetch` (or "
                         "`station model fetch --from FILE` offline)")

_PROBE = """
import json, sys
from station.pose.movenet import load_runtime
cls, _ = load_runtime(sys.argv[2])
it = cls(model_path=sys.argv[1], num_threads=1)
it.allocate_tensors()
print(json.dumps({"ok": True}))
"""


def probe_model_in_child(path: Path, runtime: str) -> None:
    """Load the model in a throw-away interpreter process; a crash there becomes a ModelError."""
    try:
        result = subprocess.run([sys.executable, "-c", _PROBE, str(path), runtime], capture_output=True,
                                text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ModelError(f"model file {path} hung the runtime while loading (over {PROBE_TIMEOUT_S:.0f} s): it is "
                         "probably corrupt or truncated; fetch it again: `station model fetch`") from None
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
        tested = sha256_of(self.model_path) in KNOWN_MODEL_SHA256
        if not tested:
            check_not_a_damaged_copy(self.model_path)
            probe_model_in_child(self.model_path, runtime)
        try:
            with without_runtime_banner():
                self._interpreter = interpreter_cls(model_path=str(self.model_path), num_threads=num_threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"model file {self.model_path} could not be loaded by {self.runtime.name}: "
                             f"it is corrupt or truncated ({str(exc).splitlines()[0][:200]})") from None
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise NotMoveNetError(f"model file {self.model_path} has {len(inputs)} inputs and {len(outputs)} "
                                  "outputs; MoveNet SinglePose has one of each")
        in_shape = tuple(int(v) for v in inputs[0]["shape"])
        out_shape = tuple(int(v) for v in outputs[0]["shape"])
        if (len(in_shape) != 4 or in_shape[0] != 1 or in_shape[3] != 3 or in_shape[1] != in_shape[2]
                or in_shape[1] not in VALID_INPUT_SIZES or inputs[0]["dtype"] != np.uint8):
            raise NotMoveNetError(
                f"model file {self.model_path} has input {in_shape} {np.dtype(inputs[0]['dtype']).name}; "
                "expected 1x192x192x3 uint8 (Lightning) or 1x256x256x3 uint8 (Thunder)")
        if out_shape != (1, 1, 17, 3):
            raise NotMoveNetError(f"model file {self.model_path} has output {out_shape}; expected (1, 1, 17, 3) "
                                  "(MoveNet SinglePose keypoints)")
        if not tested:   # said only once it is known to be a MoveNet: "it loads" before "not a MoveNet" was both
            log.warning("model file %s is not the tested MoveNet Lightning int8 file (its SHA-256 differs): it "
                        "loads, but the station's depth, rep and wink numbers were measured with the tested one; "
                        "remove [model] path (or name %s in it) and run `station model fetch`", self.model_path,
                        TESTED_MODEL.filename)
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
