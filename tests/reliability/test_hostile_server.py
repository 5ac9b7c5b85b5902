"""Servers that attack the client's memory and time: compression bombs, bytes dripped one at a
time, and a client closed while calls are in flight.  Every call ends, with a typed error.

Each server here is a few lines of `asyncio.start_server`, so it can send what no real HTTP
server would.  Outcomes are bounded by events and counts; the outer ``asyncio.timeout`` of each
test is only a safety net against the hang the test is about.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import ssl
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workos_orgs import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncWorkOS,
    BadRequestError,
    ClientClosedError,
    InternalServerError,
    NotFoundError,
    Organization,
    PaginationError,
    RateLimiter,
    ResponseValidationError,
    WorkOSError,
)
from workos_orgs._response import DENSITY_CHECKED_FROM, MAX_RESPONSE_BYTES
from workos_orgs.emulator import Emulator

from .. import clock
from .conftest import FAST
from .test_hostile_input import (
    CALLS,
    JSON_VALUES,
    KEPT_MAX,
    ORG_ID,
    ORGANIZATION,
    STATUSES,
    TEXT_BODIES,
    near_organizations,
)

SAFETY_NET = 30.0
_NOT_FOUND_BODY = b'{"message": "Organization not found.", "code": "entity_not_found"}'
API_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s" % (len(_NOT_FOUND_BODY), _NOT_FOUND_BODY)
"""The API's own 404 for an organization that is not there (a gateway's would not count)."""
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Hostile:
    """A loopback TCP server running `handler` per connection; counts the requests it read."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests = 0
        self.url = ""
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await read_request(reader):
                self.requests += 1
                await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up on us, as it should
        except asyncio.CancelledError:
            # Stopped by __aexit__; ending normally keeps Python 3.11's stream callback from
            # logging the cancelled task as an error.
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def __aenter__(self) -> Hostile:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):  # Python 3.11 has no Server.close_clients()
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks)
        await self._server.wait_closed()


