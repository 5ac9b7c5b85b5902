"""The pager asks for the next page while the current one is being used, and cleans up after itself."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest

from workos_orgs import AsyncWorkOS, InternalServerError, NotFoundError, Order
from workos_orgs._pagination import peek_cursor, peek_tail_cursor, walks_in_display_order
from workos_orgs.emulator import Emulator

from ..gate import SAFETY_NET, Gate
from .conftest import FAST


def list_requests(emulator: Emulator) -> list[str]:
    return [
        request.query for request in emulator.requests if request.method == "GET" and request.path == "/organizations"
    ]


def seed(emulator: Emulator, count: int) -> None:
    emulator.seed([{"name": f"Org {number:03d}"} for number in range(count)])


async def test_a_full_walk_asks_for_each_page_once_and_no_more(client: AsyncWorkOS, emulator: Emulator) -> None:
    seed(emulator, 25)
    names = [organization.name async for organization in client.organizations.list(limit=10)]
    assert len(names) == len(set(names)) == 25
    assert len(list_requests(emulator)) == 3


async def test_max_items_never_asks_for_a_page_it_will_not_use(client: AsyncWorkOS, emulator: Emulator) -> None:
    seed(emulator, 25)
    names = [organization.name async for organization in client.organizations.list(limit=10, max_items=20)]
    assert len(names) == 20
    assert len(list_requests(emulator)) == 2


async def test_the_next_page_is_asked_for_while_this_one_is_used(emulator: Emulator) -> None:
    seed(emulator, 20)
    async with Gate(emulator.url) as gate, one_connection(gate.url, emulator.api_key) as client:
        second_page = gate.hold("GET", "/organizations", query="after=")
        async for organization in client.organizations.list(limit=10):
            assert organization.name == "Org 019"
            # Page two is asked for before the first item is handed over, not after the tenth:
            # while the caller is still on the first item, its request arrives.
            await second_page.arrived()
            assert len(list_requests(emulator)) == 1  # the first page; the second is held
            break


@contextlib.asynccontextmanager
async def one_connection(url: str, api_key: str) -> AsyncIterator[AsyncWorkOS]:
    """A client whose pool holds one connection: one left checked out makes the next call wait."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        async with AsyncWorkOS(
            api_key=api_key, base_url=url, session=session, backoff=FAST, timeout=SAFETY_NET
        ) as client:
            yield client


async def test_leaving_early_cancels_the_page_asked_for(emulator: Emulator) -> None:
    seed(emulator, 30)
    async with Gate(emulator.url) as gate, one_connection(gate.url, emulator.api_key) as client:
        second_page = gate.hold("GET", "/organizations", query="after=")  # never answered
        async for _ in client.organizations.list(limit=10):
            await second_page.arrived()  # in flight, on the one connection
            break
        gc.collect()
        # Were the held request still holding the one connection, this would wait forever.
        page = await asyncio.wait_for(client.organizations.list(limit=1), timeout=SAFETY_NET)
        assert len(page.data) == 1


async def test_aclose_cancels_the_page_asked_for(emulator: Emulator) -> None:
    seed(emulator, 30)
    async with Gate(emulator.url) as gate, one_connection(gate.url, emulator.api_key) as client:
        second_page = gate.hold("GET", "/organizations", query="after=")  # never answered
        # Were the held request waited out instead of cancelled, this would wait forever.
        async with asyncio.timeout(SAFETY_NET):
            async with contextlib.aclosing(aiter(client.organizations.list(limit=10))) as items:
                first = await anext(items)
                await second_page.arrived()
            page = await client.organizations.list(limit=1)
        assert first.name == "Org 029"
        assert len(page.data) == 1


async def test_aclosing_the_listing_itself_closes_the_walks_it_started(emulator: Emulator) -> None:
    # The README's "contextlib.aclosing works too", read as anyone would, wraps the list()
    # call: AttributeError ('AsyncPager' object has no attribute 'aclose') as the block ended.
    seed(emulator, 30)
    async with Gate(emulator.url) as gate, one_connection(gate.url, emulator.api_key) as client:
        second_page = gate.hold("GET", "/organizations", query="after=")  # never answered
        async with asyncio.timeout(SAFETY_NET):
            async with contextlib.aclosing(client.organizations.list(limit=10)) as listing:
                async for organization in listing:
                    first = organization
                    await second_page.arrived()
                    break
            # Were the held request still holding the one connection, this would wait forever.
            page = await client.organizations.list(limit=1)
        assert first.name == "Org 029"
        assert len(page.data) == 1


