"""What the emulator refuses, and with which body: one line of the API contract per case.

Type and shape errors are a 422 naming every bad field; metadata over a limit and taken
unique values are a 400 with a code; a duplicate domain is a 409; an oversized body a 413.
"""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import orjson
import pytest

from workos_orgs.emulator import Emulator, Limits
from workos_orgs.emulator._limits import MAX_FIELD_ERRORS

MAX_BODY_BYTES = 1024 * 1024
UNKNOWN_ORGANIZATION_ID = "org_01EHWNCE74X7JSDV0X3SZ3KJNY"


async def send(http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.request(method, path, **kwargs) as response:
        return response.status, await response.json()


async def create(http: aiohttp.ClientSession, **fields: Any) -> dict[str, Any]:
    status, body = await send(http, "POST", "/organizations", json={"name": "Acme", **fields})
    assert status == 201, body
    return dict(body)


def assert_validation_failed(status: int, body: Any, *fields: str) -> None:
    """A 422 in the contract's shape whose `errors` name exactly `fields`."""
    assert status == 422, body
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == "invalid_request_parameters"
    assert body["message"] == "Validation failed"
    assert {error["field"] for error in body["errors"]} == set(fields)
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message"}
        assert isinstance(error["code"], str)
        assert isinstance(error["message"], str)
        assert error["message"]


def assert_bad_request(status: int, body: Any, code: str) -> None:
    assert status == 400, body
    assert set(body) == {"code", "message"}
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]


async def post_or_put(http: aiohttp.ClientSession, verb: str, body: Any) -> tuple[int, Any]:
    """Send `body` as a create, or as an update of a fresh organization."""
    if verb == "POST":
        return await send(http, "POST", "/organizations", json=body)
    organization = await create(http, name="Target")
    return await send(http, "PUT", f"/organizations/{organization['id']}", json=body)


BOTH_VERBS = pytest.mark.parametrize("verb", ["POST", "PUT"])


# Shape and type errors: 422.


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "   "}, {"name": None}, {"name": 42}, {"name": ["Acme"]}, {"name": {"en": "Acme"}}],
    ids=["missing", "empty", "blank", "null", "number", "array", "object"],
)
async def test_create_needs_a_non_empty_string_name(http: aiohttp.ClientSession, body: dict[str, Any]) -> None:
    assert_validation_failed(*await send(http, "POST", "/organizations", json=body), "name")


@pytest.mark.parametrize("name", ["", None, 42], ids=["empty", "null", "number"])
async def test_update_refuses_a_bad_name_too(http: aiohttp.ClientSession, name: Any) -> None:
    assert_validation_failed(*await post_or_put(http, "PUT", {"name": name}), "name")


@BOTH_VERBS
@pytest.mark.parametrize(
    "raw",
    [b'{"name": "Acme"', b"{name: 'Acme'}", b"not json", b'{"name": "Acme"} trailing'],
    ids=["truncated", "single-quoted", "text", "trailing"],
)
async def test_malformed_json_is_a_422(http: aiohttp.ClientSession, verb: str, raw: bytes) -> None:
    organization_id = (await create(http))["id"] if verb == "PUT" else None
    path = "/organizations" if verb == "POST" else f"/organizations/{organization_id}"
    headers = {"Content-Type": "application/json"}
    assert_validation_failed(*await send(http, verb, path, data=raw, headers=headers), "body")


@pytest.mark.parametrize("body", [[{"name": "Acme"}], "Acme", 42, None], ids=["array", "string", "number", "null"])
async def test_a_body_that_is_not_a_json_object_is_a_422(http: aiohttp.ClientSession, body: Any) -> None:
    raw = orjson.dumps(body)
    status, reply = await send(http, "POST", "/organizations", data=raw, headers={"Content-Type": "application/json"})
    assert_validation_failed(status, reply, "body")