async def read_request(reader: asyncio.StreamReader, methods: list[str] | None = None) -> bool:
    """Read one request head (and its body, if it has a length), adding its method to
    `methods`; False at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return False
    if methods is not None:
        methods.append(head.partition(b" ")[0].decode())
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and int(value):
            await reader.readexactly(int(value))
    return True


async def until_client_leaves(reader: asyncio.StreamReader) -> None:
    """Hold the connection open, sending nothing more, until the client closes it."""
    await reader.read()
    raise ConnectionResetError


def client_for(server: Hostile | StopsListening, **options: object) -> AsyncWorkOS:
    # A socket timeout no busy machine outlasts: the tests that are about timeouts set their own.
    settings: dict[str, object] = {"backoff": FAST, "timeout": GENEROUS, "max_retries": 1}
    settings.update(options)
    return AsyncWorkOS(api_key="sk_test_hostile", base_url=server.url, **settings)  # type: ignore[arg-type]


# A compression bomb: a small body that inflates past the read limit.

BOMB_SIZE = MAX_RESPONSE_BYTES + 1024 * 1024


def compressed(encoding: str, size: int) -> bytes:
    """`size` zero bytes compressed as `encoding`, flushed so all of it can be decoded at once
    but with the stream left unfinished (a bomb needs no end)."""
    compressor = zlib.compressobj(wbits=31 if encoding == "gzip" else 15)
    block = b"\0" * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    parts.append(compressor.compress(b"\0" * (size % len(block))))
    parts.append(compressor.flush(zlib.Z_SYNC_FLUSH))
    return b"".join(parts)


def bomb(status: int, encoding: str, framing: str) -> Handler:
    """Send a bomb that inflates past the limit, then hold the connection: a client that reads
    to the end of the declared body waits for bytes that never come."""
    data = compressed(encoding, BOMB_SIZE)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Encoding: {encoding}\r\n"
        if framing == "content-length":
            # Less than the limit as sent, and never all sent.
            writer.write(f"{head}Content-Length: {len(data) + 1000}\r\n\r\n".encode() + data)
        else:
            writer.write(f"{head}Transfer-Encoding: chunked\r\n\r\n{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()
        await until_client_leaves(reader)

    return handler


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compression_bomb_is_cut_off_at_the_limit_of_decoded_bytes(encoding: str, framing: str) -> None:
    assert len(compressed(encoding, BOMB_SIZE)) < MAX_RESPONSE_BYTES // 100
    async with Hostile(bomb(200, encoding, framing)) as server, client_for(server) as client:
        with pytest.raises(ResponseValidationError, match="larger than") as caught:
            async with asyncio.timeout(SAFETY_NET):
                await client.organizations.get(ORG_ID)
    assert caught.value.status_code == 200
    assert server.requests == 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compression_bomb_on_a_retried_500_is_cut_off_on_every_attempt(encoding: str) -> None:
    async with Hostile(bomb(500, encoding, "content-length")) as server, client_for(server) as client:
        with pytest.raises(InternalServerError) as caught:
            async with asyncio.timeout(SAFETY_NET):
                await client.organizations.get(ORG_ID)
    assert (caught.value.status_code, caught.value.attempts) == (500, 2)
    assert server.requests == 2


# A body under the limit made of tiny arrays: decoded, its 16 MiB of "[]," would be ~5.6 million
# objects (~470 MiB, seconds of the event loop); it is refused, or summed up, undecoded.


def tiny_arrays(size: int) -> bytes:
    prefix, suffix = b'{"object":"list","data":[', b'],"list_metadata":{"before":null,"after":null}}'
    count = (size - len(prefix) - len(suffix)) // 3
    return prefix + b"[]," * (count - 1) + b"[]" + suffix


def gzipped(status: int, data: bytes) -> Handler:
    compressed_body = gzip.compress(data, 9)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(compressed_body)}\r\n\r\n"
        )
        writer.write(head.encode() + compressed_body)
        await writer.drain()

    return handler


def tiny_strings(size: int) -> bytes:
    count = (size - 2) // 4
    return b"[" + b'"a",' * (count - 1) + b'"a"]'


@pytest.mark.parametrize("status", [200, 500])
@pytest.mark.parametrize("bomb", [tiny_arrays, tiny_strings], ids=["arrays", "strings"])
async def test_a_body_of_tiny_values_is_not_decoded(status: int, bomb: Callable[[int], bytes]) -> None:
    data = bomb(MAX_RESPONSE_BYTES - 1024)
    tracemalloc.start()
    try:
        async with Hostile(gzipped(status, data)) as server, client_for(server, max_retries=0) as client:
            with pytest.raises(ResponseValidationError if status == 200 else InternalServerError) as caught:
                async with asyncio.timeout(SAFETY_NET):
                    await client.organizations.list(limit=100)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The body itself, held as its chunks and then joined, and little else.
    assert peak < 4 * len(data), f"peak {peak:,} bytes for a {len(data):,}-byte body"
    assert caught.value.status_code == status
    if status == 200:
        assert "elements (strings, or arrays, objects and their items)" in str(caught.value)
    else:
        assert caught.value.json is None


@pytest.mark.parametrize("status", [404, 503])
async def test_an_error_body_only_its_strings_could_clear_is_summed_up_not_decoded(status: int) -> None:
    # A mebibyte of strings full of commas: more commas than the bound allows, but inside
    # strings.  A page like it is decoded once its strings are found one by one (seconds of
    # the event loop, at 16 MiB); an error body is not worth that wait, and no error of the
    # API's looks like it: it is summed up from its text.
    pad = [",,,,,,,,"] * (DENSITY_CHECKED_FROM // 11)
    data = orjson.dumps({"message": "Upstream failed", "code": "upstream_error", "pad": pad})
    async with Hostile(gzipped(status, data)) as server, client_for(server, max_retries=0) as client:
        with pytest.raises(APIStatusError) as caught:
            async with asyncio.timeout(SAFETY_NET):
                await client.organizations.get(ORG_ID)
    error = caught.value
    assert (error.status_code, error.code, error.json) == (status, None, None)
    assert error.message == data[:200].decode()  # the start of its text, as for a body that is not JSON
    assert error.body is not None
    assert error.body.startswith(data[:1000].decode())


async def test_a_large_page_whose_metadata_is_json_text_is_decoded(emulator: Emulator) -> None:
    # Brackets and quotes inside strings are not values: a page of settings stored as JSON
    # text is far over the bound by its bytes, and well under it by what it holds.
    flags = {"features": ["sso", "scim", "audit_logs"], "limits": {"seats": 50}, "flags": {"beta": True, "ui": [1, 2]}}
    setting = orjson.dumps([flags, {"seat_ids": list(range(80))}]).decode()
    metadata = {f"setting_{number:02d}": setting for number in range(50)}
    emulator.seed([{"name": f"Customer {n}", "external_id": str(n), "metadata": metadata} for n in range(100)])
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, max_retries=0) as client:
        raw = await client.organizations.with_raw_response.list(limit=100)
        assert len(raw.body) >= 1024 * 1024
        # Over the bound by its bytes: the commas and brackets inside strings are counted off.
        by_bytes = raw.body.count(b",") + raw.body.count(b"[") + raw.body.count(b"{")
        assert by_bytes * 10 > len(raw.body) * 1.5
        page = raw.parse()
        assert len(page.data) == 100
        assert all(organization.metadata == metadata for organization in page.data)


@pytest.mark.parametrize("codings", [["x-bogus"], ["gzip, gzip"], ["x-gzip"], ["compress"], ["gzip", "x-custom"]])
async def test_a_body_in_a_content_encoding_that_cannot_be_decoded_is_not_parsed(codings: list[str]) -> None:
    # aiohttp decodes gzip, deflate, br and zstd, and hands any other coding over as it came:
    # such bytes are not the JSON they may happen to look like.  Of two header lines, its C
    # parser reads the last and its Python parser the first: which was decoded is unknown.
    body = orjson.dumps(ORGANIZATION)
    lines = "".join(f"Content-Encoding: {coding}\r\n" for coding in codings)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{lines}"
        writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()

    async with Hostile(handler) as server, client_for(server, max_retries=0) as client:
        with pytest.raises(ResponseValidationError, match="Content-Encoding") as caught:
            await client.organizations.get(ORG_ID)
    assert repr(", ".join(codings)) in str(caught.value)


@pytest.mark.parametrize("coding", ["GZIP", " gzip\t", "identity"])
async def test_a_body_in_a_coding_aiohttp_decodes_is_parsed(coding: str) -> None:
    body = orjson.dumps(ORGANIZATION)
    sent = body if coding == "identity" else gzip.compress(body)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {coding}\r\n"
        writer.write(f"{head}Content-Length: {len(sent)}\r\n\r\n".encode() + sent)
        await writer.drain()

    async with Hostile(handler) as server, client_for(server, max_retries=0) as client:
        organization = await client.organizations.get(ORG_ID)
    assert organization.id == ORGANIZATION["id"]


# Bytes dripped so that no socket wait times out: the socket timeout here is an hour, so only
# the per-attempt bound can end a call, however slowly the machine runs.

DRIP_GAP = 0.01
AN_HOUR = 3600.0
GENEROUS = 60.0
ATTEMPT_BOUND = 0.2


async def drip(writer: asyncio.StreamWriter, data: bytes, *, forever: bytes = b"") -> None:
    for byte in data:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(DRIP_GAP)
    while forever:
        for byte in forever:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(DRIP_GAP)


def dripping(kind: str) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if kind == "status line":
            await drip(writer, b"HTTP/1.1 200 ", forever=b"OOOOOOOO")
        elif kind == "headers":
            await drip(writer, b"HTTP/1.1 200 OK\r\n", forever=b"X-Slow: yes\r\n")
        elif kind == "100 Continue":
            await drip(writer, b"", forever=b"HTTP/1.1 100 Continue\r\n\r\n")
        else:
            await drip(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n", forever=b" ")

    return handler


@pytest.mark.parametrize("kind", ["status line", "headers", "100 Continue", "body"])
async def test_a_server_that_drips_bytes_cannot_hold_a_call(kind: str) -> None:
    async with (
        Hostile(dripping(kind)) as server,
        client_for(server, timeout=AN_HOUR, attempt_timeout=ATTEMPT_BOUND) as client,
    ):
        with pytest.raises(APITimeoutError) as caught:
            async with asyncio.timeout(SAFETY_NET):
                await client.organizations.get(ORG_ID)
    assert caught.value.attempts == 2
    assert caught.value.outcome_unknown
    assert "attempt" in caught.value.message
    assert f"within {ATTEMPT_BOUND}s of the attempt's connection" in caught.value.message
    assert server.requests == 2


async def test_a_dripping_server_cannot_hold_a_call_with_no_retries() -> None:
    async with (
        Hostile(dripping("body")) as server,
        client_for(server, max_retries=0, timeout=AN_HOUR, attempt_timeout=ATTEMPT_BOUND) as client,
    ):
        with pytest.raises(APITimeoutError) as caught:
            async with asyncio.timeout(SAFETY_NET):
                await client.organizations.update(ORG_ID, name="Acme")
    assert caught.value.attempts == 1


async def test_the_attempt_bound_can_be_set_per_view_and_per_call() -> None:
    async with Hostile(dripping("body")) as server, client_for(server, max_retries=0, timeout=AN_HOUR) as client:
        assert client.attempt_timeout == AN_HOUR * 3  # the default follows timeout
        bounded = client.with_options(attempt_timeout=ATTEMPT_BOUND)
        assert (bounded.timeout, bounded.attempt_timeout) == (AN_HOUR, ATTEMPT_BOUND)
        async with asyncio.timeout(SAFETY_NET):
            with pytest.raises(APITimeoutError, match="attempt's connection") as by_view:
                await bounded.organizations.get(ORG_ID)
            with pytest.raises(APITimeoutError, match="attempt's connection") as by_call:
                await client.organizations.get(ORG_ID, attempt_timeout=ATTEMPT_BOUND)
    assert by_view.value.attempts == by_call.value.attempts == 1
    assert server.requests == 2


def test_each_piece_of_a_response_starts_the_socket_wait_again() -> None:
    clock.run(each_piece_of_a_response_starts_the_socket_wait_again())


async def each_piece_of_a_response_starts_the_socket_wait_again() -> None:
    # The head, then the body in three pieces, each 0.75 of the socket timeout after the one
    # before (the clock skips; nothing waits): the whole response takes three times the
    # socket timeout, but no wait for the next piece lasts longer than it.
    body = orjson.dumps(ORGANIZATION)
    pieces = [body[:10], body[10:20], body[20:]]
    asked = asyncio.Event()
    send_next = asyncio.Queue[bytes]()

    async def in_pieces(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        await writer.drain()
        asked.set()
        while piece := await send_next.get():
            writer.write(piece)
            await writer.drain()

    async with (
        Hostile(in_pieces) as server,
        client_for(server, max_retries=0, timeout=GENEROUS, attempt_timeout=None) as client,
    ):
        call = asyncio.create_task(client.organizations.get(ORG_ID))
        async with asyncio.timeout(SAFETY_NET + 3 * GENEROUS):  # the safety net sees the skips too
            await asked.wait()
            for piece in pieces:
                await settle()
                clock.skip(GENEROUS * 0.75)
                await settle()
                await send_next.put(piece)
            await send_next.put(b"")
            organization = await call
    assert organization.id == ORG_ID


async def settle() -> None:
    """Let every callback and task that is ready run (loopback data included)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_a_wait_longer_than_the_socket_timeout_ends_the_attempt() -> None:
    clock.run(a_wait_longer_than_the_socket_timeout_ends_the_attempt())


