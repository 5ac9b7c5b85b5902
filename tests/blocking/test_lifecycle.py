"""The blocking client's thread: shared by many threads, closed mid-call, forked, refused in a loop, left nothing behind."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from workos_orgs import (
    APIConnectionError,
    BlockingCallInEventLoopError,
    ClientClosedError,
    InternalServerError,
    NotFoundError,
    RateLimiter,
    WorkOS,
    WorkOSError,
)
from workos_orgs._loop_thread import CallerInbox, LoopThread
from workos_orgs.emulator import Emulator

from ..gate import Gate
from .conftest import FAST

LOOP_THREAD = "workos-orgs-loop"
SAFETY_NET = 60  # seconds; only ever reached when something hangs


def loop_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == LOOP_THREAD]


def run_python(script: str, *options: str) -> tuple[int, str, str]:
    """`script` run by a Python of its own (with the interpreter `options`): exit code, stdout, stderr."""
    finished = subprocess.run(
        [sys.executable, *options, "-c", script], capture_output=True, text=True, timeout=SAFETY_NET, check=False
    )
    return finished.returncode, finished.stdout, finished.stderr


def test_sixteen_threads_share_one_client(client: WorkOS) -> None:
    start = threading.Barrier(16)
    results: dict[int, tuple[str, str]] = {}
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            start.wait(SAFETY_NET)
            created = client.organizations.create(name=f"Org {number}", external_id=f"ext-{number}")
            fetched = client.organizations.get_by_external_id(f"ext-{number}")
            results[number] = (created.id, fetched.name)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(number,)) for number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SAFETY_NET)
    assert errors == []
    assert {number: name for number, (_, name) in results.items()} == {number: f"Org {number}" for number in range(16)}
    assert len({organization_id for organization_id, _ in results.values()}) == 16
    assert len(list(client.organizations.list(limit=5))) == 16
    assert len(loop_threads()) == 1  # one loop thread served them all


@pytest.fixture
def silent_server() -> Iterator[tuple[str, threading.Event]]:
    """A loopback server that reads a request and never responds: a call to it stays in flight."""
    listener = socket.create_server(("127.0.0.1", 0))
    received = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            received.set()
            while connection.recv(65536):  # until the client lets go of the connection
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        thread.join(SAFETY_NET)
        listener.close()


def _get(client: WorkOS) -> object:
    return client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")


def _walk(client: WorkOS) -> object:
    return list(client.organizations.list())


@pytest.mark.parametrize("use", [_get, _walk], ids=["a call", "a walk waiting for its next page"])
def test_closing_while_another_thread_waits_gives_that_thread_a_typed_error(
    silent_server: tuple[str, threading.Event], use: Callable[[WorkOS], object]
) -> None:
    url, received = silent_server
    client = WorkOS(api_key="sk_test_1", base_url=url, timeout=None, max_retries=0)
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            use(client)
        except BaseException as error:
            outcome.append(error)

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert received.wait(SAFETY_NET)
    client.close()
    waiter.join(SAFETY_NET)
    (error,) = outcome
    assert isinstance(error, ClientClosedError)
    assert isinstance(error, WorkOSError)
    assert "closed while this call was in flight" in str(error)
    assert loop_threads() == []
    with pytest.raises(ClientClosedError, match="closed; create a new one"):
        use(client)


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("where", ["on_event", "records"])
def test_ctrl_c_or_exit_in_a_sync_callback_leaves_the_client_and_other_threads_working(
    client: WorkOS, emulator: Emulator, raised: type[BaseException], where: str
) -> None:
    # Raised in the caller's thread, the error also reached the loop thread, through the
    # future the loop was waiting on, and ended it: every other thread's call then waited forever.
    warm = client.organizations.create(name="Warm")  # the loop thread is up
    emulator.inject_fault(method="GET", path="/organizations/*", hold=True)
    other: list[object] = []
    waiter = threading.Thread(target=lambda: other.append(client.organizations.get(warm.id).name))
    waiter.start()
    while emulator.held_requests < 1:
        time.sleep(0.001)

    def records() -> Iterator[dict[str, str]]:
        yield {"external_id": "a", "name": "A"}
        if where == "records":
            raise raised()

    def on_event(event: object) -> None:
        if where == "on_event":
            raise raised()

    with pytest.raises(raised):
        client.organizations.sync(records(), on_event=on_event, rate_limiter=None)
    emulator.release_held()
    waiter.join(SAFETY_NET)
    assert other == ["Warm"]  # the other thread's call was answered
    assert client.organizations.get(warm.id).name == "Warm"  # and the client still works
    client.close()
    assert loop_threads() == []


class _Closeable:
    closed = False

    async def close(self) -> None:
        self.closed = True


def test_close_finishes_when_a_call_ends_with_ctrl_c_as_it_is_cancelled() -> None:
    # close() cancels the calls in flight and waits for them before it closes the client: a
    # call whose code turned that cancellation into a KeyboardInterrupt ended the loop thread
    # then, before the client was closed, and close() waited for ever.
    loop_thread = LoopThread(_Closeable(), remake=lambda client: _Closeable(), name="test-loop")
    started = threading.Event()

    async def interrupted_when_cancelled(client: object) -> None:
        started.set()
        try:
            await asyncio.sleep(SAFETY_NET)
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None  # the caller's code, ending its task

    async def slow_to_cancel(client: object) -> None:
        try:
            await asyncio.sleep(SAFETY_NET)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)  # tidying up takes a moment: close() is still waiting
            raise

    def call(function: Callable[[object], Any]) -> None:
        with contextlib.suppress(BaseException):
            loop_thread.call(function)

    callers = [
        threading.Thread(target=call, args=(f,), daemon=True) for f in (slow_to_cancel, interrupted_when_cancelled)
    ]
    for caller in callers:
        caller.start()
    assert started.wait(SAFETY_NET)
    closer = threading.Thread(target=loop_thread.close, daemon=True)
    closer.start()
    closer.join(SAFETY_NET)  # a safety net only: a correct close() returns at once
    assert not closer.is_alive(), "close() never returned"
    assert loop_thread.client.closed


async def test_a_call_from_inside_a_running_loop_is_refused(client: WorkOS, emulator: Emulator) -> None:
    sent = len(emulator.requests)
    with pytest.raises(BlockingCallInEventLoopError, match="AsyncWorkOS") as caught:
        client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert isinstance(caught.value, WorkOSError)
    with pytest.raises(BlockingCallInEventLoopError):
        client.organizations.list().first_page()
    with pytest.raises(BlockingCallInEventLoopError):
        list(client.organizations.list())
    assert len(emulator.requests) == sent


def test_the_thread_starts_with_the_first_call_and_ends_with_the_with_block(emulator: Emulator) -> None:
    with WorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        assert loop_threads() == []
        client.organizations.create(name="Acme")
        assert len(loop_threads()) == 1
    assert loop_threads() == []
    client.close()  # closing twice does nothing


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector off: what is reclaimed is reclaimed by reference counting alone."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def test_a_client_nobody_closed_ends_its_thread_when_collected(emulator: Emulator, no_cyclic_gc: None) -> None:
    client = WorkOS(api_key=emulator.api_key, base_url=emulator.url)
    client.organizations.create(name="Acme")
    with pytest.raises(NotFoundError):  # an error raised through the call keeps nothing alive either
        client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert len(loop_threads()) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del client  # no reference cycle: dropping the last reference ends the thread at once
    assert loop_threads() == []


def test_walks_left_early_or_stopped_by_an_error_keep_nothing_alive(emulator: Emulator, no_cyclic_gc: None) -> None:
    emulator.seed([{"name": f"Org {n}"} for n in range(9)])
    client = WorkOS(api_key=emulator.api_key, base_url=emulator.url, max_retries=0)
    # The walk stopped by an error goes first: a walk left early may leave its next page's
    # request on its way to the emulator, which could take the fault meant for this one.
    emulator.inject_fault(method="GET", path="/organizations", status=500, times=1)
    with pytest.raises(InternalServerError):
        list(client.organizations.list(limit=2))
    for organization in client.organizations.list(limit=2):  # the next page is already made and asked for
        assert organization.name
        break
    pages = client.organizations.list(limit=2).pages()
    assert len(next(pages).data) == 2
    pages.close()
    assert len(loop_threads()) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del client, organization, pages  # no reference cycle from any walk: the thread ends at once
    assert loop_threads() == []


def test_twenty_dropped_clients_leave_no_thread(no_cyclic_gc: None) -> None:
    def use() -> None:
        client = WorkOS("sk_test_abcdefghijklmnop", base_url="http://127.0.0.1:9", max_retries=0)
        with pytest.raises(APIConnectionError):
            client.organizations.get("org_1")
        with pytest.raises(APIConnectionError):
            client.organizations.list().first_page()

    for _ in range(20):
        use()
    assert loop_threads() == []


def test_clients_made_and_closed_leave_no_memory_behind(no_cyclic_gc: None) -> None:
    def make_and_close(count: int) -> None:
        for _ in range(count):
            WorkOS(api_key="sk_test_1", base_url="http://127.0.0.1:9").close()

    make_and_close(50)  # caches filled once
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        make_and_close(1000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 16 * 1000  # under 16 bytes a client: nothing is kept per client


def test_a_view_or_a_resource_keeps_the_thread_until_it_is_dropped(emulator: Emulator, no_cyclic_gc: None) -> None:
    client = WorkOS(api_key=emulator.api_key, base_url=emulator.url)
    view = client.with_options(max_retries=0)
    organizations = client.organizations
    del client
    acme = view.organizations.create(name="Acme")
    assert organizations.get(acme.id) == acme
    pager = view.organizations.list()
    del view
    assert organizations.get(acme.id) == acme
    del organizations
    assert len(loop_threads()) == 1  # the pager still needs it
    assert [organization.id for organization in pager] == [acme.id]
    del pager
    assert loop_threads() == []


def test_a_client_nobody_closed_leaves_nothing_at_interpreter_exit(emulator: Emulator) -> None:
    script = (
        "import threading\n"
        "from workos_orgs import WorkOS\n"
        f"client = WorkOS(api_key={emulator.api_key!r}, base_url={emulator.url!r})\n"
        "organization = client.organizations.create(name='Acme')\n"
        "assert client.organizations.get(organization.id).name == 'Acme'\n"
        "assert [t.name for t in threading.enumerate()] == ['MainThread', 'workos-orgs-loop']\n"
        "print('done')\n"
    )
    code, out, err = run_python(script, "-X", "dev", "-W", "error")
    # Debug mode (-X dev) also reports any step of the event loop that took over 0.1 s, which
    # on a busy machine any may: such a line says nothing of what is left at exit.
    assert (code, out, SLOW_STEP.sub("", err)) == (0, "done\n", "")


SLOW_STEP = re.compile(r"^Executing <.*> took \d+\.\d+ seconds\n", re.MULTILINE)


LET_GO = """
import asyncio, os, socket, sys, threading
import aiohttp
from workos_orgs._blocking import _let_go

