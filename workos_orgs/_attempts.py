"""One attempt of a request on the wire: its connections, its progress, and the deadlines that end it.

An attempt has two bounds, both counted from when it has a connection (never the wait for a
pooled connection, which is back-pressure, not failure):

- ``timeout``, the socket timeout: no wait for the response -- for its head once the request
  went out, then for each further piece of its body -- may last longer;
- ``attempt_timeout``, the hard bound: the whole response within that many seconds, so a
  server that sends one byte just inside every socket wait cannot hold a call.

Both are kept by one `Deadlines` per client rather than a timer per request: an attempt only
writes down when it connected and when its response last moved, and a single timer, set for
the earliest moment any attempt could overrun, looks at them all and cancels the task of one
that did.  (A timer per request and a reset per chunk of the response cost more CPU per call
than everything else the SDK does.)  The attempt that overran then raises `TimeoutError`, as
``asyncio.timeout`` would, and a cancellation from anyone else stays a cancellation.

How an attempt learns that it has a connection depends on the session: one the SDK makes uses
`CountingConnector`, which tells the attempt of the task asking for the connection (through a
context variable: aiohttp asks for connections in the task of the request); a session passed in
gets `AttemptTracing` in its ``trace_configs``, which tells the attempt given as the request's
``trace_request_ctx``.  Either way every connection counts, aiohttp's own resend of an
idempotent request after a dropped kept-alive connection included: an attempt that went out
twice may have done its work twice.

An attempt is a context manager around its send: inside, it is the one the connector tells;
on the way out it is released from its deadlines, and the cancellation a deadline asked for
becomes its `TimeoutError`.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
from collections.abc import Callable
from types import SimpleNamespace, TracebackType
from typing import Any, Final, Literal

import aiohttp
from aiohttp.connector import Connection

Overrun = Literal["socket timeout", "attempt timeout"]


class Attempt:
    """One send of a request, from its first connection to the end of its response."""

    __slots__ = (
        "_cancelling",
        "_connected_at",
        "_deadlines",
        "_loop",
        "_moved_at",
        "_token",
        "attempt_timeout",
        "overrun",
        "sends",
        "task",
        "timeout",
    )

    timeout: float | None
    """The socket timeout: the longest wait for the response to move on."""
    attempt_timeout: float | None
    """The hard bound on the whole attempt, from its connection."""
    task: asyncio.Task[Any] | None
    """The task it runs in, while it runs (None before and after)."""
    sends: int
    """How many connections it got: more than one means aiohttp sent it again."""
    overrun: Overrun | None
    """Which bound ended it, if one did."""

    def __init__(self, deadlines: Deadlines, *, timeout: float | None, attempt_timeout: float | None) -> None:
        self._deadlines = deadlines
        self.timeout = timeout
        self.attempt_timeout = attempt_timeout
        self._loop = asyncio.get_running_loop()
        self.task = None  # set as it is entered: one made and never sent keeps no task alive
        self.sends = 0
        self.overrun = None
        self._connected_at = self._moved_at = math.inf
        self._cancelling = 0
        self._token: contextvars.Token[Attempt | None] | None = None

    def __enter__(self) -> Attempt:
        """Make this the attempt `CountingConnector` tells of connections, in this task."""
        self.task = task = asyncio.current_task(self._loop)
        assert task is not None  # a coroutine of asyncio's always runs in a task
        self._cancelling = task.cancelling()
        self._token = _CURRENT.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Release it from its deadlines; as ``asyncio.timeout`` does, the cancellation a
        deadline asked for becomes a `TimeoutError`, one asked for by anyone else stays one."""
        # A context copied while the attempt was current (by a pooled connection's callbacks,
        # say) may outlive it: what it holds of the attempt must not hold the caller's task.
        task, self.task, token, self._token = self.task, None, self._token, None
        assert task is not None
        assert token is not None
        _CURRENT.reset(token)
        self._deadlines.release(self)
        if (
            self.overrun is not None
            and task.uncancel() <= self._cancelling
            and isinstance(error, asyncio.CancelledError)
        ):
            raise TimeoutError(self.overrun) from None

    def connected(self) -> None:
        """It has a connection (again): both bounds start over from now."""
        self.sends += 1
        self._connected_at = self._moved_at = self._loop.time()
        self._deadlines.watch(self)

    def connecting(self) -> None:
        """It is getting a connection again (aiohttp resends it): until it has one, only the
        hard bound of the connection before applies, as neither bounds a wait for the pool."""
        self._moved_at = math.inf

    def moved(self) -> None:
        """Its response moved on (its head arrived, or more of its body before a wait for the
        rest): the socket wait starts over."""
        self._moved_at = self._loop.time()

    def due(self) -> tuple[float, Overrun]:
        """When it overruns if nothing more arrives, and which bound that is."""
        socket_due = math.inf if self.timeout is None else self._moved_at + self.timeout
        hard_due = math.inf if self.attempt_timeout is None else self._connected_at + self.attempt_timeout
        return (hard_due, "attempt timeout") if hard_due <= socket_due else (socket_due, "socket timeout")