@BOTH_VERBS
async def test_every_bad_field_is_listed_in_one_422(http: aiohttp.ClientSession, verb: str) -> None:
    body = {
        "name": 7,
        "external_id": 8,
        "metadata": "tier=gold",
        "domain_data": "foo.com",
        "domains": "foo.com",
        "allow_profiles_outside_organization": "yes",
    }
    expected = set(body)
    if verb == "PUT":
        body["stripe_customer_id"] = 9
        expected.add("stripe_customer_id")
    assert_validation_failed(*await post_or_put(http, verb, body), *expected)


async def test_a_refused_create_stores_nothing(http: aiohttp.ClientSession) -> None:
    await send(http, "POST", "/organizations", json={"name": "Acme", "external_id": 5})
    _, listing = await send(http, "GET", "/organizations")
    assert listing["data"] == []


async def test_a_refused_update_changes_nothing(http: aiohttp.ClientSession) -> None:
    organization = await create(http, name="Before")
    await send(http, "PUT", f"/organizations/{organization['id']}", json={"name": "After", "metadata": {"k": 1}})
    _, fetched = await send(http, "GET", f"/organizations/{organization['id']}")
    assert fetched == organization


# Metadata limits: 400 invalid_metadata; exactly at a limit is fine.

TOO_MUCH_METADATA = {
    "51 keys": {f"key{number}": "v" for number in range(51)},
    "41-character key": {"k" * 41: "v"},
    "601-character value": {"k": "v" * 601},
}
METADATA_AT_THE_LIMITS = {
    "50 keys": {f"key{number}": "v" for number in range(50)},
    "40-character key": {"k" * 40: "v"},
    "600-character value": {"k": "v" * 600},
    "empty": {},
}


@BOTH_VERBS
@pytest.mark.parametrize("metadata", list(TOO_MUCH_METADATA.values()), ids=list(TOO_MUCH_METADATA))
async def test_metadata_over_a_limit_is_invalid_metadata(
    http: aiohttp.ClientSession, verb: str, metadata: dict[str, str]
) -> None:
    assert_bad_request(*await post_or_put(http, verb, {"name": "Acme", "metadata": metadata}), "invalid_metadata")


@BOTH_VERBS
@pytest.mark.parametrize("metadata", list(METADATA_AT_THE_LIMITS.values()), ids=list(METADATA_AT_THE_LIMITS))
async def test_metadata_exactly_at_the_limits_is_accepted(
    http: aiohttp.ClientSession, verb: str, metadata: dict[str, str]
) -> None:
    status, body = await post_or_put(http, verb, {"name": "Acme", "metadata": metadata})
    assert (status, body["metadata"]) == (201 if verb == "POST" else 200, metadata)


async def test_update_counts_the_merged_metadata_against_the_key_limit(http: aiohttp.ClientSession) -> None:
    organization = await create(http, metadata={f"old{number}": "v" for number in range(30)})
    status, body = await send(
        http,
        "PUT",
        f"/organizations/{organization['id']}",
        json={"metadata": {f"new{number}": "v" for number in range(21)}},
    )
    assert_bad_request(status, body, "invalid_metadata")


async def test_update_may_stay_at_the_key_limit_by_removing_keys(http: aiohttp.ClientSession) -> None:
    organization = await create(http, metadata={f"old{number}": "v" for number in range(50)})
    status, body = await send(
        http, "PUT", f"/organizations/{organization['id']}", json={"metadata": {"old0": None, "new": "v"}}
    )
    assert status == 200
    assert len(body["metadata"]) == 50


async def test_update_body_may_not_name_more_metadata_keys_than_the_limit_even_to_remove_them(
    http: aiohttp.ClientSession,
) -> None:
    # The body's metadata object is held to the schema's limits (maxProperties 50), whatever
    # the merge would leave: 50 removals of absent keys and one key set still name 51 keys.
    organization = await create(http, metadata={"keep": "v"})
    metadata: dict[str, str | None] = {f"gone{number}": None for number in range(50)}
    metadata["new"] = "v"
    status, body = await send(http, "PUT", f"/organizations/{organization['id']}", json={"metadata": metadata})
    assert_bad_request(status, body, "invalid_metadata")
    assert (await send(http, "GET", f"/organizations/{organization['id']}"))[1]["metadata"] == {"keep": "v"}


