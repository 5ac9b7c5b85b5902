"""The aiohttp layer: one session per client, and the retry loop around the protocol core.

``timeout`` bounds each TCP connect (aiohttp's ``sock_connect``) and each wait for the
response once the attempt has a connection; ``attempt_timeout`` (by default
`ATTEMPT_TIMEOUT_FACTOR` times ``timeout``) bounds the whole attempt from then on, so a server
that sends one byte just inside every wait cannot hold a call.  `_attempts` keeps both.
Neither bounds the time a request waits for a free pooled connection (a slow pool is
back-pressure, not a failed request), nor DNS resolution (aiohttp bounds that only with
``connect``, which would bound the pool wait too), nor the whole call across retries.

Note that aiohttp itself resends an idempotent request (GET, PUT, DELETE) once when a kept-
alive connection closes under it (RFC 9112, section 9.3.1); that resend happens inside one of
our attempts, and `_attempts` counts each connection an attempt gets: a DELETE whose first
send was dropped after the server did the work is known to have an unknown outcome, not taken
for a definitive 404.  POSTs are never resent by aiohttp, only by the retry loop here, always
with the same ``Idempotency-Key``.

A response body is read in chunks as aiohttp decodes it (gzip, deflate, whatever the framing)
and reading stops at `MAX_RESPONSE_BYTES` of decoded bytes: a small compressed body cannot
inflate without limit.

Every error the loop raises carries ``attempts`` and ``outcome_unknown`` (see
`attempt_outcome_unknown`); the resources build exactly-once creates and deletes on them.

Cancelling a call (``asyncio.timeout``, ``task.cancel()``) at any point leaves no connection
checked out: aiohttp closes a connection whose response was not read to the end rather than
pooling it.  Closing the client ends every call still running on its session, in flight or
queued for a pooled connection, with `ClientClosedError`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import aiohttp
import attrs

from ._attempts import Attempt, AttemptTracing, CountingConnector, Deadlines
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    WorkOSError,
    WrongEventLoopError,
)
from ._event_loops import being_cancelled, session_loop
from ._log import logger
from ._models import UNSET, Unset
from ._redaction import Secret, redact_cut_text
from ._request import Request
from ._response import MAX_RESPONSE_BYTES, Response, decode_error, is_success, received
from ._retry import RetryPolicy, attempt_outcome_unknown, retry_delay
from ._throttle import RateLimiter

ATTEMPT_TIMEOUT_FACTOR: Final = 3
"""Unless ``attempt_timeout`` is given, each send of a request ends at most this many
``timeout``s after it got its connection."""


@attrs.frozen
class CallSettings:
    """The options in force for one call: client defaults with per-call overrides applied."""

    timeout: float | None
    retry: RetryPolicy
    rate_limiter: RateLimiter | None = None
    given_attempt_timeout: float | Unset | None = UNSET
    """``attempt_timeout`` as given; UNSET follows ``timeout``."""
    socket_timeout: aiohttp.ClientTimeout = attrs.field(init=False, eq=False, repr=False)
    """`timeout` as aiohttp takes it: made once per settings, not once per request."""

    def __attrs_post_init__(self) -> None:
        # The waits for the response are kept by `_attempts`, not by aiohttp (``sock_read``).
        client_timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=self.timeout, sock_read=None)
        object.__setattr__(self, "socket_timeout", client_timeout)

    @property
    def attempt_timeout(self) -> float | None:
        """The hard bound on each send, from when it has a connection (None: no bound)."""
        if self.given_attempt_timeout is not UNSET:
            return self.given_attempt_timeout
        return None if self.timeout is None else self.timeout * ATTEMPT_TIMEOUT_FACTOR


T = TypeVar("T")


class SessionHolder:
    """Owns (or borrows) the one `aiohttp.ClientSession` of a client and its views.

    The session is created on first use, inside the running event loop, with a
    `CountingConnector`; a session passed in by the caller is never closed here, and gets the
    SDK's `AttemptTracing` added to its ``trace_configs`` (once): it reacts only to the SDK's
    own requests.  `deadlines` keeps the attempts of every call on the session to their bounds.
    """

    def __init__(self, session: aiohttp.ClientSession | None) -> None:
        self._session = session
        self._owned = session is None
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0  # of the process that first used the session, in `_loop`
        self._inherited: aiohttp.ClientSession | None = None
        self.deadlines: Deadlines = Deadlines()
        # The tasks in `wait` (a backoff, a rate limiter's queue, a sync), how many times over
        # (a sync's own listing waits inside its wait), and those `close` woke.
        self._waiting: dict[asyncio.Task[Any], int] = {}
        self._woken: set[asyncio.Task[Any]] = set()
        if session is not None:
            _add_tracing(session)

    def closed_error(self, doing: str = "") -> ClientClosedError | None:
        """The error for a call made (or `doing` something) after this client or the session
        passed in was closed; None while both are open."""
        if self._closed:
            # Not named by its class: the blocking WorkOS runs on this one, and its callers see this too.
            return ClientClosedError(f"This client was closed{doing}; create a new one.")
        if self._session is not None and self._session.closed:
            return ClientClosedError(
                f"The aiohttp session passed to this AsyncWorkOS client was closed{doing}; keep it open"
                " while the client is in use, or let the client make its own."
            )
        return None

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session, if one exists yet (for tests and introspection)."""
        return self._session

    async def wait(self, waiting: Callable[[], Awaitable[T]], doing: str) -> T:
        """Await `waiting` (a backoff, a rate limiter's queue, a whole sync) unless this client
        is closed first: then `ClientClosedError`, saying the call was closed while `doing` so,
        at once.  The caller's own cancellation stays one."""
        task = asyncio.current_task()
        if (closed := self.closed_error(doing)) is not None:
            raise closed
        if task is None:
            return await waiting()
        self._waiting[task] = self._waiting.get(task, 0) + 1
        try:
            return await waiting()
        except asyncio.CancelledError:
            if task not in self._woken or task.uncancel() > 0:
                raise
        finally:
            self._woken.discard(task)
            if (count := self._waiting.pop(task) - 1) > 0:
                self._waiting[task] = count
        closed = self.closed_error(doing)
        assert closed is not None  # woken by close
        raise closed

    def get(self) -> aiohttp.ClientSession:
        """The session, made on first use in the running loop; `ClientClosedError` once closed,
        `WrongEventLoopError` from another loop."""
        session = self._session
        if session is not None and self._loop is asyncio.get_running_loop() and not session.closed:
            return session  # in use already: the one question per call
        if (closed := self.closed_error()) is not None:
            raise closed
        self._loop = session_loop(self._loop)
        self._pid = os.getpid()
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=CountingConnector())
        return self._session

    async def close(self) -> None:
        """Close the session if it is the client's own, and end at once every call waiting in
        `wait`; `WrongEventLoopError` from another open loop than the session's."""
        loop = self._loop
        elsewhere = loop is not None and not loop.is_closed() and loop is not asyncio.get_running_loop()
        if self._owned and self._session is not None and elsewhere and self._pid == os.getpid():
            # Its connections belong to that loop: closed from this one, they would be left open
            # there (aiohttp refuses with a bare RuntimeError), and the client unusable in both.
            raise WrongEventLoopError(
                "This AsyncWorkOS client's session belongs to another event loop, which is still open:"
                " close it in that loop: `loop.run_until_complete(client.close())`, or, while it runs"
                " in another thread, `asyncio.run_coroutine_threadsafe(client.close(), loop).result()`."
            )
        self._closed = True
        # Once each: a task a close woke already, cancelled again, would stay cancelled.
        current = asyncio.current_task()
        woken = [] if elsewhere else [task for task in self._waiting if task is not current and task not in self._woken]
        for task in woken:
            self._woken.add(task)
            task.cancel()
        session, self._session = self._session, None
        if session is not None and self._owned:
            if elsewhere:
                # A forked child's copy of its parent's session, on the parent's loop: its
                # connections are the parent's too, and closing them here (as collecting them
                # would) takes them out of the parent's loop.  Kept, untouched.
                self._inherited = session
            else:
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
        self._secret = Secret(api_key)
        self._random = random

    async def request(self, request: Request, settings: CallSettings) -> Response:
        """Send `request`, retrying as `settings.retry` allows; an error response raises.

        The error raised says how many ``attempts`` were made and whether any of them left
        the outcome unknown (``outcome_unknown``).  A call cut short by closing the client
        raises `ClientClosedError`.
        """
        try:
            return await self._request(request, settings)
        except (asyncio.CancelledError, APIConnectionError, RuntimeError) as error:
            # Closing the session fails the calls on its connections and cancels those queued
            # for one, though nobody cancelled their tasks; aiohttp refuses a closed session
            # with a bare RuntimeError.  None of these must escape as such.
            closed = self._sessions.closed_error(
                f" during {request.method} {request.url.raw_path} (its outcome is unknown)"
            )
            if closed is None or isinstance(error, ClientClosedError) or being_cancelled():
                raise
            cause = error if isinstance(error, WorkOSError) else None
        # Raised outside the handler, so that aiohttp's error is not its context either: the
        # frames of that error's traceback hold the request's headers, the key among them.
        raise closed from cause

    async def _request(self, request: Request, settings: CallSettings) -> Response:
        path = request.url.raw_path
        attempt = 0
        unknown = False
        while True:
            started = time.monotonic()
            failure: APIConnectionError | None = None
            response: Response | None = None
            sending = Attempt(
                self._sessions.deadlines, timeout=settings.timeout, attempt_timeout=settings.attempt_timeout
            )
            if settings.rate_limiter is not None:
                limiter = settings.rate_limiter
                try:
                    await self._sessions.wait(
                        functools.partial(limiter.wait, request.method, request.segments),
                        self._waiting_to_send(request, attempt, unknown),
                    )
                except asyncio.CancelledError as error:
                    failure = self._cancelled_elsewhere(error, request, "the rate limiter's wait", reached_server=False)
            if failure is None:
                if attempt and (
                    closed := self._sessions.closed_error(self._waiting_to_send(request, attempt, unknown))
                ):
                    # A session passed in, closed while this call waited to send again (its close
                    # wakes no waits of ours): said here, with the outcome so far, not at the send.
                    raise closed
                try:
                    response = await self._send_once(request, settings.socket_timeout, sending)
                except TimeoutError as error:
                    if sending.overrun == "attempt timeout":
                        detail = f"No complete response within {settings.attempt_timeout}s of the attempt's connection"
                    else:
                        detail = f"No response within the {settings.timeout}s socket timeout"
                    failure = self._failure(
                        APITimeoutError,
                        detail,
                        request,
                        error,
                        # Safe only when nothing went out: a connect timeout of aiohttp's resend
                        # follows a send that may have done the work.
                        reached_server=sending.sends > 0,
                    )
                except aiohttp.ClientError as error:
                    failure = self._failure(
                        APIConnectionError,
                        f"Connection failed: {type(error).__name__}: {error}",
                        request,
                        error,
                        reached_server=sending.sends > 0,
                    )
                except asyncio.CancelledError as error:
                    failure = self._cancelled_elsewhere(
                        error,
                        request,
                        "aiohttp, or the session's tracing or middleware",
                        reached_server=sending.sends > 0,
                    )
            # More than one send means aiohttp resent it after a dropped connection: the
            # first send may have done the work.
            unknown = unknown or sending.sends > 1
            # Guarded: the arguments alone cost more than the rest of a retry loop's turn.
            debugging = logger.isEnabledFor(logging.DEBUG)
            if response is not None:
                if debugging:
                    logger.debug(
                        "%s %s -> %s request_id=%s attempt=%d sends=%d elapsed=%.3fs",
                        request.method,
                        path,
                        response.status,
                        response.request_id,
                        attempt + 1,
                        sending.sends,
                        time.monotonic() - started,
                    )
                if is_success(response.status):
                    return response
                now = time.time()
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
                    status_error = decode_error(response, secret=self._secret, now=now)
                    status_error.attempts, status_error.outcome_unknown = attempt + 1, unknown
                    try:
                        raise status_error
                    finally:
                        # Its traceback holds this frame: a local naming it would be a reference
                        # cycle, keeping the frames' objects (a blocking client too) until a
                        # cyclic collection.
                        del status_error
                outcome = f"HTTP {response.status} request_id={response.request_id}"
            else:
                assert failure is not None
                unknown = unknown or failure.outcome_unknown
                if debugging:
                    logger.debug(
                        "%s %s -> %s attempt=%d sends=%d elapsed=%.3fs",
                        request.method,
                        path,
                        type(failure).__name__,
                        attempt + 1,
                        sending.sends,
                        time.monotonic() - started,
                    )
                delay = None  # closed under it: no retry (`request` says it was closed during it)
                if self._sessions.closed_error() is None:
                    delay = retry_delay(
                        attempt, settings.retry, connection_error=True, random=self._random, now=time.time()
                    )
                if delay is None:
                    failure.attempts, failure.outcome_unknown = attempt + 1, unknown
                    try:
                        raise failure
                    finally:
                        del failure  # as above: no reference cycle through this frame
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
            await self._sessions.wait(
                functools.partial(asyncio.sleep, delay), self._waiting_to_send(request, attempt + 1, unknown)
            )
            attempt += 1

    @staticmethod
    def _waiting_to_send(request: Request, attempt: int, unknown: bool) -> str:
        again = " again" if attempt else ""
        outcome = " (its outcome is unknown)" if unknown else ""
        return f" while {request.method} {request.url.raw_path} waited to be sent{again}{outcome}"

    def _cancelled_elsewhere(
        self, error: asyncio.CancelledError, request: Request, where: str, *, reached_server: bool
    ) -> APIConnectionError:
        """The failure for a `CancelledError` that reached this call though its task was not
        being cancelled, nor the client closed (`error` itself, raised again, when either is so).

        Something the call awaited was cancelled elsewhere.  Raised as it is, it would read as
        the caller's own cancellation: a TaskGroup task ending with it vanishes without a word.
        """
        if being_cancelled() or self._sessions.closed_error() is not None:
            raise error
        return self._failure(
            APIConnectionError,
            f"The call was cancelled, though not by the call's task: a CancelledError came from {where},"
            " which awaited something cancelled elsewhere; check what it awaits",
            request,
            error,
            reached_server=reached_server,
        )

    def _failure(
        self,
        kind: type[APIConnectionError],
        message: str,
        request: Request,
        error: BaseException,
        *,
        reached_server: bool,
    ) -> APIConnectionError:
        # aiohttp's text may quote what the server sent, cut short: a copy of the key in it may end mid-way.
        message = redact_cut_text(message, self._secret)
        failure = kind(
            message,
            method=request.method,
            path=request.url.raw_path,
            outcome_unknown=attempt_outcome_unknown(reached_server=reached_server),
        )
        # aiohttp's other errors may hold the request's headers (the key among them, in a
        # response error's `request_info`) or what the server sent (a disconnect's unfinished
        # head, with any echo of the key): they are summed up, redacted, in the message.  Only
        # an OSError -- the system's word on the socket, a timeout included -- is chained, and
        # only as a copy: the error itself carries, in its traceback and its context, aiohttp's
        # frames, whose local variables (which error trackers record) hold the headers.
        failure.__cause__ = self._bare(error) if isinstance(error, OSError) else None
        failure.__suppress_context__ = True
        return failure

    def _bare(self, error: OSError) -> OSError:
        """`error` as the system gave it: its nearest class of Python's own (an `ssl.SSLError`
        stays one), its errno and text, and no traceback or context."""
        kind: type[OSError] = next(cls for cls in type(error).__mro__ if cls.__module__ in _SYSTEM_MODULES)
        if error.errno is not None and error.strerror is not None:
            # OSError itself turns an errno into its subclass (111: ConnectionRefusedError).
            return kind(error.errno, redact_cut_text(error.strerror, self._secret))
        return kind(redact_cut_text(str(error), self._secret))

    async def _send_once(self, request: Request, client_timeout: aiohttp.ClientTimeout, attempt: Attempt) -> Response:
        """One attempt; `TimeoutError` when `attempt` overran a bound (see `_attempts`)."""
        session = self._sessions.get()
        with attempt:
            async with session.request(
                request.method,
                request.url,
                headers=request.headers,
                data=request.body,
                timeout=client_timeout,
                allow_redirects=False,
                # A session passed in may raise on error statuses; error responses are ours to read.
                raise_for_status=False,
                trace_request_ctx=attempt,
            ) as response:
                attempt.moved()
                body, complete = await _read_capped(response, MAX_RESPONSE_BYTES, attempt.moved)
        return received(response.status, response.headers, body, complete=complete, secret=self._secret)


