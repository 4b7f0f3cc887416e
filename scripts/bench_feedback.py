#!/usr/bin/env python3
"""Latency from the analysis's "depth reached" to the pin change, and the frame loop's cost of post().

Uses gpiozero's MockFactory with a pin class that timestamps every change. Also measures post()
with deliberately slow (50 ms) pins: the frame loop's cost must not grow.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpiozero.pins.mock import MockFactory, MockPWMPin  # noqa: E402

from station.analysis import DepthReached, FrameState  # noqa: E402
from station.config import FeedbackConfig  # noqa: E402
from station.feedback import Feedback  # noqa: E402


class StampPin(MockPWMPin):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.changes = []

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed:
            self.changes.append((time.perf_counter(), value))
        return changed


class SlowStampPin(StampPin):
    def _set_state(self, value):
        time.sleep(0.05)
        super()._set_state(value)


def state(fraction, target):
    return FrameState(0.0, True, True, "descent", fraction, target, 0.0, 90.0, 30.0, 0, False, True)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * len(values)))]


def measure(pin_class, trials=200):
    cfg = FeedbackConfig(buzzer_type="active")
    factory = MockFactory(pin_class=pin_class)
    fb = Feedback(cfg, pin_factory=factory)
    buzzer, top = factory.pin(cfg.buzzer_pin), factory.pin(cfg.led_pins[-1])
    to_buzzer, to_led, post_cost = [], [], []
    try:
        for _ in range(trials):
            fb.post(state(0.3, False))
            time.sleep(0.15)  # let the previous chirp end
            nb, nl = len(buzzer.changes), len(top.changes)
            t0 = time.perf_counter()
            fb.post(state(1.0, True), [DepthReached(0.0, 1, -1.0)])
            post_cost.append(time.perf_counter() - t0)
            deadline = t0 + 1.0
            while (len(buzzer.changes) == nb or len(top.changes) == nl) and time.perf_counter() < deadline:
                time.sleep(0.0002)
            if len(buzzer.changes) > nb:
                to_buzzer.append(buzzer.changes[nb][0] - t0)
            if len(top.changes) > nl:
                to_led.append(top.changes[nl][0] - t0)
    finally:
        fb.close()
    return to_buzzer, to_led, post_cost


def main() -> int:
    print("| pins | depth reached -> buzzer on, median / p99 ms | -> top LED on, median / p99 ms "
          "| post() median / max us |")
    print("|---|---|---|---|")
    for name, cls, trials in (("mock", StampPin, 200), ("mock, 50 ms per write", SlowStampPin, 20)):
        buzz, led, cost = measure(cls, trials)
        print(f"| {name} | {1000 * statistics.median(buzz):.2f} / {1000 * pct(buzz, 99):.2f} | "
              f"{1000 * statistics.median(led):.2f} / {1000 * pct(led, 99):.2f} | "
              f"{1e6 * statistics.median(cost):.0f} / {1e6 * max(cost):.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