@pytest.mark.parametrize("workers", [2, 4])
async def test_tasks_sharing_one_walk_get_every_item_once(
    client: AsyncWorkOS, emulator: Emulator, workers: int
) -> None:
    # Workers pulling from one iterator (a common fan-out) each fetched the same next page: the
    # walk stopped after five of forty, and the others said the API sent a page twice.
    seed(emulator, 40)
    items = aiter(client.organizations.list(limit=5))
    seen: list[str] = []

    async def work() -> None:
        async for organization in items:
            seen.append(organization.name)
            await asyncio.sleep(0)

    await asyncio.gather(*(work() for _ in range(workers)))
    assert sorted(seen) == [f"Org {number:03d}" for number in range(40)]
    assert len(list_requests(emulator)) == 8


async def test_tasks_sharing_one_walk_of_pages_get_every_page_once(client: AsyncWorkOS, emulator: Emulator) -> None:
    seed(emulator, 40)
    pages = client.organizations.list(limit=5).pages()
    seen: list[str] = []

    async def work() -> None:
        async for page in pages:
            seen.extend(organization.name for organization in page.data)
            await asyncio.sleep(0)

    await asyncio.gather(*(work() for _ in range(3)))
    assert sorted(seen) == [f"Org {number:03d}" for number in range(40)]


async def test_a_task_cancelled_while_moving_a_shared_walk_on_leaves_it_for_the_others(emulator: Emulator) -> None:
    # The walk was marked done when the task holding the turn was cancelled: the other tasks'
    # loops then ended as if every item had come, twenty of thirty missing and no error said.
    seed(emulator, 30)
    async with Gate(emulator.url) as gate, one_connection(gate.url, emulator.api_key) as client:
        second_page = gate.hold("GET", "/organizations", query="after=", times=1)
        items = aiter(client.organizations.list(limit=10))
        async with asyncio.timeout(SAFETY_NET):
            first = [(await anext(items)).name for _ in range(10)]
            await second_page.arrived()
            moving = asyncio.create_task(anext(items))  # takes the turn, waits for the held page
            await asyncio.sleep(0)
            moving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await moving
            rest = [organization.name async for organization in items]
    assert first + rest == [f"Org {number:03d}" for number in reversed(range(30))]


async def test_an_error_moving_a_shared_walk_on_reaches_every_task(emulator: Emulator) -> None:
    # One task got the error; the others' loops ended as if the listing were complete.
    seed(emulator, 30)
    emulator.inject_fault(method="GET", path="/organizations", delay_ms=1, times=1)  # the first page: normal
    emulator.inject_fault(method="GET", path="/organizations", status=500, times=5)
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, max_retries=0) as client:
        items = aiter(client.organizations.list(limit=10))

        async def work() -> int:
            count = 0
            async for _ in items:
                count += 1
                await asyncio.sleep(0)
            return count

        outcomes = await asyncio.gather(work(), work(), return_exceptions=True)
    assert [type(outcome) for outcome in outcomes] == [InternalServerError, InternalServerError]


async def test_aclose_from_another_task_ends_a_walk_waiting_for_its_page(emulator: Emulator) -> None:
    # The walk went on once its page came (it yielded an item, and asked for the next page
    # after the close), or, waiting on a page asked for ahead, got a CancelledError no one
    # had sent it.
    seed(emulator, 30)
    async with Gate(emulator.url) as gate, one_connection(gate.url, emulator.api_key) as client:
        first_page = gate.hold("GET", "/organizations", times=1)
        second_page = gate.hold("GET", "/organizations", query="after=", times=1)
        pager = client.organizations.list(limit=10)
        items = aiter(pager)
        async with asyncio.timeout(SAFETY_NET):
            waiting = asyncio.create_task(anext(items))
            await first_page.arrived()
            await pager.aclose()
            first_page.release()
            with pytest.raises(StopAsyncIteration):
                await waiting
            # Asked ahead, then closed: the walk waiting on that page ends too.
            items = aiter(pager)
            assert (await anext(items)).name == "Org 029"
            await second_page.arrived()
            for _ in range(9):
                await anext(items)
            waiting = asyncio.create_task(anext(items))
            await asyncio.sleep(0)
            await pager.aclose()
            with pytest.raises(StopAsyncIteration):
                await waiting
            assert waiting.cancelling() == 0
            page = await client.organizations.list(limit=1)  # the one connection is free again
    assert len(page.data) == 1
    assert [request.query for request in emulator.requests if "after=" in request.query] == []


