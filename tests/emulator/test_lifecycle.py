"""An emulator's life in a user's tests: started once, closed for good, and told clearly when
it is used otherwise -- never left broken by the mistake."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import re
import select
import socket
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from workos_orgs.emulator import DatabaseFileError, Emulator


async def _organizations(emulator: Emulator) -> int:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emulator.url}/organizations", headers=headers) as response,
    ):
        return response.status


def test_starting_a_running_emulator_again_leaves_it_running() -> None:
    # The refusal used to close the emulator the caller was using.
    with Emulator().running_in_thread() as emulator:
        url = emulator.url
        with pytest.raises(RuntimeError, match="already running"), emulator.running_in_thread():
            pass
        assert emulator.url == url
        assert [organization["name"] for organization in emulator.seed([{"name": "Still here"}])] == ["Still here"]
        request = urllib.request.Request(
            f"{url}/organizations", headers={"Authorization": f"Bearer {emulator.api_key}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # it still answers
            assert [organization["name"] for organization in json.load(response)["data"]] == ["Still here"]


def test_an_emulator_that_cannot_bind_is_closed(tmp_path: Path) -> None:
    # Its database, a file here, must not stay open behind the error.
    with Emulator().running_in_thread() as taken:
        port = int(taken.url.rsplit(":", 1)[1])
        emulator = Emulator(port=port, db=tmp_path / "data.db")
        with pytest.raises(OSError, match="in use"), emulator.running_in_thread():
            pass
    with pytest.raises(RuntimeError, match="was closed"):
        emulator.seed([{"name": "Late"}])


async def test_a_closed_emulator_refuses_to_start_or_be_used_again() -> None:
    # Restarted, it served 500s from its closed database; seed and reset raised sqlite errors.
    emulator = Emulator()
    async with emulator:
        assert await _organizations(emulator) == 200
    for use in (emulator.start, lambda: emulator.__aenter__()):
        with pytest.raises(RuntimeError, match="was closed; make a new Emulator"):
            await use()
    with pytest.raises(RuntimeError, match="was closed; make a new Emulator"):
        emulator.seed([{"name": "Late"}])
    with pytest.raises(RuntimeError, match="was closed; make a new Emulator"):
        emulator.reset()


def _bad_options() -> list[tuple[str, Callable[[], object], str]]:
    return [
        ("rate_limits as a number", lambda: Emulator(rate_limits=1), "rate_limits"),  # type: ignore[arg-type]
        ("rate_limits as text", lambda: Emulator(rate_limits="yes"), "rate_limits"),  # type: ignore[arg-type]
        ("limits as a mapping", lambda: Emulator(limits={"metadata_keys": 10}), "limits"),  # type: ignore[arg-type]
        ("chaos as a number", lambda: Emulator(chaos=0.1), "chaos"),  # type: ignore[arg-type]
        ("stall_timeout as text", lambda: Emulator(stall_timeout="5"), "stall_timeout"),  # type: ignore[arg-type]
        ("stall_timeout infinite", lambda: Emulator(stall_timeout=math.inf), "stall_timeout"),
        ("idempotency_ttl as text", lambda: Emulator(idempotency_ttl="x"), "idempotency_ttl"),  # type: ignore[arg-type]
        ("idempotency_ttl negative", lambda: Emulator(idempotency_ttl=-5), "idempotency_ttl"),
        ("idempotency as text", lambda: Emulator(idempotency="no"), "idempotency"),  # type: ignore[arg-type]
        ("auto_verify as text", lambda: Emulator(auto_verify="no"), "auto_verify"),  # type: ignore[arg-type]
        ("clock not callable", lambda: Emulator(clock=5), "clock"),  # type: ignore[arg-type]
        ("port as text", lambda: Emulator(port="abc"), "port"),  # type: ignore[arg-type]
        ("port out of range", lambda: Emulator(port=70000), "port"),
        ("host as a number", lambda: Emulator(host=123), "host"),  # type: ignore[arg-type]
        ("db as a number", lambda: Emulator(db=123), "db"),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize(("case", "make", "option"), _bad_options(), ids=[case for case, _, _ in _bad_options()])
def test_a_bad_option_is_refused_at_once_naming_it(case: str, make: Callable[[], object], option: str) -> None:
    # Each was accepted, then failed later deep inside (or as a 500 on every write).
    with pytest.raises((TypeError, ValueError), match=rf"^{option} "):
        make()


def test_a_fault_or_chaos_of_the_wrong_type_is_refused_naming_it() -> None:
    with Emulator().running_in_thread() as emulator:
        _refuses_faults_of_the_wrong_type(emulator)


def _refuses_faults_of_the_wrong_type(emulator: Emulator) -> None:
    with pytest.raises(TypeError, match="inject_fault takes a Fault"):
        emulator.inject_fault("503")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="set_chaos takes a Chaos"):
        emulator.set_chaos(0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="retry_after"):
        emulator.inject_fault(status=429, retry_after=-3)


def test_a_db_file_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n" * 100)
    for path in (tmp_path / "nowhere" / "data.db", tmp_path, notes):
        with pytest.raises(DatabaseFileError, match=re.escape(f"cannot open the database file {str(path)!r}")):
            Emulator(db=path)


class _PathLike:
    def __init__(self, path: Path) -> None:
        self._path = path

    def __fspath__(self) -> str:
        return str(self._path)


class _Index:
    def __index__(self) -> int:
        return 0


def test_every_kind_of_value_an_option_took_before_is_still_taken(tmp_path: Path) -> None:
    for emulator in (
        Emulator(db=_PathLike(tmp_path / "a.db")),  # type: ignore[arg-type]  # pytest's tmpdir is one
        Emulator(rate_limits=None),  # type: ignore[arg-type]
        Emulator(port=_Index()),  # type: ignore[arg-type]  # numpy's integers are such
        Emulator(idempotency=0, auto_verify=1),
        Emulator(idempotency_ttl=Fraction(3, 2), stall_timeout=Fraction(5, 2)),  # type: ignore[arg-type]
        Emulator(idempotency_ttl=0),
        Emulator(idempotency_ttl=math.inf),
    ):
        with emulator.running_in_thread() as running:
            assert running.seed([{"name": "Acme"}])[0]["name"] == "Acme"


SAFETY_TIMEOUT = 30  # a safety net only: every wait below ends on an event, not a clock


def _listener(port: int) -> socket.socket:
    """A duplicate of the emulator's listening socket, to see when a connection waits in its backlog.

    Found among the live `asyncio.Server`s by its public ``sockets`` and its port: the emulator
    keeps its listening server to itself, and a test of its public behaviour should not reach in.
    """
    for candidate in gc.get_objects():
        if isinstance(candidate, asyncio.Server):
            for sock in candidate.sockets:
                if sock.getsockname()[1] == port:
                    return socket.socket(fileno=os.dup(sock.fileno()))
    raise AssertionError(f"no listening socket on port {port}")


def _connect_into_the_backlog(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` connections the kernel completed and the emulator's loop (held) has not accepted.

    They are surely in the backlog once the listening socket reads as ready; more than one
    makes it likelier that some are only accepted in the same loop step as the close begins.
    """
    connections = [socket.create_connection((host, port), timeout=SAFETY_TIMEOUT) for _ in range(count)]
    with _listener(port) as listener:
        readable, _, _ = select.select([listener], [], [], SAFETY_TIMEOUT)
    assert readable, "the connections never reached the emulator's backlog"
    return connections