async def a_wait_longer_than_the_socket_timeout_ends_the_attempt() -> None:
    body = orjson.dumps(ORGANIZATION)
    asked = asyncio.Event()

    async def half_then_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
        await writer.drain()
        asked.set()
        await until_client_leaves(reader)

    async with (
        Hostile(half_then_nothing) as server,
        client_for(server, max_retries=0, timeout=GENEROUS, attempt_timeout=None) as client,
    ):
        call = asyncio.create_task(client.organizations.get(ORG_ID))
        async with asyncio.timeout(SAFETY_NET + GENEROUS):  # the safety net sees the skip too
            await asked.wait()
            await settle()
            clock.skip(GENEROUS + 1)
            with pytest.raises(APITimeoutError, match=f"within the {GENEROUS}s socket timeout") as caught:
                await call
    assert caught.value.attempts == 1
    assert caught.value.outcome_unknown


async def test_one_calls_attempt_bound_ends_that_call_alone_and_a_cancellation_stays_one(
    held: tuple[Hostile, dict[int, asyncio.Event]],
) -> None:
    # The call with the far deadline goes first: the near one that follows must still be kept to its own.
    server, reached = held
    async with client_for(server, max_retries=0, timeout=AN_HOUR) as client:
        far = asyncio.create_task(client.organizations.get(ORG_ID))
        async with asyncio.timeout(SAFETY_NET):
            await reached[1].wait()
            with pytest.raises(APITimeoutError, match="attempt's connection") as caught:
                await client.organizations.get(ORG_ID, attempt_timeout=ATTEMPT_BOUND)
            assert not far.done()
            far.cancel()
            with pytest.raises(asyncio.CancelledError):
                await far
    assert caught.value.attempts == 1
    assert server.requests == 2


