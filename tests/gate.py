"""A loopback HTTP server in front of the emulator that can hold requests until the test lets go.

Tests about slow responses, timeouts and cancellation need a request that is surely in flight
and surely not answered.  An emulator delay only promises "not answered for N ms", which a
busy machine can outlast, and a long one keeps the emulator's shutdown waiting.  A held request
has no deadline at all: it arrives (`Hold.arrived` says when, by an event, not a clock), and
it gets no response until the test calls `Hold.release` -- or ever, when the test ends first.
Every other request is passed to the emulator and its response passed back unchanged.
"""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

SAFETY_NET = 30.0
"""Seconds a wait for an event may take before the test fails; it never decides an outcome."""

# Headers that belong to one hop, not to the request or response passed on.
_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host", "date", "server"}
)


class Hold:
    """Of the requests matching `method`, `path` (a glob) and containing `query`, the `times`
    after the first `skip` are held until `release` (when `work_first`, the emulator does the
    work at once and only the response is held)."""

    def __init__(self, method: str, path: str, query: str, skip: int, times: int, work_first: bool) -> None:
        self.method = method.upper()
        self.path = path
        self.query = query
        self.skip = skip
        self.times = times
        self.work_first = work_first
        self.seen = 0
        self.held = 0
        self.released = asyncio.Event()
        self._changed = asyncio.Condition()

    def takes(self, request: web.BaseRequest) -> bool:
        """Whether to hold this request (counting it, if it matches)."""
        if not self.matches(request):
            return False
        self.seen += 1
        return self.skip < self.seen <= self.skip + self.times and not self.released.is_set()

    def matches(self, request: web.BaseRequest) -> bool:
        return (
            self.method in ("*", request.method)
            and fnmatch.fnmatchcase(request.path, self.path)
            and self.query in request.query_string
        )

    async def arrived(self, count: int = 1) -> None:
        """Wait until `count` requests are being held (their work done, when `work_first`)."""
        async with asyncio.timeout(SAFETY_NET), self._changed:
            await self._changed.wait_for(lambda: self.held >= count)

    def release(self) -> None:
        """Let every held request, and any later match, go on to the emulator."""
        self.released.set()

    async def note(self) -> None:
        """Count one more held request (the gate calls this)."""
        self.held += 1
        async with self._changed:
            self._changed.notify_all()


class Gate:
    """``async with Gate(emulator.url) as gate:`` -- point the client at ``gate.url``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.url = ""
        self._holds: list[Hold] = []
        self._handlers: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.ServerRunner | None = None

    def hold(
        self, method: str, path: str, *, query: str = "", skip: int = 0, times: int = 1, work_first: bool = False
    ) -> Hold:
        """Hold the next matching requests (see `Hold`)."""
        hold = Hold(method, path, query, skip, times, work_first)
        self._holds.append(hold)
        return hold

    async def __aenter__(self) -> Gate:
        self._session = aiohttp.ClientSession()
        self._runner = web.ServerRunner(web.Server(self._handle), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Requests still held are never answered: their handlers are stopped, not waited for.
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        assert self._runner is not None
        assert self._session is not None
        await self._runner.cleanup()
        await self._session.close()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            body = await request.read()
            hold = next((hold for hold in self._holds if hold.takes(request)), None)
            if hold is None:
                return await self._forward(request, body)
            if hold.work_first:
                response = await self._forward(request, body)
                await hold.note()
                await hold.released.wait()
                return response
            await hold.note()
            await hold.released.wait()
            return await self._forward(request, body)
        finally:
            self._handlers.discard(task)

    async def _forward(self, request: web.BaseRequest, body: bytes) -> web.Response:
        assert self._session is not None
        headers = {name: value for name, value in request.headers.items() if name.lower() not in _HOP_HEADERS}
        headers.pop("Accept-Encoding", None)
        async with self._session.request(
            request.method,
            URL(self.upstream + request.raw_path, encoded=True),
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()
            kept = {name: value for name, value in upstream.headers.items() if name.lower() not in _HOP_HEADERS}
        return web.Response(status=upstream.status, body=payload, headers=kept)