def _closed_by_the_server(connection: socket.socket) -> bool:
    try:
        return connection.recv(1) == b""  # waits, up to the safety net, for the server's end
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _assert_closed_cleanly(caught: list[warnings.WarningMessage], late: list[socket.socket]) -> None:
    """No warning (an unclosed transport among them) and every late connection ended by the server."""
    assert [str(warning.message) for warning in caught] == []
    assert [_closed_by_the_server(connection) for connection in late] == [True] * len(late)


def _post_organization(emulator: Emulator) -> bytes:
    body = b'{"name": "Acme"}'
    head = (
        "POST /organizations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {emulator.api_key}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def test_connections_accepted_as_a_threaded_emulator_closes_are_closed_with_it() -> None:
    # Connections in the backlog as the close began: asyncio accepts one in a loop step and
    # makes its transport in a later one.  Closed in between, the listening server refused the
    # transport (CPython gh-109564, silent outside debug mode), or aiohttp's shutdown had already
    # listed the connections to close; either way its socket stayed open, the loop was closed,
    # and garbage collection reported an "unclosed transport" (a ResourceWarning).  Here the
    # emulator's loop is held inside a request (by its clock) while they connect, and the close
    # is queued before it is let go: both reach the loop in the same step.
    holding, held, release = threading.Event(), threading.Event(), threading.Event()
    loops: list[asyncio.AbstractEventLoop] = []
    late: list[socket.socket] = []

    def clock() -> float:
        if holding.is_set() and threading.current_thread().name == "workos-orgs-emulator":
            holding.clear()
            loops.append(asyncio.get_running_loop())
            held.set()
            release.wait(SAFETY_TIMEOUT)
        return time.time()

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with Emulator(clock=clock).running_in_thread() as emulator:
                host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
                holding.set()
                with socket.create_connection((host, int(port)), timeout=SAFETY_TIMEOUT) as trigger:
                    try:
                        trigger.sendall(_post_organization(emulator))
                        assert held.wait(SAFETY_TIMEOUT)
                        late += _connect_into_the_backlog(host, int(port), 4)
                        closing = asyncio.run_coroutine_threadsafe(emulator.close(), loops[0])
                    finally:
                        release.set()
                    closing.result(SAFETY_TIMEOUT)
            gc.collect()
        _assert_closed_cleanly(caught, late)
    finally:
        for connection in late:
            connection.close()


@pytest.mark.parametrize("steps", range(5))
async def test_connections_caught_at_any_step_of_their_accept_are_closed_with_the_emulator(steps: int) -> None:
    # The same race in the caller's own loop, at each point of asyncio's accept: the test holds
    # the loop while they connect (nothing here awaits), lets it run `steps` steps, then closes.
    # Two steps in, their accept had begun and their transports were not made yet.
    late: list[socket.socket] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            emulator = Emulator()
            await emulator.start()
            host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
            late += _connect_into_the_backlog(host, int(port), 4)
            for _ in range(steps):
                await asyncio.sleep(0)
            await emulator.close()
            gc.collect()
        _assert_closed_cleanly(caught, late)
    finally:
        for connection in late:
            connection.close()


@pytest.mark.parametrize("fault", [{"hold": True}, {"delay_ms": 600_000}], ids=["held", "delayed"])
async def test_a_request_pipelined_behind_a_waiting_one_does_not_hold_the_close(fault: dict[str, Any]) -> None:
    # Closing releases the waiting request; its connection's next request, parsed already, then
    # met the same fault while the close let the accepts finish, and waited with nothing left
    # to release it: the close took aiohttp's 60 s shutdown timeout, twice (or the delay).
    emulator = Emulator()
    await emulator.start()
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    emulator.inject_fault(method="GET", path="/organizations", times=2, **fault)
    _, writer = await asyncio.open_connection(host, int(port))
    try:
        head = f"GET /organizations HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {emulator.api_key}\r\n\r\n"
        writer.write(head.encode() * 2)  # the second waits, parsed, behind the first
        async with asyncio.timeout(SAFETY_TIMEOUT):
            await emulator.wait_until_held()
            await emulator.close()
        assert emulator.held_requests == 0
    finally:
        writer.close()


async def test_a_close_cancelled_partway_leaves_the_port_and_its_connections_closed() -> None:
    # The close lets two loop steps pass before it closes the listening socket; cancelled in
    # them, it left the port open (taking connections nobody answers), and a second close
    # could not reach it; nor were the connections kept alive shut (they went on being served,
    # with 500s from the closed database).
    emulator = Emulator()
    await emulator.start()
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        async with asyncio.timeout(SAFETY_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"Content-Length: (\d+)", head, re.IGNORECASE)[1])  # type: ignore[index]
            await reader.readexactly(length)
        assert head.startswith(b"HTTP/1.1 200")
        closing = asyncio.create_task(emulator.close())
        await asyncio.sleep(0)  # the close has begun
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        await emulator.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=SAFETY_TIMEOUT).close()
        async with asyncio.timeout(SAFETY_TIMEOUT):
            assert await reader.read() == b""  # the server ended the kept-alive connection
    finally:
        writer.close()
