"""Every shape the live API was recorded sending is read, through the public client.

The bodies below are quoted from the VCR cassettes that the official Ruby SDK kept of the
live API (``workos/workos-ruby``, ``test/fixtures/vcr_cassettes/``, last present at commit
73e5c23d), with the date each was recorded.  The emulator serves each one as it was recorded.
"""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

from workos_orgs import AsyncWorkOS, DomainState, DomainVerificationStrategy, UnprocessableEntityError
from workos_orgs.emulator import Emulator

ORG_ID = "org_01HWP8B4G64K6MAHZKTMVZ5RGP"

# organization/create_with_domain_data.yml, 2024-04-30: a domain added as `verified` has strategy
# `manual` and no verification_token or verification_prefix keys; no organization_id or timestamps
# on the domain, and no metadata or external_id on the organization.
CREATED_WITH_DOMAIN_DATA: dict[str, Any] = {
    "object": "organization",
    "id": "org_01HWP8B4G64K6MAHZKTMVZ5RGP",
    "name": "Test Organization",
    "allow_profiles_outside_organization": False,
    "created_at": "2024-04-30T01:01:42.277Z",
    "updated_at": "2024-04-30T01:01:42.277Z",
    "domains": [
        {
            "verification_strategy": "manual",
            "state": "verified",
            "object": "organization_domain",
            "id": "org_domain_01HWP8B4GWBH9APRM8KPBFCNHW",
            "domain": "example.io",
        }
    ],
}

# organization/create_with_domains.yml, 2024-04-30: a domain added through the deprecated
# `domains` list is `legacy_verified`, with no strategy, token or prefix.
CREATED_WITH_DOMAINS: dict[str, Any] = {
    "object": "organization",
    "id": "org_01HWP8MSH28Z7SW2H6KK65S6VF",
    "name": "Test Organization",
    "allow_profiles_outside_organization": False,
    "created_at": "2024-04-30T01:06:58.720Z",
    "updated_at": "2024-04-30T01:06:58.720Z",
    "domains": [
        {
            "state": "legacy_verified",
            "object": "organization_domain",
            "id": "org_domain_01HWP8MSHEX4KR7TJJFAFN9MK2",
            "domain": "example.io",
        }
    ],
}

# organization/get.yml, 2021-08-09: a domain with only object, id and domain.
GET_2021: dict[str, Any] = {
    "object": "organization",
    "id": "org_01F9293WD2PDEEV4Y625XPZVG7",
    "name": "Foo Corp",
    "allow_profiles_outside_organization": False,
    "created_at": "2021-06-25T19:07:33.155Z",
    "updated_at": "2021-06-25T19:07:33.155Z",
    "domains": [
        {"object": "organization_domain", "id": "org_domain_01F9293WD8KZAS4ESBK57SZ4D8", "domain": "foo-corp.com"}
    ],
}

# organization/update_with_stripe_customer_id.yml, 2025-01-22: stripe_customer_id present.
UPDATED_WITH_STRIPE_CUSTOMER_ID: dict[str, Any] = {
    "object": "organization",
    "id": "org_01JJ5H14CAA2SQ5G9HNN6TBZ05",
    "name": "Test Organization",
    "allow_profiles_outside_organization": False,
    "created_at": "2025-01-21T22:51:46.441Z",
    "updated_at": "2025-01-22T16:50:26.789Z",
    "domains": [
        {
            "verification_strategy": "manual",
            "state": "verified",
            "object": "organization_domain",
            "id": "org_domain_01JJ5H14CKRGAE9HVA1Y9YABSX",
            "organization_id": "org_01JJ5H14CAA2SQ5G9HNN6TBZ05",
            "domain": "example.me",
        }
    ],
    "stripe_customer_id": "cus_123",
}

# organization/update_with_external_id_null.yml, 2025-07-23: metadata and external_id present.
UPDATED_WITH_EXTERNAL_ID_NULL: dict[str, Any] = {
    "object": "organization",
    "id": "org_01K0SQV0S6EPWK2ZDEFD1CP1JC",
    "name": "Test Organization",
    "allow_profiles_outside_organization": False,
    "created_at": "2025-07-22T18:55:20.355Z",
    "updated_at": "2025-07-23T14:19:40.831Z",
    "domains": [],
    "metadata": {},
    "external_id": None,
}

