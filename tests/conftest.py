"""Shared fixtures: where ../shared is, the model file, and a loaded model per runtime; small video
clips made here, and damaged copies of them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from station.pose.modelfile import LIGHTNING_INT8

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STATION_SHARED", ROOT.parent / "shared"))
TESTDATA = SHARED / "testdata"
SHARED_MODEL = SHARED / "models" / LIGHTNING_INT8.filename


def require_shared(*parts: str) -> Path:
    """Path under ../shared/testdata, or skip: a user's clone has no ../shared."""
    path = TESTDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: peer test data lives in ../shared beside the project (CI has it)")
    return path


@pytest.fixture(scope="session")
def model_path() -> Path:
    from station.pose.modelfile import DEFAULT_MODEL_DIR, install_model

    installed = DEFAULT_MODEL_DIR / LIGHTNING_INT8.filename
    if installed.exists():
        return installed
    if SHARED_MODEL.exists():
        return install_model(DEFAULT_MODEL_DIR, source=SHARED_MODEL)
    pytest.skip("no model: run scripts/fetch_model.py (or --from PATH) first")


@pytest.fixture(scope="session")
def movenet(model_path):
    from station.pose import MoveNet

    return MoveNet(model_path, num_threads=2)


def write_clip(path: Path, seconds: float = 8.0, rate: int = 25, options: dict | None = None) -> Path:
    """A small H.264 clip whose picture changes every frame (so every frame is a real packet)."""
    import av

    with av.open(str(path), "w", options=options or {}) as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.gop_size = rate            # a key frame each second, as phones write
        for i in range(round(seconds * rate)):
            picture = np.zeros((48, 64, 3), np.uint8)
            picture[:, i % 64] = 255
            picture[..., 1] = i % 256
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def video_packets(path: Path) -> list[tuple[int, int, float]]:
    """(byte offset, size, seconds) of each of the video's packets."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(p.pos, p.size, float(p.pts * p.time_base)) for p in container.demux(stream) if p.size]


def zero_packets(path: Path, out: Path, damaged: Callable[[float], bool]) -> Path:
    """A copy of `path` with the packets whose time `damaged(t)` picks overwritten with zeros, as a
    bad sector or a copy with holes leaves them; the file's index (and so its timestamps) intact."""
    data = bytearray(path.read_bytes())
    for pos, size, t in video_packets(path):
        if damaged(t):
            data[pos:pos + size] = bytes(size)
    out.write_bytes(data)
    return out

