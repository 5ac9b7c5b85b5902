"""Requests a fault keeps waiting -- out a delay, or held until released -- counted and let go.

A test of slow responses needs to know that a request is surely waiting at the emulator
(an event, not a guess about how long it takes to arrive), and to end the wait when it
chooses (not after a delay a busy machine can outlast).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Final


class HeldRequests:
    """The requests waiting in a fault right now; safe to count, await and release from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Each waiting request's future, and the loop it waits on (release may come from another thread).
        self._held: dict[asyncio.Future[None], asyncio.AbstractEventLoop] = {}
        self._watchers: list[tuple[int, asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._closed = False

    @property
    def count(self) -> int:
        """How many requests are waiting now."""
        with self._lock:
            return len(self._held)

    async def wait(self, seconds: float | None) -> None:
        """Wait `seconds` (None: with no deadline), or until `release`, whichever comes first;
        once `close`d, not at all."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                return
            released: asyncio.Future[None] = loop.create_future()
            self._held[released] = loop
            self._notify()
        try:
            async with asyncio.timeout(seconds):
                await released
        except TimeoutError:
            pass  # the delay ran out: the fault goes on
        finally:
            with self._lock:
                del self._held[released]

    def release(self) -> int:
        """End every wait now; returns how many requests were let go."""
        with self._lock:
            held = list(self._held.items())
        for future, loop in held:
            loop.call_soon_threadsafe(_resolve, future)
        return len(held)

    def close(self) -> None:
        """End every wait now, and every one to come: the emulator is closing, and a request
        that meets a delay or a hold from here on (one pipelined behind a released request, on
        its kept-alive connection) would otherwise wait with nobody left to release it."""
        with self._lock:
            self._closed = True
            watchers, self._watchers = self._watchers, []
        for _, future, loop in watchers:
            loop.call_soon_threadsafe(_refuse, future)
        self.release()

    async def reached(self, count: int) -> None:
        """Return once at least `count` requests are waiting at the same time; `RuntimeError`
        once `close`d (no request waits any more)."""
        loop = asyncio.get_running_loop()
        reached: asyncio.Future[None] = loop.create_future()
        watcher = (count, reached, loop)
        with self._lock:
            if self._closed:
                raise RuntimeError(_CLOSED)
            if len(self._held) >= count:
                return
            self._watchers.append(watcher)
        try:
            await reached
        finally:
            with self._lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)

    def _notify(self) -> None:
        """Wake the watchers whose count is reached (the caller holds the lock)."""
        for watcher in list(self._watchers):
            count, future, loop = watcher
            if len(self._held) >= count:
                self._watchers.remove(watcher)
                loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_CLOSED: Final = "The emulator was closed: no request is held any more, so none will be."


def _refuse(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(RuntimeError(_CLOSED))
