"""`AsyncWorkOS`: configuration, the session's lifetime, and the resources."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final

import aiohttp
import attrs
from yarl import URL

from ._config import check_api_key, check_base_url, check_max_retries, check_timeout
from ._contract import DEFAULT_BASE_URL
from ._errors import ConfigurationError, InvalidArgumentError
from ._models import UNSET, Unset
from ._organization_domains import OrganizationDomains
from ._organizations import Organizations
from ._request import Method, build_request
from ._response import Response
from ._retry import Backoff, RetryPolicy
from ._throttle import RateLimiter
from ._transport import CallSettings, SessionHolder, Transport

API_KEY_ENV_VAR: Final = "WORKOS_API_KEY"
BASE_URL_ENV_VAR: Final = "WORKOS_BASE_URL"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_RETRIES: Final = 2


def _check_limiter(rate_limiter: RateLimiter | None) -> RateLimiter | None:
    if rate_limiter is not None and not isinstance(rate_limiter, RateLimiter):
        raise ConfigurationError(f"rate_limiter must be a RateLimiter or None; got {type(rate_limiter).__name__}.")
    return rate_limiter


@attrs.frozen
class _Connection:
    """What a client and all its views share: the key, the base URL, the session and the transport."""

    api_key: str = attrs.field(repr=False)
    base_url: URL
    sessions: SessionHolder
    transport: Transport


class AsyncWorkOS:
    """An asyncio client for the WorkOS Organizations API.

    Make one per application and close it when the application stops::

        async with AsyncWorkOS() as client:  # reads WORKOS_API_KEY
            organization = await client.organizations.get("org_01H...")

    ``api_key`` defaults to ``$WORKOS_API_KEY`` and ``base_url`` to ``$WORKOS_BASE_URL`` or
    ``https://api.workos.com``.  ``timeout`` (seconds) bounds connecting and each wait for
    the response's bytes -- not time queued for a pooled connection; None means no limit.
    Failed calls are retried ``max_retries`` times (408, 429, 5xx, timeouts, dropped
    connections) with the given ``backoff``.  Pass your own ``session`` to share a
    connection pool; it stays yours to close.  Plain ``http://`` is accepted only for
    loopback hosts unless ``allow_insecure_http=True``.  A `RateLimiter` as ``rate_limiter``
    paces every request and retry to stay under WorkOS's published limits.
    """

    organizations: Organizations
    """Organizations: ``list``, ``create``, ``get``, ``get_by_external_id``, ``update``, ``delete``."""
    organization_domains: OrganizationDomains
    """Organization domains: ``create``, ``get``, ``verify``, ``delete``."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = None,
        session: aiohttp.ClientSession | None = None,
        allow_insecure_http: bool = False,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get(API_KEY_ENV_VAR)
        if not isinstance(api_key, str) or not api_key.strip():
            raise ConfigurationError(
                f"No WorkOS API key: pass AsyncWorkOS(api_key='sk_...') or set the {API_KEY_ENV_VAR}"
                " environment variable."
            )
        api_key = check_api_key(api_key)
        backoff = Backoff() if backoff is None else backoff
        if not isinstance(backoff, Backoff):
            raise ConfigurationError(f"backoff must be a Backoff(base=..., cap=...); got {backoff!r}.")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ConfigurationError(f"session must be an aiohttp.ClientSession; got {type(session).__name__}.")
        checked_url = check_base_url(
            base_url or os.environ.get(BASE_URL_ENV_VAR) or DEFAULT_BASE_URL, allow_insecure_http=allow_insecure_http
        )
        settings = CallSettings(
            check_timeout(timeout), RetryPolicy(check_max_retries(max_retries), backoff), _check_limiter(rate_limiter)
        )
        sessions = SessionHolder(session)
        transport = Transport(sessions, api_key=api_key, random=random.random)
        self._connect(_Connection(api_key, checked_url, sessions, transport), settings, is_view=False)

    def _connect(self, connection: _Connection, settings: CallSettings, *, is_view: bool) -> None:
        """Sets up a client or one of its views: every attribute is set here, and only here."""
        self._connection = connection
        self._api_key = connection.api_key
        self._base_url = connection.base_url
        self._sessions = connection.sessions
        self._transport = connection.transport
        self._settings = settings
        self._is_view = is_view
        self.organizations = Organizations(self)
        self.organization_domains = OrganizationDomains(self)

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The limiter that paces this client's requests, if any."""
        return self._settings.rate_limiter

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return str(self._base_url)

    @property
    def timeout(self) -> float | None:
        """The default socket timeout in seconds (None: no limit)."""
        return self._settings.timeout

    @property
    def max_retries(self) -> int:
        """The default number of retries."""
        return self._settings.retry.max_retries

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session in use, or None before the first request."""
        return self._sessions.session

    def with_options(
        self,
        *,
        timeout: float | Unset | None = UNSET,
        max_retries: int | Unset = UNSET,
        backoff: Backoff | Unset = UNSET,
        rate_limiter: RateLimiter | Unset | None = UNSET,
    ) -> AsyncWorkOS:
        """A view of this client with other defaults, sharing its session::

            patient = client.with_options(timeout=120, max_retries=5)
            paced = client.with_options(rate_limiter=RateLimiter())

        Only the client it came from owns the session: closing a view does nothing.
        """
        settings = self._merge(timeout, max_retries, backoff)
        if rate_limiter is not UNSET:
            settings = attrs.evolve(settings, rate_limiter=_check_limiter(rate_limiter))
        # A view shares the connection, so it skips __init__, which would make a new one.
        view = AsyncWorkOS.__new__(AsyncWorkOS)
        view._connect(self._connection, settings, is_view=True)
        return view

    def _merge(
        self, timeout: float | Unset | None, max_retries: int | Unset, backoff: Backoff | Unset = UNSET
    ) -> CallSettings:
        settings = self._settings
        if timeout is not UNSET:
            settings = attrs.evolve(settings, timeout=check_timeout(timeout))
        if max_retries is not UNSET:
            settings = attrs.evolve(
                settings, retry=attrs.evolve(settings.retry, max_retries=check_max_retries(max_retries))
            )
        if backoff is not UNSET:
            if not isinstance(backoff, Backoff):
                raise ConfigurationError(f"backoff must be a Backoff(base=..., cap=...); got {backoff!r}.")
            settings = attrs.evolve(settings, retry=attrs.evolve(settings.retry, backoff=backoff))
        return settings

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
    ) -> Response:
        settings = self._merge(timeout, max_retries)
        if idempotency_key is not None and (not isinstance(idempotency_key, str) or not idempotency_key.strip()):
            raise InvalidArgumentError("idempotency_key must be a non-empty string, or None to generate one.")
        if method == "POST" and idempotency_key is None:
            # One key per call, reused by every retry of it: the API then does the work once.
            idempotency_key = str(uuid.uuid4())
        request = build_request(
            method,
            self._base_url,
            segments,
            api_key=self._api_key,
            query=query,
            json=json,
            idempotency_key=idempotency_key,
            extra_headers=extra_headers,
        )
        return await self._transport.request(request, settings)

    async def close(self) -> None:
        """Close the session this client created (a session you passed in stays open)."""
        if not self._is_view:
            await self._sessions.close()

    async def __aenter__(self) -> AsyncWorkOS:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        view = " view" if self._is_view else ""
        return (
            f"<AsyncWorkOS{view} base_url={str(self._base_url)!r} timeout={self._settings.timeout!r}"
            f" max_retries={self._settings.retry.max_retries}>"
        )
