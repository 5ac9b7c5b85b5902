"""The retry policy: whether a failed attempt is worth another, how long to wait first, and
whether a failed call may nonetheless have taken effect."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import attrs

from ._errors import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    ResponseValidationError,
    WorkOSError,
    given,
    is_finite_number,
)
from ._response import parse_retry_after

RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses worth another attempt: the request may succeed if sent again."""


@attrs.frozen
class Backoff:
    """How long to wait between retries.

    Retry ``n`` (counting from 0) waits a random time in ``[0, min(cap, base * 2**n)]``
    seconds (exponential backoff with full jitter), or the ``Retry-After`` the API asked for
    when there is one.  A ``Retry-After`` longer than ``max_retry_after`` is not waited out:
    the `RateLimitError` is raised at once with ``retry_after`` set, so the caller can decide.
    """

    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 60.0

    def __attrs_post_init__(self) -> None:
        for name in ("base", "cap", "max_retry_after"):
            value = getattr(self, name)
            if not is_finite_number(value) or value < 0:
                raise ConfigurationError(f"Backoff.{name} must be a number of seconds, 0 or more; got {given(value)}.")


DEFAULT_MAX_RETRIES: Final = 2
"""How many times a client retries a retryable failure unless told otherwise."""


@attrs.frozen
class RetryPolicy:
    """How many times to retry, and how long to wait before each retry."""

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: Backoff = Backoff()


_MOST_DOUBLINGS: Final = 1000
"""The most times the backoff's base is doubled: beyond it the float would overflow."""


def retry_delay(
    attempt: int,
    policy: RetryPolicy,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    connection_error: bool = False,
    random: Callable[[], float],
    now: float = 0.0,
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None to stop and raise.

    `attempt` counts from 0 (the first try).  Retry after a connection error or timeout
    (`connection_error`) or a status in `RETRYABLE_STATUSES`; never after any other response.
    """
    if attempt >= policy.max_retries:
        return None
    if not connection_error and status not in RETRYABLE_STATUSES:
        return None
    retry_after = parse_retry_after((headers or {}).get("Retry-After"), now=now)
    if retry_after is not None:
        return retry_after if retry_after <= policy.backoff.max_retry_after else None
    backoff = policy.backoff
    # 2.0 ** 1024 is an OverflowError: the doubling stops at 2 ** 1000, past any cap a base of
    # a millisecond or more could reach.
    ceiling: float = min(backoff.cap, backoff.base * 2.0 ** min(attempt, _MOST_DOUBLINGS))
    return random() * ceiling


def attempt_outcome_unknown(*, status: int | None = None, reached_server: bool = True) -> bool:
    """Whether one attempt may have taken effect on the server without the client knowing.

    A response below 500 is definitive (429 and 408 are refused before any work).  A 5xx may
    come from a proxy after the API did the work; a dropped connection or a read timeout may
    come after it too.  Only a failure to connect at all (`reached_server` False) is safe.
    """
    if status is None:
        return reached_server
    return status >= 500


def outcome_unknown(error: WorkOSError) -> bool:
    """Whether a failed call may nonetheless have taken effect: some attempt of it got no
    definitive response (see `attempt_outcome_unknown`), or a write's success could not be read."""
    return isinstance(error, APIStatusError | APIConnectionError | ResponseValidationError) and error.outcome_unknown


def ended_without_response(error: WorkOSError) -> bool:
    """Whether a failed call ended with no definitive response at all: its last attempt failed in
    a way worth retrying, and some attempt may have done the work."""
    if isinstance(error, APIConnectionError):
        return error.outcome_unknown
    return isinstance(error, APIStatusError) and error.status_code in RETRYABLE_STATUSES and error.outcome_unknown