async def test_a_walk_closed_by_the_pager_yields_nothing_more_of_the_page_it_holds(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # aclose() stopped the pages, but the walk went on through the rest of the one it held.
    seed(emulator, 30)
    pager = client.organizations.list(limit=10)
    items = aiter(pager)
    assert (await anext(items)).name == "Org 029"
    await pager.aclose()
    with pytest.raises(StopAsyncIteration):
        await anext(items)


async def test_a_failed_page_asked_for_ahead_surfaces_when_reached(client: AsyncWorkOS, emulator: Emulator) -> None:
    seed(emulator, 15)
    emulator.inject_fault(method="GET", path="/organizations", delay_ms=1, times=1)  # the first page: normal
    emulator.inject_fault(method="GET", path="/organizations", status=404, times=1)
    seen: list[str] = []

    async def walk() -> None:
        async for organization in client.organizations.list(limit=10):
            seen.append(organization.name)

    with pytest.raises(NotFoundError):
        await walk()
    assert len(seen) == 10  # the first page in full, then the error, in order


@pytest.mark.parametrize(("order", "cursor"), [("desc", "after"), ("asc", "after"), ("normal", "before")])
async def test_a_page_cut_at_max_items_resumes_where_it_stopped(
    client: AsyncWorkOS, emulator: Emulator, order: str, cursor: str
) -> None:
    seed(emulator, 25)
    everything = [org.name async for org in client.organizations.list(limit=10, order=order)]
    first = await client.organizations.list(limit=10, order=order, max_items=3)
    assert [org.name for org in first.data] == everything[:3]
    resumed = await client.organizations.list(limit=10, order=order, **{cursor: getattr(first.list_metadata, cursor)})
    assert [org.name for org in resumed.data] == everything[3:13]
    pages = [page async for page in client.organizations.list(limit=10, order=order, max_items=13).pages()]
    last = pages[-1]
    rest = await client.organizations.list(limit=10, order=order, **{cursor: getattr(last.list_metadata, cursor)})
    assert [org.name for org in rest.data] == everything[13:23]


def test_which_walks_meet_items_in_page_order() -> None:
    assert walks_in_display_order(Order.DESC, "after")
    assert walks_in_display_order(Order.ASC, "after")
    assert walks_in_display_order(None, "after")
    assert walks_in_display_order(Order.NORMAL, "before")
    assert not walks_in_display_order(Order.DESC, "before")
    assert not walks_in_display_order(Order.NORMAL, "after")


@pytest.mark.parametrize(
    ("body", "after"),
    [
        ({"object": "list", "data": [{"id": "org_1"}], "list_metadata": {"before": None, "after": "org_1"}}, "org_1"),
        ({"list_metadata": {"before": None, "after": "org_2"}, "data": [{"id": "org_2"}]}, "org_2"),  # key first
        ({"data": [{"id": "org_1", "name": '"list_metadata"'}], "list_metadata": {"after": None}}, None),
        ({"data": [], "list_metadata": {"after": ""}}, None),
        ({"data": [{"name": '"list_metadata":{"after":"org_9"}'}]}, None),  # only inside a string
    ],
)
def test_the_cursor_is_read_from_the_end_of_a_body_as_decoding_all_of_it_gives_it(
    body: dict[str, object], after: str | None
) -> None:
    raw = orjson.dumps(body)
    assert peek_tail_cursor(raw, "after") == after == peek_cursor(orjson.loads(raw), "after")


def test_a_body_that_is_not_json_to_its_end_names_no_cursor() -> None:
    raw = orjson.dumps({"data": [], "list_metadata": {"after": "org_1"}})
    assert peek_tail_cursor(raw, "after") == "org_1"
    assert peek_tail_cursor(raw[:-2], "after") is None  # cut off
    assert peek_tail_cursor(raw + b"]", "after") is None


def test_a_long_tail_is_not_decoded_to_guess_the_cursor() -> None:
    # The body's own decode checks how many elements it holds before it decodes it; the guess
    # must not decode a hostile tail of millions of them first.
    metadata = {"after": "org_1", "junk": [[] for _ in range(2_000)]}
    raw = orjson.dumps({"data": [], "list_metadata": metadata})
    assert peek_cursor(orjson.loads(raw), "after") == "org_1"
    assert peek_tail_cursor(raw, "after") is None
    # A real list_metadata, with cursors many times longer than the API's, is still read.
    long_cursors = orjson.dumps({"data": [], "list_metadata": {"before": "b" * 500, "after": "a" * 500}})
    assert peek_tail_cursor(long_cursors, "after") == "a" * 500
