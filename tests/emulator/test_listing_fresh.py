"""A listing serves organizations as stored rendered: after every kind of write it matches a GET."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from workos_orgs.emulator import Emulator

Write = Callable[[aiohttp.ClientSession, dict[str, Any]], Awaitable[None]]


async def _send(http: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> Any:
    async with http.request(method, path, json=body) as response:
        assert response.status < 300, await response.text()
        return await response.json() if response.content_type == "application/json" else None


async def _add_domain(http: aiohttp.ClientSession, org: dict[str, Any]) -> None:
    await _send(http, "POST", "/organization_domains", {"organization_id": org["id"], "domain": "added.example"})


async def _verify_domain(http: aiohttp.ClientSession, org: dict[str, Any]) -> None:
    await _send(http, "POST", f"/organization_domains/{org['domains'][0]['id']}/verify")


async def _delete_domain(http: aiohttp.ClientSession, org: dict[str, Any]) -> None:
    await _send(http, "DELETE", f"/organization_domains/{org['domains'][0]['id']}")


async def _update(http: aiohttp.ClientSession, org: dict[str, Any]) -> None:
    body = {"name": "Renamed", "metadata": {"tier": None, "new": "x"}, "external_id": None}
    await _send(http, "PUT", f"/organizations/{org['id']}", body)


async def _replace_domains(http: aiohttp.ClientSession, org: dict[str, Any]) -> None:
    body = {
        "domain_data": [{"domain": "acme.example", "state": "verified"}, {"domain": "new.example", "state": "pending"}]
    }
    await _send(http, "PUT", f"/organizations/{org['id']}", body)


@pytest.mark.workos_emulator(auto_verify=True)
@pytest.mark.parametrize("write", [_add_domain, _verify_domain, _delete_domain, _update, _replace_domains])
async def test_the_listing_shows_every_write(emulator: Emulator, http: aiohttp.ClientSession, write: Write) -> None:
    (org,) = emulator.seed(
        [{"name": "Acme", "external_id": "a", "metadata": {"tier": "gold"}, "domains": ["acme.example"]}]
    )
    await write(http, org)
    fetched = await _send(http, "GET", f"/organizations/{org['id']}")
    listed = await _send(http, "GET", "/organizations")
    assert listed["data"] == [fetched]
    assert fetched != org  # the write did change something


async def test_a_database_file_from_before_rendered_listings_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with Emulator(db=path) as emulator:
        (org,) = emulator.seed([{"name": "Old", "domains": ["old.example"]}])
    with sqlite3.connect(path) as db:  # the schema as it was: no rendered column
        db.execute("ALTER TABLE organizations DROP COLUMN rendered")
    db.close()
    async with Emulator(db=path) as emulator:
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        async with aiohttp.ClientSession(base_url=emulator.url, headers=headers) as http:
            assert (await _send(http, "GET", "/organizations"))["data"] == [org]


# A page asked for again between writes is built once (`_page_cache`): these list first, so a
# kept page exists, write, and list again.


async def _listed_ids(http: aiohttp.ClientSession, query: str = "") -> list[str]:
    return [item["id"] for item in (await _send(http, "GET", f"/organizations{query}"))["data"]]


async def _fetched(http: aiohttp.ClientSession, ids: list[str]) -> list[Any]:
    return [await _send(http, "GET", f"/organizations/{ident}") for ident in ids]


async def _create(http: aiohttp.ClientSession, org: dict[str, Any]) -> list[str]:
    created = await _send(http, "POST", "/organizations", {"name": "Created", "domains": ["created.example"]})
    return [created["id"], org["id"]]


async def _delete(http: aiohttp.ClientSession, org: dict[str, Any]) -> list[str]:
    await _send(http, "DELETE", f"/organizations/{org['id']}")
    return []


def _keeps(write: Write) -> Callable[[aiohttp.ClientSession, dict[str, Any]], Awaitable[list[str]]]:
    """`write`, then the one organization's ID (the writes that change it in place)."""

    async def run(http: aiohttp.ClientSession, org: dict[str, Any]) -> list[str]:
        await write(http, org)
        return [org["id"]]

    run.__name__ = write.__name__
    return run