async def test_update_body_may_not_name_a_metadata_key_longer_than_the_limit_even_to_remove_it(
    http: aiohttp.ClientSession,
) -> None:
    organization = await create(http, metadata={"keep": "v"})
    status, body = await send(http, "PUT", f"/organizations/{organization['id']}", json={"metadata": {"k" * 41: None}})
    assert_bad_request(status, body, "invalid_metadata")
    assert "41 characters" in body["message"]


@BOTH_VERBS
@pytest.mark.parametrize(
    "value", [1, 1.5, True, ["a"], {"nested": "x"}], ids=["int", "float", "bool", "array", "object"]
)
async def test_metadata_values_must_be_strings(http: aiohttp.ClientSession, verb: str, value: Any) -> None:
    status, body = await post_or_put(http, verb, {"name": "Acme", "metadata": {"tier": value}})
    assert_validation_failed(status, body, "metadata.tier")


@BOTH_VERBS
@pytest.mark.parametrize("metadata", ["tier", ["tier"], 5], ids=["string", "array", "number"])
async def test_metadata_must_be_an_object(http: aiohttp.ClientSession, verb: str, metadata: Any) -> None:
    assert_validation_failed(*await post_or_put(http, verb, {"name": "Acme", "metadata": metadata}), "metadata")


# external_id: at most 128 ASCII characters, unique per environment.


@BOTH_VERBS
@pytest.mark.parametrize(
    "external_id", ["x" * 129, "café", "ユーザー", "emoji-🙂"], ids=["129 chars", "accent", "kana", "emoji"]
)
async def test_external_id_must_be_at_most_128_ascii_characters(
    http: aiohttp.ClientSession, verb: str, external_id: str
) -> None:
    assert_validation_failed(
        *await post_or_put(http, verb, {"name": "Acme", "external_id": external_id}), "external_id"
    )


@BOTH_VERBS
@pytest.mark.parametrize(
    "external_id",
    ["x" * 128, "2fe01467-f7ea-4dd2-8b79-c2b4f56d0191", "a b/c?d#e%f"],
    ids=["128 chars", "uuid", "punctuation"],
)
async def test_external_id_of_up_to_128_ascii_characters_is_accepted(
    http: aiohttp.ClientSession, verb: str, external_id: str
) -> None:
    status, body = await post_or_put(http, verb, {"name": "Acme", "external_id": external_id})
    assert (status, body["external_id"]) == (201 if verb == "POST" else 200, external_id)


async def test_create_with_a_taken_external_id_is_refused(http: aiohttp.ClientSession) -> None:
    await create(http, name="First", external_id="ext-1")
    status, body = await send(http, "POST", "/organizations", json={"name": "Second", "external_id": "ext-1"})
    assert_bad_request(status, body, "external_id_already_used")
    _, listing = await send(http, "GET", "/organizations")
    assert [organization["name"] for organization in listing["data"]] == ["First"]


async def test_update_to_another_organizations_external_id_is_refused(http: aiohttp.ClientSession) -> None:
    await create(http, name="First", external_id="ext-1")
    second = await create(http, name="Second", external_id="ext-2")
    status, body = await send(http, "PUT", f"/organizations/{second['id']}", json={"external_id": "ext-1"})
    assert_bad_request(status, body, "external_id_already_used")
    _, fetched = await send(http, "GET", f"/organizations/{second['id']}")
    assert fetched["external_id"] == "ext-2"


async def test_update_to_the_organizations_own_external_id_is_fine(http: aiohttp.ClientSession) -> None:
    organization = await create(http, external_id="ext-1")
    status, body = await send(http, "PUT", f"/organizations/{organization['id']}", json={"external_id": "ext-1"})
    assert (status, body["external_id"]) == (200, "ext-1")


async def test_a_cleared_external_id_can_be_used_again(http: aiohttp.ClientSession) -> None:
    first = await create(http, name="First", external_id="ext-1")
    await send(http, "PUT", f"/organizations/{first['id']}", json={"external_id": None})
    assert (await create(http, name="Second", external_id="ext-1"))["external_id"] == "ext-1"