RECORDED = [CREATED_WITH_DOMAIN_DATA, CREATED_WITH_DOMAINS, GET_2021, UPDATED_WITH_STRIPE_CUSTOMER_ID]


async def get_as_served(emulator: Emulator, client: AsyncWorkOS, body: dict[str, Any]) -> Any:
    emulator.inject_fault(path="/organizations/*", status=200, body=body)
    return await client.organizations.get(body["id"])


async def test_a_domain_added_as_verified_has_no_token_or_prefix(client: AsyncWorkOS, emulator: Emulator) -> None:
    organization = await get_as_served(emulator, client, CREATED_WITH_DOMAIN_DATA)
    (domain,) = organization.domains
    assert (domain.id, domain.domain) == ("org_domain_01HWP8B4GWBH9APRM8KPBFCNHW", "example.io")
    assert domain.state is DomainState.VERIFIED
    assert domain.verification_strategy is DomainVerificationStrategy.MANUAL
    assert (domain.verification_token, domain.verification_prefix) == (None, None)
    # Left out by the API, so left out here too: not invented from the organization.
    assert (domain.organization_id, domain.created_at, domain.updated_at) == (None, None, None)
    assert (organization.metadata, organization.external_id, organization.stripe_customer_id) == ({}, None, None)
    assert organization.allow_profiles_outside_organization is False
    assert organization.created_at == datetime(2024, 4, 30, 1, 1, 42, 277000, tzinfo=UTC)


async def test_a_legacy_verified_domain_has_no_strategy(client: AsyncWorkOS, emulator: Emulator) -> None:
    organization = await get_as_served(emulator, client, CREATED_WITH_DOMAINS)
    (domain,) = organization.domains
    assert domain.state is DomainState.LEGACY_VERIFIED
    assert (domain.verification_strategy, domain.verification_token, domain.verification_prefix) == (None, None, None)


async def test_a_domain_recorded_with_only_its_id_and_name(client: AsyncWorkOS, emulator: Emulator) -> None:
    organization = await get_as_served(emulator, client, GET_2021)
    (domain,) = organization.domains
    assert (domain.id, domain.domain, domain.state, domain.verification_strategy) == (
        "org_domain_01F9293WD8KZAS4ESBK57SZ4D8",
        "foo-corp.com",
        None,
        None,
    )


async def test_stripe_customer_id_is_read_when_present(client: AsyncWorkOS, emulator: Emulator) -> None:
    organization = await get_as_served(emulator, client, UPDATED_WITH_STRIPE_CUSTOMER_ID)
    assert organization.stripe_customer_id == "cus_123"
    assert organization.domains[0].organization_id == organization.id
    assert organization.updated_at == datetime(2025, 1, 22, 16, 50, 26, 789000, tzinfo=UTC)


async def test_allow_profiles_outside_organization_may_be_left_out(client: AsyncWorkOS, emulator: Emulator) -> None:
    body = {
        key: value
        for key, value in UPDATED_WITH_EXTERNAL_ID_NULL.items()
        if key != "allow_profiles_outside_organization"
    }
    organization = await get_as_served(emulator, client, body)
    assert organization.allow_profiles_outside_organization is None
    assert (organization.metadata, organization.external_id) == ({}, None)


@pytest.mark.parametrize("body", RECORDED, ids=lambda body: body["id"])
async def test_a_recorded_organization_comes_back_as_recorded_with_metadata_and_external_id(
    client: AsyncWorkOS, emulator: Emulator, body: dict[str, Any]
) -> None:
    # Keys the API leaves out stay out; `metadata` and `external_id`, which every response has
    # carried since 2025, are given their empty values.
    organization = await get_as_served(emulator, client, body)
    assert organization.to_dict() == {"metadata": {}, "external_id": None, **body}


