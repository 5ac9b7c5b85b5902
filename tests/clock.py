"""A clock that stands still until the test moves it, for `Emulator(clock=...)`.

Rate-limit windows and idempotency TTLs are spans of time; a test that waits them out with
`sleep` fails when a busy machine stalls longer than the span (or passes a window it meant
to stay inside).  With this clock no time passes between two requests unless the test says so.
"""

from __future__ import annotations

START = 1_800_000_000.0
"""Seconds since the epoch when the clock starts (2027-01-15), so timestamps look real."""


class ManualClock:
    """``clock = ManualClock(); Emulator(clock=clock); clock.advance(61)``."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on by `seconds`."""
        self.now += seconds