async def test_organizations_without_external_id_do_not_clash(http: aiohttp.ClientSession) -> None:
    first, second = await create(http, name="First"), await create(http, name="Second")
    assert first["external_id"] is second["external_id"] is None


# Domains.


@BOTH_VERBS
@pytest.mark.parametrize(
    "entry",
    [
        {"domain": "foo.com", "state": "legacy_verified"},
        {"domain": "foo.com", "state": "failed"},
        {"domain": "foo.com", "state": "unverified"},
        {"domain": "foo.com", "state": "bogus"},
        {"domain": "foo.com", "state": None},
        {"domain": "foo.com"},
    ],
    ids=["legacy_verified", "failed", "unverified", "bogus", "null", "missing"],
)
async def test_domain_data_state_must_be_pending_or_verified(
    http: aiohttp.ClientSession, verb: str, entry: dict[str, Any]
) -> None:
    assert_validation_failed(
        *await post_or_put(http, verb, {"name": "Acme", "domain_data": [entry]}), "domain_data[0].state"
    )


@BOTH_VERBS
@pytest.mark.parametrize(
    "domain",
    ["", "not a domain", "localhost", "-bad-.com", "foo..com", "https://foo.com", "foo.com/path", 42, None],
    ids=["empty", "spaces", "no dot", "hyphens", "empty label", "url", "path", "number", "null"],
)
async def test_domain_data_domain_must_be_a_domain_name(http: aiohttp.ClientSession, verb: str, domain: Any) -> None:
    body = {
        "name": "Acme",
        "domain_data": [{"domain": "ok.com", "state": "pending"}, {"domain": domain, "state": "pending"}],
    }
    assert_validation_failed(*await post_or_put(http, verb, body), "domain_data[1].domain")


@BOTH_VERBS
@pytest.mark.parametrize(
    "entries", ["foo.com", {"domain": "foo.com"}, ["foo.com"]], ids=["string", "object", "array of strings"]
)
async def test_domain_data_must_be_an_array_of_objects(http: aiohttp.ClientSession, verb: str, entries: Any) -> None:
    status, body = await post_or_put(http, verb, {"name": "Acme", "domain_data": entries})
    assert status == 422
    assert body["code"] == "invalid_request_parameters"
    assert all(error["field"].startswith("domain_data") for error in body["errors"])


CONSUMER_DOMAINS = [
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "GMail.com",
]


@BOTH_VERBS
@pytest.mark.parametrize("domain", CONSUMER_DOMAINS)
async def test_consumer_domains_are_refused_in_domain_data(http: aiohttp.ClientSession, verb: str, domain: str) -> None:
    body = {"name": "Acme", "domain_data": [{"domain": domain, "state": "verified"}]}
    assert_validation_failed(*await post_or_put(http, verb, body), "domain_data[0].domain")


@pytest.mark.parametrize("domain", ["gmail.com", "proton.me"])
async def test_consumer_domains_are_refused_in_the_deprecated_domains_list(
    http: aiohttp.ClientSession, domain: str
) -> None:
    status, body = await send(http, "POST", "/organizations", json={"name": "Acme", "domains": [domain]})
    assert_validation_failed(status, body, "domains[0]")


@pytest.mark.parametrize("domain", ["gmail.com", "yahoo.com"])
async def test_consumer_domains_are_refused_by_create_domain(http: aiohttp.ClientSession, domain: str) -> None:
    organization = await create(http)
    status, body = await send(
        http, "POST", "/organization_domains", json={"organization_id": organization["id"], "domain": domain}
    )
    assert_validation_failed(status, body, "domain")


@BOTH_VERBS
@pytest.mark.parametrize(
    ("first", "second"),
    [("foo.com", "foo.com"), ("foo.com", "FOO.com")],
    ids=["same", "different case"],
)
async def test_a_domain_listed_twice_is_domain_already_exists(
    http: aiohttp.ClientSession, verb: str, first: str, second: str
) -> None:
    body = {
        "name": "Acme",
        "domain_data": [{"domain": first, "state": "pending"}, {"domain": second, "state": "verified"}],
    }
    status, reply = await post_or_put(http, verb, body)
    assert status == 409
    assert set(reply) == {"code", "message"}
    assert reply["code"] == "domain_already_exists"