listener = socket.create_server(("127.0.0.1", 0))
accepted = []

def serve():
    connection, _ = listener.accept()
    accepted.append(connection)
    connection.recv(65536)
    connection.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nContent-Type: application/json\\r\\n\\r\\n{}")

async def pooled_session():
    session = aiohttp.ClientSession()
    async with session.get(f"http://127.0.0.1:{listener.getsockname()[1]}/") as response:
        await response.read()
    return session

server = threading.Thread(target=serve)
server.start()
loop = asyncio.new_event_loop()
session = loop.run_until_complete(pooled_session())  # one connection, pooled, open
server.join()
loop.close()  # as in a forked child: the loop is gone, the session was never closed
connector = session.connector
_let_go(session)
(connection,) = accepted
connection.setblocking(False)
try:
    print("the pooled connection was closed:", connection.recv(1))
except BlockingIOError:
    print("open", session.closed, connector.closed)
sys.stdout.flush()
os._exit(0)  # the inherited connection is left open, as the child leaves it
"""


def test_letting_go_of_an_inherited_session_leaves_its_connections_open() -> None:
    # A forked child lets go of the session it inherited (`_let_go`) by closing its connector
    # after the session's loop was closed.  That relies on aiohttp: with its loop closed, the
    # connector's close() touches no connection, and it warns of nothing.  An aiohttp that
    # changes either fails here.
    assert run_python(LET_GO, "-W", "error") == (0, "open True True\n", "")


def _fork_and_run(child_work: object) -> int:
    """Fork; the child runs `child_work()` and exits 0 when it returned True, 1 otherwise."""
    assert callable(child_work)
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads may deadlock; gunicorn does it anyway.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child
        status = 1
        signal.alarm(SAFETY_NET)  # a child that hangs is killed, and the parent sees it fail
        try:
            status = 0 if child_work() is True else 1
        except BaseException as error:
            sys.stderr.write(f"child failed: {error!r}\n")
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_pager_made_before_fork_and_used_in_the_child_walks_there(emulator: Emulator) -> None:
    # Nothing is sent until a pager is used: one made at import time, before the prefork
    # workers start, is used first in a worker.  It said the child's session "passed to this
    # client" was closed, though nobody passed one.
    emulator.seed([{"name": f"Org {n}"} for n in range(5)])
    client = WorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST)
    client.organizations.get(emulator.seed([{"name": "Warm"}])[0]["id"])  # the parent's loop thread is up
    pager = client.organizations.list(limit=2)

    def in_child() -> bool:
        assert len(list(pager)) == 6
        assert len(pager.first_page().data) == 2
        return True

    assert _fork_and_run(in_child) == 0
    assert len(list(pager)) == 6  # and it goes on working in the parent
    client.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_a_working_client_and_the_parent_keeps_its_own(emulator: Emulator) -> None:
    client = WorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST)
    acme = client.organizations.create(name="Acme")  # the parent's thread and connections exist before the fork
    parent_thread = loop_threads()

    def in_child() -> bool:
        assert loop_threads() == []  # the parent's thread did not come along
        assert client.organizations.get(acme.id).name == "Acme"
        client.organizations.create(name="Made in the child")
        names = sorted(organization.name for organization in client.organizations.list(limit=1))
        assert names == ["Acme", "Made in the child"]
        assert len(loop_threads()) == 1
        client.close()
        return loop_threads() == []

    assert _fork_and_run(in_child) == 0
    assert loop_threads() == parent_thread
    assert sorted(organization.name for organization in client.organizations.list()) == ["Acme", "Made in the child"]
    client.close()
    assert loop_threads() == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_walk_begun_before_fork_raises_in_the_child_and_goes_on_in_the_parent(emulator: Emulator) -> None:
    emulator.seed([{"name": f"Org {n}"} for n in range(10)])
    client = WorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST)
    walk = iter(client.organizations.list(limit=2))
    first = next(walk)

    def in_child() -> bool:
        # The walk's task and connection stayed in the parent: an error, not a wait for ever.
        with pytest.raises(ClientClosedError, match=r"before os\.fork\(\)"):
            list(walk)
        return len(list(client.organizations.list(limit=2))) == 10  # a walk begun here works

    assert _fork_and_run(in_child) == 0
    rest = [organization.id for organization in walk]
    assert len({first.id, *rest}) == 10
    client.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_childs_client_and_views_keep_their_options(emulator: Emulator) -> None:
    limiter = RateLimiter()
    client = WorkOS(api_key=emulator.api_key, base_url=emulator.url, timeout=7, max_retries=1, rate_limiter=limiter)
    view = client.with_options(max_retries=0, timeout=None)
    acme = client.organizations.create(name="Acme")
    emulator.inject_fault(method="GET", path=f"/organizations/{acme.id}", status=503, times=3)

    def in_child() -> bool:
        settings = (client.base_url, client.timeout, client.max_retries, client.rate_limiter)
        assert settings == (emulator.url, 7.0, 1, limiter)
        assert (view.base_url, view.timeout, view.max_retries, view.rate_limiter) == (emulator.url, None, 0, limiter)
        with pytest.raises(InternalServerError) as once:
            view.organizations.get(acme.id)
        with pytest.raises(InternalServerError) as twice:
            client.organizations.get(acme.id)
        return (once.value.attempts, twice.value.attempts) == (1, 2)

    assert _fork_and_run(in_child) == 0
    assert client.organizations.get(acme.id) == acme  # the three 503s were the child's
    client.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_client_made_before_fork_and_first_used_in_the_child_works(emulator: Emulator) -> None:
    client = WorkOS(api_key=emulator.api_key, base_url=emulator.url)  # gunicorn --preload: made, not used

    def in_child() -> bool:
        with client:
            return client.organizations.create(name="Acme").name == "Acme"

    assert _fork_and_run(in_child) == 0
    assert [organization.name for organization in client.organizations.list()] == ["Acme"]
    client.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_that_exits_normally_is_quiet_and_leaves_the_parent_working(emulator: Emulator) -> None:
    # gunicorn's workers exit through the interpreter's normal shutdown, not os._exit.
    script = (
        "import os, sys, warnings\n"
        "from workos_orgs import WorkOS\n"
        f"client = WorkOS(api_key={emulator.api_key!r}, base_url={emulator.url!r})\n"
        "organization = client.organizations.create(name='Acme')\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('ignore', DeprecationWarning)\n"
        "    pid = os.fork()\n"
        "if pid == 0:\n"
        "    assert client.organizations.get(organization.id).name == 'Acme'\n"
        "    sys.exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "assert os.waitstatus_to_exitcode(status) == 0\n"
        "assert client.organizations.get(organization.id).name == 'Acme'\n"
        "print('done')\n"
    )
    assert run_python(script) == (0, "done\n", "")


@pytest.mark.parametrize("use", ["a call", "a walk"])
def test_close_from_a_signal_handler_while_the_client_starts_its_thread_does_not_hang(
    emulator: Emulator, use: str
) -> None:
    # A SIGTERM handler that closes the client is a common pattern; Python runs it in the main
    # thread between two bytecodes, which may be inside the client's own lock -- held longest
    # while the first call starts the loop thread.  The lock, not reentrant, then waited for itself.
    call = (
        "client.organizations.get('org_01ARZ3NDEKTSV4RRFFQ69G5FAV')"
        if use == "a call"
        else "list(client.organizations.list())"
    )
    script = (
        "import signal, sys, threading\n"
        "from workos_orgs import ClientClosedError, WorkOS\n"
        f"client = WorkOS(api_key={emulator.api_key!r}, base_url={emulator.url!r})\n"
        "handled = []\n"
        "def on_signal(signum, frame):\n"
        "    handled.append(signum)\n"
        "    client.close()\n"
        "signal.signal(signal.SIGUSR1, on_signal)\n"
        "def trace(frame, event, arg):\n"
        "    # The signal arrives as the client starts its loop thread, inside its lock.\n"
        "    if event == 'call' and frame.f_code.co_name == '_start' and not handled:\n"
        "        signal.raise_signal(signal.SIGUSR1)\n"
        "sys.settrace(trace)\n"
        "try:\n"
        f"    {call}\n"
        "except ClientClosedError as error:\n"
        "    print(type(error).__name__)\n"
        "sys.settrace(None)\n"
        "try:\n"
        "    client.organizations.get('org_01ARZ3NDEKTSV4RRFFQ69G5FAV')\n"
        "except ClientClosedError as error:\n"
        "    print('closed:', error)\n"
        "print(handled == [signal.SIGUSR1], threading.active_count())\n"
    )
    closed = "closed: This WorkOS client is closed; create a new one.\n"
    assert run_python(script) == (0, f"ClientClosedError\n{closed}True 1\n", "")


def test_ctrl_c_while_the_first_call_starts_the_thread_leaves_no_thread_behind(emulator: Emulator) -> None:
    # Ctrl-C landed in Thread.start() as it waited for the new thread, which already ran the
    # loop: the client never learnt of that loop, so close() could not stop it, and each such
    # interrupted first call left a thread (and its loop's file descriptors) running for good.
    (seeded,) = emulator.seed([{"name": "Acme"}])
    script = (
        "import signal, sys, threading\n"
        "from workos_orgs import WorkOS\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)  # a run in the background ignores it\n"
        f"client = WorkOS(api_key={emulator.api_key!r}, base_url={emulator.url!r})\n"
        "fired = []\n"
        "def trace(frame, event, arg):\n"
        "    # Ctrl-C as Thread.start() waits for the thread it started.\n"
        "    back = frame.f_back\n"
        "    if event == 'call' and frame.f_code.co_name == 'wait' and back and back.f_code.co_name == 'start'"
        " and not fired:\n"
        "        fired.append(True)\n"
        "        signal.raise_signal(signal.SIGINT)\n"
        "sys.settrace(trace)\n"
        "try:\n"
        f"    client.organizations.get({seeded['id']!r})\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
        "sys.settrace(None)\n"
        f"print(client.organizations.get({seeded['id']!r}).name)  # a new thread serves it\n"
        "client.close()\n"
        "for thread in threading.enumerate():\n"
        "    if thread is not threading.main_thread():\n"
        "        thread.join(30)\n"
        "print(fired, [thread.name for thread in threading.enumerate()])\n"
    )
    assert run_python(script) == (0, "interrupted\nAcme\n[True] ['MainThread']\n", "")


@pytest.mark.parametrize(
    "where", ["once it counts as closed", "once the loop is asked to close it", "while it waits for the loop"]
)
def test_a_close_interrupted_by_ctrl_c_still_ends_the_thread_and_closes_the_session(
    emulator: Emulator, where: str
) -> None:
    # Ctrl-C lands between two bytecodes of close(): just after the client counts as closed
    # (the loop thread and its session were left running for good, and a second close() did
    # nothing), once the loop is asked to close it (the loop thread was left behind, its loop
    # closed), or while it waits for the loop to close the client (the loop was stopped at
    # once, the session left open).
    client = WorkOS(api_key=emulator.api_key, base_url=emulator.url)
    client.organizations.list(limit=1).first_page()  # the thread and the session exist
    (thread,) = loop_threads()
    session = async_client_of(client).session
    assert session is not None

    def interrupting(frame: Any) -> bool:
        if where == "once it counts as closed":
            return bool(frame.f_locals["self"].closed)
        if where == "once the loop is asked to close it":
            return frame.f_locals.get("finished") is not None
        return frame.f_locals.get("finished") is not None and frame.f_locals["self"]._holder is None

    def trace(frame: Any, event: str, arg: Any) -> Any:
        return interrupt if frame.f_code is LoopThread.close.__code__ else None

    def interrupt(frame: Any, event: str, arg: Any) -> Any:
        if event == "line" and interrupting(frame):
            sys.settrace(None)
            frame.f_trace = None
            raise KeyboardInterrupt
        return interrupt

    sys.settrace(trace)
    try:
        with pytest.raises(KeyboardInterrupt):
            client.close()
    finally:
        sys.settrace(None)
    with pytest.raises(ClientClosedError):
        client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")  # no call starts once it counts as closed
    client.close()  # a second close, as a program that catches Ctrl-C would make: it finishes the first
    thread.join(SAFETY_NET)
    assert not thread.is_alive()
    assert session.closed


def async_client_of(client: WorkOS) -> Any:
    """The async client a blocking client runs its calls against (to see its session)."""
    return client._runner.loop_thread.client


def test_a_forked_child_is_quiet_about_the_calls_its_parent_had_queued(emulator: Emulator) -> None:
    # gunicorn --preload and Celery's prefork pool fork while other threads use the client: a
    # call queued on the parent's loop, made but not started, is not the child's to run.  The
    # child said "coroutine ... was never awaited" for each (an error under -W error).
    script = (
        "import asyncio, os, sys, threading, warnings\n"
        "from workos_orgs import RateLimiter, WorkOS\n"
        "entered, release = threading.Event(), threading.Event()\n"
        "class Stall(RateLimiter):\n"
        "    stalled = False\n"
        "    async def wait(self, method, path_segments):\n"
        "        if not Stall.stalled:\n"
        "            Stall.stalled = True\n"
        "            # Another call, queued on the loop this one holds: made, not started.\n"
        "            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), asyncio.get_running_loop())\n"
        "            entered.set()\n"
        "            release.wait()\n"
        f"client = WorkOS(api_key={emulator.api_key!r}, base_url={emulator.url!r}, rate_limiter=Stall())\n"
        "first = threading.Thread(target=lambda: client.organizations.list(limit=1).first_page())\n"
        "first.start()\n"
        "entered.wait()\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('ignore', DeprecationWarning)\n"
        "    pid = os.fork()\n"
        "if pid == 0:\n"
        "    client.organizations.list(limit=1).first_page()\n"
        "    sys.exit(0)\n"
        "release.set()\n"
        "first.join()\n"
        "_, status = os.waitpid(pid, 0)\n"
        "client.close()\n"
        "print(os.waitstatus_to_exitcode(status))\n"
    )
    assert run_python(script, "-W", "error::RuntimeWarning") == (0, "0\n", "")


def test_a_forked_child_that_leaves_its_parents_walk_is_quiet(emulator: Emulator) -> None:
    # A Celery task or a script forks inside `for org in client.organizations.list()`; the
    # child handles the item it has and leaves the loop.  The parent's walk task, forgotten in
    # the child, was collected while pending: "Task was destroyed but it is pending!".
    emulator.seed([{"name": f"Org {n}"} for n in range(6)])
    script = (
        "import gc, os, sys, warnings\n"
        "from workos_orgs import WorkOS\n"
        f"client = WorkOS(api_key={emulator.api_key!r}, base_url={emulator.url!r})\n"
        "for organization in client.organizations.list(limit=2):\n"
        "    with warnings.catch_warnings():\n"
        "        warnings.simplefilter('ignore', DeprecationWarning)\n"
        "        pid = os.fork()\n"
        "    break\n"
        "if pid == 0:\n"
        "    gc.collect()\n"
        "    print('child', len(client.organizations.list(limit=1).first_page().data), flush=True)\n"
        "    client.close()\n"
        "    sys.exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "client.close()\n"
        "print('parent', os.waitstatus_to_exitcode(status))\n"
    )
    assert run_python(script) == (0, "child 1\nparent 0\n", "")


def test_a_call_from_a_signal_handler_that_interrupted_the_client_itself_is_refused(emulator: Emulator) -> None:
    # With the lock reentrant (so that a handler's close() cannot deadlock), a handler's call
    # ran inside the interrupted start of the loop thread: it made a second loop, and the client
    # was left on the wrong one (WrongEventLoopError on every call, a thread and a session leaked).
    script = (
        "import signal, sys, threading\n"
        "from workos_orgs import WorkOS, WorkOSError\n"
        f"client = WorkOS(api_key={emulator.api_key!r}, base_url={emulator.url!r})\n"
        "refused = []\n"
        "def on_signal(signum, frame):\n"
        "    try:\n"
        "        client.organizations.list(limit=1).first_page()\n"
        "    except WorkOSError as error:\n"
        "        refused.append(str(error))\n"
        "signal.signal(signal.SIGUSR1, on_signal)\n"
        "def trace(frame, event, arg):\n"
        "    if event == 'call' and frame.f_code.co_name == '_start' and not refused:\n"
        "        signal.raise_signal(signal.SIGUSR1)\n"
        "sys.settrace(trace)\n"
        "page = client.organizations.list(limit=1).first_page()\n"
        "sys.settrace(None)\n"
        "print(len(page.data), refused[0].split(';')[0])\n"
        "print(len(client.organizations.list(limit=1).first_page().data))\n"
        "client.close()\n"
        "print(threading.active_count())\n"
    )
    emulator.seed([{"name": "Acme"}])
    refusal = "This WorkOS client was called from a signal handler that interrupted the client itself"
    assert run_python(script) == (0, f"1 {refusal} (while it started or closed its thread)\n1\n1\n", "")


BLOCKING_SYNC_INTERRUPTED = """
import signal, sys
from workos_orgs import WorkOS
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal
events = []
client = WorkOS(api_key=sys.argv[1], base_url=sys.argv[2])
record = {"external_id": "x", "name": "Acme", "metadata": {f"new_{n}": "y" for n in range(30)}}
try:
    client.organizations.sync([record], on_event=events.append, rate_limiter=None)
