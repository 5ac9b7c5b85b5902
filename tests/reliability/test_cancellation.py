"""Cancelling a call or an ``async for`` part-way leaks no connection, and the client goes on.

The client here uses a connector with a single connection: a connection left checked out
would make the next call wait forever, so "the next call succeeds" proves nothing leaked.
The slow requests are held by a `Gate` in front of the emulator: each is known (by an event)
to be in flight, and it is never answered, so a cancel lands while it is in flight however
slow the machine is.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import aiohttp
import pytest

from workos_orgs import APIConnectionError, AsyncWorkOS, Backoff, ClientClosedError, RateLimiter, SyncEvent
from workos_orgs.emulator import Emulator

from ..gate import SAFETY_NET, Gate
from .conftest import FAST


@pytest.fixture
async def gate(emulator: Emulator) -> AsyncIterator[Gate]:
    async with Gate(emulator.url) as gate:
        yield gate


def one_connection_client(url: str, api_key: str, backoff: Backoff = FAST) -> AsyncWorkOS:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
    return AsyncWorkOS(api_key=api_key, base_url=url, backoff=backoff, timeout=SAFETY_NET, session=session)


@pytest.fixture
async def one_connection(emulator: Emulator, gate: Gate) -> AsyncIterator[AsyncWorkOS]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        async with AsyncWorkOS(
            api_key=emulator.api_key, base_url=gate.url, backoff=FAST, timeout=SAFETY_NET, session=session
        ) as client:
            yield client


def checked_out(client: AsyncWorkOS) -> int:
    assert client.session is not None
    connector = client.session.connector
    assert isinstance(connector, aiohttp.BaseConnector)
    return len(connector._acquired)


async def still_works(client: AsyncWorkOS, organization_id: str) -> None:
    async with asyncio.timeout(SAFETY_NET):  # a leaked connection would hang here
        assert (await client.organizations.get(organization_id)).id == organization_id
    assert checked_out(client) == 0
    gc.collect()  # an unclosed transport would warn here, and warnings are errors


async def cancel_once(task: asyncio.Task[object], ready: Callable[[], Awaitable[None]]) -> None:
    """Cancel `task` as soon as `ready` says so, and check that it ends cancelled."""
    await ready()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("cancel_after", [0.0, 0.001, 0.01, 0.05])
async def test_a_call_cancelled_while_waiting_for_the_answer(
    one_connection: AsyncWorkOS, emulator: Emulator, gate: Gate, cancel_after: float
) -> None:
    # Whenever the timeout lands (before the request is sent, or while it is held), it lands
    # before any response: the held request never gets one.
    (row,) = emulator.seed([{"name": "Acme"}])
    await one_connection.organizations.get(row["id"])  # a pooled connection exists
    gate.hold("GET", "/organizations/*")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(cancel_after):
            await one_connection.organizations.get(row["id"])
    assert checked_out(one_connection) == 0
    await still_works(one_connection, row["id"])


async def test_a_call_cancelled_while_its_request_is_in_flight(
    one_connection: AsyncWorkOS, emulator: Emulator, gate: Gate
) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    await one_connection.organizations.get(row["id"])
    held = gate.hold("GET", "/organizations/*")
    task = asyncio.create_task(one_connection.organizations.get(row["id"]))
    await cancel_once(task, held.arrived)
    assert checked_out(one_connection) == 0
    await still_works(one_connection, row["id"])


async def test_a_task_cancelled_mid_create(one_connection: AsyncWorkOS, emulator: Emulator, gate: Gate) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    held = gate.hold("POST", "/organizations")
    task = asyncio.create_task(one_connection.organizations.create(name="Beta"))
    await cancel_once(task, held.arrived)
    await still_works(one_connection, row["id"])


class _Retrying(logging.Handler):
    """Sets `waiting` when the client logs that it is about to wait before a retry."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.waiting = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Retrying "):
            self.waiting.set()


@pytest.fixture
def retrying() -> Iterator[_Retrying]:
    """Tells when a call logs that it is about to wait before a retry."""
    handler = _Retrying()
    logger = logging.getLogger("workos_orgs")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# A minute's or an hour's Retry-After, honoured: the client is surely still waiting.
PATIENT = Backoff(base=FAST.base, cap=FAST.cap, max_retry_after=7200.0)


async def test_a_call_cancelled_while_waiting_to_retry(emulator: Emulator, gate: Gate, retrying: _Retrying) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    emulator.inject_fault(method="GET", path="/organizations/*", status=429, retry_after=60)
    async with one_connection_client(gate.url, emulator.api_key, PATIENT) as client:
        assert client.session is not None
        async with client.session:
            task = asyncio.create_task(client.organizations.get(row["id"]))

            async def waiting() -> None:
                async with asyncio.timeout(SAFETY_NET):
                    await retrying.waiting.wait()

            await cancel_once(task, waiting)
            assert [request.status for request in emulator.requests] == [429]
            await still_works(client, row["id"])


