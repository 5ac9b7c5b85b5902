"""The emulator responds as the live API was recorded responding.

Each test quotes the recorded live behaviour it reproduces (VCR cassettes of the real API kept
in the workos-ruby test history, 2020-2025, and WorkOS's docs where no recording exists).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from workos_orgs.emulator import Emulator

NO_DNS_KEYS = {"verification_strategy", "verification_token", "verification_prefix"}


async def send(http: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, path, json=body) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("field", ["domain_data", "domains", "allow_profiles_outside_organization"])
async def test_an_explicit_null_on_create_means_not_given(http: aiohttp.ClientSession, field: str) -> None:
    # Recorded live: a create body with `domain_data`, `domains` and
    # `allow_profiles_outside_organization` all null responded 201.
    status, organization = await send(http, "POST", "/organizations", {"name": "Acme", field: None})
    assert status == 201, organization
    assert organization["domains"] == []
    assert organization["allow_profiles_outside_organization"] is False


async def test_all_three_nulls_together_on_create_are_a_201(http: aiohttp.ClientSession) -> None:
    body = {"name": "Acme", "domain_data": None, "domains": None, "allow_profiles_outside_organization": None}
    status, organization = await send(http, "POST", "/organizations", body)
    assert (status, organization["name"], organization["domains"]) == (201, "Acme", [])


async def test_an_explicit_null_on_update_leaves_the_field_alone(http: aiohttp.ClientSession) -> None:
    _, created = await send(
        http,
        "POST",
        "/organizations",
        {
            "name": "Acme",
            "domain_data": [{"domain": "acme.com", "state": "verified"}],
            "allow_profiles_outside_organization": True,
        },
    )
    body = {"name": "Renamed", "domain_data": None, "domains": None, "allow_profiles_outside_organization": None}
    status, updated = await send(http, "PUT", f"/organizations/{created['id']}", body)
    assert status == 200, updated
    assert updated["name"] == "Renamed"
    assert updated["domains"] == created["domains"]
    assert updated["allow_profiles_outside_organization"] is True


@pytest.mark.parametrize("given", [None, True, False])
async def test_every_organization_carries_allow_profiles_outside_organization(
    http: aiohttp.ClientSession, given: bool | None
) -> None:
    # Recorded live 2021-2025: present in every organization, `false` unless set.
    body: dict[str, Any] = {"name": "Acme"}
    if given is not None:
        body["allow_profiles_outside_organization"] = given
    _, created = await send(http, "POST", "/organizations", body)
    _, fetched = await send(http, "GET", f"/organizations/{created['id']}")
    _, listed = await send(http, "GET", "/organizations")
    expected = bool(given)
    assert created["allow_profiles_outside_organization"] is expected
    assert fetched["allow_profiles_outside_organization"] is expected
    assert listed["data"][0]["allow_profiles_outside_organization"] is expected


async def test_a_domain_added_as_verified_is_manual_without_token_or_prefix_keys(http: aiohttp.ClientSession) -> None:
    # Recorded live 2024 and 2025: strategy `manual`, and no `verification_token` or
    # `verification_prefix` keys at all (the spec types both as strings, never null).
    _, organization = await send(
        http, "POST", "/organizations", {"name": "Acme", "domain_data": [{"domain": "acme.com", "state": "verified"}]}
    )
    [domain] = organization["domains"]
    assert (domain["state"], domain["verification_strategy"]) == ("verified", "manual")
    assert "verification_token" not in domain
    assert "verification_prefix" not in domain
    _, fetched = await send(http, "GET", f"/organization_domains/{domain['id']}")
    assert fetched == domain


async def test_a_domain_from_the_deprecated_domains_list_is_legacy_verified_without_strategy(
    http: aiohttp.ClientSession,
) -> None:
    # Recorded live 2024: state `legacy_verified`, and no strategy, token or prefix keys.
    _, organization = await send(http, "POST", "/organizations", {"name": "Acme", "domains": ["acme.com"]})
    [domain] = organization["domains"]
    assert domain["state"] == "legacy_verified"
    assert not NO_DNS_KEYS & set(domain)


async def test_a_pending_domain_has_dns_strategy_token_and_prefix(http: aiohttp.ClientSession) -> None:
    # Recorded live: a pending domain (DNS verification) has strategy `dns`, token and prefix.
    _, organization = await send(
        http, "POST", "/organizations", {"name": "Acme", "domain_data": [{"domain": "acme.com", "state": "pending"}]}
    )
    [domain] = organization["domains"]
    assert domain["verification_strategy"] == "dns"
    assert isinstance(domain["verification_token"], str)
    assert isinstance(domain["verification_prefix"], str)


async def test_metadata_empty_object_on_update_removes_every_key(http: aiohttp.ClientSession) -> None:
    # WorkOS's metadata docs: "metadata: {}" removes every key.
    _, created = await send(http, "POST", "/organizations", {"name": "Acme", "metadata": {"a": "1", "b": "2"}})
    _, updated = await send(http, "PUT", f"/organizations/{created['id']}", {"metadata": {}})
    assert updated["metadata"] == {}


async def test_metadata_null_keys_are_removed_and_other_keys_kept(http: aiohttp.ClientSession) -> None:
    # WorkOS's metadata docs: keys set to null are removed; keys left out are kept.
    _, created = await send(http, "POST", "/organizations", {"name": "Acme", "metadata": {"a": "1", "b": "2"}})
    _, updated = await send(http, "PUT", f"/organizations/{created['id']}", {"metadata": {"a": None, "c": "3"}})
    assert updated["metadata"] == {"b": "2", "c": "3"}


async def test_a_file_from_an_older_version_is_shown_as_the_api_shows_it_now(tmp_path: Path) -> None:
    db = tmp_path / "emulator.sqlite3"
    async with Emulator(db=db) as emu:
        [seeded] = emu.seed([{"name": "Acme", "domains": [{"domain": "acme.com", "state": "verified"}]}])
    # What an older version kept: no allow_profiles_outside_organization, null token keys.
    stale = b'{"object":"organization","id":"%s","name":"Acme","domains":[],"metadata":{}}' % seeded["id"].encode()
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE organizations SET rendered = ?", (stale,))
        connection.execute("PRAGMA user_version = 0")
    connection.close()
    async with Emulator(db=db) as emu:
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        async with aiohttp.ClientSession(base_url=emu.url, headers=headers) as http:
            _, page = await send(http, "GET", "/organizations")
    assert page["data"] == [seeded]
    assert seeded["allow_profiles_outside_organization"] is False


async def test_every_response_carries_its_own_request_id_a_uuid(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    # The contract: every response carries X-Request-ID (a UUID).
    seen = []
    for _ in range(50):
        async with http.get("/organizations") as response:
            seen.append(uuid.UUID(response.headers["X-Request-ID"]))
    assert len(set(seen)) == 50
    assert {request_id.version for request_id in seen} == {4}
    assert [entry.request_id for entry in emulator.requests] == [str(request_id) for request_id in seen]
