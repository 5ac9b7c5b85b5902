"""Cancelling a call or an ``async for`` part-way leaks no connection, and the client goes on.

The client here uses a connector with a single connection: a connection left checked out
would make the next call wait forever, so "the next call succeeds" proves nothing leaked.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import aiohttp
import pytest

from workos_orgs import AsyncWorkOS
from workos_orgs.emulator import Emulator

from .conftest import FAST


@pytest.fixture
async def one_connection(emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        async with AsyncWorkOS(
            api_key=emulator.api_key, base_url=emulator.url, backoff=FAST, timeout=5, session=session
        ) as client:
            yield client


def checked_out(client: AsyncWorkOS) -> int:
    assert client.session is not None
    connector = client.session.connector
    assert isinstance(connector, aiohttp.BaseConnector)
    return len(connector._acquired)


async def still_works(client: AsyncWorkOS, organization_id: str) -> None:
    async with asyncio.timeout(30):  # a safety net: a leaked connection would hang here
        assert (await client.organizations.get(organization_id)).id == organization_id
    assert checked_out(client) == 0
    gc.collect()  # an unclosed transport would warn here, and warnings are errors


@pytest.mark.parametrize("cancel_after", [0.0, 0.001, 0.01, 0.05])
async def test_a_call_cancelled_while_waiting_for_the_answer(
    one_connection: AsyncWorkOS, emulator: Emulator, cancel_after: float
) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    await one_connection.organizations.get(row["id"])  # a pooled connection exists
    emulator.inject_fault(method="GET", path="/organizations/*", delay_ms=200)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(cancel_after):
            await one_connection.organizations.get(row["id"])
    assert checked_out(one_connection) == 0
    await still_works(one_connection, row["id"])


async def test_a_task_cancelled_mid_create(one_connection: AsyncWorkOS, emulator: Emulator) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    emulator.inject_fault(method="POST", path="/organizations", delay_ms=200)
    task = asyncio.create_task(one_connection.organizations.create(name="Beta"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await still_works(one_connection, row["id"])


async def test_a_call_cancelled_while_waiting_to_retry(one_connection: AsyncWorkOS, emulator: Emulator) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    emulator.inject_fault(method="GET", path="/organizations/*", status=429, retry_after=1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await one_connection.organizations.get(row["id"])
    await still_works(one_connection, row["id"])


async def test_an_async_for_cancelled_between_pages(one_connection: AsyncWorkOS, emulator: Emulator) -> None:
    rows = emulator.seed([{"name": f"o{index}"} for index in range(5)])
    emulator.inject_fault(method="GET", path="/organizations", delay_ms=200, times=5)
    seen: list[str] = []

    async def walk() -> None:
        async with asyncio.timeout(0.1):
            async for organization in one_connection.organizations.list(limit=2):
                seen.append(organization.id)

    with pytest.raises(TimeoutError):
        await walk()
    assert seen == []
    emulator.clear_faults()
    await still_works(one_connection, rows[0]["id"])
    assert len([o async for o in one_connection.organizations.list(limit=2)]) == 5


async def test_an_async_for_cancelled_mid_walk(one_connection: AsyncWorkOS, emulator: Emulator) -> None:
    rows = emulator.seed([{"name": f"o{index}"} for index in range(6)])
    seen: list[str] = []
    first_page_done = asyncio.Event()

    async def walk() -> None:
        async for organization in one_connection.organizations.list(limit=2):
            seen.append(organization.id)
            if len(seen) == 2:
                # The next page will be slow: cancel while it is in flight.
                emulator.inject_fault(method="GET", path="/organizations", delay_ms=300)
                first_page_done.set()

    task = asyncio.create_task(walk())
    await first_page_done.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(seen) == 2
    await still_works(one_connection, rows[0]["id"])


async def test_many_cancelled_calls_at_once(emulator: Emulator) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST, timeout=5) as client:
        await client.organizations.get(row["id"])
        emulator.inject_fault(method="GET", path="/organizations/*", delay_ms=200, times=20)
        tasks = [asyncio.create_task(client.organizations.get(row["id"])) for _ in range(20)]
        await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(result, asyncio.CancelledError) for result in results)
        await still_works(client, row["id"])
