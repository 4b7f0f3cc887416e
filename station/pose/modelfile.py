"""Getting the MoveNet file onto the machine: download by URL or copy a local file, verify SHA-256.

The .tflite is never committed (licence and size); it is a build input, like a firmware blob.
Network access happens only here, at install time, never while the station runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from station.errors import StationError


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


def _install_verified(tmp: Path, dest: Path, spec: ModelSpec, origin: str) -> Path:
    actual = sha256_of(tmp)
    if actual != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise ModelFetchError(f"{origin}: SHA-256 {actual} does not match the expected {spec.sha256} "
                              f"for {spec.filename}; refusing to install it")
    os.replace(tmp, dest)  # atomic: a half-written model is never left under the real name
    return dest


def install_model(dest_dir: Path = DEFAULT_MODEL_DIR, source: Path | None = None,
                  spec: ModelSpec = LIGHTNING_INT8, url: str | None = None, timeout: float = 60) -> Path:
    """Copy `source` (or download `url`/the spec's URL) into dest_dir, verified. Idempotent."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / spec.filename
    if dest.is_file() and sha256_of(dest) == spec.sha256:
        return dest
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=".download-", suffix=".tflite")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if source is not None:
            if not source.is_file():
                raise ModelFetchError(f"{source} does not exist or is not a file")
            shutil.copyfile(source, tmp)
            return _install_verified(tmp, dest, spec, str(source))
        address = url or spec.url
        try:
            with urllib.request.urlopen(address, timeout=timeout) as response, tmp.open("wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:
            raise ModelFetchError(f"download of {address} failed: {exc}. Offline? Copy the file from "
                                  f"another machine and use --from PATH") from None
        return _install_verified(tmp, dest, spec, address)
    finally:
        tmp.unlink(missing_ok=True)
