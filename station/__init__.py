"""Squat station: side-view squat depth and butt-wink feedback on a Raspberry Pi."""

__version__ = "0.1.0"