async def test_a_recorded_organization_with_every_key_comes_back_unchanged(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    organization = await get_as_served(emulator, client, UPDATED_WITH_EXTERNAL_ID_NULL)
    assert organization.to_dict() == UPDATED_WITH_EXTERNAL_ID_NULL


async def test_unknown_enum_values_and_unknown_fields_are_accepted(client: AsyncWorkOS, emulator: Emulator) -> None:
    (domain,) = UPDATED_WITH_STRIPE_CUSTOMER_ID["domains"]
    future = {
        **UPDATED_WITH_STRIPE_CUSTOMER_ID,
        "domains": [{**domain, "state": "quarantined", "verification_strategy": "http", "ownership": {"a": 1}}],
        "object_version": 3,
    }
    organization = await get_as_served(emulator, client, future)
    assert (organization.domains[0].state, organization.domains[0].verification_strategy) == ("quarantined", "http")
    assert not isinstance(organization.domains[0].state, DomainState)


# passwordless/create_session_invalid.yml, 2020-09-16: items with `field` and `code`, no message.
ERRORS_2020: dict[str, Any] = {
    "message": "Validation failed",
    "errors": [
        {"field": "email", "code": "email must be a string"},
        {"field": "type", "code": "type must be a valid enum value"},
    ],
}
# user_management/create_user_invalid.yml, 2023-08-16: items with `code` and `message`, no field.
ERRORS_2023: dict[str, Any] = {
    "code": "invalid_request_parameters",
    "message": "Validation failed",
    "errors": [{"code": "email_string_required", "message": "Email should be a non-empty string."}],
}


@pytest.mark.parametrize(
    ("body", "described"),
    [
        (ERRORS_2020, "(email: email must be a string; type: type must be a valid enum value)"),
        (ERRORS_2023, "(Email should be a non-empty string.)"),
    ],
)
async def test_a_422_says_what_each_recorded_item_shape_says(
    client: AsyncWorkOS, emulator: Emulator, body: dict[str, Any], described: str
) -> None:
    emulator.inject_fault(path="/organizations/*", status=422, body=body)
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.organizations.get(ORG_ID)
    error = caught.value
    assert [(item.field, item.code, item.message) for item in error.errors] == [
        (item.get("field", ""), item["code"], item.get("message", "")) for item in body["errors"]
    ]
    assert str(error).startswith(
        f"HTTP 422{' invalid_request_parameters' if 'code' in body else ''}: Validation failed {described}"
    )


async def test_a_422_item_with_nulls_reads_them_as_absent(client: AsyncWorkOS, emulator: Emulator) -> None:
    # A null read as the text "None": the message said "(None: None)".
    body = {"message": "Validation failed", "errors": [{"field": None, "code": 5, "message": None}]}
    emulator.inject_fault(path="/organizations/*", status=422, body=body)
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.organizations.get(ORG_ID)
    assert [(item.field, item.code, item.message) for item in caught.value.errors] == [("", "5", "")]
    assert str(caught.value).startswith("HTTP 422: Validation failed (5)")


@pytest.mark.parametrize("body", RECORDED, ids=lambda body: body["id"])
async def test_a_recorded_organization_pickles_and_copies(
    client: AsyncWorkOS, emulator: Emulator, body: dict[str, Any]
) -> None:
    # One recorded without `metadata` held a read-only mapping pickle refused: it could not
    # go into a Django or Celery cache, a process pool, or copy.deepcopy.
    organization = await get_as_served(emulator, client, body)
    for copied in (pickle.loads(pickle.dumps(organization)), copy.deepcopy(organization), copy.copy(organization)):
        assert copied == organization
        assert copied.to_dict() == organization.to_dict()
        assert (type(copied.metadata), dict(copied.metadata)) == (type(organization.metadata), {})
    if "metadata" not in body:
        with pytest.raises(TypeError):
            organization.metadata["k"] = "v"  # type: ignore[index]  # still read-only, as it was


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00.000+01:00",
        "9999-12-31T23:59:59.000-01:00",
        "0001-01-01T00:00:00.000Z",  # %Y wrote the year 1 as "1"
        "0999-06-30T12:00:00.250Z",
    ],
)
async def test_a_timestamp_at_the_edge_of_the_calendar_turns_back_as_it_came(
    client: AsyncWorkOS, emulator: Emulator, moment: str
) -> None:
    # Read without complaint, it made to_dict() and to_json() (and the CLI's --json) raise a
    # bare OverflowError: in UTC it falls outside the years a datetime can hold.
    body = {**UPDATED_WITH_EXTERNAL_ID_NULL, "created_at": moment, "updated_at": moment}
    organization = await get_as_served(emulator, client, body)
    assert organization.to_dict()["created_at"] == moment
    assert f'"updated_at":"{moment}"' in organization.to_json()
