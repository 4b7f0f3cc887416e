"""A writable working directory before gpiozero is imported.

lgpio creates its notification FIFO (.lgd-nfy*) in the current directory when it is imported. A
service started in / (read-only under ProtectSystem=strict) makes that fail, gpiozero falls back to
no pin library at all, and the LED bar and buzzer stay dark while the service looks healthy.
"""

from __future__ import annotations

import os
from pathlib import Path


def ensure_writable_cwd(state_dir: Path) -> str | None:
    """If the cwd is not writable, chdir to `state_dir` (created if needed) and say so; else None.

    Returns the message to log (the caller logs it, so this runs before logging is set up too)."""
    cwd = os.getcwd()
    if os.access(cwd, os.W_OK):
        return None
    state_dir = Path(state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        os.chdir(state_dir)
    except OSError as exc:
        return (f"working directory {cwd} is not writable and {state_dir} cannot be used ({exc}): "
                "GPIO (lgpio) may be unavailable")
    return f"working directory {cwd} is not writable (lgpio needs to create a file there): using {state_dir}"