# Closing the client while calls are in flight, and queued for a pooled connection.


@pytest.fixture
async def held() -> AsyncIterator[tuple[Hostile, dict[int, asyncio.Event]]]:
    """A server that reads requests and never responds; its events are set at the 1st and
    the 100th request."""
    reached = {1: asyncio.Event(), 100: asyncio.Event()}
    server: Hostile

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if server.requests in reached:
            reached[server.requests].set()
        await until_client_leaves(reader)

    server = Hostile(hold)
    async with server:
        yield server, reached


async def test_closing_the_client_ends_every_call_in_flight_or_queued_with_client_closed_error(
    held: tuple[Hostile, dict[int, asyncio.Event]],
) -> None:
    server, reached = held
    client = client_for(server, timeout=None)
    calls = [asyncio.create_task(client.organizations.get(ORG_ID)) for _ in range(200)]
    async with asyncio.timeout(SAFETY_NET):
        await reached[100].wait()  # the session's pool holds 100: the other 100 queue for one
        await client.close()
        results = await asyncio.gather(*calls, return_exceptions=True)
    kinds = sorted({type(result).__name__ for result in results})
    assert kinds == ["ClientClosedError"]
    assert all(isinstance(result, ClientClosedError) for result in results)
    assert server.requests == 100


async def test_closing_the_client_does_not_turn_a_callers_cancellation_into_an_error(
    held: tuple[Hostile, dict[int, asyncio.Event]],
) -> None:
    server, reached = held
    client = client_for(server, timeout=None)
    call = asyncio.create_task(client.organizations.get(ORG_ID))
    async with asyncio.timeout(SAFETY_NET):
        await reached[1].wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await client.close()


