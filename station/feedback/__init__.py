"""Feedback stage: the LED bar and the buzzer during a set.

cues (pure: what to show and sound for a state, an event and a time) -> worker (the thread that
renders it) -> one backend per kind of output: gpio (gpiozero devices), terminal (one line on a
TTY), null (nothing). The page mirrors the same BarState.
"""

from station.feedback.cues import (
           ANIMATION_S,
           SELFTEST_SWEEP_S,
           SETUP_CUE_HOLDOFF_S,
           SETUP_SWAP_S,
           BarLogic,
           BarState,
           Render,
)
from station.feedback.gpio import GpioOutputs, make_pin_factory
from station.feedback.null import NullOutputs
from station.feedback.terminal import TerminalBar
from station.feedback.worker import Feedback

__all__ = ["ANIMATION_S", "SELFTEST_SWEEP_S", "SETUP_CUE_HOLDOFF_S", "SETUP_SWAP_S", "BarLogic", "BarState", "Render",
           "GpioOutputs", "make_pin_factory", "NullOutputs", "TerminalBar", "Feedback"]
