"""Which event loop a call may run in: an `AsyncWorkOS` keeps to one, the blocking `WorkOS` to none.

An aiohttp session, and every connection it pools, belongs to the loop it was created in.  A
call from another loop -- a session-scoped pytest fixture used by function-scoped loops, a
module-level client under FastAPI's ``TestClient``, two ``asyncio.run()`` calls -- is
refused before anything is sent, so it opens no socket and touches none of the other loop's.
"""

from __future__ import annotations

import asyncio

from ._errors import BlockingCallInEventLoopError, WrongEventLoopError


def session_loop(recorded: asyncio.AbstractEventLoop | None) -> asyncio.AbstractEventLoop:
    """The running loop, when the client's session may be used in it.

    `recorded` is the loop the session was first used in (None before that); any other
    running loop raises `WrongEventLoopError`.
    """
    loop = asyncio.get_running_loop()
    if recorded is None or recorded is loop:
        return loop
    state = "now closed" if recorded.is_closed() else "still open"
    raise WrongEventLoopError(
        f"This AsyncWorkOS client was first used in another event loop ({state}), and its aiohttp"
        " session works only there. Make the client inside the loop that uses it and close it there:"
        " in FastAPI's lifespan, in an aiohttp.web cleanup_ctx, in a pytest fixture with the same"
        " loop scope as the tests that use it, or inside the coroutine you give asyncio.run()"
        " (`async with AsyncWorkOS() as client:`). In blocking code, use WorkOS instead."
    )


def refuse_running_loop() -> None:
    """Raise `BlockingCallInEventLoopError` when this thread is running an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise BlockingCallInEventLoopError(
        "The blocking WorkOS client was called from inside a running event loop, where waiting for"
        " the network would stall every other task of that loop. In async code use AsyncWorkOS and"
        " await its methods (`async with AsyncWorkOS() as client:`); to run blocking code from"
        " async code on purpose, give it a thread: `await asyncio.to_thread(function)`."
    )


def being_cancelled() -> bool:
    """Whether the running task is being cancelled: a CancelledError raised in it without that
    (a future someone else cancelled, awaited) is not its cancellation."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