async def test_a_call_on_a_session_its_owner_closed_is_a_client_closed_error(
    held: tuple[Hostile, dict[int, asyncio.Event]],
) -> None:
    server, _ = held
    session = aiohttp.ClientSession()
    await session.close()
    async with client_for(server, session=session) as client:
        with pytest.raises(ClientClosedError, match="session"):
            await client.organizations.get(ORG_ID)
    assert server.requests == 0


async def test_closing_a_session_passed_in_ends_its_calls_with_client_closed_error(
    held: tuple[Hostile, dict[int, asyncio.Event]],
) -> None:
    server, reached = held
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
    client = client_for(server, session=session, timeout=None)
    calls = [asyncio.create_task(client.organizations.get(ORG_ID)) for _ in range(5)]
    async with asyncio.timeout(SAFETY_NET):
        await reached[1].wait()  # one in flight, four queued for the one connection
        await session.close()
        results = await asyncio.gather(*calls, return_exceptions=True)
    assert [type(result).__name__ for result in results] == ["ClientClosedError"] * 5
    await client.close()


async def test_a_call_on_a_session_passed_in_is_still_bounded_after_the_client_closes(
    held: tuple[Hostile, dict[int, asyncio.Event]],
) -> None:
    # Closing the client leaves a session passed in open, and its calls in flight with it:
    # their bounds still hold, so a server that never responds cannot keep one forever.
    server, reached = held
    async with aiohttp.ClientSession() as session:
        client = client_for(server, session=session, max_retries=0, timeout=AN_HOUR, attempt_timeout=ATTEMPT_BOUND)
        call = asyncio.create_task(client.organizations.get(ORG_ID))
        async with asyncio.timeout(SAFETY_NET):
            await reached[1].wait()
            await client.close()
            with pytest.raises(ClientClosedError, match="closed during GET"):
                await call