async def test_domain_names_are_stored_lowercase(http: aiohttp.ClientSession) -> None:
    organization = await create(http, domain_data=[{"domain": "Foo-Corp.COM", "state": "pending"}])
    assert [domain["domain"] for domain in organization["domains"]] == ["foo-corp.com"]


# Body size.


def padded_body(size: int) -> io.BytesIO:
    """A valid create body of exactly `size` bytes (a stream: aiohttp warns about big raw bytes)."""
    skeleton = orjson.dumps({"name": ""})
    raw = orjson.dumps({"name": "x" * (size - len(skeleton))})
    assert len(raw) == size
    return io.BytesIO(raw)


async def test_a_body_over_1_mib_is_a_413(http: aiohttp.ClientSession) -> None:
    raw = padded_body(MAX_BODY_BYTES + 1)
    async with http.post("/organizations", data=raw, headers={"Content-Type": "application/json"}) as response:
        assert response.status == 413
        assert isinstance((await response.json())["message"], str)
        assert response.headers["X-Request-ID"]
    _, listing = await send(http, "GET", "/organizations")
    assert listing["data"] == []


async def test_a_body_of_exactly_1_mib_is_accepted() -> None:
    # The name cap is raised so that the padding (in the name) tests the body size alone.
    async with Emulator(limits=Limits(name_length=MAX_BODY_BYTES)) as emu:
        async with aiohttp.ClientSession(emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as http:
            raw = padded_body(MAX_BODY_BYTES)
            headers = {"Content-Type": "application/json"}
            status, body = await send(http, "POST", "/organizations", data=raw, headers=headers)
    assert (status, len(body["name"])) == (201, MAX_BODY_BYTES - len(b'{"name":""}'))


# The domain endpoint's own body.


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"organization_id", "domain"}),
        ({"domain": "foo.com"}, {"organization_id"}),
        ({"organization_id": UNKNOWN_ORGANIZATION_ID}, {"domain"}),
        ({"organization_id": 5, "domain": "foo.com"}, {"organization_id"}),
        ({"organization_id": UNKNOWN_ORGANIZATION_ID, "domain": "not a domain"}, {"domain"}),
    ],
    ids=["empty", "no organization_id", "no domain", "organization_id not a string", "bad domain"],
)
async def test_create_domain_body_is_validated(http: aiohttp.ClientSession, body: Any, fields: set[str]) -> None:
    assert_validation_failed(*await send(http, "POST", "/organization_domains", json=body), *fields)


# Length caps, so that no organization makes every listing page huge.


@BOTH_VERBS
async def test_a_name_over_255_characters_is_refused(http: aiohttp.ClientSession, verb: str) -> None:
    assert_validation_failed(*await post_or_put(http, verb, {"name": "N" * 256}), "name")


@BOTH_VERBS
async def test_a_name_of_255_characters_is_accepted(http: aiohttp.ClientSession, verb: str) -> None:
    status, body = await post_or_put(http, verb, {"name": "N" * 255})
    assert (status, body["name"]) == (201 if verb == "POST" else 200, "N" * 255)


async def test_a_stripe_customer_id_over_255_characters_is_refused(http: aiohttp.ClientSession) -> None:
    organization = await create(http, name="Acme")
    path = f"/organizations/{organization['id']}"
    assert_validation_failed(
        *await send(http, "PUT", path, json={"stripe_customer_id": "cus_" + "x" * 252}), "stripe_customer_id"
    )
    status, body = await send(http, "PUT", path, json={"stripe_customer_id": "cus_" + "x" * 251})
    assert (status, body["stripe_customer_id"]) == (200, "cus_" + "x" * 251)


