"""One event loop in one thread, owned by one blocking client: how blocking code runs the async core.

A blocking call hands a coroutine to the loop thread (``asyncio.run_coroutine_threadsafe``)
and waits for its result, so any number of threads can share one client, one session and
one connection pool.  The thread starts with the first call and ends with `LoopThread.close`
(the client's ``close()``, its ``with`` block, or its finalizer when it is collected or the
interpreter exits); a call still waiting then gets `ClientClosedError`.

A walk (every page of a listing) is one task on the loop, `LoopThread.stream`, that hands
items to the caller's thread and makes the next when the caller asks for them.  Pages that
come quickly to a caller that is quick with them go over a few at a time, so they share a
wake-up of each thread rather than costing one each.

Work that belongs in the caller's thread -- reading the caller's records, telling it about
progress -- is handed back to it through a `CallerInbox` while it waits.

After ``os.fork()`` only the forking thread exists in the child, so the child's first call
starts a new loop thread with a new async client.  The parent's connections are left alone:
closing them from the child would close them for the parent too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import queue
import selectors
import threading
import warnings
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterable, Iterator
from typing import Any, Final, Generic, Protocol, TypeVar

from ._errors import ClientClosedError, WorkOSError
from ._event_loops import refuse_running_loop

R = TypeVar("R")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_MOST_PER_BATCH: Final = 8
"""The most items (pages) a walk hands its caller's thread at once."""

_BATCH_DELAY: Final = 0.005
"""The longest a walk holds an item it made before handing it to its caller's thread, in
seconds; an item that took longer than this to make is handed over at once."""

_SLOW_CALLER: Final = 0.001
"""Seconds a caller spent on each item of its last batch from which it is the slow side: it
is then handed each item at once, as holding items would only make it wait."""

RECORDS_PER_READ: Final = 32
"""How many of the caller's records one trip to its thread reads (a bounded read-ahead)."""

_CLOSED: Final = "This WorkOS client is closed; create a new one."

_CLOSED_MID_CALL: Final = (
    "The WorkOS client was closed while this call was in flight; the call was cancelled and"
    " may or may not have reached the API. Close the client only when no thread uses it."
)


class AsyncCloseable(Protocol):
    """What a loop thread runs calls against: an async client it closes when it ends."""

    async def close(self) -> None:
        """Release the client's connections."""


C = TypeVar("C", bound=AsyncCloseable)


class AsyncSource(Protocol[T_co]):
    """An async iterator that can be stopped early: what `LoopThread.stream` walks."""

    def __anext__(self) -> Awaitable[T_co]: ...

    async def aclose(self) -> None:
        """Stop, and let go of whatever is in flight."""


class _PollingLoop(asyncio.SelectorEventLoop):
    """A selector loop that a forked child can close without touching the parent's.

    It polls rather than using epoll: an epoll set lives in the kernel and is shared with a
    forked child, so unregistering a socket there would unregister it for the parent.  And in
    the child it says it is not running -- the thread that ran it is gone -- so it can be
    closed there.
    """

    def __init__(self) -> None:
        poll = getattr(selectors, "PollSelector", None)
        super().__init__(None if poll is None else poll())
        self._workos_pid = os.getpid()

    def is_running(self) -> bool:
        """Whether the loop is running in this process."""
        return super().is_running() and os.getpid() == self._workos_pid


class _Outcome(Generic[R]):
    """A call's result or error, handed to the waiting thread past the loop's task.

    A task that ended with the error would keep it, and through its traceback the caller's
    frames and client, for as long as anything keeps the task -- and aiohttp's own reference
    cycles do (its timeout objects hold the task).  Then a dropped client's thread would live
    on until a cyclic collection.  So the task ends with None, and the error is raised in the
    caller's thread only.
    """

    def __init__(self) -> None:
        self._result: R | None = None
        self._error: Exception | None = None
        self.task: asyncio.Task[Any] | None = None  # the one settling it, once it runs
        self._cancelled = False

    async def settle(self, coroutine: Coroutine[Any, Any, R]) -> None:
        """Await `coroutine`, keeping its result or error (a cancellation still cancels)."""
        self.task = asyncio.current_task()
        if self._cancelled:  # cancelled before it began: nothing to wind down
            coroutine.close()
            raise asyncio.CancelledError
        try:
            self._result = await coroutine
        except Exception as error:
            self._error = error

    def cancel(self) -> None:
        """Cancel the call, on the loop, begun or not: its task then ends as a cancelled task
        does, having run what it runs when cancelled."""
        self._cancelled = True
        if self.task is not None:
            self.task.cancel()

    def take(self) -> R:
        """The result, or the error raised; either is let go of here."""
        result, error = self._result, self._error
        self._result = self._error = None
        if error is None:
            return result  # type: ignore[return-value]
        try:
            raise error
        finally:
            del error  # its traceback holds this frame: no reference cycle through it