_SYSTEM_MODULES: Final = frozenset({"builtins", "ssl"})
"""Where the error classes a connection error's cause is copied as come from."""


def _add_tracing(session: aiohttp.ClientSession) -> None:
    """Add the SDK's tracing to a session passed in, unless it has it already or is another
    client's (whose connector counts sends itself).

    aiohttp has no per-request tracing, and per-request middlewares would replace the
    session's own (which cannot be read back), so the public, live ``trace_configs`` list is
    where it goes.  Should aiohttp ever hand out a copy, this fails loudly rather than lose
    count of resends.
    """
    configs = session.trace_configs
    if isinstance(session.connector, CountingConnector) or any(
        isinstance(config, AttemptTracing) for config in configs
    ):
        return  # another client's session: its connector counts already
    tracing = AttemptTracing()
    tracing.freeze()
    configs.append(tracing)
    if not any(isinstance(config, AttemptTracing) for config in session.trace_configs):
        raise ConfigurationError(
            "This aiohttp version does not let the SDK trace requests on a session passed in;"
            " let AsyncWorkOS create its own session (omit session=)."
        )


async def _read_capped(response: aiohttp.ClientResponse, limit: int, moved: Callable[[], None]) -> tuple[bytes, bool]:
    """The decoded body, and whether it was read whole; reading stops after `limit` bytes.
    `moved` is called before each wait for more of it.

    The body is read in chunks as aiohttp decodes it, never with `read()`: a declared
    ``Content-Length`` counts compressed bytes, which may inflate a thousandfold.  A
    connection whose response is not read to the end is closed by aiohttp, not pooled.
    """
    content = response.content
    chunks: list[bytes] = []
    size = 0
    # Each read takes all that is buffered (one byte past the limit tells a body that is too
    # long), without a wait when some is; a body already read to its end needs no further
    # await to say so.  The socket wait starts over only where there is a wait: a deadline
    # can end the attempt only while it waits, so the pieces read without waiting count as
    # arriving just before it.
    while not content.at_eof():
        chunk = content.read_nowait(limit - size + 1)
        if not chunk:
            moved()
            chunk = await content.read(limit - size + 1)
            if not chunk:
                break
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), True
