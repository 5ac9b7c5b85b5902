"""The aiohttp layer: one session per client, and the retry loop around the protocol core.

Timeouts are socket timeouts (``aiohttp.ClientTimeout(total=None, sock_connect=t,
sock_read=t)``): ``timeout`` bounds connecting and each wait for more bytes of the answer,
not the time a request waits for a free pooled connection, and not the whole call across
retries.  A slow pool is back-pressure, not a failed request.

Note that aiohttp itself resends an idempotent request (GET, PUT, DELETE) once when a kept-
alive connection closes under it (RFC 9112, section 9.3.1); that resend happens inside one of
our attempts.  A per-request middleware counts the sends, so a DELETE whose first send was
dropped after the server did the work is known to have an unknown outcome, not taken for a
definitive 404.  POSTs are never resent by aiohttp, only by the retry loop here, always with
the same ``Idempotency-Key``.

Every error the loop raises carries ``attempts`` and ``outcome_unknown`` (see
`attempt_outcome_unknown`); the resources build exactly-once creates and deletes on them.

Cancelling a call (``asyncio.timeout``, ``task.cancel()``) at any point leaves no connection
checked out: aiohttp closes a connection whose answer was not read to the end rather than
pooling it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Final

import aiohttp
import attrs

from ._errors import APIConnectionError, APITimeoutError, WorkOSError
from ._event_loops import session_loop
from ._protocol import (
    MAX_RESPONSE_BYTES,
    REDACTED,
    Request,
    Response,
    RetryPolicy,
    attempt_outcome_unknown,
    decode_error,
    redact,
    retry_delay,
)
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
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session, if one exists yet (for tests and introspection)."""
        return self._session

    def get(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("This AsyncWorkOS client is closed; create a new one.")
        self._loop = session_loop(self._loop)
        if self._session is None:
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
        """Send `request`, retrying as `settings.retry` allows; an error answer raises.

        The error raised says how many ``attempts`` were made and whether any of them left
        the outcome unknown (``outcome_unknown``).
        """
        path = request.url.raw_path
        attempt = 0
        unknown = False
        while True:
            started = time.monotonic()
            failure: APIConnectionError | None = None
            response: Response | None = None
            if settings.rate_limiter is not None:
                await settings.rate_limiter.wait(request.method, request.segments)
            sends = _SendCounter()
            try:
                response = await self._send_once(request, settings.timeout, sends)
            except TimeoutError as error:
                failure = self._failure(
                    APITimeoutError,
                    f"No answer within the {settings.timeout}s socket timeout",
                    request,
                    error,
                    # A connect timeout never reached the server; a read timeout may have.
                    reached_server=not isinstance(error, aiohttp.ConnectionTimeoutError),
                )
            except aiohttp.ClientError as error:
                failure = self._failure(
                    APIConnectionError,
                    f"Connection failed: {type(error).__name__}: {error}",
                    request,
                    error,
                    reached_server=not isinstance(error, aiohttp.ClientConnectorError),
                )
            # More than one send means aiohttp resent it after a dropped connection: the
            # first send may have done the work.
            unknown = unknown or sends.count > 1
            elapsed = time.monotonic() - started
            now = time.time()
            if response is not None:
                logger.debug(
                    "%s %s -> %s request_id=%s attempt=%d sends=%d elapsed=%.3fs",
                    request.method,
                    path,
                    response.status,
                    response.request_id,
                    attempt + 1,
                    sends.count,
                    elapsed,
                )
                if response.status < 400:
                    return response
                unknown = unknown or attempt_outcome_unknown(status=response.status)
                delay = retry_delay(
                    attempt,
                    settings.retry,
                    status=response.status,
                    headers=response.headers,
                    random=self._random,
                    now=now,
                )
                if delay is None:
                    status_error = decode_error(response, secret=self._api_key, now=now)
                    status_error.attempts, status_error.outcome_unknown = attempt + 1, unknown
                    raise status_error
                outcome = f"HTTP {response.status} request_id={response.request_id}"
            else:
                assert failure is not None
                unknown = unknown or failure.outcome_unknown
                logger.debug(
                    "%s %s -> %s attempt=%d sends=%d elapsed=%.3fs",
                    request.method,
                    path,
                    type(failure).__name__,
                    attempt + 1,
                    sends.count,
                    elapsed,
                )
                delay = retry_delay(attempt, settings.retry, connection_error=True, random=self._random, now=now)
                if delay is None:
                    failure.attempts, failure.outcome_unknown = attempt + 1, unknown
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

    def _failure(
        self,
        kind: type[APIConnectionError],
        message: str,
        request: Request,
        error: BaseException,
        *,
        reached_server: bool,
    ) -> APIConnectionError:
        if self._api_key in message:
            message = message.replace(self._api_key, REDACTED)
        failure = kind(
            message,
            method=request.method,
            path=request.url.raw_path,
            outcome_unknown=attempt_outcome_unknown(reached_server=reached_server),
        )
        # aiohttp's response errors hold the request's headers (the key among them) in
        # `request_info`; they are summed up in the message instead of chained.
        failure.__cause__ = None if isinstance(error, aiohttp.ClientResponseError) else error
        failure.__suppress_context__ = True
        return failure

    async def _send_once(self, request: Request, timeout: float | None, sends: _SendCounter) -> Response:
        session = self._sessions.get()
        client_timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=timeout, sock_read=timeout)
        # Per-request middlewares replace the session's, so a session passed in keeps its own.
        middlewares = (*getattr(session, "_middlewares", ()), sends)
        async with session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body,
            timeout=client_timeout,
            allow_redirects=False,
            # A session passed in may raise on error statuses; error answers are ours to read.
            raise_for_status=False,
            middlewares=middlewares,
        ) as answer:
            body, complete = await _read_capped(answer, MAX_RESPONSE_BYTES)
        # An answer that echoes the key must not carry it into errors, logs or models.
        body = redact(body, self._secret, cut_off=not complete)
        return Response(answer.status, answer.headers, body, complete)


class _SendCounter:
    """A per-request aiohttp middleware that counts how many times the request went out."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(
        self,
        request: aiohttp.ClientRequest,
        handler: Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]],
    ) -> aiohttp.ClientResponse:
        self.count += 1
        return await handler(request)


async def _read_capped(answer: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """The body, and whether it was read whole; reading stops after `limit` bytes.

    A connection whose answer is not read to the end is closed by aiohttp, not pooled.
    """
    if answer.content_length is not None and answer.content_length <= limit:
        return await answer.read(), True
    chunks: list[bytes] = []
    size = 0
    while chunk := await answer.content.read(64 * 1024):
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), True
