"""`AsyncWorkOS`: configuration, the session's lifetime, and the resources."""

from __future__ import annotations

import functools
import os
import random
from types import TracebackType
from typing import Final

import aiohttp
from yarl import URL

from ._base_client import BaseClient, Connection
from ._config import check_api_key, check_backoff, check_base_url, check_limiter, check_max_retries, check_timeout
from ._contract import DEFAULT_BASE_URL
from ._errors import ConfigurationError
from ._models import UNSET, Unset
from ._organization_domains import OrganizationDomains
from ._organizations import Organizations
from ._retry import DEFAULT_MAX_RETRIES, Backoff, RetryPolicy
from ._throttle import RateLimiter
from ._transport import CallSettings, SessionHolder, Transport

API_KEY_ENV_VAR: Final = "WORKOS_API_KEY"
BASE_URL_ENV_VAR: Final = "WORKOS_BASE_URL"
DEFAULT_TIMEOUT: Final = 30.0


def _connect(api_key: str, base_url: URL, session: aiohttp.ClientSession | None) -> Connection:
    """A new connection: the session (yours, or one made at the first request) and its transport."""
    sessions = SessionHolder(session)
    return Connection(api_key, base_url, sessions, Transport(sessions, api_key=api_key, random=random.random))


class AsyncWorkOS(BaseClient):
    """An asyncio client for the WorkOS Organizations API.

    Make one per application and close it when the application stops::

        async with AsyncWorkOS() as client:  # reads WORKOS_API_KEY
            organization = await client.organizations.get("org_01H...")

    ``api_key`` defaults to ``$WORKOS_API_KEY`` and ``base_url`` to ``$WORKOS_BASE_URL`` or
    ``https://api.workos.com``.  ``timeout`` (seconds) bounds each TCP connect and each wait
    for the response (its head, then each piece of its body) -- not DNS resolution, nor time
    queued for a pooled connection;
    None means no limit.  ``attempt_timeout`` (seconds; default 3 x ``timeout``) bounds each
    attempt as a whole from when it has a connection, so a server dripping bytes cannot hold
    a call.
    Failed calls are retried ``max_retries`` times (HTTP 408, 429, 500, 502, 503, 504;
    timeouts; dropped connections) with the given ``backoff``.  Pass your own ``session`` to share a
    connection pool; it stays yours to close.  Plain ``http://`` is accepted only for
    loopback hosts unless ``allow_insecure_http=True``.  A `RateLimiter` as ``rate_limiter``
    paces every request and retry to stay under WorkOS's published limits.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        attempt_timeout: float | Unset | None = UNSET,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = None,
        session: aiohttp.ClientSession | None = None,
        allow_insecure_http: bool = False,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get(API_KEY_ENV_VAR)
        elif not isinstance(api_key, str):  # named by its type only: its value may be the key
            raise ConfigurationError(f"api_key must be a string such as 'sk_...'; got {type(api_key).__name__}.")
        if not isinstance(api_key, str) or not api_key.strip():
            raise ConfigurationError(
                f"No WorkOS API key: pass api_key='sk_...' or set the {API_KEY_ENV_VAR} environment variable."
            )
        api_key = check_api_key(api_key)
        backoff = Backoff() if backoff is None else check_backoff(backoff)
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ConfigurationError(f"session must be an aiohttp.ClientSession; got {type(session).__name__}.")
        if base_url is None or base_url == "":  # not given: anything else is checked, never replaced
            base_url = os.environ.get(BASE_URL_ENV_VAR) or DEFAULT_BASE_URL
        checked_url = check_base_url(base_url, allow_insecure_http=allow_insecure_http, api_key=api_key)
        settings = CallSettings(
            check_timeout(timeout),
            RetryPolicy(check_max_retries(max_retries), backoff),
            check_limiter(rate_limiter),
            UNSET if attempt_timeout is UNSET else check_timeout(attempt_timeout, name="attempt_timeout"),
        )
        super().__init__(_connect(api_key, checked_url, session), settings)

    def _reopened(self) -> AsyncWorkOS:
        """A client with this one's configuration on a connection of its own, with a session
        it makes: a forked child's, since the parent's connections are not the child's to use."""
        connection = self._connection
        client = AsyncWorkOS.__new__(AsyncWorkOS)
        BaseClient.__init__(client, _connect(connection.api_key, connection.base_url, None), self._settings)
        return client

    @functools.cached_property
    def organizations(self) -> Organizations:
        """Organizations: ``list``, ``create``, ``get``, ``get_by_external_id``, ``update``, ``delete``, ``sync``."""
        return Organizations(self)

    @functools.cached_property
    def organization_domains(self) -> OrganizationDomains:
        """Organization domains: ``create``, ``get``, ``verify``, ``delete``."""
        return OrganizationDomains(self)

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return str(self._connection.base_url)

    @property
    def timeout(self) -> float | None:
        """The default socket timeout in seconds (None: no limit)."""
        return self._settings.timeout

    @property
    def attempt_timeout(self) -> float | None:
        """The default hard bound in seconds on each attempt, from its connection (None: no limit)."""
        return self._settings.attempt_timeout

    @property
    def max_retries(self) -> int:
        """The default number of retries."""
        return self._settings.retry.max_retries

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session in use, or None before the first request."""
        return self._connection.sessions.session

    async def close(self) -> None:
        """Close the session this client created (a session you passed in stays open)."""
        if not self._is_view:
            await self._connection.sessions.close()

    async def __aenter__(self) -> AsyncWorkOS:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        view = " view" if self._is_view else ""
        return (
            f"<AsyncWorkOS{view} base_url={self.base_url!r} timeout={self._settings.timeout!r}"
            f" max_retries={self._settings.retry.max_retries}>"
        )