async def test_the_length_caps_are_limits_a_suite_can_change() -> None:
    async with Emulator(limits=Limits(name_length=5, stripe_customer_id_length=6)) as emu:
        async with aiohttp.ClientSession(emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as http:
            assert_validation_failed(*await send(http, "POST", "/organizations", json={"name": "Acme Corp"}), "name")
            organization = await create(http, name="Acme")
            path = f"/organizations/{organization['id']}"
            reply = await send(http, "PUT", path, json={"stripe_customer_id": "cus_1234"})
            assert_validation_failed(*reply, "stripe_customer_id")
            assert (await send(http, "PUT", path, json={"stripe_customer_id": "cus_12"}))[0] == 200


@pytest.mark.parametrize("body", [b"{bad", b"[1]", b'{"name": 5}'], ids=["malformed", "not an object", "wrong type"])
async def test_an_update_of_an_unknown_organization_is_a_404_whatever_its_body(body: bytes) -> None:
    # The organization is looked up before its body is read: one answer for an unknown ID.
    async with Emulator() as emu:
        async with aiohttp.ClientSession(emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as http:
            unknown = "/organizations/org_01EHWNCE74X7JSDV0X3SZ3KJNY"
            async with http.put(unknown, data=body, headers={"Content-Type": "application/json"}) as response:
                assert (response.status, (await response.json())["code"]) == (404, "entity_not_found")
            async with http.put(
                "/organizations/org_x", data=body, headers={"Content-Type": "application/json"}
            ) as response:
                assert (response.status, await response.json()) == (404, {"message": "Not Found"})


def bad_items(field: str, count: int) -> list[dict[str, str]]:
    """The 422 items of a ``domains`` list of `count` numbers, the first first."""
    return [
        {"field": f"{field}[{index}]", "code": "invalid_type", "message": f"{field}[{index}] must be a string."}
        for index in range(count)
    ]


async def test_a_422_lists_at_most_max_field_errors_items_and_says_the_list_is_cut(
    http: aiohttp.ClientSession,
) -> None:
    # A body of many bad items (a 1 MiB body holds 500,000) would make a response tens of
    # times its size: the first MAX_FIELD_ERRORS are listed, in the live shape, and no more.
    status, body = await send(http, "POST", "/organizations", json={"name": "Acme", "domains": [1] * 10_000})
    assert status == 422
    assert body == {
        "code": "invalid_request_parameters",
        "message": f"Validation failed; the first {MAX_FIELD_ERRORS} errors are listed, and there are more.",
        "errors": bad_items("domains", MAX_FIELD_ERRORS),
    }


async def test_a_422_with_exactly_max_field_errors_lists_them_all_as_usual(http: aiohttp.ClientSession) -> None:
    status, body = await send(http, "POST", "/organizations", json={"name": "Acme", "domains": [1] * MAX_FIELD_ERRORS})
    assert (status, body["message"], body["errors"]) == (
        422,
        "Validation failed",
        bad_items("domains", MAX_FIELD_ERRORS),
    )


@BOTH_VERBS
@pytest.mark.parametrize(
    "body",
    [
        {"domain_data": [{"domain": 1, "state": "pending"}] * 5_000},
        {"domain_data": [{"domain": "acme.com", "state": 1}] * 5_000},
        {"domain_data": [1] * 5_000},
        {"metadata": {f"key{n}": n for n in range(5_000)}},
        {"name": 1, "domains": [1] * 5_000, "metadata": {f"key{n}": n for n in range(5_000)}},
    ],
    ids=["domain_data-domain", "domain_data-state", "domain_data-entry", "metadata", "several-fields"],
)
async def test_every_list_of_errors_is_cut_at_max_field_errors(
    http: aiohttp.ClientSession, verb: str, body: dict[str, Any]
) -> None:
    status, reply = await post_or_put(http, verb, {"name": "Acme", **body})
    assert status == 422
    assert reply["message"] == f"Validation failed; the first {MAX_FIELD_ERRORS} errors are listed, and there are more."
    assert len(reply["errors"]) == MAX_FIELD_ERRORS
    for error in reply["errors"]:
        assert set(error) == {"field", "code", "message"}