# A session passed in keeps its own middlewares, and resends on it are still counted.


async def test_a_session_passed_in_keeps_its_middlewares_and_its_resends_are_counted() -> None:
    seen: list[str] = []

    async def tag(
        request: aiohttp.ClientRequest,
        handler: Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]],
    ) -> aiohttp.ClientResponse:
        seen.append(request.method)
        return await handler(request)

    async def drop_the_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if server.requests == 1:
            raise ConnectionResetError  # the delete may have been done: no response
        writer.write(API_NOT_FOUND)
        await writer.drain()

    server = Hostile(drop_the_first)
    async with (
        server,
        aiohttp.ClientSession(middlewares=(tag,)) as session,
        client_for(server, session=session, max_retries=0) as client,
    ):
        async with asyncio.timeout(SAFETY_NET):
            # aiohttp resends the dropped DELETE itself; its 404 is then no proof of anything,
            # and the organization is gone as asked.
            await client.organizations.delete(ORG_ID)  # no NotFoundError
    assert seen == ["DELETE", "DELETE"]
    assert server.requests == 2


async def test_clients_sharing_a_session_count_each_send_once() -> None:
    async def not_found(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(API_NOT_FOUND)
        await writer.drain()

    async with Hostile(not_found) as server, aiohttp.ClientSession() as session:
        first, second = client_for(server, session=session), client_for(server, session=session)
        for client in (first, second):
            with pytest.raises(NotFoundError) as caught:  # one send: a definitive 404
                async with asyncio.timeout(SAFETY_NET):
                    await client.organizations.delete(ORG_ID)
            assert (caught.value.attempts, caught.value.outcome_unknown) == (1, False)
    assert server.requests == 2


# A last page whose cursor is an empty string: no cursor, as null is.


@pytest.mark.parametrize("order", ["desc", "normal"])
async def test_an_empty_cursor_ends_the_listing(order: str) -> None:
    body = orjson.dumps({"object": "list", "data": [ORGANIZATION], "list_metadata": {"before": "", "after": ""}})

    async def one_page(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()

    async with Hostile(one_page) as server, client_for(server) as client:
        async with asyncio.timeout(SAFETY_NET):
            page = await client.organizations.list(order=order)
            assert (page.has_more, page.list_metadata.before, page.list_metadata.after) == (False, None, None)
            assert [organization.id async for organization in client.organizations.list(order=order)] == [ORG_ID]
    assert server.requests == 2


# aiohttp's own resend of a DELETE whose kept-alive connection dropped, when that resend
# cannot connect: the first send reached the server, so the outcome is unknown.


class StopsListening:
    """A loopback server that serves GETs, and on the first DELETE stops listening and drops the
    connection with no response (it "did the delete"); `listen` starts it again on the same port,
    where a DELETE then gets a 404."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.url = ""
        self._server: asyncio.Server | None = None
        self._port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await read_request(reader, self.requests):
                if self.requests[-1] == "GET":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                elif self.requests.count("DELETE") == 1:
                    assert self._server is not None
                    self._server.close()
                    return
                else:
                    writer.write(API_NOT_FOUND)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self._port}"

    async def __aenter__(self) -> StopsListening:
        await self.listen()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


class BeforeEachRequest(RateLimiter):
    """A limiter that never waits, and runs `before(n)` ahead of the client's `n`th request."""

    def __init__(self, before: Callable[[int], Awaitable[None]]) -> None:
        super().__init__()
        self.before = before
        self.count = 0

    async def wait(self, method: str, path_segments: tuple[str, ...]) -> None:
        self.count += 1
        await self.before(self.count)


async def test_a_tls_failure_keeps_its_kind_in_the_cause(emulator: Emulator) -> None:
    # https:// to a plain-HTTP port: the handshake fails.  The cause, copied without aiohttp's
    # frames, must still be an SSL error -- not the PermissionError its errno 1 maps to.
    https = emulator.url.replace("http://", "https://")
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=https, max_retries=0) as client:
        with pytest.raises(APIConnectionError, match="SSL") as caught:
            await client.organizations.get(ORG_ID)
    cause = caught.value.__cause__
    assert isinstance(cause, ssl.SSLError)
    assert not isinstance(cause, PermissionError)
    assert cause.__traceback__ is None
    assert "WRONG_VERSION_NUMBER" in str(cause) or "wrong version number" in str(cause)


async def test_a_resent_delete_that_cannot_connect_has_an_unknown_outcome() -> None:
    async with StopsListening() as server, client_for(server, max_retries=0) as client:
        async with asyncio.timeout(SAFETY_NET):
            await client.organizations.with_raw_response.get(ORG_ID)  # a kept-alive connection
            with pytest.raises(APIConnectionError) as caught:
                await client.organizations.delete(ORG_ID)
    assert server.requests == ["GET", "DELETE"]
    # The resend's: aiohttp could not connect again.  (The cause is the system's error, copied
    # without aiohttp's frames, which hold the request's headers.)
    assert "ClientConnectorError: Cannot connect to host" in str(caught.value)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert caught.value.__cause__.__traceback__ is None
    assert (caught.value.attempts, caught.value.outcome_unknown) == (1, True)


async def test_a_retried_delete_after_a_resend_that_cannot_connect_takes_the_404_as_done() -> None:
    server = StopsListening()

    async def listen_again(n: int) -> None:
        if n == 3:  # the retry of the DELETE
            await server.listen()

    limiter = BeforeEachRequest(listen_again)
    async with server, client_for(server, rate_limiter=limiter) as client:
        async with asyncio.timeout(SAFETY_NET):
            await client.organizations.with_raw_response.get(ORG_ID)
            await client.organizations.delete(ORG_ID)  # no NotFoundError: the first send deleted it
    assert server.requests == ["GET", "DELETE", "DELETE"]
    assert limiter.count == 3


# The property: any response, in any encoding and framing, with any headers, gives a model
# or a typed error.

ENCODINGS = st.sampled_from(["identity", "gzip", "deflate", "raw-deflate", "gzip-twice", "bogus", "gzip-lie"])
FRAMINGS = st.sampled_from(["content-length", "chunked", "close", "content-length-short"])
HEADER_VALUES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
EXTRA_HEADERS = st.lists(
    st.tuples(
        st.sampled_from(
            ["Retry-After", "X-Request-ID", "Content-Type", "Location", "Set-Cookie", "X-Anything", "Vary"]
        ),
        HEADER_VALUES,
    ),
    max_size=4,
)


def encode(encoding: str, body: bytes) -> tuple[bytes, str | None]:
    """`body` as sent under `encoding`, and the ``Content-Encoding`` that says so."""
    if encoding == "gzip":
        return gzip.compress(body), "gzip"
    if encoding == "deflate":
        return zlib.compress(body), "deflate"
    if encoding == "raw-deflate":
        compressor = zlib.compressobj(wbits=-15)
        return compressor.compress(body) + compressor.flush(), "deflate"
    if encoding == "gzip-twice":
        return gzip.compress(gzip.compress(body)), "gzip, gzip"
    if encoding == "bogus":
        return body, "x-bogus"
    if encoding == "gzip-lie":
        return body, "gzip"  # says gzip, is not
    return body, None


def frame(framing: str, body: bytes, splits: list[int]) -> tuple[bytes, bool]:
    """The framing headers and the framed body; True when the connection must close after."""
    if framing == "chunked":
        cuts = sorted({cut % (len(body) + 1) for cut in splits} | {0, len(body)})
        chunks = [body[start:end] for start, end in itertools.pairwise(cuts) if end > start]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
        return b"Transfer-Encoding: chunked\r\n\r\n" + framed, False
    if framing == "close":
        return b"Connection: close\r\n\r\n" + body, True
    if framing == "content-length-short":
        # Declares more than is sent, then closes: a truncated body.
        return b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body) + 5, body), True
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body), False


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[Hostile, list[tuple[bytes, bool]]]]:
    """A server that sends the scripted response queued for each request."""
    script: list[tuple[bytes, bool]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw, close = script.pop(0)
        writer.write(raw)
        await writer.drain()
        if close:
            raise ConnectionResetError  # ends the connection, as the framing requires

    async with Hostile(handler) as server:
        yield server, script


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    call=st.sampled_from(sorted(CALLS)),
    status=STATUSES,
    body=JSON_VALUES | near_organizations() | TEXT_BODIES,
    encoding=ENCODINGS,
    framing=FRAMINGS,
    splits=st.lists(st.integers(min_value=0, max_value=10_000), max_size=5),
    headers=EXTRA_HEADERS,
)
async def test_any_response_in_any_encoding_and_framing_gives_a_model_or_a_typed_error(
    scripted: tuple[Hostile, list[tuple[bytes, bool]]],
    call: str,
    status: int,
    body: Any,
    encoding: str,
    framing: str,
    splits: list[int],
    headers: list[tuple[str, str]],
) -> None:
    server, script = scripted
    raw_body = body.encode() if isinstance(body, str) else orjson.dumps(body)
    sent, content_encoding = encode(encoding, raw_body)
    head = b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n" % status
    if content_encoding is not None:
        head += f"Content-Encoding: {content_encoding}\r\n".encode()
    head += b"".join(f"{name}: {value.strip()}\r\n".encode() for name, value in headers)
    framed, close = frame(framing, sent, splits)
    script[:] = [(head + framed, close)] * 3  # a list walk asks for at most a few pages
    async with client_for(server, max_retries=0) as client:
        async with asyncio.timeout(SAFETY_NET):
            try:
                result = await CALLS[call](client)
            except WorkOSError as error:
                result = error
    if isinstance(result, APIStatusError):
        assert result.status_code == status
        assert not 200 <= status < 300
        assert len(result.body) <= KEPT_MAX
    elif isinstance(result, ResponseValidationError):
        assert 200 <= result.status_code == status < 300
        assert len(result.body) <= KEPT_MAX
    elif not isinstance(result, WorkOSError):
        assert 200 <= status < 300
        assert framing != "content-length-short"
        # A body was decoded: so it came in an encoding that can be (no body needs none).
        assert raw_body == b"" or encoding in ("identity", "gzip", "deflate", "raw-deflate")
        if call == "delete":
            assert result is None  # done only on the API's own answer: "Accepted", or no body
            assert raw_body.strip() in (b"", b"Accepted"), raw_body
        elif call in ("list", "first_page"):
            assert all(isinstance(item, Organization) for item in result)
        elif call != "domain":
            assert isinstance(result, Organization)
    elif isinstance(result, PaginationError):
        # A walk given the same page again: the script answers every request alike.
        assert call == "list"
        assert 200 <= status < 300
    else:
        # Any other error is the connection's, and only where the bytes do not make a response:
        # a broken encoding or framing, or a body after a status that may not have one (whose
        # bytes then read as the next response).  Never a timeout: the server answers at once.
        assert type(result) is APIConnectionError, repr(result)
        assert str(result).startswith("Connection failed: ")
        well_formed = encoding in ("identity", "gzip", "deflate", "raw-deflate") and framing != "content-length-short"
        assert not well_formed or status in (204, 304), str(result)


