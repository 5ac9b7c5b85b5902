"""Auto-pagination: every order, backwards walks, max_items, filters, and broken cursors."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workos_orgs import AsyncPager, AsyncWorkOS, InvalidArgumentError, Order, Organization, Page, PaginationError
from workos_orgs._contract import LIST_LIMIT_MAX
from workos_orgs.emulator import Emulator

from .conftest import FAST


def seed(emulator: Emulator, count: int, **extra: Any) -> list[str]:
    """`count` organizations named o00, o01, ...; their IDs, oldest first."""
    rows = emulator.seed([{"name": f"o{index:02d}", **extra} for index in range(count)])
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids)
    return ids


def list_queries(emulator: Emulator) -> list[dict[str, list[str]]]:
    return [parse_qs(request.query) for request in emulator.requests if request.path == "/organizations"]


async def test_list_returns_a_pager_without_sending_anything(client: AsyncWorkOS, emulator: Emulator) -> None:
    pager = client.organizations.list(limit=5)
    assert isinstance(pager, AsyncPager)
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("order", "expect_newest_first"),
    [(None, True), (Order.DESC, True), ("asc", False), (Order.NORMAL, True)],
)
async def test_every_order_yields_everything_once_in_order(
    client: AsyncWorkOS, emulator: Emulator, order: Order | str | None, expect_newest_first: bool
) -> None:
    ids = seed(emulator, 7)
    seen = [organization.id async for organization in client.organizations.list(limit=3, order=order)]
    assert seen == (ids[::-1] if expect_newest_first else ids)
    assert len(list_queries(emulator)) == 3


async def test_normal_order_walks_forward_by_before(client: AsyncWorkOS, emulator: Emulator) -> None:
    seed(emulator, 5)
    pager = client.organizations.list(limit=2, order="normal")
    assert pager.direction == "before"
    [organization async for organization in pager]
    queries = list_queries(emulator)
    assert [query.get("before") for query in queries][1:] == [[q["before"][0]] for q in queries[1:]]
    assert all("after" not in query for query in queries)


async def test_await_gives_the_first_page(client: AsyncWorkOS, emulator: Emulator) -> None:
    ids = seed(emulator, 5)
    page = await client.organizations.list(limit=2)
    assert isinstance(page, Page)
    assert [organization.id for organization in page.data] == ids[:-3:-1]
    assert page.list_metadata.after == ids[-2]
    assert page.list_metadata.before is None


async def test_pages_yields_each_page(client: AsyncWorkOS, emulator: Emulator) -> None:
    ids = seed(emulator, 5)
    pages = [page async for page in client.organizations.list(limit=2, order="asc").pages()]
    assert [[organization.id for organization in page.data] for page in pages] == [ids[0:2], ids[2:4], ids[4:]]
    assert pages[-1].list_metadata.after is None


async def test_starting_with_before_walks_backwards(client: AsyncWorkOS, emulator: Emulator) -> None:
    ids = seed(emulator, 9)
    # Under asc, before=X gives the items before X, still shown ascending, page by page backwards.
    pager = client.organizations.list(limit=2, order="asc", before=ids[7])
    assert pager.direction == "before"
    pages = [[organization.id for organization in page.data] async for page in pager.pages()]
    assert pages == [ids[5:7], ids[3:5], ids[1:3], ids[0:1]]
    assert all("after" not in query for query in list_queries(emulator))


async def test_starting_with_before_under_desc_walks_towards_newer(client: AsyncWorkOS, emulator: Emulator) -> None:
    ids = seed(emulator, 6)
    pages = [
        [organization.id for organization in page.data]
        async for page in client.organizations.list(limit=2, before=ids[1]).pages()
    ]
    assert pages == [[ids[3], ids[2]], [ids[5], ids[4]]]


async def test_starting_with_after_follows_after(client: AsyncWorkOS, emulator: Emulator) -> None:
    ids = seed(emulator, 6)
    assert [o.id async for o in client.organizations.list(limit=2, order="asc", after=ids[1])] == ids[2:]
    # Under normal, after=X means newer than X: the pages walk towards the newest, each page
    # holding the items nearest the cursor, shown newest first -- and the items come nearest
    # first, a monotonic stream, not page by page in each page's order (3, 2, 5, 4).
    assert [o.id async for o in client.organizations.list(limit=2, order="normal", after=ids[1])] == ids[2:]
    pages = client.organizations.list(limit=2, order="normal", after=ids[1]).pages()
    assert [[o.id for o in page.data] async for page in pages] == [[ids[3], ids[2]], [ids[5], ids[4]]]


async def test_max_items_stops_early_without_fetching_more(client: AsyncWorkOS, emulator: Emulator) -> None:
    ids = seed(emulator, 10)
    seen = [o.id async for o in client.organizations.list(limit=3, order="asc", max_items=4)]
    assert seen == ids[:4]
    assert len(list_queries(emulator)) == 2
    pages = [page async for page in client.organizations.list(limit=3, order="asc", max_items=4).pages()]
    assert [len(page.data) for page in pages] == [3, 1]


async def test_every_filter_is_carried_to_every_page(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed(
        [{"name": f"Acme {index}", "domains": [f"acme{index}.com"]} for index in range(6)]
        + [{"name": "Other", "domains": ["acme0.org"]}]
    )
    domains = [f"acme{index}.com" for index in range(5)]
    names = [o.name async for o in client.organizations.list(limit=2, order="asc", domains=domains, search="acme")]
    assert names == [f"Acme {index}" for index in range(5)]
    queries = list_queries(emulator)
    assert len(queries) == 3
    for query in queries:
        assert query["limit"] == ["2"]
        assert query["order"] == ["asc"]
        assert query["domains"] == [",".join(domains)]
        assert query["search"] == ["acme"]
    assert [("after" in query) for query in queries] == [False, True, True]


async def test_an_empty_list_ends_at_once(client: AsyncWorkOS, emulator: Emulator) -> None:
    assert [o async for o in client.organizations.list()] == []
    page = await client.organizations.list()
    assert (page.data, page.list_metadata.before, page.list_metadata.after) == ((), None, None)


def _page_body(organizations: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    return {"object": "list", "data": organizations, "list_metadata": {"before": None, "after": after}}


async def test_a_cursor_that_does_not_advance_raises(client: AsyncWorkOS, emulator: Emulator) -> None:
    rows = emulator.seed([{"name": "A"}, {"name": "B"}, {"name": "C"}])
    stuck = rows[0]["id"]
    emulator.inject_fault(method="GET", path="/organizations", status=200, body=_page_body([rows[2]], stuck))
    emulator.inject_fault(method="GET", path="/organizations", status=200, body=_page_body([rows[1]], stuck))
    items = aiter(client.organizations.list(limit=1))
    assert [(await anext(items)).name, (await anext(items)).name] == ["C", "B"]
    with pytest.raises(PaginationError, match="did not advance"):
        await anext(items)
    assert len(emulator.requests) == 2


async def test_a_repeated_page_raises(client: AsyncWorkOS, emulator: Emulator) -> None:
    rows = emulator.seed([{"name": "A"}, {"name": "B"}])
    # The API keeps sending the first page, with a fresh-looking cursor each time.
    emulator.inject_fault(method="GET", path="/organizations", status=200, body=_page_body([rows[1]], rows[1]["id"]))
    emulator.inject_fault(method="GET", path="/organizations", status=200, body=_page_body([rows[1]], rows[0]["id"]))
    with pytest.raises(PaginationError, match="same page twice"):
        [organization async for organization in client.organizations.list(limit=1)]


async def test_a_page_repeated_later_in_the_walk_raises(client: AsyncWorkOS, emulator: Emulator) -> None:
    rows = emulator.seed([{"name": "A"}, {"name": "B"}, {"name": "C"}])
    # C, then B, then C again: every cursor is new, but the third page is the first one again.
    for row, cursor in ((rows[2], rows[2]["id"]), (rows[1], rows[1]["id"]), (rows[2], rows[0]["id"])):
        emulator.inject_fault(method="GET", path="/organizations", status=200, body=_page_body([row], cursor))
    items = aiter(client.organizations.list(limit=1))
    assert [(await anext(items)).name, (await anext(items)).name] == ["C", "B"]
    with pytest.raises(PaginationError, match="same page twice"):
        await anext(items)


async def test_breaking_out_leaks_no_connection(emulator: Emulator) -> None:
    seed(emulator, 6)
    # One connection in the pool: a leaked one would make the next call wait forever.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, session=session, backoff=FAST)
        for _ in range(3):
            async for organization in client.organizations.list(limit=2):
                assert isinstance(organization, Organization)
                break
            page_iterator = client.organizations.list(limit=2).pages()
            await anext(page_iterator)
        page = await asyncio.wait_for(client.organizations.list(limit=LIST_LIMIT_MAX), timeout=30)  # a safety net
        assert len(page.data) == 6
        await client.close()


async def test_bad_list_arguments_fail_at_the_call(client: AsyncWorkOS, emulator: Emulator) -> None:
    with pytest.raises(InvalidArgumentError, match="limit"):
        client.organizations.list(limit=101)
    with pytest.raises(InvalidArgumentError, match="order"):
        client.organizations.list(order="newest")
    with pytest.raises(InvalidArgumentError, match="max_items"):
        client.organizations.list(max_items=0)
    with pytest.raises(InvalidArgumentError, match="not both"):
        client.organizations.list(before="org_1", after="org_2")
    assert emulator.requests == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    count=st.integers(min_value=0, max_value=30),
    limit=st.integers(min_value=1, max_value=12) | st.just(LIST_LIMIT_MAX),
    order=st.sampled_from([None, *Order]),
)
async def test_any_page_size_yields_each_organization_once_in_order(
    client: AsyncWorkOS, emulator: Emulator, count: int, limit: int, order: Order | None
) -> None:
    emulator.reset()
    ids = seed(emulator, count)
    seen = [organization.id async for organization in client.organizations.list(limit=limit, order=order)]
    assert seen == (ids if order is Order.ASC else ids[::-1])
    pages = -(-count // limit) if count else 1
    assert len(emulator.requests) == pages


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    count=st.integers(min_value=1, max_value=16),
    limit=st.integers(min_value=1, max_value=5),
    order=st.sampled_from([None, *Order]),
    start=st.sampled_from(["before", "after"]),
    position=st.integers(min_value=0, max_value=15),
    max_items=st.none() | st.integers(min_value=1, max_value=12),
)
async def test_a_walk_from_a_cursor_yields_the_items_nearest_it_first(
    client: AsyncWorkOS,
    emulator: Emulator,
    count: int,
    limit: int,
    order: Order | None,
    start: str,
    position: int,
    max_items: int | None,
) -> None:
    emulator.reset()
    ids = seed(emulator, count)
    cursor = ids[position % count]
    # after= goes to newer items under asc and normal, older under desc; before= the other way.
    newer = (start == "after") == (order in (Order.ASC, Order.NORMAL))
    expected = [i for i in ids if i > cursor] if newer else [i for i in ids if i < cursor][::-1]
    arguments: dict[str, Any] = {"limit": limit, "order": order, start: cursor}

    seen = [o.id async for o in client.organizations.list(**arguments, max_items=max_items)]
    assert seen == expected[:max_items]

    # Pages stay as the API sent them: ascending under asc, newest first otherwise.
    pages = [page async for page in client.organizations.list(**arguments, max_items=max_items).pages()]
    for page in pages:
        page_ids = [o.id for o in page.data]
        assert page_ids == sorted(page_ids, reverse=order is not Order.ASC)
    assert sorted(o.id for page in pages for o in page.data) == sorted(expected[:max_items])

    # A walk cut at max_items resumes from its last page's cursor at the first item cut off.
    if max_items is not None and len(expected) > max_items:
        resume_from = getattr(pages[-1].list_metadata, start)
        rest = [o.id async for o in client.organizations.list(limit=limit, order=order, **{start: resume_from})]
        assert rest == expected[max_items:]