async def test_closing_the_client_ends_a_call_waiting_to_retry(emulator: Emulator, retrying: _Retrying) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    emulator.inject_fault(method="GET", path="/organizations/*", status=503, retry_after=3600)
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=PATIENT)
    task = asyncio.create_task(client.organizations.get(row["id"]))
    async with asyncio.timeout(SAFETY_NET):
        await retrying.waiting.wait()
        await client.close()
        with pytest.raises(ClientClosedError, match="waited to be sent again") as caught:
            await task
    assert "its outcome is unknown" in str(caught.value)  # the 503's
    assert [request.status for request in emulator.requests] == [503]


async def test_a_call_in_flight_when_the_client_closes_says_it_was_closed_during_it(emulator: Emulator) -> None:
    # Not "while it waited to be sent again": it was out, and is not retried once closed.
    (row,) = emulator.seed([{"name": "Acme"}])
    emulator.inject_fault(method="GET", path="/organizations/*", hold=True)
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url)
    call = asyncio.create_task(client.organizations.get(row["id"]))
    async with asyncio.timeout(SAFETY_NET):
        await emulator.wait_until_held()
        await client.close()
        with pytest.raises(ClientClosedError) as caught:
            await call
    assert emulator.release_held() == 1  # the one request, never retried
    assert f"closed during GET /organizations/{row['id']} (its outcome is unknown)" in str(caught.value)


@contextlib.asynccontextmanager
async def a_call_queued_in_the_limiter(emulator: Emulator) -> AsyncIterator[tuple[AsyncWorkOS, asyncio.Task[object]]]:
    """A client whose limiter lets one request through and then queues for ever, and a call
    surely waiting in that queue."""
    (row,) = emulator.seed([{"name": "Acme"}])
    queued, never = asyncio.Event(), asyncio.Event()

    async def queue_forever(_: float) -> None:
        queued.set()
        await never.wait()

    limiter = RateLimiter(requests_per_minute=2, headroom=1, burst=1, sleep=queue_forever)
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, rate_limiter=limiter)
    async with asyncio.timeout(SAFETY_NET):
        await client.organizations.get(row["id"])
        call: asyncio.Task[object] = asyncio.create_task(client.organizations.get(row["id"]))
        await queued.wait()
        yield client, call


async def test_closing_the_client_ends_a_call_queued_in_its_rate_limiter(emulator: Emulator) -> None:
    async with a_call_queued_in_the_limiter(emulator) as (client, call):
        await client.close()
        with pytest.raises(ClientClosedError, match="waited to be sent"):
            await call
    assert len(emulator.requests) == 1


async def test_a_callers_cancellation_of_a_queued_call_stays_one_when_the_client_closes(emulator: Emulator) -> None:
    async with a_call_queued_in_the_limiter(emulator) as (client, call):
        call.cancel()  # the caller's, before the close's
        await client.close()
        with pytest.raises(asyncio.CancelledError):
            await call
    assert call.cancelled()


async def test_an_async_for_cancelled_between_pages(
    one_connection: AsyncWorkOS, emulator: Emulator, gate: Gate
) -> None:
    rows = emulator.seed([{"name": f"o{index}"} for index in range(5)])
    held = gate.hold("GET", "/organizations")
    seen: list[str] = []

    async def walk() -> None:
        async for organization in one_connection.organizations.list(limit=2):
            seen.append(organization.id)

    await cancel_once(asyncio.create_task(walk()), held.arrived)
    assert seen == []
    held.release()
    await still_works(one_connection, rows[0]["id"])
    assert len([o async for o in one_connection.organizations.list(limit=2)]) == 5


async def test_an_async_for_cancelled_mid_walk(one_connection: AsyncWorkOS, emulator: Emulator, gate: Gate) -> None:
    rows = emulator.seed([{"name": f"o{index}"} for index in range(6)])
    # The first page goes through; the next one is held: cancel while it is in flight.
    held = gate.hold("GET", "/organizations", skip=1)
    seen: list[str] = []

    async def walk() -> None:
        async for organization in one_connection.organizations.list(limit=2):
            seen.append(organization.id)

    await cancel_once(asyncio.create_task(walk()), held.arrived)
    assert len(seen) == 2
    await still_works(one_connection, rows[0]["id"])


async def test_many_cancelled_calls_at_once(emulator: Emulator, gate: Gate) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=gate.url, backoff=FAST, timeout=SAFETY_NET) as client:
        await client.organizations.get(row["id"])
        held = gate.hold("GET", "/organizations/*", times=20)
        tasks = [asyncio.create_task(client.organizations.get(row["id"])) for _ in range(20)]
        await held.arrived(20)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(result, asyncio.CancelledError) for result in results)
        held.release()
        await still_works(client, row["id"])


def cancelled_in_the_stack(times: int) -> aiohttp.TraceConfig:
    """A session's tracing whose callback raises CancelledError for the first `times` requests,
    as one awaiting a future that another task cancelled would: a cancellation nobody asked of
    the call's task."""
    left = [times]

    async def on_request_start(session: aiohttp.ClientSession, context: object, params: object) -> None:
        if left[0] > 0:
            left[0] -= 1
            elsewhere: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            elsewhere.cancel()
            await elsewhere

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    return trace


