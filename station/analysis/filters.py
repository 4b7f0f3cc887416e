"""Keypoint smoothing: the One Euro filter (Casiez et al. 2012), vectorised over coordinates.

Chosen because it adapts its cut-off to speed: heavy smoothing while the lifter stands still
(steady bar), little lag while they move (the LED must not trail the lifter).
"""

from __future__ import annotations

import math

import numpy as np


class OneEuroFilter:
    def __init__(self, size: int, min_cutoff_hz: float = 1.5, beta: float = 0.05, d_cutoff_hz: float = 1.0):
        self.min_cutoff = min_cutoff_hz
        self.beta = beta
        self.d_cutoff = d_cutoff_hz
        self.value = np.zeros(size)
        self._deriv = np.zeros(size)
        self._tmp = np.zeros(size)
        self._alpha = np.zeros(size)
        self._last_t: float | None = None

    def reset(self) -> None:
        self._last_t = None

    @staticmethod
    def _alpha_for(cutoff: float | np.ndarray, dt: float) -> float | np.ndarray:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        """Filter x (in place into self.value, returned). Works without allocating."""
        if self._last_t is None or t <= self._last_t:
            self.value[:] = x
            self._deriv[:] = 0
            self._last_t = t
            return self.value
        dt = t - self._last_t
        self._last_t = t
        a_d = self._alpha_for(self.d_cutoff, dt)
        np.subtract(x, self.value, out=self._tmp)
        self._tmp /= dt
        self._deriv += a_d * (self._tmp - self._deriv)
        # per-coordinate cut-off from speed: cutoff = min_cutoff + beta * |speed|
        np.abs(self._deriv, out=self._alpha)
        self._alpha *= self.beta
        self._alpha += self.min_cutoff
        # alpha = 1 / (1 + tau/dt), tau = 1/(2 pi cutoff)  ->  alpha = 1 / (1 + 1/(2 pi cutoff dt))
        self._alpha *= 2 * math.pi * dt
        np.reciprocal(self._alpha, out=self._alpha)
        self._alpha += 1
        np.reciprocal(self._alpha, out=self._alpha)
        np.subtract(x, self.value, out=self._tmp)
        self._tmp *= self._alpha
        self.value += self._tmp
        return self.value


def running_median3(x: np.ndarray) -> np.ndarray:
    """Each value replaced by the median of it and its neighbours (ends kept): one glitched frame
    cannot set a per-rep extreme."""
    out = np.asarray(x, dtype=float).copy()
    if len(out) >= 3:
        out[1:-1] = np.median(np.stack([out[:-2], out[1:-1], out[2:]]), axis=0)
    return out