class Deadlines:
    """Ends the attempts (of one client, on one event loop) that overrun, with one timer."""

    def __init__(self) -> None:
        self._watched: set[Attempt] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def watch(self, attempt: Attempt) -> None:
        """Keep `attempt` to its bounds until `release` (a client's calls all run on one loop)."""
        due, _ = attempt.due()
        if due == math.inf or attempt.task is None:
            return
        self._watched.add(attempt)
        if due < self._timer_at:
            self._set_timer(due)

    def release(self, attempt: Attempt) -> None:
        """`attempt` is over; its deadlines no longer apply (the timer is left to lapse).

        Nothing else ends a watch: closing the client leaves a session passed in open, and
        the calls in flight on it are still kept to their bounds."""
        self._watched.discard(attempt)

    def _set_timer(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        # In a context of its own: the caller's, with its attempt in it, would be kept as
        # long as the timer is re-armed.
        self._timer = asyncio.get_running_loop().call_at(when, self._check, context=contextvars.Context())
        self._timer_at = when

    def _check(self) -> None:
        self._timer, self._timer_at = None, math.inf
        now = asyncio.get_running_loop().time()
        earliest = math.inf
        for attempt in list(self._watched):
            due, bound = attempt.due()
            if due <= now:
                self._watched.discard(attempt)
                attempt.overrun = bound
                assert attempt.task is not None  # never watched otherwise
                attempt.task.cancel()
            else:
                earliest = min(earliest, due)
        if earliest < math.inf:
            self._set_timer(earliest)


_CURRENT: Final[contextvars.ContextVar[Attempt | None]] = contextvars.ContextVar("workos_orgs_attempt", default=None)


class CountingConnector(aiohttp.TCPConnector):
    """aiohttp's connector, telling the current task's `Attempt` of each connection it hands out."""

    async def connect(
        self, req: aiohttp.ClientRequest, traces: list[Any], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        attempt = _CURRENT.get()
        if attempt is None:
            return await super().connect(req, traces, timeout)
        attempt.connecting()
        # A new connection's callbacks copy this context and live as long as it stays pooled:
        # they must not keep the attempt (and through it the caller's task).
        token = _CURRENT.set(None)
        try:
            connection = await super().connect(req, traces, timeout)
        finally:
            _CURRENT.reset(token)
        attempt.connected()
        return connection


class AttemptTracing(aiohttp.TraceConfig):
    """Tells each of the SDK's requests on a session passed in (its ``trace_request_ctx`` is an
    `Attempt`) when it has a connection; other requests on the session are left alone."""

    def __init__(self) -> None:
        super().__init__()
        connecting, connected = _telling(Attempt.connecting), _telling(Attempt.connected)
        self.on_connection_queued_start.append(connecting)
        self.on_connection_create_start.append(connecting)
        self.on_connection_create_end.append(connected)
        self.on_connection_reuseconn.append(connected)


_Signal = Callable[[aiohttp.ClientSession, SimpleNamespace, Any], Any]


def _telling(tell: Callable[[Attempt], None]) -> _Signal:
    """A tracing signal handler that tells the request's `Attempt` (none for other requests)."""

    async def handler(session: aiohttp.ClientSession, context: SimpleNamespace, params: object) -> None:
        attempt = context.trace_request_ctx
        if isinstance(attempt, Attempt):
            tell(attempt)

    return handler