def _run_forever(loop: asyncio.AbstractEventLoop, stopping: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    try:
        while True:
            try:
                loop.run_forever()
            except (KeyboardInterrupt, SystemExit):
                # Out of a task it ended (signals reach only the main thread, so it came from
                # a caller's code): the loop goes on, as other threads' calls wait on it --
                # unless it was being stopped, a request that ending lost.
                if not stopping.is_set():
                    continue
            break  # stopped by `LoopThread.close`
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


async def _cancel_calls_and_close(client: AsyncCloseable, spared: Iterable[_Outcome[Any]]) -> None:
    # Closing the client ends the calls on its session and wakes those waiting to send; a call
    # that reports on close (a sync) then stops by itself, with its report: it is not cancelled.
    try:
        await client.close()
    finally:
        current = asyncio.current_task()
        ending = {outcome.task for outcome in spared} - {None}
        calls = [task for task in asyncio.all_tasks() if task is not current and task not in ending]
        for task in calls:
            task.cancel()
        await asyncio.gather(*calls, *ending, return_exceptions=True)


def _stop_soon(loop: asyncio.AbstractEventLoop, stopping: threading.Event) -> None:
    """Have `loop` stop, and its thread end, unless that is under way already."""

    def stop() -> None:
        # Said where the loop stops, when it stops: a KeyboardInterrupt ending the loop before
        # then (a call's, while it is cancelled) must not end the thread with the client open.
        if not stopping.is_set():
            stopping.set()
            loop.stop()

    with contextlib.suppress(RuntimeError):  # the loop is closed: it stopped already
        loop.call_soon_threadsafe(stop)


class LoopThread(Generic[C]):
    """Runs coroutines against `client` on one event loop in one daemon thread.

    In a forked child, ``remake`` is given the client inherited from the parent (its loop
    already closed) to let go of, and returns a fresh one.  Safe to call from any number of
    threads at once.
    """

    def __init__(self, client: C, *, remake: Callable[[C], C], name: str) -> None:
        self._client = client
        self._remake = remake
        self._name = name
        self._lock = threading.RLock()
        self._holder: int | None = None  # the thread inside `_held`, if any
        self._close_deferred = False
        self._loop: _PollingLoop | None = None
        self._thread: threading.Thread | None = None
        self._calls: set[concurrent.futures.Future[Any]] = set()
        # The calls that end themselves on close, with their own error (a sync, its report).
        self._reporting: dict[concurrent.futures.Future[Any], _Outcome[Any]] = {}
        self._closed = False
        self._shutdown: concurrent.futures.Future[None] | None = None  # the close, once asked of the loop
        self._stopping = threading.Event()  # set as `close` stops the loop, on the loop thread
        # What a forked child inherited from its parent's loop thread: let go of, never used again,
        # and kept referenced so that nothing of it is collected at some random later moment.
        self._inherited: list[tuple[asyncio.AbstractEventLoop, C]] = []
        _LIVE.add(self)

    @property
    def client(self) -> C:
        """The async client calls run against (this process's own)."""
        return self._client

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        """The lock, for one of the sections below.  A signal handler runs in the main thread
        between two bytecodes, so it may call `close` while that thread is inside one: `close`
        then leaves the work to the end of the section (see `close`)."""
        try:
            with self._lock:
                if self._holder is not None:  # a signal handler's section, inside this thread's
                    yield
                    return
                self._holder = threading.get_ident()
                try:
                    yield
                finally:
                    self._holder = None
        finally:
            if self._close_deferred and self._holder is None:
                self._close_deferred = False
                self.close()

    def call(
        self,
        function: Callable[[C], Coroutine[Any, Any, R]],
        inbox: CallerInbox | None = None,
        *,
        reports_on_close: bool = False,
    ) -> R:
        """Run ``function(client)`` on the loop and wait for its result (or its error).

        With an `inbox`, this thread does the work the coroutine hands back while it waits.
        Closing the client cancels the call (`ClientClosedError` here); one that
        `reports_on_close` (a sync) is left to end itself instead, with its own error.
        """
        refuse_running_loop()
        if self._closed:  # without the lock: a closed thread's lock is not reset in a forked child
            raise ClientClosedError(_CLOSED)
        self._refuse_reentry()
        with self._held():
            if self._closed:
                raise ClientClosedError(_CLOSED)
            loop = self._start()
            outcome: _Outcome[R] = _Outcome()
            future = asyncio.run_coroutine_threadsafe(outcome.settle(function(self._client)), loop)
            self._calls.add(future)
            if reports_on_close:
                self._reporting[future] = outcome
        try:
            if inbox is not None:
                try:
                    inbox.serve_until(future)
                except KeyboardInterrupt:
                    _wind_down(loop, outcome, future, inbox)
                    raise
            future.result()
            return outcome.take()
        except concurrent.futures.CancelledError:
            if self._closed:
                raise ClientClosedError(_CLOSED_MID_CALL) from None
            raise
        finally:
            # A caller interrupted while waiting (KeyboardInterrupt) cancels its request.
            future.cancel()
            if inbox is not None:
                inbox.close()
            with self._held():
                self._calls.discard(future)
                self._reporting.pop(future, None)

    def stream(self, function: Callable[[C], AsyncSource[R]]) -> Generator[R, None, None]:
        """Every item of ``function(client)``, an async iterator walked by one task on the loop.

        The task makes the next items when the caller asks for them, as ``async for`` would
        (a few at a time: see `_Handover`), and lets go of them on the loop thread once the
        caller has moved past them all (one as each next item is made).  Closing the generator
        (leaving its ``for`` early) cancels the task and waits until the iterator's ``aclose()``
        has let go of what was in flight (inside a running event loop it only cancels: waiting
        there could wait for that very loop).  An error of the iterator is raised here, after the items made before it;
        once the client is closed, or in a forked child, the next item is `ClientClosedError`.
        """
        refuse_running_loop()
        self._refuse_reentry()
        with self._held():
            if self._closed:
                raise ClientClosedError(_CLOSED)
            loop = self._start()
            handover: _Handover[R] = _Handover(loop, function(self._client))
            loop.call_soon_threadsafe(handover.start)
        ended = False
        try:
            while True:
                refuse_running_loop()
                self._check_walk(loop)
                batch = handover.take()
                if isinstance(batch, _End):
                    ended = True
                    batch.end(closed=self._closed)
                    return
                for item in batch:
                    self._check_walk(loop)
                    yield item
                    del item
                # Before asking: the task then empties this very list, on the loop thread, where
                # its items were made.
                del batch
                handover.ask()
        finally:
            if not ended:
                handover.stop()

    def _refuse_reentry(self) -> None:
        """Refuse a call from a signal handler that interrupted this thread inside a section
        of this client (starting its thread, say): that section is half done."""
        if self._holder == threading.get_ident():
            raise WorkOSError(
                "This WorkOS client was called from a signal handler that interrupted the client itself"
                " (while it started or closed its thread); make the call from the code the handler"
                " returns to, or from another thread. Closing the client from a handler is fine."
            )

    def _check_walk(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not loop:  # closed, or a forked child: the task is not this process's
            self._refuse_walk()

    def _refuse_walk(self) -> None:
        if self._closed:
            raise ClientClosedError(_CLOSED)
        raise ClientClosedError(
            "This walk was started in another process, before os.fork(): its event loop thread and"
            " connection stayed there. Start the walk again in this process."
        )

    def _start(self) -> _PollingLoop:
        if self._loop is None:
            loop = _PollingLoop()
            self._stopping = threading.Event()
            stopping = self._stopping
            thread = threading.Thread(target=_run_forever, args=(loop, stopping), name=self._name, daemon=True)
            try:
                thread.start()
            except BaseException:
                # Interrupted (Ctrl-C) as it waited for the thread, which runs the loop by now, or
                # is about to: told to stop, it ends, closing the loop.  (Interrupted before there
                # was a thread, the loop is closed when collected.)
                stopping.set()
                loop.call_soon_threadsafe(loop.stop)
                raise
            self._loop, self._thread = loop, thread
        return self._loop

    def close(self) -> None:
        """Cancel calls in flight, close the client's session, stop the loop and end the thread.

        Called by a signal handler while this very thread is inside one of the sections that
        hold the lock (starting the thread, say), it is done as that section ends, at once
        after the handler returns: waiting here for the lock would wait for ever.
        """
        if self._holder == threading.get_ident():
            self._close_deferred = True
            return
        with self._held():
            if self._closed and self._loop is None:  # closed already, or never started
                return
            # From here on no call starts.  The loop is forgotten only once its close and its
            # stop are asked for: a close interrupted before then (Ctrl-C) is finished by the next.
            self._closed = True
            loop, thread, stopping = self._loop, self._thread, self._stopping
            calls = list(self._calls - self._reporting.keys())
            spared = list(self._reporting.values())
            finished: concurrent.futures.Future[None] | None = None
            if loop is not None and thread is not None and not loop.is_closed():
                if self._shutdown is None:  # asked for once: a second would be cancelled by the first
                    self._shutdown = asyncio.run_coroutine_threadsafe(
                        _cancel_calls_and_close(self._client, spared), loop
                    )
                finished = self._shutdown
                # The loop stops itself once the client is closed, whether or not anyone waits.
                finished.add_done_callback(lambda _: _stop_soon(loop, stopping))
            self._loop = self._thread = None
        _LIVE.discard(self)
        for call in calls:
            call.cancel()
        if finished is None or thread is None or threading.current_thread() is thread:
            # Never started (no session, no thread); or collected on the loop thread itself,
            # which cannot wait for itself.
            return
        # A Ctrl-C here stops the waiting, not the closing: the loop still closes the client
        # and then stops.
        try:
            finished.result()
        except Exception:
            thread.join()  # stopped once the close ended, failed or not
            raise
        thread.join()

    def _forget_parent(self) -> None:
        self._lock = threading.RLock()
        self._holder = None
        self._close_deferred = False
        self._calls = set()
        self._reporting = {}
        self._shutdown = None
        loop, self._loop, self._thread = self._loop, None, None
        if loop is None or self._closed:
            return
        # Closing the loop lets go of this process's copies of its wake-up pipe, and makes
        # closing anything inherited from it a no-op here rather than a write on a socket the
        # parent still uses.  The inherited client is kept, so nothing collects it meanwhile.
        # The parent's calls queued on it, made but not started, are let go of unawaited:
        # they were the parent's to run, and it runs them.  (Only this thread runs in a child
        # just forked, so changing the warning filters for a moment touches no other.)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
            loop.close()
        self._inherited.append((loop, self._client))
        self._client = self._remake(self._client)


# The loop threads not closed yet, for the one at-fork hook below.  Process-wide state, because
# a fork is process-wide: a hook registered per thread could never be removed (the at-fork
# registry only grows), so every client ever made would cost memory and a call at each fork.
# Weak, so that it never keeps a client alive.
_LIVE: weakref.WeakSet[LoopThread[Any]] = weakref.WeakSet()


def _forget_parents() -> None:
    for loop_thread in list(_LIVE):
        loop_thread._forget_parent()
    # The parent's walks: their loops run there, not here.  Kept referenced, as a loop thread
    # keeps what it inherited (`_forget_parent`), so that none is collected here while pending.
    _PARENTS_WALKS.extend(_WALKING)
    _WALKING.clear()


os.register_at_fork(after_in_child=_forget_parents)


# The tasks of the walks in progress.  The event loop keeps only weak references to its tasks,
# and a walk's task, its caller's generator and its hand-over refer to one another: left
# unfinished in cyclic garbage, the task would be destroyed while pending rather than
# cancelled and closed by the generator's finalizer.
_WALKING: set[asyncio.Task[None]] = set()
_PARENTS_WALKS: list[asyncio.Task[None]] = []  # in a forked child: those its parent had, never run here


class _End:
    """How a stream ends, handed over last: every item made, the iterator's error, or stopped."""

    __slots__ = ("_error", "_stopped")

    def __init__(self, error: Exception | None = None, *, stopped: bool = False) -> None:
        self._error = error
        self._stopped = stopped

    def end(self, *, closed: bool) -> None:
        """Return at the end of the items, or raise why they stopped (the error is let go of here)."""
        error, self._error = self._error, None
        if error is not None:
            try:
                raise error
            finally:
                del error  # its traceback holds this frame: no reference cycle through it
        if self._stopped:
            if closed:
                raise ClientClosedError(_CLOSED_MID_CALL)
            raise concurrent.futures.CancelledError


class _Handover(Generic[T]):
    """An async iterator walked by one task on the loop thread, its items handed to one caller.

    The task puts a batch of items in a queue the caller's thread takes it from, and waits
    until the caller asks for more; then it lets go of that batch -- the last references,
    unless the caller kept an item -- one item before making each of the next (what is left,
    before handing the next batch over).  So the loop thread frees what it made, in memory its
    own core has just used, and the cyclic garbage collector's count of new objects stays low,
    as in an ``async for``.  A batch let go of all at once left the next one to pass the young
    generation's threshold (700 objects on Python 3.11 and 3.12) every two pages of 100
    organizations, each time examining the pages made so far: ~4 ms of a 10,000-organization
    crawl on 3.11.  Nothing is made while the caller works through a batch: as in an ``async
    for``, the only work ahead of the caller is the next page the async pager has asked for.
    (Making the next items meanwhile was measured: the caller then waits for the GIL the loop
    thread holds, and more pages are alive at once.)

    A hand-over costs a wake-up of each thread, ~35 µs each across two cores of a virtual
    machine.  So while the caller is quick with what it is handed and items come quickly,
    they go together: the first alone, then up to 2, 4, ... `_MOST_PER_BATCH` at a time, none
    held longer than `_BATCH_DELAY`.  A caller that spends `_SLOW_CALLER` or more on each item,
    or an item that took `_BATCH_DELAY` or more to make (any real network's page), is handed
    over at once: the wake-ups then cost little beside the work, and holding the item would
    only keep the caller waiting.  The task's last act, once the iterator is closed, is to
    hand over an `_End`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, source: AsyncSource[T]) -> None:
        self._loop = loop
        self._source = source
        self._items: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._made: list[T] = []  # made, not handed over yet
        self._handed: list[T] | None = None  # handed over, the caller not done with them yet
        self._done_with: list[T] = []  # handed over, the caller done with them: let go of one per item made
        self._asked: asyncio.Future[None] | None = None  # done when the caller is done with `_handed`
        self._timer: asyncio.TimerHandle | None = None  # hands `_made` over `_BATCH_DELAY` after its first item
        self._handed_at = 0.0  # when `_handed` went over (loop time)
        self._caller_quick = True  # whether the caller was quick with its last batch
        self._task: asyncio.Task[None] | None = None
        self._end: _End = _End()
        self._ended_event = threading.Event()  # set once the task's `_End` is in the queue

    def start(self) -> None:
        """Start the task (on the loop thread)."""
        self._task = self._loop.create_task(self._make())
        _WALKING.add(self._task)
        self._task.add_done_callback(self._ended)

    async def _make(self) -> None:
        source, loop = self._source, self._loop
        most = 1
        try:
            while True:
                if self._done_with:
                    del self._done_with[-1]
                started = loop.time()
                try:
                    item = await anext(source)
                except StopAsyncIteration:
                    break
                took = loop.time() - started
                self._made.append(item)
                del item
                if self._asked is not None:
                    # The timer handed the batch over while this item was being made: it is
                    # the first of the next batch, begun once the caller is done with that one.
                    await self._caller_done()
                if len(self._made) >= most or not self._caller_quick or took >= _BATCH_DELAY:
                    await self._hand_over()
                    most = min(2 * most, _MOST_PER_BATCH)
                elif self._timer is None:
                    self._timer = self._loop.call_later(_BATCH_DELAY, self._hand_over_made)
            await self._hand_over()
        except Exception as error:
            self._end = _End(error)
            await self._hand_over()  # the items made before the error come first
        finally:
            self._made, self._done_with = [], []
            self._handed = self._asked = None
            if self._timer is not None:
                self._timer.cancel()
            await source.aclose()

    async def _hand_over(self) -> None:
        """Once the caller is done with the last batch, hand over what was made and wait
        until it is done with that too."""
        if self._asked is not None:
            await self._caller_done()
        if self._made:
            self._hand_over_made()
            await self._caller_done()

    def _hand_over_made(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._asked is None and self._made:
            self._handed, self._made = self._made, []
            self._done_with.clear()  # what is left of the last batch goes before the caller gets this one
            self._asked = self._loop.create_future()
            self._handed_at = self._loop.time()
            self._items.put(self._handed)

    async def _caller_done(self) -> None:
        assert self._asked is not None
        await self._asked
        self._done_with, self._handed, self._asked = self._handed or [], None, None

    def _caller_asked(self, asked: asyncio.Future[None]) -> None:
        # On the loop thread, as the caller's request arrives: how long it spent on the batch
        # is known here, not when the task next looks (it may be making an item by then).
        if asked is self._asked and self._handed is not None:
            self._caller_quick = self._loop.time() - self._handed_at < _SLOW_CALLER * len(self._handed)
        if not asked.done():
            asked.set_result(None)

    def _ended(self, task: asyncio.Task[None]) -> None:
        _WALKING.discard(task)
        if task.cancelled():
            self._items.put(_End(stopped=True))
        elif isinstance(error := task.exception(), Exception):
            self._items.put(_End(error))  # the iterator's aclose() failed: that error, as it is
        else:
            end, self._end = self._end, _End()
            self._items.put(end)
        self._ended_event.set()

    def take(self) -> list[T] | _End:
        """The next batch of items, or the `_End`; waits for it (in the caller's thread)."""
        return self._items.get()  # type: ignore[no-any-return]

    def ask(self) -> None:
        """Ask for more items (in the caller's thread, done with the last batch)."""
        asked = self._asked
        if asked is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing waits any more
                self._loop.call_soon_threadsafe(self._caller_asked, asked)

    def stop(self) -> None:
        """Cancel the task and wait until it has ended; from inside a running loop (the loop
        thread's own, say, collecting a walk left unfinished), or when no thread runs the loop
        any more, only cancel it."""
        try:
            self._loop.call_soon_threadsafe(self._cancel)
        except RuntimeError:
            return  # the loop is closed: closing it cancelled the task
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._loop.is_running():
                # An event, not the queue: the `_End` may already have been taken (by a
                # ``take()`` that an interrupt cut short before the walk saw it).
                self._ended_event.wait()

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()


def _stop_iteration_raised(error: StopIteration) -> RuntimeError:
    replaced = RuntimeError("the caller's code raised StopIteration")
    replaced.__cause__ = error
    return replaced


def _wind_down(
    loop: asyncio.AbstractEventLoop,
    outcome: _Outcome[Any],
    future: concurrent.futures.Future[Any],
    inbox: CallerInbox,
) -> None:
    """Cancel a call whose caller was interrupted (Ctrl-C) and do the work it hands back as it
    ends: a sync tells ``on_event`` of a record it cut short, in the caller's thread, before
    the interrupt goes on.  Another Ctrl-C ends the wait."""
    try:
        loop.call_soon_threadsafe(outcome.cancel)
    except RuntimeError:  # the loop is closed: the call is over
        return
    inbox.serve_until(future)


class CallerInbox:
    """Work a running call hands back to the thread waiting for it.

    The caller's records are read, and its callbacks run, in its own thread -- where its
    database connections and thread-locals are -- never on the loop thread.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], None], concurrent.futures.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._closed = False

    def serve_until(self, future: concurrent.futures.Future[Any]) -> None:
        """Do the work handed back until `future` is done.

        A job's error goes back to the loop (see `ask`); a KeyboardInterrupt or SystemExit
        raised in the caller's code is raised here at once, for the caller to end the call
        (`LoopThread.call` winds a Ctrl-C'd call down, doing the work it hands back as it ends).
        """
        future.add_done_callback(lambda _: self._jobs.put(None))
        while (item := self._jobs.get()) is not None:
            job, _ = item
            job()

    def ask(
        self, function: Callable[[], R], *, unless: Callable[[], bool] | None = None
    ) -> concurrent.futures.Future[R]:
        """Have the caller's thread run `function`; its result or error completes the future.

        When `unless` says so at the moment it would run, it is not run and the future is
        cancelled instead.
        """
        result: concurrent.futures.Future[R] = concurrent.futures.Future()

        def job() -> None:
            if unless is not None and unless():
                result.cancel()
            elif result.set_running_or_notify_cancel():
                try:
                    result.set_result(function())
                except StopIteration as error:
                    # An asyncio future refuses it (the loop thread would drop it and wait on):
                    # it becomes what a coroutine makes of it (PEP 479).
                    result.set_exception(_stop_iteration_raised(error))
                except Exception as error:
                    result.set_exception(error)
                except BaseException:
                    # A KeyboardInterrupt or SystemExit is the caller's alone: raised in its
                    # thread (`serve_until`), never handed to the loop thread, where it would end
                    # the loop and leave every other thread's call waiting.  The loop's wait on
                    # this job ends as a cancellation, or a task there would wait on it for good.
                    result.set_exception(asyncio.CancelledError())
                    raise

        with self._lock:
            if self._closed:
                result.cancel()
            else:
                self._jobs.put((job, result))
        return result

    def close(self) -> None:
        """Take no more work: what is left, and what is asked from now on, is cancelled, so that
        nothing on the loop waits for a thread that no longer serves it."""
        with self._lock:
            self._closed = True
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[1].cancel()

    def forward(self, callback: Callable[[T], None]) -> Callable[[T], Awaitable[None]]:
        """A callback for the loop thread that runs `callback` in the caller's thread, in order,
        and gives what to await until it has run (its error raised there).

        Awaiting it is what stops the loop's work where the callback failed: a job that went on
        while the caller's thread was still in the callback would do what the caller was about
        to stop (a prune's deletes, say).  Once it has raised, it is run no more: the values
        already on their way are cancelled.
        """
        failed = False

        def tell(value: T) -> None:
            nonlocal failed
            try:
                callback(value)
            except BaseException:
                failed = True
                raise

        def forwarded(value: T) -> Awaitable[None]:
            return asyncio.wrap_future(self.ask(lambda: tell(value), unless=lambda: failed))

        return forwarded

    def iterate(self, items: Iterable[T]) -> AsyncIterator[T]:
        """`items`, read in the caller's thread a few at a time, as an async iterator."""
        return _CallerItems(self, items)


class _CallerItems(Generic[T]):
    def __init__(self, inbox: CallerInbox, items: Iterable[T]) -> None:
        self._inbox = inbox
        self._items = items
        self._iterator: Iterator[T] | None = None
        self._buffer: deque[T] = deque()
        self._exhausted = False
        # An error the caller's iterator raised after some records of a chunk: those records
        # are handed on first (they were read, so they must be synced), then the error.
        self._error: BaseException | None = None

    def __aiter__(self) -> _CallerItems[T]:
        return self

    async def __anext__(self) -> T:
        if not self._buffer:
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            if self._exhausted:
                raise StopAsyncIteration
            self._buffer.extend(await asyncio.wrap_future(self._inbox.ask(self._read)))
            if not self._buffer:
                raise StopAsyncIteration
        return self._buffer.popleft()

    def _read(self) -> list[T]:
        if self._iterator is None:
            self._iterator = iter(self._items)
        chunk: list[T] = []
        try:
            chunk.extend(itertools.islice(self._iterator, RECORDS_PER_READ))
        except Exception as error:
            if not chunk:
                raise
            self._error = error
        self._exhausted = len(chunk) < RECORDS_PER_READ
        return chunk
