"""The LED bar and the buzzer on real pins through gpiozero (or gpiozero's MockFactory in tests).

gpiozero picks the pin library itself (lgpio on a Pi 5 and on Bookworm/Trixie Pi 4s) unless a
factory is passed; `make_pin_factory("mock")` is the tests' and the demo's MockFactory with PWM pins.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import TYPE_CHECKING

from station.config import FeedbackConfig

if TYPE_CHECKING:
    from gpiozero import Factory
from station.feedback.cues import TONE_HZ, Render

log = logging.getLogger(__name__)


def make_pin_factory(kind: str) -> Factory | None:
    """'mock': MockFactory with PWM pins; 'auto': None, gpiozero's own choice (honours
    GPIOZERO_PIN_FACTORY, so GPIOZERO_PIN_FACTORY=mock gives the mock factory too)."""
    if kind == "mock" or (kind == "auto" and os.environ.get("GPIOZERO_PIN_FACTORY") == "mock"):
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        return MockFactory(pin_class=MockPWMPin)
    return None


class GpioOutputs:
    """gpiozero devices for the bar and the buzzer; if they cannot be had, a clear reason in `error`
    (also logged once) and nothing else: the virtual bar still feeds the terminal and the page."""

    def __init__(self, cfg: FeedbackConfig, pin_factory: Factory | None = None):
        self.bar = None
        self.buzzer = None
        self.tonal = False
        self.error: str | None = None
        self.pin_errors = 0
        self._written = [0.0] * len(cfg.led_pins)   # gpiozero devices start off
        self._tone: str | None = None
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                from gpiozero import Buzzer, LEDBarGraph, TonalBuzzer

                self.bar = LEDBarGraph(*cfg.led_pins, pwm=cfg.led_pwm, active_high=cfg.led_active_high,
                                       pin_factory=pin_factory)
                if cfg.buzzer_type == "active":
                    self.buzzer = Buzzer(cfg.buzzer_pin, pin_factory=pin_factory)
                elif cfg.buzzer_type == "passive":
                    self.buzzer = TonalBuzzer(cfg.buzzer_pin, octaves=3, pin_factory=pin_factory)
                    self.tonal = True
            for warning in caught:   # "Falling back from lgpio: ..." is the only explanation there is
                log.warning("gpiozero: %s", warning.message)
        except Exception as exc:  # gpiozero raises many kinds: no factory, pin in use, no PWM...
            reasons = "; ".join(str(w.message) for w in caught)
            self.error = f"{type(exc).__name__}: {exc}" + (f" ({reasons})" if reasons else "")
            if "Falling back" in reasons and not os.access(os.getcwd(), os.W_OK):
                self.error += (f"; the working directory {os.getcwd()} is not writable, and lgpio needs "
                               "to create a file there (systemd: WorkingDirectory=/var/lib/station)")
            log.warning("GPIO unavailable (%s): running with the virtual LED bar only", self.error)
            self.close()

    def show(self, frame: Render) -> None:
        if self.bar is not None:
            for i, (led, value) in enumerate(zip(self.bar.leds, frame.led_values)):
                if value != self._written[i]:
                    try:
                        led.value = value
                        self._written[i] = value
                    except Exception as exc:
                        self._pin_error(exc)
        if frame.tone != self._tone and self.buzzer is not None:
            try:
                self._set_tone(frame.tone)
                self._tone = frame.tone
            except Exception as exc:
                self._pin_error(exc)

    def _set_tone(self, tone: str | None) -> None:
        assert self.buzzer is not None
        if self.tonal:
            if tone is None:
                self.buzzer.stop()
            else:
                from gpiozero.tones import Tone

                self.buzzer.play(Tone.from_frequency(TONE_HZ[tone]))
        elif tone is None:
            self.buzzer.off()
        else:
            self.buzzer.on()

    def _pin_error(self, exc: Exception) -> None:
        self.pin_errors += 1
        if self.pin_errors in (1, 100, 10000):
            log.warning("GPIO write failed (%s); feedback continues on the remaining outputs", exc)

    def close(self) -> None:
        """Dark and silent, then release the pins (a TonalBuzzer has stop(), not off())."""
        for device in (self.bar, self.buzzer):
            if device is None:
                continue
            try:
                device.stop() if hasattr(device, "stop") else device.off()
            except Exception:
                log.debug("turning %r off failed", device, exc_info=True)
            try:
                device.close()
            except Exception:  # closing must release what it can
                log.debug("closing %r failed", device, exc_info=True)
        self.bar = self.buzzer = None