async def test_a_cancellation_from_inside_the_http_stack_is_an_error_not_the_callers(emulator: Emulator) -> None:
    # Raised as a CancelledError, it read as the caller's own cancellation: a task in a
    # TaskGroup ending with it vanishes without a word, and `except CancelledError` code
    # takes it for a shutdown.
    (row,) = emulator.seed([{"name": "Acme"}])
    async with aiohttp.ClientSession(trace_configs=[cancelled_in_the_stack(times=100)]) as session:
        client = AsyncWorkOS(
            api_key=emulator.api_key, base_url=emulator.url, session=session, backoff=FAST, max_retries=2
        )
        with pytest.raises(APIConnectionError) as raised:
            await client.organizations.get(row["id"])
        assert "CancelledError" in raised.value.message
        assert "not by the call's task" in raised.value.message
        assert raised.value.attempts == 3  # retried as a connection failure is
        assert raised.value.outcome_unknown is False  # nothing was sent
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0


async def test_a_cancellation_from_inside_the_http_stack_once_is_retried(emulator: Emulator) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    async with aiohttp.ClientSession(trace_configs=[cancelled_in_the_stack(times=1)]) as session:
        client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, session=session, backoff=FAST)
        assert (await client.organizations.get(row["id"])).id == row["id"]


async def test_a_sync_record_whose_request_is_cancelled_in_the_stack_fails_and_is_told(emulator: Emulator) -> None:
    # The worker ended cancelled, which its task group takes for no failure: the record was
    # neither synced nor counted as failed, and with more records than workers the job hung.
    async with aiohttp.ClientSession(trace_configs=[cancelled_in_the_stack(times=100)]) as session:
        client = AsyncWorkOS(
            api_key=emulator.api_key, base_url=emulator.url, session=session, backoff=FAST, max_retries=0
        )
        told: list[SyncEvent] = []
        report = await client.organizations.sync(
            [{"external_id": "ext-1", "name": "Acme"}], concurrency=1, on_event=told.append
        )
    assert (report.failed, report.created) == (1, 0)
    assert [(event.action, event.external_id) for event in told] == [("failed", "ext-1")]
    assert isinstance(told[0].error, APIConnectionError)
    assert emulator.requests == []  # nothing reached it


class _CancelledElsewhere(RateLimiter):
    """A limiter whose every wait awaits a future another task cancelled."""

    async def wait(self, method: str, path_segments: tuple[str, ...]) -> None:
        other: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        other.cancel()
        await other


async def test_a_cancellation_from_the_rate_limiters_wait_is_an_error_not_the_callers(emulator: Emulator) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    async with AsyncWorkOS(
        api_key=emulator.api_key, base_url=emulator.url, backoff=FAST, max_retries=1, rate_limiter=_CancelledElsewhere()
    ) as client:
        with pytest.raises(APIConnectionError) as raised:
            await client.organizations.get(row["id"])
    assert "a CancelledError came from the rate limiter's wait" in raised.value.message
    assert (raised.value.attempts, raised.value.outcome_unknown) == (2, False)
    assert emulator.requests == []


async def test_closing_a_session_passed_in_under_a_queued_call_says_it_was_closed(
    emulator: Emulator, gate: Gate
) -> None:
    # aiohttp cancels the calls waiting for a connection as their session closes: that is the
    # close, not a cancellation from elsewhere, and the error has no cause saying otherwise.
    (row,) = emulator.seed([{"name": "Acme"}])
    held = gate.hold("GET", "/organizations/*")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        client = AsyncWorkOS(api_key=emulator.api_key, base_url=gate.url, session=session, timeout=SAFETY_NET)
        first = asyncio.create_task(client.organizations.get(row["id"]))
        await held.arrived()
        queued = asyncio.create_task(client.organizations.get(row["id"]))
        for _ in range(5):
            await asyncio.sleep(0)  # let it queue for the one connection
        await session.close()
        results = await asyncio.gather(first, queued, return_exceptions=True)
    assert [type(result) for result in results] == [ClientClosedError, ClientClosedError]
    assert results[1].__cause__ is None  # the queued call's: no "cancelled elsewhere"


async def test_a_call_failed_in_the_rate_limiters_wait_keeps_no_cycle_through_its_task(emulator: Emulator) -> None:
    # The attempt, made before the wait, held the task, and the error's traceback the attempt:
    # the task and all its frames held lived on until a cyclic collection.
    (row,) = emulator.seed([{"name": "Acme"}])
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        async with AsyncWorkOS(
            api_key=emulator.api_key,
            base_url=emulator.url,
            max_retries=0,
            rate_limiter=_CancelledElsewhere(),
        ) as client:
            task = asyncio.create_task(client.organizations.get(row["id"]))
            await asyncio.wait([task])
            assert isinstance(task.exception(), APIConnectionError)
            gone = weakref.ref(task)
            del task
            assert gone() is None
    finally:
        if was_enabled:
            gc.enable()