except KeyboardInterrupt:
    print("interrupted", flush=True)
client.close()
print("closed", [(event.action, event.external_id, len(event.changes)) for event in events], flush=True)
"""


async def _sync_interrupted(emulator: Emulator, script: str, *, when_reading: bool) -> list[str]:
    """Run `script` (a blocking sync of record x, whose split update's second step is held)
    and press Ctrl-C once that step is held (and, `when_reading`, once the script says it is
    reading records): what it printed, a line each."""
    emulator.seed([{"name": "Acme", "external_id": "x", "metadata": {f"old_{n}": "x" for n in range(30)}}])
    async with Gate(emulator.url) as gate:
        second = gate.hold("PUT", "/organizations/*", skip=1, times=1)  # the first step passes
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, emulator.api_key, gate.url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with asyncio.timeout(SAFETY_NET):
                await second.arrived()
                if when_reading:
                    assert process.stdout is not None
                    assert await process.stdout.readline() == b"reading\n"
                process.send_signal(signal.SIGINT)
                out, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode()
    return out.decode().splitlines()


async def test_ctrl_c_between_a_blocking_updates_two_steps_tells_on_event_and_closes(emulator: Emulator) -> None:
    # Ctrl-C in the caller's thread while the second step of a split update is under way: the
    # first step had removed thirty metadata keys.  on_event, called in the caller's thread,
    # is told of the record before the KeyboardInterrupt goes on, and nothing on the loop
    # thread is left waiting for a caller that has gone (close() returns).
    printed = await _sync_interrupted(emulator, BLOCKING_SYNC_INTERRUPTED, when_reading=False)
    assert printed == ["interrupted", "closed [('failed', 'x', 60)]"]  # 30 keys removed, 30 that may be set


BLOCKING_SYNC_INTERRUPTED_WHILE_READING = """
import os, signal, sys, time
from workos_orgs import WorkOS
from workos_orgs._loop_thread import RECORDS_PER_READ
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal
events = []
client = WorkOS(api_key=sys.argv[1], base_url=sys.argv[2])
def records():
    yield {"external_id": "x", "name": "Acme", "metadata": {f"new_{n}": "y" for n in range(30)}}
    for n in range(RECORDS_PER_READ - 1):
        yield {"external_id": f"r{n}", "name": f"R{n}"}
    print("reading", flush=True)  # the next read: the caller's own slow source
    time.sleep(60)  # Ctrl-C lands here, in the caller's thread, in its own code
    yield {"external_id": "late", "name": "Late"}
try:
    client.organizations.sync(records(), on_event=events.append, rate_limiter=None)
except KeyboardInterrupt:
    print("interrupted", flush=True)
client.close()
print("closed", [(event.action, event.external_id, len(event.changes)) for event in events if event.action == "failed"])
"""


async def test_ctrl_c_while_the_caller_reads_records_still_tells_on_event_of_a_record_cut_short(
    emulator: Emulator,
) -> None:
    # The interrupt raised in the caller's code was kept as the call's failure, and the
    # wind-down then ran none of the work handed back: on_event never heard of the record.
    printed = await _sync_interrupted(emulator, BLOCKING_SYNC_INTERRUPTED_WHILE_READING, when_reading=True)
    assert printed == ["interrupted", "closed [('failed', 'x', 60)]"]  # 30 keys removed, 30 that may be set


def test_work_handed_back_once_the_caller_has_stopped_serving_is_cancelled_not_left_waiting() -> None:
    # A task on the loop awaiting work its caller will never do (the caller was interrupted a
    # second time, or its callback failed) waited for good, holding the job open.
    inbox = CallerInbox()
    queued = inbox.ask(lambda: 1)
    inbox.close()
    assert queued.cancelled()
    assert inbox.ask(lambda: 2).cancelled()


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit])
def test_a_job_interrupted_in_the_callers_thread_settles_what_the_loop_waits_on(raised: type[BaseException]) -> None:
    # A second Ctrl-C in on_event, as a first one's wind-down told it of a record: its future
    # stayed running, never settled, and the loop's task waiting on it was stuck until close().
    inbox = CallerInbox()

    def interrupted() -> None:
        raise raised

    asked = inbox.ask(interrupted)
    with pytest.raises(raised):
        inbox.serve_until(concurrent.futures.Future())
    assert asked.done()
    with pytest.raises(asyncio.CancelledError):  # what the loop gets: its wait ends as cancelled
        asked.result()
