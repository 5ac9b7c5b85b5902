"""Listing organizations: limits, orders, cursors in both directions, filters.

Every expectation here comes from the contract's "Listing" section, except the meaning of
`list_metadata` under ``order=normal`` (the emulator's documented choice: each cursor, passed
back under its own name, fetches the adjacent page on its side, so ``before`` is the last
item and ``after`` the first).  `model_page` restates those rules over a plain list of IDs so
each page the emulator serves can be compared with it whole.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workos_orgs.emulator import Emulator

ORDERS = ("desc", "asc", "normal")
# The cursor that moves away from the first page, and the one that comes back.
FORWARD = {"desc": "after", "asc": "after", "normal": "before"}
BACKWARD = {"desc": "before", "asc": "before", "normal": "after"}

Page = dict[str, Any]


# Helpers.


async def create_organization(http: aiohttp.ClientSession, name: str, **fields: Any) -> dict[str, Any]:
    async with http.post("/organizations", json={"name": name, **fields}) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


async def create_organizations(http: aiohttp.ClientSession, count: int, prefix: str = "Org") -> list[str]:
    """Create `count` organizations one after another; their IDs, oldest first."""
    return [(await create_organization(http, f"{prefix} {number:03d}"))["id"] for number in range(count)]


async def list_page(http: aiohttp.ClientSession, **params: Any) -> Page:
    query = {name: str(value) for name, value in params.items() if value is not None}
    async with http.get("/organizations", params=query) as response:
        assert response.status == 200, await response.text()
        page = dict(await response.json())
    assert page["object"] == "list"
    assert set(page) == {"object", "data", "list_metadata"}
    assert set(page["list_metadata"]) == {"before", "after"}
    return page


async def list_error(http: aiohttp.ClientSession, query: Any) -> dict[str, Any]:
    async with http.get("/organizations", params=query) as response:
        assert response.status == 422, await response.text()
        return dict(await response.json())


def ids_of(page: Page) -> list[str]:
    return [organization["id"] for organization in page["data"]]


def in_order(ids: list[str], order: str) -> list[str]:
    """IDs (which sort by creation) as the list shows them: newest first unless `asc`."""
    return sorted(ids, reverse=order != "asc")


def model_page(
    ids: list[str], order: str, limit: int, *, before: str | None = None, after: str | None = None
) -> tuple[list[str], str | None, str | None]:
    """The page the contract promises: (IDs in list order, before cursor, after cursor)."""
    newest_first = order != "asc"
    if before is None and after is None:
        shown = in_order(ids, order)[:limit]
    else:
        name, cursor = ("after", after) if after is not None else ("before", before)
        assert cursor is not None
        # desc: after = older, before = newer; asc and normal: after = newer, before = older.
        older = (order == "desc") == (name == "after")
        side = [ident for ident in ids if (ident < cursor if older else ident > cursor)]
        nearest = sorted(side, reverse=older)[:limit]
        shown = sorted(nearest, reverse=newest_first)
    if not shown:
        return [], None, None
    oldest, newest = min(shown), max(shown)
    older_exist = any(ident < oldest for ident in ids)
    newer_exist = any(ident > newest for ident in ids)
    if order == "desc":
        return shown, newest if newer_exist else None, oldest if older_exist else None
    return shown, oldest if older_exist else None, newest if newer_exist else None


def assert_matches_model(page: Page, ids: list[str], order: str, limit: int, **cursor: str | None) -> None:
    expected, before, after = model_page(ids, order, limit, **cursor)
    assert ids_of(page) == expected
    assert page["list_metadata"] == {"before": before, "after": after}


async def walk(http: aiohttp.ClientSession, cursor_name: str, first: Page | None = None, **params: Any) -> list[Page]:
    """Follow `cursor_name` from `first` (or the first page) until it is null; every page."""
    page = first if first is not None else await list_page(http, **params)
    pages = [page]
    while (cursor := page["list_metadata"][cursor_name]) is not None:
        assert len(pages) < 1000, "the walk does not end"
        page = await list_page(http, **params, **{cursor_name: cursor})
        pages.append(page)
    return pages


def flatten(pages: list[Page]) -> list[str]:
    return [ident for page in pages for ident in ids_of(page)]


# limit and order.


async def test_limit_defaults_to_ten(http: aiohttp.ClientSession) -> None:
    ids = await create_organizations(http, 12)
    page = await list_page(http)
    assert ids_of(page) == in_order(ids, "desc")[:10]
    assert page["list_metadata"] == {"before": None, "after": ids[2]}


@pytest.mark.parametrize("limit", [1, 7, 100])
async def test_limit_in_range_caps_the_page(emulator: Emulator, http: aiohttp.ClientSession, limit: int) -> None:
    seeded = emulator.seed([{"name": f"Seeded {number:03d}"} for number in range(limit + 1)])
    ids = [organization["id"] for organization in seeded]
    page = await list_page(http, limit=limit)
    assert ids_of(page) == in_order(ids, "desc")[:limit]
    assert page["list_metadata"]["after"] == page["data"][-1]["id"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "ten"])
async def test_limit_out_of_range_is_422_naming_limit(http: aiohttp.ClientSession, limit: str) -> None:
    body = await list_error(http, {"limit": limit})
    assert body["code"] == "invalid_request_parameters"
    assert body["message"] == "Validation failed"
    assert [error["field"] for error in body["errors"]] == ["limit"]
    assert all(set(error) == {"field", "code", "message"} for error in body["errors"])


@pytest.mark.parametrize("order", ["sideways", "ascending", "random", "1"])
async def test_unknown_order_is_422_naming_order(http: aiohttp.ClientSession, order: str) -> None:
    body = await list_error(http, {"order": order})
    assert body["code"] == "invalid_request_parameters"
    assert [error["field"] for error in body["errors"]] == ["order"]


async def test_bad_limit_and_bad_order_are_reported_together(http: aiohttp.ClientSession) -> None:
    body = await list_error(http, {"limit": "0", "order": "up"})
    assert sorted(error["field"] for error in body["errors"]) == ["limit", "order"]


async def test_before_and_after_together_is_422(http: aiohttp.ClientSession) -> None:
    # The emulator's documented choice: the two cursors name opposite directions.
    ids = await create_organizations(http, 3)
    body = await list_error(http, {"before": ids[0], "after": ids[2]})
    assert body["code"] == "invalid_request_parameters"


async def test_empty_list(http: aiohttp.ClientSession) -> None:
    for order in ORDERS:
        page = await list_page(http, order=order)
        assert page["data"] == []
        assert page["list_metadata"] == {"before": None, "after": None}


# First pages.


@pytest.mark.parametrize("order", ORDERS)
async def test_first_page_content_and_order(http: aiohttp.ClientSession, order: str) -> None:
    ids = await create_organizations(http, 7)
    page = await list_page(http, order=order, limit=3)
    assert ids_of(page) == in_order(ids, order)[:3]
    # Nothing precedes the first page; more follows it on the forward cursor's side.
    assert page["list_metadata"][BACKWARD[order]] is None
    assert page["list_metadata"][FORWARD[order]] == page["data"][-1]["id"]
    # Every organization in the page is the full object, as GET shows it.
    async with http.get(f"/organizations/{ids_of(page)[0]}") as response:
        assert await response.json() == page["data"][0]


async def test_default_order_is_desc(http: aiohttp.ClientSession) -> None:
    ids = await create_organizations(http, 4)
    assert await list_page(http) == await list_page(http, order="desc")
    assert ids_of(await list_page(http)) == ids[::-1]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(("count", "limit"), [(3, 10), (5, 5), (1, 1)])
async def test_list_metadata_is_null_when_everything_fits(
    http: aiohttp.ClientSession, order: str, count: int, limit: int
) -> None:
    ids = await create_organizations(http, count)
    page = await list_page(http, order=order, limit=limit)
    assert ids_of(page) == in_order(ids, order)
    assert page["list_metadata"] == {"before": None, "after": None}


# Walks.


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("limit", [1, 4, 5, 23])
async def test_forward_walk_yields_everything_once_in_order(
    http: aiohttp.ClientSession, order: str, limit: int
) -> None:
    ids = await create_organizations(http, 20)
    pages = await walk(http, FORWARD[order], order=order, limit=limit)
    assert flatten(pages) == in_order(ids, order)
    assert len(pages) == -(-20 // limit)
    assert pages[-1]["list_metadata"][FORWARD[order]] is None
    cursor = None
    for page in pages:
        assert_matches_model(page, ids, order, limit, **{FORWARD[order]: cursor})
        cursor = page["list_metadata"][FORWARD[order]]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("limit", [1, 3, 5])
async def test_backward_walk_from_the_far_end(http: aiohttp.ClientSession, order: str, limit: int) -> None:
    ids = await create_organizations(http, 13)
    forward = await walk(http, FORWARD[order], order=order, limit=limit)
    last = forward[-1]
    assert last["list_metadata"][FORWARD[order]] is None
    backward = await walk(http, BACKWARD[order], first=last, order=order, limit=limit)
    # Walking back visits the same pages, in reverse, each still in the list's order.
    assert [ids_of(page) for page in backward] == [ids_of(page) for page in reversed(forward)]
    assert flatten(list(reversed(backward))) == in_order(ids, order)
    assert backward[-1]["list_metadata"][BACKWARD[order]] is None


@pytest.mark.parametrize("order", ORDERS)
async def test_backward_walk_from_an_unaligned_cursor(http: aiohttp.ClientSession, order: str) -> None:
    ids = await create_organizations(http, 12)
    listed = in_order(ids, order)
    # Start at an item that is not on a page boundary and walk back to the front.
    start = listed[8]
    pages = await walk(
        http,
        BACKWARD[order],
        first=await list_page(http, order=order, limit=5, **{BACKWARD[order]: start}),
        order=order,
        limit=5,
    )
    assert [ids_of(page) for page in pages] == [listed[3:8], listed[0:3]]
    assert pages[0]["list_metadata"] == {"before": None, "after": None} | {
        BACKWARD[order]: listed[3],
        FORWARD[order]: listed[7],
    }
    assert pages[1]["list_metadata"][BACKWARD[order]] is None


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("position", [0, 1, 4, 6, 9, 10])
@pytest.mark.parametrize("direction", ["before", "after"])
async def test_cursor_page_holds_the_nearest_items_in_list_order(
    http: aiohttp.ClientSession, order: str, position: int, direction: str
) -> None:
    ids = await create_organizations(http, 11)
    cursor = ids[position]
    page = await list_page(http, order=order, limit=4, **{direction: cursor})
    assert_matches_model(page, ids, order, 4, **{direction: cursor})
    # Said without the model: the 4 IDs nearest the cursor on the requested side.
    newer_side = (order == "desc") == (direction == "before")
    side = [ident for ident in ids if (ident > cursor if newer_side else ident < cursor)]
    nearest = side[:4] if newer_side else side[-4:]
    assert ids_of(page) == in_order(nearest, order)


async def test_normal_order_after_means_newer_and_before_means_older(http: aiohttp.ClientSession) -> None:
    ids = await create_organizations(http, 9)
    newer = await list_page(http, order="normal", after=ids[4], limit=2)
    older = await list_page(http, order="normal", before=ids[4], limit=2)
    # Newest first on every page; the pages touch the cursor.
    assert ids_of(newer) == [ids[6], ids[5]]
    assert ids_of(older) == [ids[3], ids[2]]
    # The documented choice: each cursor, passed back under its own name, goes on that way.
    assert newer["list_metadata"] == {"before": ids[5], "after": ids[6]}
    assert older["list_metadata"] == {"before": ids[2], "after": ids[3]}


@pytest.mark.parametrize("order", ORDERS)
async def test_cursor_past_the_end_gives_an_empty_page(http: aiohttp.ClientSession, order: str) -> None:
    ids = await create_organizations(http, 3)
    last = in_order(ids, order)[-1]
    page = await list_page(http, order=order, **{FORWARD[order]: last})
    assert page["data"] == []
    assert page["list_metadata"] == {"before": None, "after": None}


# Walks while organizations are being created.


@pytest.mark.parametrize("order", ORDERS)
async def test_walk_with_concurrent_inserts(http: aiohttp.ClientSession, order: str) -> None:
    original = await create_organizations(http, 17, prefix="Before")
    name = FORWARD[order]
    page = await list_page(http, order=order, limit=4)
    seen = ids_of(page)
    added: list[str] = []
    while (cursor := page["list_metadata"][name]) is not None:
        # Two new organizations between every pair of page fetches.
        added += await create_organizations(http, 2, prefix=f"During {len(added)}")
        page = await list_page(http, order=order, limit=4, **{name: cursor})
        seen += ids_of(page)
        assert len(seen) < 200
    assert len(seen) == len(set(seen)), "an organization was listed twice"
    if order == "asc":
        # Walking towards the newest, the walk also picks up every new one, at the end.
        assert seen == original + added
    else:
        # Walking towards the oldest: every original organization once, newest first.
        assert seen == original[::-1]


async def test_asc_walk_picks_up_organizations_created_after_the_last_page(http: aiohttp.ClientSession) -> None:
    ids = await create_organizations(http, 5)
    last = (await walk(http, "after", order="asc", limit=5))[-1]
    assert last["list_metadata"]["after"] is None
    newer = await create_organizations(http, 2, prefix="Later")
    page = await list_page(http, order="asc", limit=5, after=ids[-1])
    assert ids_of(page) == newer
    assert page["list_metadata"] == {"before": newer[0], "after": None}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("direction", ["forward", "backward"])
async def test_a_deleted_cursor_still_works(http: aiohttp.ClientSession, order: str, direction: str) -> None:
    ids = await create_organizations(http, 9)
    listed = in_order(ids, order)
    if direction == "forward":
        name, page = FORWARD[order], await list_page(http, order=order, limit=3)
    else:
        name, page = BACKWARD[order], await list_page(http, order=order, limit=3, **{BACKWARD[order]: listed[-1]})
    cursor = page["list_metadata"][name]
    assert cursor is not None
    async with http.delete(f"/organizations/{cursor}") as response:
        assert response.status == 202
    remaining = [ident for ident in ids if ident != cursor]
    following = await list_page(http, order=order, limit=3, **{name: cursor})
    assert ids_of(following) == (listed[3:6] if direction == "forward" else listed[2:5])
    assert_matches_model(following, remaining, order, 3, **{name: cursor})


# Filters.


async def _domain_fixture(http: aiohttp.ClientSession) -> dict[str, str]:
    """Organizations with assorted domains, by a short name."""
    specs = {
        "a": ["a.com"],
        "b": ["b.com"],
        "ab": ["a.com", "b.com"],
        "c": ["c.com"],
        "none": [],
        "near": ["aa.com", "a.com.au", "sub.a.com"],
        "a2": ["a.com", "z.com"],
    }
    created = {}
    for key, domains in specs.items():
        organization = await create_organization(
            http, f"Org {key}", domain_data=[{"domain": domain, "state": "verified"} for domain in domains]
        )
        created[key] = organization["id"]
    return created


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ([("domains", "a.com")], ["a", "ab", "a2"]),
        ([("domains", "a.com,b.com")], ["a", "b", "ab", "a2"]),
        ([("domains", "a.com"), ("domains", "b.com")], ["a", "b", "ab", "a2"]),
        ([("domains", "b.com,c.com"), ("domains", "z.com")], ["b", "ab", "c", "a2"]),
        ([("domains", "sub.a.com")], ["near"]),
        ([("domains", "nowhere.com")], []),
        ([("domains", "a.com,b.com"), ("order", "asc")], ["a", "b", "ab", "a2"]),
    ],
)
async def test_domains_filter_matches_any_listed_domain(
    http: aiohttp.ClientSession, query: list[tuple[str, str]], expected: list[str]
) -> None:
    created = await _domain_fixture(http)
    async with http.get("/organizations", params=query) as response:
        assert response.status == 200
        page = await response.json()
    order = dict(query).get("order", "desc")
    assert ids_of(page) == in_order([created[key] for key in expected], order)
    assert page["list_metadata"] == {"before": None, "after": None}
    for organization in page["data"]:
        wanted = {part for name, value in query if name == "domains" for part in value.split(",")}
        assert wanted & {domain["domain"] for domain in organization["domains"]}


@pytest.mark.parametrize("order", ORDERS)
async def test_domains_filter_composes_with_pagination(http: aiohttp.ClientSession, order: str) -> None:
    created = await _domain_fixture(http)
    matching = [created[key] for key in ("a", "b", "ab", "a2")]
    pages = await walk(http, FORWARD[order], order=order, limit=1, domains="a.com,b.com")
    assert flatten(pages) == in_order(matching, order)
    cursor = None
    for page in pages:
        # Cursors are computed over the filtered set only.
        assert_matches_model(page, matching, order, 1, **{FORWARD[order]: cursor})
        cursor = page["list_metadata"][FORWARD[order]]
    backward = await walk(http, BACKWARD[order], first=pages[-1], order=order, limit=1, domains="a.com,b.com")
    assert flatten(list(reversed(backward))) == in_order(matching, order)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("acme", ["Acme Corp", "ACME labs", "Big aCmE"]),
        ("ACME", ["Acme Corp", "ACME labs", "Big aCmE"]),
        ("me la", ["ACME labs"]),
        ("corp", ["Acme Corp"]),
        ("%", ["100% Fun"]),
        ("_", ["snake_case"]),
        ("nothing like it", []),
    ],
)
async def test_search_is_a_case_insensitive_substring_of_the_name(
    http: aiohttp.ClientSession, search: str, expected: list[str]
) -> None:
    for name in ["Acme Corp", "ACME labs", "Beta", "Big aCmE", "100% Fun", "snake_case", "Gamma"]:
        await create_organization(http, name)
    page = await list_page(http, search=search, order="asc")
    assert [organization["name"] for organization in page["data"]] == expected


@pytest.mark.parametrize("order", ORDERS)
async def test_search_and_domains_together_with_cursors(http: aiohttp.ClientSession, order: str) -> None:
    matching = []
    for number in range(9):
        name = f"{'Widget' if number % 2 else 'Gadget'} {number}"
        domain = "shared.com" if number % 3 else f"own{number}.com"
        organization = await create_organization(http, name, domain_data=[{"domain": domain, "state": "pending"}])
        if name.startswith("Widget") and domain == "shared.com":
            matching.append(organization["id"])
    assert len(matching) == 3
    params = {"order": order, "limit": 2, "search": "widg", "domains": "shared.com"}
    pages = await walk(http, FORWARD[order], **params)
    assert flatten(pages) == in_order(matching, order)
    backward = await walk(http, BACKWARD[order], first=pages[-1], **params)
    assert flatten(list(reversed(backward))) == in_order(matching, order)


# The property: any size, any limit, any order.


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(count=st.integers(0, 40), limit=st.integers(1, 12), order=st.sampled_from(ORDERS))
async def test_every_walk_yields_each_organization_once_in_order(
    emulator: Emulator, http: aiohttp.ClientSession, count: int, limit: int, order: str
) -> None:
    emulator.reset()
    ids = await create_organizations(http, count)
    forward = await walk(http, FORWARD[order], order=order, limit=limit)
    assert flatten(forward) == in_order(ids, order)
    assert all(len(page["data"]) == limit for page in forward[:-1])
    backward = await walk(http, BACKWARD[order], first=forward[-1], order=order, limit=limit)
    assert flatten(list(reversed(backward))) == in_order(ids, order)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    count=st.integers(1, 25),
    limit=st.integers(1, 8),
    order=st.sampled_from(ORDERS),
    direction=st.sampled_from(["before", "after"]),
    position=st.integers(0, 24),
    deleted=st.booleans(),
)
async def test_any_cursor_page_is_the_nearest_items_on_its_side(
    emulator: Emulator,
    http: aiohttp.ClientSession,
    count: int,
    limit: int,
    order: str,
    direction: str,
    position: int,
    deleted: bool,
) -> None:
    emulator.reset()
    ids = await create_organizations(http, count)
    cursor = ids[position % count]
    if deleted:
        async with http.delete(f"/organizations/{cursor}") as response:
            assert response.status == 202
        ids.remove(cursor)
    page = await list_page(http, order=order, limit=limit, **{direction: cursor})
    assert_matches_model(page, ids, order, limit, **{direction: cursor})
