"""What a client and each of its views share, and the one way a call reaches the transport.

`BaseClient` holds the connection (key, base URL, session, transport) and the call settings
in force, and sends a resource's call with its per-call options.  `AsyncWorkOS` adds the
configuration, the session's lifetime and the resources; ``with_options`` makes a view with
other settings on the same connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Self, TypedDict, Unpack

import attrs
from yarl import URL

from ._config import check_backoff, check_limiter, check_max_retries, check_timeout
from ._errors import InvalidArgumentError, UnexpectedOptionError
from ._models import UNSET, Unset
from ._request import Credentials, Method, build_request
from ._response import Response
from ._retry import Backoff
from ._throttle import RateLimiter
from ._transport import CallSettings, SessionHolder, Transport


@attrs.frozen
class Connection:
    """What a client and all its views share: the key, the base URL, the session and the transport."""

    api_key: str = attrs.field(repr=False)
    base_url: URL
    sessions: SessionHolder
    transport: Transport
    credentials: Credentials = attrs.field(
        init=False,
        repr=False,
        eq=False,  # follows from the key
        default=attrs.Factory(lambda self: Credentials(self.api_key), takes_self=True),
    )
    """The key as requests are built with it (never shown)."""


class ClientOptions(TypedDict, total=False):
    """The defaults a view made by ``with_options`` may change; those left out are kept."""

    timeout: float | None
    """The socket timeout in seconds; None for no limit."""
    max_retries: int
    """How many times to retry a retryable failure."""
    backoff: Backoff
    """How long to wait between retries."""
    rate_limiter: RateLimiter | None
    """The limiter that paces requests; None for none."""
    attempt_timeout: float | None
    """The hard bound in seconds on each attempt, from its connection; None for no limit."""


_CONNECTION: Final = frozenset({"api_key", "base_url", "session", "allow_insecure_http"})
"""What a client is made with that a view cannot change."""


class BaseClient:
    """A connection and the settings in force on it: what the resources send their calls through."""

    def __init__(self, connection: Connection, settings: CallSettings, *, is_view: bool = False) -> None:
        self._connection = connection
        self._settings = settings
        self._is_view = is_view

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The limiter that paces this client's requests, if any."""
        return self._settings.rate_limiter

    def with_options(self, **options: Unpack[ClientOptions]) -> Self:
        """A view of this client with other defaults (`ClientOptions`), sharing its session::

            patient = client.with_options(timeout=120, max_retries=5)
            paced = client.with_options(rate_limiter=RateLimiter())

        Only the client it came from owns the session: closing a view does nothing.
        """
        unknown = options.keys() - ClientOptions.__annotations__.keys()
        if unknown:
            fixed = " (a client's connection is fixed: make a new client for another)" if unknown & _CONNECTION else ""
            raise UnexpectedOptionError(
                f"with_options takes {', '.join(ClientOptions.__annotations__)};"
                f" got {', '.join(repr(name) for name in sorted(unknown))}{fixed}."
            )
        settings = self._merge(
            options.get("timeout", UNSET),
            options.get("max_retries", UNSET),
            options.get("backoff", UNSET),
            attempt_timeout=options.get("attempt_timeout", UNSET),
        )
        rate_limiter = options.get("rate_limiter", UNSET)
        if rate_limiter is not UNSET:
            settings = attrs.evolve(settings, rate_limiter=check_limiter(rate_limiter))
        # A view is made by this class's constructor, on the same connection: the subclass's
        # would read the environment and open a connection of its own.
        view = type(self).__new__(type(self))
        BaseClient.__init__(view, self._connection, settings, is_view=True)
        return view

    def _merge(
        self,
        timeout: float | Unset | None,
        max_retries: int | Unset,
        backoff: Backoff | Unset = UNSET,
        *,
        attempt_timeout: float | Unset | None = UNSET,
    ) -> CallSettings:
        settings = self._settings
        if timeout is not UNSET:
            settings = attrs.evolve(settings, timeout=check_timeout(timeout))
        if attempt_timeout is not UNSET:
            settings = attrs.evolve(
                settings, given_attempt_timeout=check_timeout(attempt_timeout, name="attempt_timeout")
            )
        if max_retries is not UNSET:
            settings = attrs.evolve(
                settings, retry=attrs.evolve(settings.retry, max_retries=check_max_retries(max_retries))
            )
        if backoff is not UNSET:
            settings = attrs.evolve(settings, retry=attrs.evolve(settings.retry, backoff=check_backoff(backoff)))
        return settings

    async def _until_closed(self, work: Callable[[], Awaitable[None]], doing: str) -> None:
        """`work`, ended at once by closing the client: then `ClientClosedError`, saying it was
        closed while `doing` (a caller's own cancellation stays one)."""
        await self._connection.sessions.wait(work, doing)

    async def _request(
        self,
        method: Method,
        segments: Sequence[str],
        *,
        query: Sequence[tuple[str, str]] = (),
        json: Any = None,
        idempotency_key: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Unset | None = UNSET,
        max_retries: int | Unset = UNSET,
        attempt_timeout: float | Unset | None = UNSET,
    ) -> Response:
        """Send one call: its request built with the settings in force, retried as they allow."""
        settings = self._merge(timeout, max_retries, attempt_timeout=attempt_timeout)
        if idempotency_key is not None and (not isinstance(idempotency_key, str) or not idempotency_key.strip()):
            raise InvalidArgumentError("idempotency_key must be a non-empty string, or None to generate one.")
        if method == "POST" and idempotency_key is None:
            # One key per call, reused by every retry of it: the API then does the work once.
            idempotency_key = str(uuid.uuid4())
        connection = self._connection
        request = build_request(
            method,
            connection.base_url,
            segments,
            credentials=connection.credentials,
            query=query,
            json=json,
            idempotency_key=idempotency_key,
            extra_headers=extra_headers,
        )
        return await connection.transport.request(request, settings)
