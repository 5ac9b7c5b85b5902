"""The API's published rate limits, as a sliding window per key."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

from .._contract import RATE_LIMIT_ORGANIZATION_DELETES, RATE_LIMIT_REQUESTS, RATE_LIMIT_WINDOW_SECONDS
from ._limits import positive_count


def _positive_duration(instance: Any, attribute: attrs.Attribute[float], value: Any) -> None:
    # A window of zero or less counts nothing, and an infinite one never lets an event expire.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ValueError(f"{attribute.name} must be a finite number of seconds above 0; got {value!r}.")


@attrs.frozen(kw_only=True)
class RateLimits:
    """How many requests an API key may make per window; the defaults are WorkOS's.

    Each count must be at least 1 and the window above 0 seconds (a `ValueError` otherwise).
    """

    requests: int = attrs.field(default=RATE_LIMIT_REQUESTS, validator=positive_count)
    organization_deletes: int = attrs.field(default=RATE_LIMIT_ORGANIZATION_DELETES, validator=positive_count)
    window_seconds: float = attrs.field(default=RATE_LIMIT_WINDOW_SECONDS, validator=_positive_duration)


class SlidingWindow:
    """At most `limit` events per `window` seconds for each key."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int | None:
        """Count one event; or, over the limit, the whole seconds until one is allowed."""
        with self._lock:
            now = self._clock()
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self._window:
                events.popleft()
            if len(events) >= self._limit:
                return max(1, math.ceil(events[0] + self._window - now))
            events.append(now)
            return None