@pytest.mark.workos_emulator(auto_verify=True)
@pytest.mark.parametrize(
    "write",
    [
        _create,
        _delete,
        *(_keeps(write) for write in (_add_domain, _verify_domain, _delete_domain, _update, _replace_domains)),
    ],
    ids=lambda write: write.__name__.strip("_"),
)
async def test_a_listing_asked_for_again_after_a_write_shows_the_write(
    emulator: Emulator, http: aiohttp.ClientSession, write: Callable[..., Awaitable[list[str]]]
) -> None:
    (org,) = emulator.seed(
        [{"name": "Acme", "external_id": "a", "metadata": {"tier": "gold"}, "domains": ["acme.example"]}]
    )
    first = await _send(http, "GET", "/organizations?limit=100")
    assert first["data"] == [org]
    assert await _send(http, "GET", "/organizations?limit=100") == first
    ids = await write(http, org)
    listed = await _send(http, "GET", "/organizations?limit=100")
    assert listed["data"] == await _fetched(http, ids)
    assert listed != first


async def test_every_query_asked_for_again_after_a_write_shows_it(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    older, newer = emulator.seed(
        [
            {"name": "Acme Older", "domains": ["older.example"]},
            {"name": "Acme Newer", "domains": ["newer.example"]},
        ]
    )
    queries = [
        "",
        "?limit=100",
        "?order=asc",
        "?order=normal",
        "?domains=older.example",
        "?search=acme",
        f"?limit=1&after={newer['id']}",
        f"?limit=1&before={newer['id']}&order=asc",
    ]
    for query in queries:  # twice each: the second is served as kept
        first = await _send(http, "GET", f"/organizations{query}")
        assert older in first["data"], query
        assert await _send(http, "GET", f"/organizations{query}") == first
    renamed = await _send(http, "PUT", f"/organizations/{older['id']}", {"name": "Acme Renamed"})
    for query in queries:
        listed = await _send(http, "GET", f"/organizations{query}")
        assert renamed in listed["data"], query
        assert all(item["name"] != "Acme Older" for item in listed["data"]), query


async def test_a_listing_asked_for_again_shows_dns_verification_and_failure(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    (org,) = emulator.seed([{"name": "Acme", "domains": ["acme.example", "acme.dev"]}])
    verified, failed = org["domains"]

    async def states() -> list[str]:
        (listed,) = (await _send(http, "GET", "/organizations"))["data"]
        return [domain["state"] for domain in listed["domains"]]

    assert await states() == ["pending", "pending"]
    emulator.publish_dns_record(verified["id"])
    assert await states() == ["pending", "pending"]  # published, not yet checked
    await _send(http, "POST", f"/organization_domains/{verified['id']}/verify")
    assert await states() == ["verified", "pending"]
    emulator.fail_next_verifications()
    await _send(http, "POST", f"/organization_domains/{failed['id']}/verify")
    assert await states() == ["verified", "failed"]


async def test_a_listing_asked_for_again_shows_seeding_and_reset(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    assert await _listed_ids(http) == []
    (seeded,) = emulator.seed([{"name": "Seeded"}])
    assert await _listed_ids(http) == [seeded["id"]]
    emulator.reset()
    assert await _listed_ids(http) == []
    (by_control,) = (await _send(http, "POST", "/_emulator/seed", [{"name": "By control"}]))["organizations"]
    assert await _listed_ids(http) == [by_control["id"]]
    await _send(http, "POST", "/_emulator/reset")
    assert await _listed_ids(http) == []


async def test_a_write_refused_leaves_the_listing_as_it_was(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.seed([{"name": "Acme", "external_id": "taken"}, {"name": "Other", "external_id": "other"}])
    first = await _send(http, "GET", "/organizations")
    other = first["data"][0]
    async with http.put(f"/organizations/{other['id']}", json={"name": "Changed", "external_id": "taken"}) as refused:
        assert refused.status == 400
    assert await _send(http, "GET", "/organizations") == first
