"""Shared fixtures: where ../shared is, the model file, and a loaded model per runtime."""

from __future__ import annotations

import os
from pathlib import Path

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
