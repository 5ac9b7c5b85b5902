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