@pytest.mark.parametrize("status", [200, 400])
async def test_header_bytes_that_are_not_utf8_are_replaced_not_kept_as_surrogates(status: int) -> None:
    # aiohttp keeps such bytes as lone surrogates: an error's message and headers, and a sync
    # report built from them, then could not be encoded, printed or turned into JSON
    # (`workos-orgs sync --json` failed with a traceback).
    body = orjson.dumps(ORGANIZATION if status == 200 else {"message": "Bad", "code": "bad_thing"})

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (
            b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nX-Request-ID: req_\xff\r\nX-Cafe: caf\xc3\xa9 \xe9\r\n"
            % status
        )
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()

    async with Hostile(handler) as server, client_for(server, max_retries=0) as client:
        if status == 200:
            raw = await client.organizations.with_raw_response.get(ORG_ID)
            request_id, headers, text = raw.request_id, raw.headers, repr(raw)
        else:
            with pytest.raises(BadRequestError) as caught:
                await client.organizations.get(ORG_ID)
            request_id, headers, text = caught.value.request_id, caught.value.headers, str(caught.value)
    assert request_id == "req_\ufffd"
    assert headers["X-Cafe"] == "café \ufffd"  # what is UTF-8 is kept as it was
    for value in (text, *headers.keys(), *headers.values()):
        value.encode()  # no lone surrogate left
    orjson.dumps([request_id, *headers.values()])
