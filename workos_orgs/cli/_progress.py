"""A one-line progress display for long CLI work: count, rate, ETA; silent when piped.

The line is cut to the terminal's width: a line that wrapped could not be redrawn in place.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import IO, Final

REFRESH_SECONDS: Final = 0.1


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render(done: int, total: int | None, elapsed: float, detail: str = "", label: str = "") -> str:
    """The progress line: ``synced 1,200/5,000 (24%) · 830/s · ETA 0:04 · created 12 ...``."""
    rate = done / elapsed if elapsed > 0 else 0.0
    parts = [f"{label} {done:,}" + (f"/{total:,} ({100 * done // total}%)" if total else "")]
    parts.append(f"{rate:,.0f}/s")
    if total and rate > 0:
        parts.append(f"ETA {_duration(max(0, total - done) / rate)}")
    if detail:
        parts.append(detail)
    return " · ".join(parts)


class Progress:
    """Redraws one line on a terminal at most ten times a second; does nothing otherwise."""

    def __init__(
        self,
        stream: IO[str],
        *,
        label: str,
        total: int | None = None,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        columns: Callable[[], int] = lambda: shutil.get_terminal_size().columns,
    ) -> None:
        self._stream = stream
        self._label = label
        self.total = total
        self.enabled = stream.isatty() if enabled is None else enabled
        self._clock = clock
        self._columns = columns
        self._started = clock()
        self._drawn = 0.0
        self.done = 0

    def advance(self, detail: str = "") -> None:
        """Count one more done, and redraw the line if it was last drawn long enough ago."""
        self.done += 1
        now = self._clock()
        if self.enabled and now - self._drawn >= REFRESH_SECONDS:
            self._drawn = now
            self._draw(detail, now)

    def finish(self, detail: str = "") -> None:
        """Draw the line a last time and end it."""
        if self.enabled:
            self._draw(detail, self._clock())
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, detail: str, now: float) -> None:
        line = render(self.done, self.total, now - self._started, detail, self._label)
        # The last column stays empty: some terminals wrap as soon as it is written.
        self._stream.write("\r\x1b[K" + line[: max(1, self._columns() - 1)])
        self._stream.flush()
