"""The page's defences against a neighbour on the gym's Wi-Fi: PIN guessing, DNS rebinding.

Numbers and trade-offs: docs/reliability.md ("The PIN").
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable

from station.config import WebConfig, verify_pin

FREE_FAILURES = 5              # wrong PINs (from anywhere) before the station starts to make everyone wait
MAX_WAIT_S = 15 * 60           # the longest wait between two attempts, and so the longest an owner waits
PER_ADDRESS_FAILURES = 5       # one address: this many wrong PINs ...
PER_ADDRESS_LOCK_S = 60.0      # ... lock it for a minute (a phone that keeps guessing does not eat the budget)
MAX_ADDRESSES = 1024           # addresses remembered (oldest forgotten first)


def pin_set(web_cfg: WebConfig) -> bool:
    """Changes are enabled when a PIN is set (a plain web.pin in the config file is hashed at load)."""
    return bool(web_cfg.pin_hash)


def pin_matches(web_cfg: WebConfig, attempt: object) -> bool:
    """The one PIN check: scrypt against web.pin_hash, in constant time; any odd input is just wrong.
    PinCheckError when the stored hash cannot be checked here (the page answers 503, not 500)."""
    return verify_pin(web_cfg.pin_hash, attempt)


class PinGuard:
    """Brute force made slow from any number of addresses.

    Globally: the first FREE_FAILURES wrong PINs cost nothing; after that every attempt must wait
    2^k s after the last wrong one (k = wrong PINs beyond the free ones), up to MAX_WAIT_S. A right
    PIN resets everything. Per address: PER_ADDRESS_FAILURES wrong PINs lock that address for
    PER_ADDRESS_LOCK_S. Kept in memory: restarting the station clears it (the owner's way out).

    An attempt is counted as wrong when it is let through (begin), before its slow scrypt check, and
    stays wrong unless the check says it was right: asked before the check and told after it, N web
    threads had N guesses checked in every window meant for one.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.failures = 0
        self.last_failure = 0.0
        self.checking = 0          # attempts let through whose PIN is still being checked
        self._by_address: dict[str, tuple[int, float]] = {}

    def wait_s(self, address: str) -> float:
        """Seconds this address must wait before its next attempt (0: go ahead). Only a look: begin()
        is what lets an attempt through."""
        with self._lock:
            return self._wait_s(address, self.clock())

    def _wait_s(self, address: str, now: float) -> float:
        wait = 0.0
        if self.failures >= FREE_FAILURES:
            wait = self.last_failure + self.global_delay(self.failures) - now
        count, since = self._by_address.get(address, (0, 0.0))
        if count >= PER_ADDRESS_FAILURES:
            wait = max(wait, since + PER_ADDRESS_LOCK_S - now)
        return max(0.0, wait)

    @staticmethod
    def global_delay(failures: int) -> float:
        return float(min(MAX_WAIT_S, 2 ** max(0, failures - FREE_FAILURES)))

    def begin(self, address: str) -> float:
        """Let one attempt through, or say how long to wait: 0 means check the PIN, which counts as a
        wrong one from now on; then call succeeded(), failed() or not_checked(). Over 0: the seconds
        to wait, and nothing was counted."""
        with self._lock:
            now = self.clock()
            wait = self._wait_s(address, now)
            if wait > 0:
                return wait
            self.failures += 1
            self.last_failure = now
            count, _ = self._by_address.pop(address, (0, 0.0))
            self._by_address[address] = (count + 1, now)
            while len(self._by_address) > MAX_ADDRESSES:
                self._by_address.pop(next(iter(self._by_address)))
            self.checking += 1
            return 0.0

    def failed(self, address: str) -> None:
        """The PIN let through by begin() was wrong: it stays counted."""
        with self._lock:
            self.checking = max(0, self.checking - 1)

    def succeeded(self, address: str) -> None:
        """The PIN was right: the count starts again, except for the attempts still being checked
        (a right PIN in the middle of a burst must not make the burst's guesses free)."""
        with self._lock:
            self.checking = max(0, self.checking - 1)
            self.failures = self.checking
            self._by_address.pop(address, None)

    def not_checked(self, address: str) -> None:
        """The PIN could not be checked at all (an unusable web.pin_hash): the attempt is given back."""
        with self._lock:
            self.checking = max(0, self.checking - 1)
            self.failures = max(0, self.failures - 1)
            count, since = self._by_address.pop(address, (0, 0.0))
            if count > 1:
                self._by_address[address] = (count - 1, since)


# --- Host header (DNS rebinding) ---------------------------------------------------------------------

def own_names(configured_host: str) -> set[str]:
    """Names this station answers to, besides IP literals: localhost, its hostname, <hostname>.local,
    station.local and the configured web.host."""
    hostname = socket.gethostname().lower().rstrip(".")
    names = {"localhost", "station.local", hostname, hostname.split(".")[0] + ".local"}
    if configured_host and configured_host not in ("0.0.0.0", "::"):
        names.add(configured_host.lower().strip("[]").rstrip("."))
    return names


def host_allowed(host_header: str, names: set[str]) -> bool:
    """A page a rebinding attack loads says its own name in Host (evil.example): only the station's
    own addresses are served."""
    host = host_header.strip().lower()
    if host.startswith("["):                      # [v6]:port
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:                     # name:port or v4:port
        host = host.split(":")[0]
    host = host.rstrip(".")
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host in names
