"""Organization domains: create, get, verify, delete, and paths that try to reach them sideways."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from workos_orgs.emulator import Emulator

DOMAIN_ID = re.compile(r"org_domain_[0-9A-HJKMNP-TV-Z]{26}")
TOKEN = re.compile(r"[A-Za-z0-9]{25}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DOMAIN_KEYS = {
    "object",
    "id",
    "organization_id",
    "domain",
    "state",
    "verification_strategy",
    "verification_token",
    "verification_prefix",
    "created_at",
    "updated_at",
}
NOT_FOUND = {"message": "Not Found"}
UNKNOWN_ORGANIZATION = "org_01EHWNCE74X7JSDV0X3SZ3KJNY"
UNKNOWN_DOMAIN = "org_domain_01EHWNCE74X7JSDV0X3SZ3KJNY"


async def call(
    http: aiohttp.ClientSession, method: str, path: str, body: Any = None
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """One request; its status, its body (JSON when it says so, else text) and the response."""
    kwargs = {} if body is None else {"json": body}
    async with http.request(method, path, **kwargs) as response:
        if response.content_type == "application/json":
            return response.status, await response.json(), response
        return response.status, await response.text(), response


async def create_organization(http: aiohttp.ClientSession, name: str = "Acme", **fields: Any) -> dict[str, Any]:
    status, body, _ = await call(http, "POST", "/organizations", {"name": name, **fields})
    assert status == 201, body
    return dict(body)


async def create_domain(http: aiohttp.ClientSession, organization_id: str, domain: str) -> dict[str, Any]:
    status, body, _ = await call(
        http, "POST", "/organization_domains", {"organization_id": organization_id, "domain": domain}
    )
    assert status == 201, body
    return dict(body)


async def get_organization(http: aiohttp.ClientSession, organization_id: str) -> dict[str, Any]:
    status, body, _ = await call(http, "GET", f"/organizations/{organization_id}")
    assert status == 200, body
    return dict(body)


def assert_validation_error(body: Any, *fields: str) -> None:
    assert body["code"] == "invalid_request_parameters"
    assert body["message"] == "Validation failed"
    assert sorted(error["field"] for error in body["errors"]) == sorted(fields)


# Create.


async def test_create_domain_is_pending_dns_with_token_and_prefix(http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    status, domain, response = await call(
        http, "POST", "/organization_domains", {"organization_id": organization["id"], "domain": "acme.com"}
    )
    assert status == 201
    assert response.headers["X-Request-ID"]
    assert set(domain) == DOMAIN_KEYS
    assert domain["object"] == "organization_domain"
    assert DOMAIN_ID.fullmatch(domain["id"])
    assert domain["organization_id"] == organization["id"]
    assert domain["domain"] == "acme.com"
    assert domain["state"] == "pending"
    assert domain["verification_strategy"] == "dns"
    assert TOKEN.fullmatch(domain["verification_token"])
    assert isinstance(domain["verification_prefix"], str)
    assert domain["verification_prefix"]
    assert TIMESTAMP.fullmatch(domain["created_at"])
    assert domain["updated_at"] == domain["created_at"]
    # The organization shows it, exactly as created.
    assert (await get_organization(http, organization["id"]))["domains"] == [domain]


async def test_each_domain_gets_its_own_token(http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    first = await create_domain(http, organization["id"], "one.example.com")
    second = await create_domain(http, organization["id"], "two.example.com")
    assert first["id"] != second["id"]
    assert first["verification_token"] != second["verification_token"]
    assert [domain["id"] for domain in (await get_organization(http, organization["id"]))["domains"]] == [
        first["id"],
        second["id"],
    ]


async def test_create_domain_for_unknown_organization_is_404_naming_it(http: aiohttp.ClientSession) -> None:
    status, body, _ = await call(
        http, "POST", "/organization_domains", {"organization_id": UNKNOWN_ORGANIZATION, "domain": "acme.com"}
    )
    assert status == 404
    assert body == {
        "message": f"Organization not found: '{UNKNOWN_ORGANIZATION}'.",
        "code": "entity_not_found",
        "entity_id": UNKNOWN_ORGANIZATION,
    }


async def test_create_domain_for_deleted_organization_is_404(http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    status, _, _ = await call(http, "DELETE", f"/organizations/{organization['id']}")
    assert status == 202
    status, body, _ = await call(
        http, "POST", "/organization_domains", {"organization_id": organization["id"], "domain": "acme.com"}
    )
    assert status == 404
    assert body["code"] == "entity_not_found"
    assert body["entity_id"] == organization["id"]


async def test_duplicate_domain_on_the_same_organization_is_409(http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    first = await create_domain(http, organization["id"], "acme.com")
    status, body, _ = await call(
        http, "POST", "/organization_domains", {"organization_id": organization["id"], "domain": "acme.com"}
    )
    assert status == 409
    assert body["code"] == "domain_already_exists"
    assert isinstance(body["message"], str)
    # Nothing was added.
    assert (await get_organization(http, organization["id"]))["domains"] == [first]


async def test_domain_from_domain_data_also_conflicts(http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http, domain_data=[{"domain": "acme.com", "state": "verified"}])
    status, body, _ = await call(
        http, "POST", "/organization_domains", {"organization_id": organization["id"], "domain": "acme.com"}
    )
    assert status == 409
    assert body["code"] == "domain_already_exists"


async def test_same_domain_on_two_organizations_is_allowed(http: aiohttp.ClientSession) -> None:
    first = await create_organization(http, "First")
    second = await create_organization(http, "Second")
    one = await create_domain(http, first["id"], "shared.com")
    two = await create_domain(http, second["id"], "shared.com")
    assert one["id"] != two["id"]
    assert (await get_organization(http, first["id"]))["domains"] == [one]
    assert (await get_organization(http, second["id"]))["domains"] == [two]


@pytest.mark.parametrize("domain", ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me"])
async def test_consumer_domain_is_422(http: aiohttp.ClientSession, domain: str) -> None:
    organization = await create_organization(http)
    status, body, _ = await call(
        http, "POST", "/organization_domains", {"organization_id": organization["id"], "domain": domain}
    )
    assert status == 422
    assert_validation_error(body, "domain")
    assert (await get_organization(http, organization["id"]))["domains"] == []


@pytest.mark.parametrize("domain", ["not a domain", "", "localhost", "-acme.com", "acme..com", "acme.com/x", 42, None])
async def test_invalid_domain_is_422(http: aiohttp.ClientSession, domain: Any) -> None:
    organization = await create_organization(http)
    status, body, _ = await call(
        http, "POST", "/organization_domains", {"organization_id": organization["id"], "domain": domain}
    )
    assert status == 422
    assert_validation_error(body, "domain")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["organization_id", "domain"]),
        ({"domain": "acme.com"}, ["organization_id"]),
        ({"organization_id": "ORG"}, ["domain"]),
        ({"organization_id": 7, "domain": "acme.com"}, ["organization_id"]),
        ({"organization_id": None, "domain": "acme.com"}, ["organization_id"]),
    ],
)
async def test_missing_or_mistyped_fields_are_422(
    http: aiohttp.ClientSession, body: dict[str, Any], fields: list[str]
) -> None:
    status, reply, _ = await call(http, "POST", "/organization_domains", body)
    assert status == 422
    assert_validation_error(reply, *fields)


async def test_body_that_is_not_an_object_is_422(http: aiohttp.ClientSession) -> None:
    status, body, _ = await call(http, "POST", "/organization_domains", ["acme.com"])
    assert status == 422
    assert body["code"] == "invalid_request_parameters"


# Get.


async def test_get_domain(http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    created = await create_domain(http, organization["id"], "acme.com")
    status, body, _ = await call(http, "GET", f"/organization_domains/{created['id']}")
    assert status == 200
    assert body == created


async def test_get_unknown_domain_is_404_naming_it(http: aiohttp.ClientSession) -> None:
    status, body, _ = await call(http, "GET", f"/organization_domains/{UNKNOWN_DOMAIN}")
    assert status == 404
    assert body["code"] == "entity_not_found"
    assert body["entity_id"] == UNKNOWN_DOMAIN
    assert UNKNOWN_DOMAIN in body["message"]


# Verify.


async def test_verify_moves_pending_to_verified(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    created = await create_domain(http, organization["id"], "acme.com")
    emulator.publish_dns_record(created["id"])
    status, verified, _ = await call(http, "POST", f"/organization_domains/{created['id']}/verify")
    assert status == 201
    assert verified["state"] == "verified"
    assert verified["id"] == created["id"]
    assert verified["domain"] == "acme.com"
    assert verified["created_at"] == created["created_at"]
    assert verified["updated_at"] >= created["updated_at"]
    status, fetched, _ = await call(http, "GET", f"/organization_domains/{created['id']}")
    assert fetched == verified
    assert (await get_organization(http, organization["id"]))["domains"] == [verified]


async def test_verify_twice_is_400_already_verified(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    created = await create_domain(http, organization["id"], "acme.com")
    emulator.publish_dns_record(created["id"])
    status, _, _ = await call(http, "POST", f"/organization_domains/{created['id']}/verify")
    assert status == 201
    status, body, _ = await call(http, "POST", f"/organization_domains/{created['id']}/verify")
    assert status == 400
    assert body["code"] == "domain_already_verified"
    assert isinstance(body["message"], str)


async def test_verify_a_domain_added_as_verified_is_400(http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http, domain_data=[{"domain": "acme.com", "state": "verified"}])
    domain_id = organization["domains"][0]["id"]
    status, body, _ = await call(http, "POST", f"/organization_domains/{domain_id}/verify")
    assert status == 400
    assert body["code"] == "domain_already_verified"


async def test_failing_verification_then_a_later_one_succeeds(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    created = await create_domain(http, organization["id"], "acme.com")
    emulator.fail_next_verifications(1)
    status, failed, _ = await call(http, "POST", f"/organization_domains/{created['id']}/verify")
    assert status == 201
    assert failed["state"] == "failed"
    status, fetched, _ = await call(http, "GET", f"/organization_domains/{created['id']}")
    assert fetched["state"] == "failed"
    emulator.publish_dns_record(created["id"])
    status, verified, _ = await call(http, "POST", f"/organization_domains/{created['id']}/verify")
    assert status == 201
    assert verified["state"] == "verified"


async def test_fail_next_verifications_counts(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    domains = [await create_domain(http, organization["id"], f"d{number}.example.com") for number in range(3)]
    for domain in domains:
        emulator.publish_dns_record(domain["id"])
    emulator.fail_next_verifications(2)
    states = []
    for domain in domains:
        status, body, _ = await call(http, "POST", f"/organization_domains/{domain['id']}/verify")
        assert status == 201
        states.append(body["state"])
    assert states == ["failed", "failed", "verified"]


async def test_already_verified_does_not_use_up_a_failure(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http, domain_data=[{"domain": "done.com", "state": "verified"}])
    pending = await create_domain(http, organization["id"], "todo.com")
    emulator.fail_next_verifications(1)
    status, _, _ = await call(http, "POST", f"/organization_domains/{organization['domains'][0]['id']}/verify")
    assert status == 400
    status, body, _ = await call(http, "POST", f"/organization_domains/{pending['id']}/verify")
    assert body["state"] == "failed"


async def test_verify_unknown_domain_is_404(http: aiohttp.ClientSession) -> None:
    status, body, _ = await call(http, "POST", f"/organization_domains/{UNKNOWN_DOMAIN}/verify")
    assert status == 404
    assert body["code"] == "entity_not_found"
    assert body["entity_id"] == UNKNOWN_DOMAIN


# Delete.


async def test_delete_domain_is_204_then_404(http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    kept = await create_domain(http, organization["id"], "keep.com")
    gone = await create_domain(http, organization["id"], "gone.com")
    async with http.delete(f"/organization_domains/{gone['id']}") as response:
        assert response.status == 204
        assert await response.read() == b""
    for method, path in [
        ("GET", f"/organization_domains/{gone['id']}"),
        ("DELETE", f"/organization_domains/{gone['id']}"),
        ("POST", f"/organization_domains/{gone['id']}/verify"),
    ]:
        status, body, _ = await call(http, method, path)
        assert status == 404, (method, path)
        assert body["code"] == "entity_not_found"
        assert body["entity_id"] == gone["id"]
    assert (await get_organization(http, organization["id"]))["domains"] == [kept]


async def test_deleting_the_organization_deletes_its_domains(http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    domain = await create_domain(http, organization["id"], "acme.com")
    status, _, _ = await call(http, "DELETE", f"/organizations/{organization['id']}")
    assert status == 202
    status, body, _ = await call(http, "GET", f"/organization_domains/{domain['id']}")
    assert status == 404
    assert body["code"] == "entity_not_found"


# Malformed IDs and hostile paths.


@pytest.mark.parametrize("domain_id", ["nope", "org_domain_123", UNKNOWN_ORGANIZATION, UNKNOWN_DOMAIN.lower()])
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/organization_domains/{}"),
        ("DELETE", "/organization_domains/{}"),
        ("POST", "/organization_domains/{}/verify"),
    ],
)
async def test_malformed_domain_id_is_plain_not_found(
    http: aiohttp.ClientSession, method: str, template: str, domain_id: str
) -> None:
    status, body, _ = await call(http, method, template.format(domain_id))
    assert status == 404
    assert body == NOT_FOUND


@pytest.mark.parametrize(
    "template",
    [
        "/organizations/..%2Forganization_domains%2F{domain}",
        "/organizations/%2E%2E%2Forganization_domains%2F{domain}",
        "/organization_domains/{domain}%3F",
        "/organization_domains/{domain}%3Fx=1",
        "/organization_domains/{domain}%23",
        "/organization_domains/{domain}%23fragment",
        "/organization_domains/{domain}%2F",
        "/organization_domains/%20{domain}",
        "/organizations/{organization}%3F",
        "/organizations/{organization}%23",
        "/organizations/{organization}%2F..%2F..%2Forganization_domains%2F{domain}",
    ],
)
async def test_encoded_path_tricks_do_not_reach_the_domain(http: aiohttp.ClientSession, template: str) -> None:
    organization = await create_organization(http)
    domain = await create_domain(http, organization["id"], "acme.com")
    path = template.format(domain=domain["id"], organization=organization["id"])
    status, body, _ = await call(http, "GET", path)
    assert status == 404, path
    assert body == NOT_FOUND


async def test_encoded_slash_does_not_verify_or_delete(http: aiohttp.ClientSession) -> None:
    organization = await create_organization(http)
    domain = await create_domain(http, organization["id"], "acme.com")
    for method, path in [
        ("POST", f"/organization_domains/{domain['id']}%2Fverify"),
        ("DELETE", f"/organizations/..%2Forganization_domains%2F{domain['id']}"),
    ]:
        status, body, _ = await call(http, method, path)
        assert status == 404, path
        assert body == NOT_FOUND
    status, body, _ = await call(http, "GET", f"/organization_domains/{domain['id']}")
    assert body == domain


async def test_a_malformed_organization_id_is_a_bare_404_in_a_path_and_entity_not_found_in_a_body(
    http: aiohttp.ClientSession,
) -> None:
    status, body, _ = await call(http, "GET", "/organizations/org_x")
    assert (status, body) == (404, NOT_FOUND)
    status, body, _ = await call(http, "POST", "/organization_domains", {"organization_id": "org_x", "domain": "a.com"})
    assert (status, body["code"], body["entity_id"]) == (404, "entity_not_found", "org_x")
