"""The one place that writes files: atomically, with their mode, and durable.

A power cut on a Pi is normal, so a file is written to a temporary name in its own folder,
fsynced, then renamed over the old one (os.replace is atomic on POSIX) and the folder is fsynced:
a reader sees the whole old file or the whole new one, never half of either. The temporary file
is created 0600, so a secret is never readable by others, not even for a moment.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: bytes, mode: int | None = None) -> None:
    """Replace `path` with `data`.

    mode: the new file's permission bits; None keeps an existing file's mode (0600 for a new
    file). An existing file keeps its owner; a new file written by root (`sudo station ...`) gets
    its folder's owner, so the service user that owns /var/lib/station can still read it.
    """
    path = Path(path)
    try:
        old = path.stat()
    except FileNotFoundError:
        old = None
    if mode is None:
        mode = (old.st_mode & 0o7777) if old is not None else 0o600
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            if os.geteuid() == 0:
                owner = old if old is not None else path.parent.stat()
                os.fchown(fh.fileno(), owner.st_uid, owner.st_gid)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)
