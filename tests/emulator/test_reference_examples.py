"""The example responses on WorkOS's API reference have exactly the keys the emulator sends.

`tests/fixtures/*.json` are verbatim copies of the examples on the reference pages
(https://workos.com/docs/reference/organization): `organization.json` (get, and get by
external ID), `organization_list.json` (list), `organization_create.json` (create),
`organization_update.json` (update), and `organization_domain.json` (the domain object nested
in them).  The emulator is seeded with -- or sent -- the same data, and its reply must have
the same keys at every level; where the data is pinned by seeding, the same values too.

One quirk of the reference: its nested domain names `organization_id` `org_01HE8GSH8...`,
not the organization it sits in.  The emulator responds with the real parent's ID, so values
are compared with that one field set to the parent.  And where the examples and recorded live
responses differ, the recordings win: every organization carries
`allow_profiles_outside_organization` (`false` unless set, in every recorded live response
2021-2025), and a domain added as `verified` has strategy `manual` and no token or prefix keys
(recorded 2024 and 2025).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from workos_orgs.emulator import Emulator

FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def shape(value: Any) -> Any:
    """The keys of `value` at every level, with leaf values dropped.

    Objects map each key to the shape of its value, arrays to the shapes of their items;
    every scalar, `null` included, is `None`, so only the structure is compared.
    """
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return None


def as_recorded(organization: dict[str, Any]) -> dict[str, Any]:
    """A reference organization as recorded live responses show it (see the module docstring)."""
    return {"allow_profiles_outside_organization": False, **organization}


def with_parent_id(organization: dict[str, Any]) -> dict[str, Any]:
    """The reference organization with its domains pointing at it (see the module docstring)."""
    domains = [{**domain, "organization_id": organization["id"]} for domain in organization["domains"]]
    return as_recorded({**organization, "domains": domains})


def verified_by_hand(domain: dict[str, Any]) -> dict[str, Any]:
    """A reference domain as recorded live once added as `verified`."""
    kept = {key: value for key, value in domain.items() if key not in ("verification_token", "verification_prefix")}
    return {**kept, "state": "verified", "verification_strategy": "manual"}


async def fetch(http: aiohttp.ClientSession, method: str, path: str, json: Any = None) -> tuple[int, Any]:
    async with http.request(method, path, json=json) as response:
        return response.status, await response.json()


def test_shape_compares_keys_at_every_level_and_ignores_values() -> None:
    assert shape({"a": 1, "b": [{"c": None}], "d": {"e": "x"}}) == shape({"a": "z", "b": [{"c": 2}], "d": {"e": None}})
    assert shape({"a": 1}) != shape({"a": 1, "b": 2})
    assert shape({"a": [{"c": 1}]}) != shape({"a": [{"c": 1, "d": 2}]})
    assert shape({"a": {"b": 1}}) != shape({"a": {"c": 1}})


def test_fixtures_are_the_reference_examples() -> None:
    organization = fixture("organization")
    assert organization["id"] == "org_01EHWNCE74X7JSDV0X3SZ3KJNY"
    assert fixture("organization_list")["data"] == [organization]
    assert fixture("organization_domain") == organization["domains"][0]
    assert fixture("organization_create")["external_id"] == "ext_12345"


# Seeded with the reference data: same keys and, where pinned, the same values.


@pytest.mark.parametrize("name", ["organization", "organization_create", "organization_update"])
async def test_seeded_reference_organization_comes_back_exactly(
    emulator: Emulator, http: aiohttp.ClientSession, name: str
) -> None:
    reference = fixture(name)
    emulator.seed([reference])
    status, body = await fetch(http, "GET", f"/organizations/{reference['id']}")
    assert status == 200
    assert shape(body) == shape(with_parent_id(reference))
    assert body == with_parent_id(reference)


async def test_seed_returns_the_organization_as_the_api_shows_it(emulator: Emulator) -> None:
    reference = fixture("organization")
    assert emulator.seed({"organizations": [reference]}) == [with_parent_id(reference)]


async def test_get_by_external_id_matches_the_reference(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    reference = fixture("organization")
    emulator.seed([reference])
    status, body = await fetch(http, "GET", f"/organizations/external_id/{reference['external_id']}")
    assert status == 200
    assert shape(body) == shape(with_parent_id(reference))
    assert body == with_parent_id(reference)


async def test_list_matches_the_reference_list(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    reference = fixture("organization_list")
    emulator.seed(reference["data"])
    status, body = await fetch(http, "GET", "/organizations")
    assert status == 200
    assert shape(body) == shape({**reference, "data": [as_recorded(item) for item in reference["data"]]})
    assert body["object"] == "list"
    assert body["data"] == [with_parent_id(organization) for organization in reference["data"]]
    assert body["list_metadata"] == {"before": None, "after": None}


async def test_list_metadata_keys_match_when_there_are_more_pages(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    reference = fixture("organization_list")
    emulator.seed([{"name": f"Org {number}"} for number in range(3)])
    _, first_page = await fetch(http, "GET", "/organizations?limit=1")
    _, middle_page = await fetch(http, "GET", f"/organizations?limit=1&after={first_page['list_metadata']['after']}")
    assert set(middle_page["list_metadata"]) == set(reference["list_metadata"])
    assert all(isinstance(cursor, str) for cursor in middle_page["list_metadata"].values())


async def test_get_domain_matches_the_reference_domain(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    organization = fixture("organization")
    reference = fixture("organization_domain")
    emulator.seed([organization])
    status, body = await fetch(http, "GET", f"/organization_domains/{reference['id']}")
    assert status == 200
    assert shape(body) == shape(reference)
    assert body == {**reference, "organization_id": organization["id"]}


# Made through the API: same keys as the reference responses.


async def test_create_response_matches_the_reference_create_response(http: aiohttp.ClientSession) -> None:
    reference = fixture("organization_create")
    request = {  # the reference page's create request, with the reference response's external ID
        "name": "Foo Corp",
        "domain_data": [{"domain": "foo-corp.com", "state": "pending"}],
        "external_id": "ext_12345",
        "metadata": {"tier": "diamond"},
        "allow_profiles_outside_organization": False,
    }
    status, created = await fetch(http, "POST", "/organizations", request)
    assert status == 201
    # Create cannot set stripe_customer_id, and an unset one is left out, as recorded live.
    assert shape(created) == shape({key: value for key, value in reference.items() if key != "stripe_customer_id"})
    status, updated = await fetch(
        http, "PUT", f"/organizations/{created['id']}", {"stripe_customer_id": reference["stripe_customer_id"]}
    )
    assert status == 200
    assert shape(updated) == shape(reference)
    assert {key: updated[key] for key in ("name", "metadata", "external_id", "stripe_customer_id")} == {
        key: reference[key] for key in ("name", "metadata", "external_id", "stripe_customer_id")
    }


async def test_update_response_matches_the_reference_update_response(http: aiohttp.ClientSession) -> None:
    reference = fixture("organization_update")
    status, created = await fetch(http, "POST", "/organizations", {"name": "Before"})
    assert status == 201
    request = {  # the reference page's update request
        "name": "Foo Corp",
        "allow_profiles_outside_organization": False,
        "domain_data": [{"domain": "foo-corp.com", "state": "verified"}],
        "stripe_customer_id": "cus_R9qWAGMQ6nGE7V",
        "metadata": {"tier": "diamond"},
        "external_id": "2fe01467-f7ea-4dd2-8b79-c2b4f56d0191",
    }
    status, updated = await fetch(http, "PUT", f"/organizations/{created['id']}", request)
    assert status == 200
    # The request asks for a verified domain: recorded live, that one is `manual`, without a token.
    assert shape(updated) == shape({**reference, "domains": [verified_by_hand(d) for d in reference["domains"]]})


async def test_get_after_create_matches_the_reference_organization(http: aiohttp.ClientSession) -> None:
    reference = fixture("organization")
    status, created = await fetch(
        http,
        "POST",
        "/organizations",
        {
            "name": reference["name"],
            "domain_data": [{"domain": "foo-corp.com", "state": "pending"}],
            "external_id": reference["external_id"],
            "metadata": reference["metadata"],
        },
    )
    assert status == 201
    await fetch(http, "PUT", f"/organizations/{created['id']}", {"stripe_customer_id": reference["stripe_customer_id"]})
    status, body = await fetch(http, "GET", f"/organizations/{created['id']}")
    assert status == 200
    assert shape(body) == shape(as_recorded(reference))


@pytest.mark.parametrize("action", ["create", "verify"])
async def test_domain_endpoint_responses_match_the_reference_domain(
    emulator: Emulator, http: aiohttp.ClientSession, action: str
) -> None:
    reference = fixture("organization_domain")
    _, organization = await fetch(http, "POST", "/organizations", {"name": "Foo Corp"})
    status, domain = await fetch(
        http, "POST", "/organization_domains", {"organization_id": organization["id"], "domain": "foo-corp.com"}
    )
    assert status == 201
    if action == "verify":
        emulator.publish_dns_record(domain["id"])
        status, domain = await fetch(http, "POST", f"/organization_domains/{domain['id']}/verify")
        assert (status, domain["state"]) == (201, "verified")
    assert shape(domain) == shape(reference)
