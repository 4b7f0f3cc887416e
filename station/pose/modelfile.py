"""Getting the MoveNet file onto the machine: download by URL or copy a local file, verify SHA-256.

The .tflite is never committed (licence and size); it is a build input, like a firmware blob.
Network access happens only here, at install time, never while the station runs.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from station.errors import StationError
from station.files import write_atomic


@dataclass(frozen=True)
class ModelSpec:
    filename: str
    sha256: str
    size: int
    url: str


LIGHTNING_INT8 = ModelSpec(
    filename="movenet_singlepose_lightning_int8_v4.tflite",
    sha256="cd7cc22fa946e5d146a7b98d496853e1923e22828d3972d579973f27f91bb105",
    size=2_894_840,
    url="https://tfhub.dev/google/lite-model/movenet/singlepose/lightning/tflite/int8/4?lite-format=tflite",
)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models"


class ModelFetchError(StationError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(data: bytes, spec: ModelSpec, origin: str) -> bytes:
    actual = hashlib.sha256(data).hexdigest()
    if actual != spec.sha256:
        raise ModelFetchError(f"{origin}: SHA-256 {actual} does not match the expected {spec.sha256} "
                              f"for {spec.filename}; refusing to install it")
    return data


def install_model(dest_dir: Path = DEFAULT_MODEL_DIR, source: Path | None = None,
                  spec: ModelSpec = LIGHTNING_INT8, url: str | None = None, timeout: float = 60,
                  filename: str | None = None) -> Path:
    """Copy `source` (or download `url`/the spec's URL) into dest_dir, verified. Idempotent.

    `filename` (default the spec's): a configuration whose [model] path names its own file gets the
    verified model under that name, where the station reads it.

    The file is installed 0644: `sudo station model fetch` (as doctor suggests) must leave a model the
    service user can read. A --from file that is missing is an error even when a model is installed:
    the caller asked for that file, and "installed and verified" would hide a typo; so is a --from
    file that is not the model, for the same reason."""
    data = None
    if source is not None:
        if source.is_dir():
            raise ModelFetchError(f"--from {source} is a folder; give the model file in it ({spec.filename})")
        if not source.is_file():
            raise ModelFetchError(f"--from {source}: no such file")
        try:
            data = _verified(source.read_bytes(), spec, str(source))
        except OSError as exc:
            raise ModelFetchError(f"--from {source} cannot be read: {exc.strerror}") from None
    dest = dest_dir / (filename or spec.filename)
    if dest.is_file() and sha256_of(dest) == spec.sha256:
        if dest.stat().st_mode & 0o444 != 0o444:
            try:
                os.chmod(dest, 0o644)   # installed 0600 by an older version: readable by the service user
            except OSError as exc:
                raise ModelFetchError(f"{dest} is not readable by others and cannot be changed "
                                      f"({exc.strerror}): sudo chmod 0644 {dest}") from None
        return dest
    if data is None:
        address = url or spec.url
        try:
            with urllib.request.urlopen(address, timeout=timeout) as response:
                data = response.read(spec.size * 4)   # bounded: a wrong address must not fill the card
        except (OSError, ValueError) as exc:
            raise ModelFetchError(f"download of {address} failed: {exc}. Offline? Copy {spec.filename} "
                                  f"from another machine and run: station model fetch --from PATH") from None
        data = _verified(data, spec, address)
    size = dest.stat().st_size if dest.is_file() else 0
    if (dest.name != spec.filename and size not in (0, spec.size)
            and not (size < spec.size and data.startswith(dest.read_bytes()))):   # a cut-short copy is a prefix
        # another file under a name of the configuration's choosing: a [model] path that points at the
        # wrong file by mistake must not lose that file to this fix (a damaged copy has the model's
        # name or size, and is replaced)
        raise ModelFetchError(f"{dest} exists and is not {spec.filename} or a damaged copy of it: not replaced. "
                              "If [model] path names it by mistake, correct the path; if it is a damaged copy, "
                              "delete it and run this again")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(dest, data, mode=0o644)   # a half-written model is never left under the real name
    except OSError as exc:
        if dest_dir.exists() and not dest_dir.is_dir():   # sudo would not help: --dest names a file
            raise ModelFetchError(f"cannot write the model to {dest_dir}: it is a file, not a folder; "
                                  "--dest takes the folder the model goes in") from None
        raise ModelFetchError(f"cannot write the model to {dest_dir}: {exc.strerror or exc}; "
                              f"choose another --dest or run with sudo") from None
    return dest
