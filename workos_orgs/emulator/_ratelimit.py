"""The API's published rate limits, as a sliding window per key."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

import attrs

from .._contract import RATE_LIMIT_ORGANIZATION_DELETES, RATE_LIMIT_REQUESTS, RATE_LIMIT_WINDOW_SECONDS


@attrs.frozen(kw_only=True)
class RateLimits:
    """How many requests an API key may make per window; the defaults are WorkOS's."""

    requests: int = RATE_LIMIT_REQUESTS
    organization_deletes: int = RATE_LIMIT_ORGANIZATION_DELETES
    window_seconds: float = RATE_LIMIT_WINDOW_SECONDS


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
