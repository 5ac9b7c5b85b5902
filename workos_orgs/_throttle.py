"""Client-side rate limiting: stay under WorkOS's published limits instead of meeting 429s.

`TokenBucket` is the pure arithmetic; `RateLimiter` is the few lines that sleep.  A bucket
of capacity C refilled at r tokens per second lets through at most C + r*T requests in any
window of T seconds, so the defaults keep C + 60 r at 90% of each published per-minute limit
(6,000 requests, 50 organization deletes) -- headroom for clocks that disagree.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Final

import attrs

from ._contract import (
    RATE_LIMIT_ORGANIZATION_DELETES,
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_WINDOW_SECONDS,
    is_organization_delete,
)
from ._errors import ConfigurationError, given, is_finite_number

HEADROOM: Final = 0.9


@attrs.define
class TokenBucket:
    """`rate` tokens per second, at most `capacity` saved up; reservations queue in order."""

    rate: float
    capacity: float
    _tokens: float = attrs.field(init=False)
    _updated: float | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        if self.rate <= 0 or self.capacity < 1:
            raise ConfigurationError(
                f"A token bucket needs rate > 0 and capacity >= 1; got {self.rate}, {self.capacity}."
            )
        self._tokens = self.capacity

    def reserve(self, now: float) -> float:
        """Take one token; return how many seconds to wait before using it (0: at once).

        The balance may go negative: later callers then wait behind earlier ones, so
        concurrent workers are served first come, first served.
        """
        if self._updated is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def give_back(self) -> None:
        """Return a token reserved for a request that was never sent (its wait was cancelled).

        Those already waiting keep their turn; the next reservation is that much sooner.
        """
        self._tokens = min(self.capacity, self._tokens + 1)


def bucket_for(
    limit: float,
    window_seconds: float,
    *,
    headroom: float = HEADROOM,
    burst: float | None = None,
    limit_name: str = "limit",
    burst_name: str | None = "burst",
) -> TokenBucket:
    """A bucket that never lets more than ``headroom * limit`` through in any window.

    `burst` is how many may go at once after a quiet spell (default: a tenth of the limit).
    An error names the setting at fault as `limit_name` or `burst_name` (None: a burst the
    caller did not choose).
    """
    allowed = limit * headroom
    capacity = max(1.0, allowed / 10 if burst is None else burst)
    if capacity >= allowed:
        if burst is not None and burst_name is not None:
            raise ConfigurationError(
                f"{burst_name} must be below the {allowed:g} requests a window it bursts within; got {given(burst)}."
            )
        raise ConfigurationError(
            f"{limit_name} must leave room for more than one request a window after headroom ({headroom:g});"
            f" got {given(limit)}."
        )
    return TokenBucket(rate=(allowed - capacity) / window_seconds, capacity=capacity)


def _number(name: str, value: object, meaning: str, *, at_least: float = 0.0, at_most: float = math.inf) -> float:
    """`value` if it is a finite number above 0, at least `at_least` and at most `at_most`;
    otherwise a `ConfigurationError` naming `name`."""
    if not is_finite_number(value) or not at_least <= value <= at_most or value == 0:
        raise ConfigurationError(f"{name} is {meaning}; got {given(value)}.")
    return value


class RateLimiter:
    """Paces requests under WorkOS's limits; share one across every task of a job (and
    every client of a process, in any thread).

    ``AsyncWorkOS(api_key, rate_limiter=RateLimiter())`` makes every request (and every
    retry) of that client wait its turn.  The defaults keep to 90% of 6,000 requests and of
    50 organization deletes per 60 seconds; `burst` is how many requests may go at once
    after a quiet spell (default: a tenth of the per-minute allowance).  A call cancelled
    while it waits gives its place back.  `clock` and `sleep` are for tests.
    """

    def __init__(
        self,
        *,
        requests_per_minute: float = RATE_LIMIT_REQUESTS * 60 / RATE_LIMIT_WINDOW_SECONDS,
        organization_deletes_per_minute: float = RATE_LIMIT_ORGANIZATION_DELETES * 60 / RATE_LIMIT_WINDOW_SECONDS,
        headroom: float = HEADROOM,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        requests = _number("requests_per_minute", requests_per_minute, "a number of requests a minute, above 0")
        deletes = _number(
            "organization_deletes_per_minute", organization_deletes_per_minute, "a number of deletes a minute, above 0"
        )
        share = _number("headroom", headroom, "the share of each limit to use, above 0 and at most 1", at_most=1)
        if burst is not None:
            burst = _number(
                "burst",
                burst,
                "how many requests may go at once after a quiet spell, 1 or more (None: a tenth of the limit)",
                at_least=1,
            )
        self._requests = bucket_for(
            requests, 60.0, headroom=share, burst=burst, limit_name="requests_per_minute", burst_name="burst"
        )
        # One delete at a time: the limit is small, and deletes are never worth bursting.
        self._deletes = bucket_for(
            deletes, 60.0, headroom=share, burst=1, limit_name="organization_deletes_per_minute", burst_name=None
        )
        self._clock = clock
        self._sleep = sleep
        # One limiter may pace clients in several threads (a loop each): reservations and
        # their return are taken under a lock, or one thread's would overwrite another's.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter(requests={self._requests.rate:.3g}/s, organization_deletes={self._deletes.rate:.3g}/s)"

    async def wait(self, method: str, path_segments: tuple[str, ...]) -> None:
        """Wait until one more request of this kind fits under the limits."""
        buckets = [self._requests]
        if is_organization_delete(method, path_segments):
            buckets.append(self._deletes)
        with self._lock:  # the clock read inside too: reservations then come in its order
            now = self._clock()
            delay = max(bucket.reserve(now) for bucket in buckets)
        if delay <= 0:
            return
        try:
            await self._sleep(delay)
        except BaseException:
            # Nothing was sent: a reservation kept by a cancelled wait would delay every
            # later call for nothing.
            with self._lock:
                for bucket in buckets:
                    bucket.give_back()
            raise
