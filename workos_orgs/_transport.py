"""The aiohttp layer: one session per client, and the retry loop around the protocol core.

Timeouts are socket timeouts (``aiohttp.ClientTimeout(total=None, sock_connect=t,
sock_read=t)``): ``timeout`` bounds connecting and each wait for more bytes of the answer,
not the time a request waits for a free pooled connection, and not the whole call across
retries.  A slow pool is back-pressure, not a failed request.

Note that aiohttp itself resends an idempotent request (GET, PUT, DELETE) once when a reused
keep-alive connection turns out to be closed (RFC 9112, section 9.3.1); that resend happens
inside one of our attempts.  POSTs are never resent by aiohttp, only by the retry loop here,
always with the same ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Final

import aiohttp
import attrs

from ._errors import APIConnectionError, APITimeoutError, WorkOSError
from ._protocol import REDACTED, Request, Response, RetryPolicy, decode_error, retry_delay
from ._throttle import RateLimiter

logger: Final = logging.getLogger("workos_orgs")

LOG_ENV_VAR: Final = "WORKOS_LOG"
_HANDLER_NAME: Final = "workos_orgs.env"


def configure_logging_from_env() -> None:
    """``WORKOS_LOG=debug`` (or ``info``) sends the ``workos_orgs`` log to stderr.

    Idempotent: the handler is added once, however many clients are made.
    """
    level = os.environ.get(LOG_ENV_VAR, "").strip().upper()
    if level not in ("DEBUG", "INFO"):
        return
    logger.setLevel(level)
    if not any(handler.get_name() == _HANDLER_NAME for handler in logger.handlers):
        handler = logging.StreamHandler()
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)


@attrs.frozen
class CallSettings:
    """The options in force for one call: client defaults with per-call overrides applied."""

    timeout: float | None
    retry: RetryPolicy
    rate_limiter: RateLimiter | None = None


class ClientClosedError(WorkOSError, RuntimeError):
    """The client was closed; make a new one (or keep it open for the app's lifetime)."""


class SessionHolder:
    """Owns (or borrows) the one `aiohttp.ClientSession` of a client and its views.

    The session is created on first use, inside the running event loop; a session passed in
    by the caller is used as is and never closed here.
    """

    def __init__(self, session: aiohttp.ClientSession | None) -> None:
        self._session = session
        self._owned = session is None
        self._closed = False

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session, if one exists yet (for tests and introspection)."""
        return self._session

    def get(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("This AsyncWorkOS client is closed; create a new one.")
        if self._session is None:
            asyncio.get_running_loop()  # a clear error when called outside a loop
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owned:
            await session.close()


class Transport:
    """Sends requests with retries; knows the key only to keep it out of errors."""

    def __init__(
        self,
        sessions: SessionHolder,
        *,
        api_key: str,
        random: Callable[[], float],
    ) -> None:
        self._sessions = sessions
        self._api_key = api_key
        self._secret = api_key.encode()
        self._random = random

    async def request(self, request: Request, settings: CallSettings) -> Response:
        """Send `request`, retrying as `settings.retry` allows; an error answer raises."""
        path = request.url.raw_path
        attempt = 0
        while True:
            started = time.monotonic()
            failure: APIConnectionError | None = None
            response: Response | None = None
            if settings.rate_limiter is not None:
                await settings.rate_limiter.wait(request.method, request.segments)
            try:
                response = await self._send_once(request, settings.timeout)
            except TimeoutError as error:
                failure = APITimeoutError(
                    f"No answer within the {settings.timeout}s socket timeout", method=request.method, path=path
                )
                failure.__cause__ = error
            except aiohttp.ClientError as error:
                failure = APIConnectionError(
                    f"Connection failed: {type(error).__name__}: {error}", method=request.method, path=path
                )
                failure.__cause__ = error
            elapsed = time.monotonic() - started
            now = time.time()
            if response is not None:
                logger.debug(
                    "%s %s -> %s request_id=%s attempt=%d elapsed=%.3fs",
                    request.method,
                    path,
                    response.status,
                    response.request_id,
                    attempt + 1,
                    elapsed,
                )
                if response.status < 400:
                    return response
                delay = retry_delay(
                    attempt,
                    settings.retry,
                    status=response.status,
                    headers=response.headers,
                    random=self._random,
                    now=now,
                )
                if delay is None:
                    raise decode_error(response, secret=self._api_key, now=now)
                outcome = f"HTTP {response.status} request_id={response.request_id}"
            else:
                assert failure is not None
                logger.debug(
                    "%s %s -> %s attempt=%d elapsed=%.3fs",
                    request.method,
                    path,
                    type(failure).__name__,
                    attempt + 1,
                    elapsed,
                )
                delay = retry_delay(attempt, settings.retry, connection_error=True, random=self._random, now=now)
                if delay is None:
                    raise failure
                outcome = str(failure.message)
            logger.info(
                "Retrying %s %s in %.2fs after %s (attempt %d of %d)",
                request.method,
                path,
                delay,
                outcome,
                attempt + 2,
                settings.retry.max_retries + 1,
            )
            await asyncio.sleep(delay)
            attempt += 1

    async def _send_once(self, request: Request, timeout: float | None) -> Response:
        session = self._sessions.get()
        client_timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=timeout, sock_read=timeout)
        async with session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body,
            timeout=client_timeout,
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
        if self._secret in body:
            # An answer that echoes the key must not carry it into errors, logs or models.
            body = body.replace(self._secret, REDACTED.encode())
        return Response(answer.status, answer.headers, body)
