"""Clocks the tests move by hand, so that nothing depends on how fast the machine is.

Two kinds:

- `ManualClock`, for `Emulator(clock=...)`: rate-limit windows and idempotency TTLs are spans
  of time; a test that waits them out with `sleep` fails when a busy machine stalls longer
  than the span (or passes a window it meant to stay inside).  With this clock no time passes
  between two requests unless the test says so.
- `run` and `skip`, for the client's own timeouts: a request held at the gate
  (tests/gate.py) surely times out, but a short timeout to make it do so soon is also the
  timeout of every retry after it, and a machine that stalls for longer fails those.
  Instead, run the test with `run` and give every request a generous timeout; once the held
  request has arrived, `skip` past that timeout: the timers of whatever is in flight at that
  moment fire, and every request sent later has its whole timeout again.  The loop is
  asyncio's own; only `time` is offset.  asyncio, aiohttp and the SDK read every deadline
  from ``loop.time()``, so they all see the skip; the operating system's clock does not move.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

START = 1_800_000_000.0
"""Seconds since the epoch when a `ManualClock` starts (2027-01-15), so timestamps look real."""


class ManualClock:
    """``clock = ManualClock(); Emulator(clock=clock); clock.advance(61)``."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on by `seconds`."""
        self.now += seconds


class SkippingLoop(asyncio.SelectorEventLoop):
    """asyncio's event loop, with a clock that `skip` moves forward."""

    def __init__(self) -> None:
        super().__init__()
        self._skipped = 0.0

    def time(self) -> float:
        return super().time() + self._skipped

    def skip(self, seconds: float) -> None:
        """Move the clock `seconds` forward: every timer due by then fires on the next turn."""
        self._skipped += seconds


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to its end on a fresh `SkippingLoop`."""
    with asyncio.Runner(loop_factory=SkippingLoop) as runner:
        return runner.run(main)


def skip(seconds: float) -> None:
    """Move the running `SkippingLoop`'s clock `seconds` forward."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, SkippingLoop), "run the test with tests.clock.run"
    loop.skip(seconds)
