"""Installing the model: local copy or download, SHA-256 verified, atomic, readable by the service."""

from __future__ import annotations

import hashlib
import stat

import pytest

from station.pose.modelfile import LIGHTNING_INT8, ModelFetchError, ModelSpec, install_model, sha256_of

from conftest import SHARED_MODEL

FAKE = b"TFL3 a small stand-in for the model" * 10


def _spec(data: bytes = FAKE) -> ModelSpec:
    """A spec whose checksum a few bytes satisfy: install logic without the 2.9 MB model."""
    return ModelSpec(filename="fake.tflite", sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                     url="http://127.0.0.1:9/nothing-listens-here")


def test_model_install_from_a_local_file_verifies_and_is_idempotent(tmp_path):
    if not SHARED_MODEL.exists():
        pytest.skip("../shared/models is absent")
    dest = install_model(tmp_path, source=SHARED_MODEL)
    assert sha256_of(dest) == LIGHTNING_INT8.sha256
    mtime = dest.stat().st_mtime_ns
    assert install_model(tmp_path, source=SHARED_MODEL) == dest
    assert dest.stat().st_mtime_ns == mtime


def test_model_install_refuses_a_file_with_the_wrong_checksum(tmp_path):
    fake = tmp_path / "fake.tflite"
    fake.write_bytes(b"not the model" * 100)
    dest_dir = tmp_path / "models"
    with pytest.raises(ModelFetchError, match="does not match the expected"):
        install_model(dest_dir, source=fake)
    assert not dest_dir.exists() or list(dest_dir.iterdir()) == []  # no half-installed file left behind


def test_model_download_failure_says_which_command_to_run_offline(tmp_path):
    with pytest.raises(ModelFetchError, match=r"run: station model fetch --from PATH"):
        install_model(tmp_path, url="http://127.0.0.1:9/nothing-listens-here", timeout=2)


def test_a_missing_from_file_fails_even_when_the_model_is_installed(tmp_path):
    source = tmp_path / "fake.tflite"
    source.write_bytes(FAKE)
    install_model(tmp_path / "models", source=source, spec=_spec())
    with pytest.raises(ModelFetchError, match=r"--from .*missing\.tflite: no such file"):
        install_model(tmp_path / "models", source=tmp_path / "missing.tflite", spec=_spec())


def test_a_wrong_from_file_fails_even_when_the_model_is_installed(tmp_path):
    """A truncated copy, or a folder, given with --from said 'installed and verified' when a good
    model was already there: the owner thinks their copy is fine."""
    source = tmp_path / "fake.tflite"
    source.write_bytes(FAKE)
    install_model(tmp_path / "models", source=source, spec=_spec())
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(FAKE[:100])
    with pytest.raises(ModelFetchError, match="does not match the expected"):
        install_model(tmp_path / "models", source=cut, spec=_spec())
    with pytest.raises(ModelFetchError, match=r"is a folder; give the model file in it \(fake\.tflite\)"):
        install_model(tmp_path / "models", source=tmp_path, spec=_spec())
    assert (tmp_path / "models" / "fake.tflite").read_bytes() == FAKE, "the good model is untouched"


def test_the_model_is_installed_readable_by_the_service_user(tmp_path):
    """`sudo station model fetch` must leave a file the station user can read (0644, not mkstemp's 0600),
    and an install of an older version (0600) is opened up on the next fetch."""
    source = tmp_path / "fake.tflite"
    source.write_bytes(FAKE)
    dest = install_model(tmp_path / "models", source=source, spec=_spec())
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    dest.chmod(0o600)
    assert install_model(tmp_path / "models", source=source, spec=_spec()) == dest
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert [p.name for p in dest.parent.iterdir()] == ["fake.tflite"]   # no temporary file left


def test_an_unwritable_destination_is_one_clear_error(tmp_path):
    source = tmp_path / "fake.tflite"
    source.write_bytes(FAKE)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ModelFetchError, match=r"cannot write the model to .*a-file/models.*--dest"):
        install_model(blocker / "models", source=source, spec=_spec())


def test_a_destination_that_is_a_file_says_so_not_sudo(tmp_path):
    """--dest names the folder: pointing it at an existing file said 'run with sudo', which cannot help"""
    source = tmp_path / "fake.tflite"
    source.write_bytes(FAKE)
    existing = tmp_path / "model.tflite"
    existing.write_text("x")
    with pytest.raises(ModelFetchError, match=r"it is a file, not a folder; --dest takes the folder") as caught:
        install_model(existing, source=source, spec=_spec())
    assert "sudo" not in str(caught.value)


def test_fetch_never_writes_over_another_file_the_configuration_names(tmp_path):
    """[model] path pointing at another model by mistake: doctor's fix (`model fetch`) replaced that
    model with MoveNet under its name. A damaged copy (the model's name or size) is still replaced."""
    source = tmp_path / "fake.tflite"
    source.write_bytes(FAKE)
    models = tmp_path / "models"
    models.mkdir()
    other = models / "segmentation.tflite"
    other.write_bytes(b"TFL3 another model" * 500)
    with pytest.raises(ModelFetchError, match=r"segmentation\.tflite exists and is not fake\.tflite .*not replaced"):
        install_model(models, source=source, spec=_spec(), filename="segmentation.tflite")
    assert other.read_bytes() == b"TFL3 another model" * 500
    damaged = models / "mine.tflite"
    damaged.write_bytes(FAKE[:-1] + b"X")        # the model's size, one byte flipped
    assert sha256_of(install_model(models, source=source, spec=_spec(), filename="mine.tflite")) == _spec().sha256
    short = models / "mine.tflite"
    short.write_bytes(FAKE[:100])                # cut short under the configuration's name: a prefix of it
    assert sha256_of(install_model(models, source=source, spec=_spec(), filename="mine.tflite")) == _spec().sha256
    cut = models / "fake.tflite"
    cut.write_bytes(FAKE[:20])                   # the model's own name, cut short
    assert sha256_of(install_model(models, source=source, spec=_spec())) == _spec().sha256
