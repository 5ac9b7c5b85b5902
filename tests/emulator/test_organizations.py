"""Organizations over real HTTP: create, read, update, delete, and the wire basics.

Every expectation here is a line of the API contract: status codes, object shapes, ID and
timestamp formats, update semantics, the 401 and 404 bodies, and `X-Request-ID`.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDictProxy
from yarl import URL

from workos_orgs.emulator import Emulator

ORGANIZATION_ID = re.compile(r"org_[0-9A-HJKMNP-TV-Z]{26}")
DOMAIN_ID = re.compile(r"org_domain_[0-9A-HJKMNP-TV-Z]{26}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
VERIFICATION_TOKEN = re.compile(r"[A-Za-z0-9]{25}")
VERIFICATION_PREFIX = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*-domain-verification-[a-z0-9]{6}")

# An ID of the right shape that no emulator will ever have made.
UNKNOWN_ORGANIZATION_ID = "org_01EHWNCE74X7JSDV0X3SZ3KJNY"
NOT_FOUND = {"message": "Not Found"}
UNAUTHORIZED = {"message": "Unauthorized"}


@attrs.frozen
class Reply:
    status: int
    body: Any  # parsed JSON, or text for anything that is not JSON
    content_type: str
    headers: CIMultiDictProxy[str]


async def send(http: aiohttp.ClientSession, method: str, path: str | URL, **kwargs: Any) -> Reply:
    async with http.request(method, path, **kwargs) as response:
        raw = await response.read()
        is_json = response.content_type == "application/json"
        body = orjson.loads(raw) if is_json else raw.decode()
        return Reply(response.status, body, response.content_type, response.headers)


async def create(http: aiohttp.ClientSession, **fields: Any) -> dict[str, Any]:
    reply = await send(http, "POST", "/organizations", json={"name": "Acme", **fields})
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def update(http: aiohttp.ClientSession, organization_id: str, **fields: Any) -> dict[str, Any]:
    reply = await send(http, "PUT", f"/organizations/{organization_id}", json=fields)
    assert reply.status == 200, reply.body
    return dict(reply.body)


def entity_not_found(entity: str, entity_id: str) -> dict[str, str]:
    return {"message": f"{entity} not found: '{entity_id}'.", "code": "entity_not_found", "entity_id": entity_id}


def by_domain(organization: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {domain["domain"]: domain for domain in organization["domains"]}


def path_segment(text: str) -> URL:
    """`text` as one encoded path segment (dots too, so `..` is not resolved away)."""
    return URL(quote(text, safe="").replace(".", "%2E"), encoded=True)


# Hypothesis examples share one emulator per test; each example resets it first.
SHARED_EMULATOR = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


# Create.


async def test_create_responds_201_and_echoes_every_field(http: aiohttp.ClientSession) -> None:
    reply = await send(
        http,
        "POST",
        "/organizations",
        json={
            "name": "Foo Corp",
            "external_id": "ext-42",
            "metadata": {"tier": "diamond", "region": "eu"},
            "domain_data": [{"domain": "foo-corp.com", "state": "pending"}],
            "allow_profiles_outside_organization": False,
        },
    )
    assert reply.status == 201
    assert reply.content_type == "application/json"
    organization = reply.body
    assert organization["object"] == "organization"
    assert ORGANIZATION_ID.fullmatch(organization["id"])
    assert organization["name"] == "Foo Corp"
    assert organization["external_id"] == "ext-42"
    assert organization["metadata"] == {"tier": "diamond", "region": "eu"}
    assert organization["allow_profiles_outside_organization"] is False
    assert [domain["domain"] for domain in organization["domains"]] == ["foo-corp.com"]
    assert "stripe_customer_id" not in organization


async def test_create_with_only_a_name_has_empty_metadata_null_external_id_and_no_stripe_customer_id(
    http: aiohttp.ClientSession,
) -> None:
    organization = await create(http, name="Bare")
    assert set(organization) == {
        "object",
        "id",
        "name",
        "domains",
        "metadata",
        "external_id",
        "allow_profiles_outside_organization",
        "created_at",
        "updated_at",
    }
    # Recorded live (2021-2025): every organization carries it, `false` unless set.
    assert organization["allow_profiles_outside_organization"] is False
    assert organization["metadata"] == {}
    assert organization["external_id"] is None
    assert organization["domains"] == []


async def test_timestamps_are_utc_with_milliseconds_and_close_to_now(http: aiohttp.ClientSession) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    organization = await create(http)
    after = datetime.now(UTC) + timedelta(seconds=1)
    for field in ("created_at", "updated_at"):
        assert TIMESTAMP.fullmatch(organization[field]), organization[field]
        assert before <= parse_timestamp(organization[field]) <= after
    assert organization["created_at"] == organization["updated_at"]


async def test_ids_are_ulids_that_sort_by_creation(http: aiohttp.ClientSession) -> None:
    ids = [(await create(http, name=f"Org {number}"))["id"] for number in range(5)]
    assert all(ORGANIZATION_ID.fullmatch(ident) for ident in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


# Domains given on create.


async def test_pending_domain_gets_dns_strategy_a_token_and_a_prefix(http: aiohttp.ClientSession) -> None:
    organization = await create(http, domain_data=[{"domain": "foo-corp.com", "state": "pending"}])
    [domain] = organization["domains"]
    assert domain["object"] == "organization_domain"
    assert DOMAIN_ID.fullmatch(domain["id"])
    assert domain["organization_id"] == organization["id"]
    assert domain["domain"] == "foo-corp.com"
    assert domain["state"] == "pending"
    assert domain["verification_strategy"] == "dns"
    assert VERIFICATION_TOKEN.fullmatch(domain["verification_token"])
    assert VERIFICATION_PREFIX.fullmatch(domain["verification_prefix"])
    assert TIMESTAMP.fullmatch(domain["created_at"])
    assert TIMESTAMP.fullmatch(domain["updated_at"])


async def test_each_pending_domain_gets_its_own_token(http: aiohttp.ClientSession) -> None:
    organization = await create(
        http,
        domain_data=[{"domain": "a.example.com", "state": "pending"}, {"domain": "b.example.com", "state": "pending"}],
    )
    tokens = {domain["verification_token"] for domain in organization["domains"]}
    assert len(tokens) == 2


async def test_verified_domain_gets_manual_strategy_and_no_token(http: aiohttp.ClientSession) -> None:
    organization = await create(http, domain_data=[{"domain": "foo-corp.com", "state": "verified"}])
    [domain] = organization["domains"]
    assert domain["state"] == "verified"
    assert domain["verification_strategy"] == "manual"
    # Recorded live (2024, 2025): no token or prefix keys at all, not null.
    assert "verification_token" not in domain
    assert "verification_prefix" not in domain


async def test_deprecated_domains_list_creates_legacy_verified_domains(http: aiohttp.ClientSession) -> None:
    organization = await create(http, domains=["foo-corp.com", "bar-corp.com"])
    assert {name: domain["state"] for name, domain in by_domain(organization).items()} == {
        "foo-corp.com": "legacy_verified",
        "bar-corp.com": "legacy_verified",
    }
    assert all(domain["organization_id"] == organization["id"] for domain in organization["domains"])
    # Recorded live (2024): a legacy domain has no strategy, token or prefix keys.
    for domain in organization["domains"]:
        assert not {"verification_strategy", "verification_token", "verification_prefix"} & set(domain)


async def test_the_deprecated_domains_list_on_update_leaves_the_domains_it_names_as_they_are(
    http: aiohttp.ClientSession,
) -> None:
    # The list names no state: a verified or pending domain it names is not made legacy.  That
    # it replaces the set, as `domain_data` does, is assumed (the sources are silent).
    organization = await create(
        http,
        domain_data=[
            {"domain": "keep.com", "state": "verified"},
            {"domain": "wait.com", "state": "pending"},
            {"domain": "gone.com", "state": "pending"},
        ],
    )
    before = by_domain(organization)
    reply = await send(
        http, "PUT", f"/organizations/{organization['id']}", json={"domains": ["keep.com", "wait.com", "new.com"]}
    )
    assert reply.status == 200
    after = by_domain(reply.body)
    assert set(after) == {"keep.com", "wait.com", "new.com"}
    assert (after["keep.com"], after["wait.com"]) == (before["keep.com"], before["wait.com"])
    assert after["new.com"]["state"] == "legacy_verified"


# Read.


async def test_get_returns_the_organization_as_created(http: aiohttp.ClientSession) -> None:
    created = await create(
        http, external_id="ext-1", metadata={"k": "v"}, domain_data=[{"domain": "a.com", "state": "pending"}]
    )
    reply = await send(http, "GET", f"/organizations/{created['id']}")
    assert (reply.status, reply.body) == (200, created)


async def test_get_by_external_id_finds_the_organization(http: aiohttp.ClientSession) -> None:
    created = await create(http, external_id="2fe01467-f7ea-4dd2-8b79-c2b4f56d0191")
    reply = await send(http, "GET", "/organizations/external_id/2fe01467-f7ea-4dd2-8b79-c2b4f56d0191")
    assert (reply.status, reply.body) == (200, created)


async def test_get_by_unknown_external_id_is_entity_not_found(http: aiohttp.ClientSession) -> None:
    reply = await send(http, "GET", "/organizations/external_id/nobody-has-this")
    assert (reply.status, reply.body) == (404, entity_not_found("Organization", "nobody-has-this"))


@SHARED_EMULATOR
@given(external_id=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=128))
async def test_any_printable_ascii_external_id_round_trips_through_get_by_external_id(
    emulator: Emulator, http: aiohttp.ClientSession, external_id: str
) -> None:
    emulator.reset()
    created = await create(http, external_id=external_id)
    reply = await send(http, "GET", URL("/organizations/external_id/").join(path_segment(external_id)))
    assert (reply.status, reply.body) == (200, created)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_unknown_organization_id_is_entity_not_found(http: aiohttp.ClientSession, method: str) -> None:
    body = {"name": "Renamed"} if method == "PUT" else None
    reply = await send(http, method, f"/organizations/{UNKNOWN_ORGANIZATION_ID}", json=body)
    assert (reply.status, reply.body) == (404, entity_not_found("Organization", UNKNOWN_ORGANIZATION_ID))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("malformed_id", ["org_123", "not-an-id", "org_01EHWNCE74X7JSDV0X3SZ3KJNI", "org_domain_x"])
async def test_malformed_organization_id_is_a_bare_not_found(
    http: aiohttp.ClientSession, method: str, malformed_id: str
) -> None:
    body = {"name": "Renamed"} if method == "PUT" else None
    reply = await send(http, method, f"/organizations/{malformed_id}", json=body)
    assert (reply.status, reply.body) == (404, NOT_FOUND)


async def test_unknown_route_is_a_bare_not_found(http: aiohttp.ClientSession) -> None:
    reply = await send(http, "GET", "/no_such_resource")
    assert (reply.status, reply.body) == (404, NOT_FOUND)


# Update.


async def test_update_changes_only_the_fields_given(http: aiohttp.ClientSession) -> None:
    created = await create(
        http, external_id="ext-1", metadata={"k": "v"}, domain_data=[{"domain": "a.com", "state": "pending"}]
    )
    updated = await update(http, created["id"], name="Renamed")
    assert updated["name"] == "Renamed"
    unchanged = {key: value for key, value in created.items() if key not in ("name", "updated_at")}
    assert {key: updated[key] for key in unchanged} == unchanged
    assert updated["updated_at"] >= created["updated_at"]
    reply = await send(http, "GET", f"/organizations/{created['id']}")
    assert reply.body == updated


async def test_update_with_an_empty_body_changes_nothing_but_updated_at(http: aiohttp.ClientSession) -> None:
    created = await create(http, external_id="ext-1", metadata={"k": "v"})
    updated = await update(http, created["id"])
    assert {**updated, "updated_at": created["updated_at"]} == created


async def test_update_external_id_null_clears_it(http: aiohttp.ClientSession) -> None:
    created = await create(http, external_id="ext-1")
    assert (await update(http, created["id"], external_id=None))["external_id"] is None
    reply = await send(http, "GET", "/organizations/external_id/ext-1")
    assert reply.status == 404


async def test_update_external_id_moves_the_lookup(http: aiohttp.ClientSession) -> None:
    created = await create(http, external_id="old")
    await update(http, created["id"], external_id="new")
    assert (await send(http, "GET", "/organizations/external_id/new")).body["id"] == created["id"]
    assert (await send(http, "GET", "/organizations/external_id/old")).status == 404


async def test_update_metadata_sets_given_keys_removes_null_ones_and_keeps_the_rest(
    http: aiohttp.ClientSession,
) -> None:
    created = await create(http, metadata={"keep": "1", "change": "2", "drop": "3"})
    updated = await update(http, created["id"], metadata={"change": "two", "drop": None, "add": "4"})
    assert updated["metadata"] == {"keep": "1", "change": "two", "add": "4"}


async def test_update_metadata_empty_object_removes_every_key(http: aiohttp.ClientSession) -> None:
    # WorkOS's metadata docs: "metadata: {}" on update removes every key.
    created = await create(http, metadata={"a": "1", "b": "2"})
    assert (await update(http, created["id"], metadata={}))["metadata"] == {}


METADATA_KEYS = st.sampled_from(["a", "b", "c", "d"])
METADATA_PATCHES = st.dictionaries(METADATA_KEYS, st.none() | st.sampled_from(["x", "y", ""]), max_size=4)


@SHARED_EMULATOR
@given(
    initial=st.dictionaries(METADATA_KEYS, st.sampled_from(["x", "y"])), patches=st.lists(METADATA_PATCHES, max_size=4)
)
async def test_update_metadata_behaves_like_a_dict_merge_with_null_deletes(
    emulator: Emulator,
    http: aiohttp.ClientSession,
    initial: dict[str, str],
    patches: list[dict[str, str | None]],
) -> None:
    emulator.reset()
    organization = await create(http, metadata=initial)
    expected = dict(initial)
    for patch in patches:
        # Given keys set, null keys removed, the rest kept; `{}` removes every key.
        merged = {**expected, **patch} if patch else {}
        expected = {key: value for key, value in merged.items() if value is not None}
        organization = await update(http, organization["id"], metadata=patch)
        assert organization["metadata"] == expected


async def test_update_metadata_null_clears_all_keys(http: aiohttp.ClientSession) -> None:
    created = await create(http, metadata={"a": "1", "b": "2"})
    assert (await update(http, created["id"], metadata=None))["metadata"] == {}


async def test_update_domain_data_replaces_the_set_and_kept_domains_keep_their_ids(
    http: aiohttp.ClientSession,
) -> None:
    created = await create(
        http,
        domain_data=[{"domain": "kept.com", "state": "pending"}, {"domain": "dropped.com", "state": "pending"}],
    )
    kept_before = by_domain(created)["kept.com"]
    dropped_id = by_domain(created)["dropped.com"]["id"]
    updated = await update(
        http,
        created["id"],
        domain_data=[{"domain": "kept.com", "state": "pending"}, {"domain": "added.com", "state": "verified"}],
    )
    domains = by_domain(updated)
    assert set(domains) == {"kept.com", "added.com"}
    assert domains["kept.com"] == kept_before
    added = domains["added.com"]
    assert DOMAIN_ID.fullmatch(added["id"])
    assert added["id"] not in (kept_before["id"], dropped_id)
    assert (added["state"], added["verification_strategy"]) == ("verified", "manual")
    assert not {"verification_token", "verification_prefix"} & set(added)
    reply = await send(http, "GET", f"/organization_domains/{dropped_id}")
    assert (reply.status, reply.body) == (404, entity_not_found("Organization Domain", dropped_id))


async def test_update_domain_data_empty_list_clears_all_domains(http: aiohttp.ClientSession) -> None:
    created = await create(http, domain_data=[{"domain": "a.com", "state": "pending"}])
    assert (await update(http, created["id"], domain_data=[]))["domains"] == []


async def test_update_without_domain_data_keeps_the_domains(http: aiohttp.ClientSession) -> None:
    created = await create(http, domain_data=[{"domain": "a.com", "state": "pending"}])
    assert (await update(http, created["id"], name="Renamed"))["domains"] == created["domains"]


async def test_update_domain_from_pending_to_verified_switches_to_manual_without_token(
    http: aiohttp.ClientSession,
) -> None:
    created = await create(http, domain_data=[{"domain": "a.com", "state": "pending"}])
    [before] = created["domains"]
    updated = await update(http, created["id"], domain_data=[{"domain": "a.com", "state": "verified"}])
    [after] = updated["domains"]
    assert after["id"] == before["id"]
    assert (after["state"], after["verification_strategy"]) == ("verified", "manual")
    assert not {"verification_token", "verification_prefix"} & set(after)


async def test_update_domain_from_verified_to_pending_gets_dns_and_a_fresh_token(http: aiohttp.ClientSession) -> None:
    created = await create(http, domain_data=[{"domain": "a.com", "state": "verified"}])
    updated = await update(http, created["id"], domain_data=[{"domain": "a.com", "state": "pending"}])
    [after] = updated["domains"]
    assert after["id"] == created["domains"][0]["id"]
    assert (after["state"], after["verification_strategy"]) == ("pending", "dns")
    assert VERIFICATION_TOKEN.fullmatch(after["verification_token"])
    assert VERIFICATION_PREFIX.fullmatch(after["verification_prefix"])


async def test_update_sets_stripe_customer_id_and_null_removes_it(http: aiohttp.ClientSession) -> None:
    created = await create(http)
    assert (await update(http, created["id"], stripe_customer_id="cus_R9qWAGMQ6nGE7V"))["stripe_customer_id"] == (
        "cus_R9qWAGMQ6nGE7V"
    )
    assert (await send(http, "GET", f"/organizations/{created['id']}")).body[
        "stripe_customer_id"
    ] == "cus_R9qWAGMQ6nGE7V"
    assert "stripe_customer_id" not in await update(http, created["id"], stripe_customer_id=None)


async def test_stripe_customer_id_used_by_another_organization_is_refused(http: aiohttp.ClientSession) -> None:
    first, second = await create(http, name="First"), await create(http, name="Second")
    await update(http, first["id"], stripe_customer_id="cus_taken")
    reply = await send(http, "PUT", f"/organizations/{second['id']}", json={"stripe_customer_id": "cus_taken"})
    assert reply.status == 400
    assert reply.body["code"] == "stripe_customer_id_already_used"
    assert isinstance(reply.body["message"], str)
    assert "stripe_customer_id" not in (await send(http, "GET", f"/organizations/{second['id']}")).body


async def test_setting_an_organizations_own_stripe_customer_id_again_is_fine(http: aiohttp.ClientSession) -> None:
    created = await create(http)
    await update(http, created["id"], stripe_customer_id="cus_mine")
    assert (await update(http, created["id"], stripe_customer_id="cus_mine"))["stripe_customer_id"] == "cus_mine"


# Delete.


async def test_delete_responds_202_accepted_as_plain_text(http: aiohttp.ClientSession) -> None:
    created = await create(http)
    reply = await send(http, "DELETE", f"/organizations/{created['id']}")
    assert (reply.status, reply.content_type, reply.body) == (202, "text/plain", "Accepted")


async def test_deleted_organization_is_gone(http: aiohttp.ClientSession) -> None:
    created = await create(http, external_id="ext-1")
    await send(http, "DELETE", f"/organizations/{created['id']}")
    expected = (404, entity_not_found("Organization", created["id"]))
    for method in ("GET", "DELETE"):
        reply = await send(http, method, f"/organizations/{created['id']}")
        assert (reply.status, reply.body) == expected
    assert (await send(http, "GET", "/organizations/external_id/ext-1")).status == 404
    listing = await send(http, "GET", "/organizations")
    assert listing.body["data"] == []


async def test_delete_cascades_to_the_organizations_domains(http: aiohttp.ClientSession) -> None:
    created = await create(
        http, domain_data=[{"domain": "a.com", "state": "pending"}, {"domain": "b.com", "state": "verified"}]
    )
    await send(http, "DELETE", f"/organizations/{created['id']}")
    for domain in created["domains"]:
        reply = await send(http, "GET", f"/organization_domains/{domain['id']}")
        assert (reply.status, reply.body) == (404, entity_not_found("Organization Domain", domain["id"]))


async def test_deleting_one_organization_leaves_the_others_alone(http: aiohttp.ClientSession) -> None:
    doomed = await create(http, name="Doomed", domain_data=[{"domain": "shared.com", "state": "pending"}])
    survivor = await create(http, name="Survivor", domain_data=[{"domain": "shared.com", "state": "pending"}])
    await send(http, "DELETE", f"/organizations/{doomed['id']}")
    reply = await send(http, "GET", f"/organizations/{survivor['id']}")
    assert (reply.status, reply.body) == (200, survivor)


# Authentication and request IDs.

ROUTES = [
    ("GET", "/organizations"),
    ("POST", "/organizations"),
    ("GET", f"/organizations/{UNKNOWN_ORGANIZATION_ID}"),
    ("GET", "/organizations/external_id/ext-1"),
    ("PUT", f"/organizations/{UNKNOWN_ORGANIZATION_ID}"),
    ("DELETE", f"/organizations/{UNKNOWN_ORGANIZATION_ID}"),
    ("POST", "/organization_domains"),
    ("GET", "/organization_domains/org_domain_01EHZNVPK2QXHMVWCEDQEKY69A"),
    ("POST", "/organization_domains/org_domain_01EHZNVPK2QXHMVWCEDQEKY69A/verify"),
    ("DELETE", "/organization_domains/org_domain_01EHZNVPK2QXHMVWCEDQEKY69A"),
    ("GET", "/_emulator/requests"),
    ("POST", "/_emulator/reset"),
]

BAD_CREDENTIALS = {
    "no header": {},
    "wrong key": {"Authorization": "Bearer sk_test_wrong"},
    "key without Bearer": {"Authorization": "sk_test_default"},
    "empty bearer": {"Authorization": "Bearer "},
}


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS), ids=list(BAD_CREDENTIALS))
async def test_every_route_refuses_a_missing_or_wrong_key(
    emulator: Emulator, method: str, path: str, credentials: str
) -> None:
    async with aiohttp.ClientSession(base_url=emulator.url, headers=BAD_CREDENTIALS[credentials]) as anonymous:
        reply = await send(anonymous, method, path, json={"name": "Acme"} if method in ("POST", "PUT") else None)
    assert (reply.status, reply.content_type, reply.body) == (401, "application/json", UNAUTHORIZED)
    assert uuid.UUID(reply.headers["X-Request-ID"])


async def test_a_refused_request_changes_nothing(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    async with aiohttp.ClientSession(base_url=emulator.url) as anonymous:
        await send(anonymous, "POST", "/organizations", json={"name": "Sneaky"})
    assert (await send(http, "GET", "/organizations")).body["data"] == []


async def test_health_responds_200_without_a_key(emulator: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emulator.url) as anonymous:
        reply = await send(anonymous, "GET", "/health")
    assert reply.status == 200
    assert uuid.UUID(reply.headers["X-Request-ID"])


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/organizations", {"name": "Acme"}, 201),
        ("GET", "/organizations", None, 200),
        ("GET", f"/organizations/{UNKNOWN_ORGANIZATION_ID}", None, 404),
        ("GET", "/organizations/bad-id", None, 404),
        ("POST", "/organizations", {"name": ""}, 422),
        ("GET", "/_emulator/requests", None, 200),
    ],
)
async def test_every_response_carries_a_fresh_uuid_request_id(
    http: aiohttp.ClientSession, method: str, path: str, body: Any, status: int
) -> None:
    first = await send(http, method, path, json=body)
    second = await send(http, method, path, json=body)
    assert first.status == status
    ids = [uuid.UUID(reply.headers["X-Request-ID"]) for reply in (first, second)]
    assert ids[0] != ids[1]


async def test_delete_response_carries_a_request_id(http: aiohttp.ClientSession) -> None:
    created = await create(http)
    reply = await send(http, "DELETE", f"/organizations/{created['id']}")
    assert uuid.UUID(reply.headers["X-Request-ID"])
