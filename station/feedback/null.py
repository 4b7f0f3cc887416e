"""No outputs: feedback mode "off" at start-up, or a station without pins. The bar still exists
for the page (BarLogic), nothing is written anywhere."""

from __future__ import annotations

from station.feedback.cues import Render


class NullOutputs:
    error: str | None = None

    def show(self, frame: Render) -> None:
        pass

    def close(self) -> None:
        pass
