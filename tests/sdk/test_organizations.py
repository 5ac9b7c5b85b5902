"""Every organizations call against the emulator, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workos_orgs import (
    UNSET,
    APIResponse,
    AsyncWorkOS,
    DomainData,
    DomainState,
    DomainVerificationStrategy,
    InvalidArgumentError,
    NotFoundError,
    Organization,
)
from workos_orgs._contract import ORGANIZATION_ID_RE
from workos_orgs.emulator import Emulator


async def test_create_returns_the_organization(client: AsyncWorkOS) -> None:
    organization = await client.organizations.create(
        name="Acme",
        domain_data=[DomainData("acme.com", DomainState.VERIFIED), {"domain": "acme.io", "state": "pending"}],
        external_id="acme-1",
        metadata={"tier": "gold"},
    )
    assert isinstance(organization, Organization)
    assert ORGANIZATION_ID_RE.fullmatch(organization.id)
    assert organization.name == "Acme"
    assert organization.external_id == "acme-1"
    assert organization.metadata == {"tier": "gold"}
    assert organization.stripe_customer_id is None
    assert organization.created_at.tzinfo is not None
    assert organization.created_at.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - organization.created_at).total_seconds()) < 60
    domains = {domain.domain: domain for domain in organization.domains}
    assert domains["acme.com"].state is DomainState.VERIFIED
    assert domains["acme.com"].verification_strategy is DomainVerificationStrategy.MANUAL
    assert domains["acme.com"].verification_token is None
    assert domains["acme.io"].state is DomainState.PENDING
    assert domains["acme.io"].verification_strategy is DomainVerificationStrategy.DNS
    assert domains["acme.io"].verification_token is not None
    assert all(domain.organization_id == organization.id for domain in organization.domains)


async def test_create_sends_only_the_fields_given(client: AsyncWorkOS, emulator: Emulator) -> None:
    organization = await client.organizations.create(name="Bare")
    assert (organization.external_id, organization.metadata, organization.domains) == (None, {}, ())
    # Recorded live: every organization carries it, false unless set.
    assert organization.allow_profiles_outside_organization is False


async def test_create_sends_the_callers_idempotency_key(client: AsyncWorkOS, emulator: Emulator) -> None:
    first = await client.organizations.create(name="Once", idempotency_key="my-key-1")
    again = await client.organizations.create(name="Once", idempotency_key="my-key-1")
    assert again == first
    assert [request.idempotency_key for request in emulator.requests] == ["my-key-1", "my-key-1"]


async def test_every_post_gets_a_fresh_generated_idempotency_key(client: AsyncWorkOS, emulator: Emulator) -> None:
    first = await client.organizations.create(name="A")
    second = await client.organizations.create(name="A")
    assert first.id != second.id
    keys = [request.idempotency_key for request in emulator.requests]
    assert len(set(keys)) == 2
    assert all(key and len(key) == 36 for key in keys)


async def test_get_and_get_by_external_id(client: AsyncWorkOS) -> None:
    created = await client.organizations.create(name="Acme", external_id="ext/with?odd#chars%")
    assert await client.organizations.get(created.id) == created
    assert await client.organizations.get_by_external_id("ext/with?odd#chars%") == created
    with pytest.raises(NotFoundError) as caught:
        await client.organizations.get_by_external_id("nobody")
    assert caught.value.code == "entity_not_found"


async def test_update_sends_only_what_is_passed(client: AsyncWorkOS) -> None:
    created = await client.organizations.create(name="Acme", external_id="acme-1", metadata={"a": "1", "b": "2"})
    renamed = await client.organizations.update(created.id, name="Acme Corp")
    assert renamed.name == "Acme Corp"
    assert renamed.external_id == "acme-1"  # not passed: left alone
    assert renamed.metadata == {"a": "1", "b": "2"}
    assert renamed.updated_at >= created.updated_at


async def test_update_with_none_clears_and_unset_leaves_alone(client: AsyncWorkOS) -> None:
    created = await client.organizations.create(name="Acme", external_id="acme-1")
    unchanged = await client.organizations.update(created.id, external_id=UNSET)
    assert unchanged.external_id == "acme-1"
    cleared = await client.organizations.update(created.id, external_id=None)
    assert cleared.external_id is None


async def test_update_none_is_sent_as_json_null(client: AsyncWorkOS) -> None:
    created = await client.organizations.create(name="Acme", external_id="acme-1")
    raw = await client.organizations.with_raw_response.update(created.id, external_id=None, metadata=None)
    assert raw.status_code == 200
    assert raw.parse().external_id is None


async def test_update_metadata_sets_and_removes_keys(client: AsyncWorkOS) -> None:
    created = await client.organizations.create(name="Acme", metadata={"keep": "1", "drop": "2"})
    updated = await client.organizations.update(created.id, metadata={"drop": None, "new": "3"})
    assert updated.metadata == {"keep": "1", "new": "3"}


async def test_a_none_metadata_value_on_create_is_refused_before_anything_is_sent(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # None removes a key in an update; on a create there is nothing to remove, and the API's
    # 422 came back only after the request went out.
    with pytest.raises(InvalidArgumentError, match=r"metadata\['b'\] is None"):
        await client.organizations.create(name="Acme", metadata={"a": "1", "b": None})  # type: ignore[dict-item]
    assert emulator.requests == []


async def test_a_non_text_metadata_value_on_create_is_refused_without_offering_none(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # The message offered None "to remove the key", which a create refuses in turn.
    with pytest.raises(InvalidArgumentError) as caught:
        await client.organizations.create(name="Acme", metadata={"a": 1})  # type: ignore[dict-item]
    assert str(caught.value) == (
        "metadata['a'] must be a string; got int. Convert numbers and lists to text yourself,"
        " e.g. str(value) or json.dumps(value)."
    )
    assert emulator.requests == []
    # An update still offers it, where it does remove the key.
    created = await client.organizations.create(name="Acme")
    with pytest.raises(InvalidArgumentError, match=r"must be a string \(or None to remove the key\); got int"):
        await client.organizations.update(created.id, metadata={"a": 1})  # type: ignore[dict-item]


@pytest.mark.parametrize("state", [None, 1, "Verified", "legacy_verified", DomainState.LEGACY_VERIFIED])
async def test_a_domain_state_the_api_does_not_take_is_refused_before_anything_is_sent(
    client: AsyncWorkOS, emulator: Emulator, state: object
) -> None:
    # None went out as the text "None", 1 as "1"; "Verified" cost a round trip and a 422.
    with pytest.raises(InvalidArgumentError, match=r"domain_data\[0\]: state must be 'pending' or 'verified'; got "):
        await client.organizations.create(name="Acme", domain_data=[DomainData("acme.com", state)])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"domain_data\[1\]: state must be"):
        await client.organizations.update(
            "org_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            domain_data=[DomainData("a.com"), {"domain": "acme.com", "state": state}],  # type: ignore[list-item]
        )
    assert emulator.requests == []


async def test_update_domain_data_replaces_the_set(client: AsyncWorkOS) -> None:
    created = await client.organizations.create(
        name="Acme", domain_data=[DomainData("acme.com", DomainState.VERIFIED), DomainData("old.com")]
    )
    kept = next(domain for domain in created.domains if domain.domain == "acme.com")
    updated = await client.organizations.update(
        created.id, domain_data=[DomainData("acme.com", "verified"), DomainData("new.com", DomainState.PENDING)]
    )
    assert sorted(domain.domain for domain in updated.domains) == ["acme.com", "new.com"]
    assert next(domain for domain in updated.domains if domain.domain == "acme.com").id == kept.id
    cleared = await client.organizations.update(created.id, domain_data=[])
    assert cleared.domains == ()


async def test_update_stripe_customer_id_and_allow_profiles(client: AsyncWorkOS) -> None:
    created = await client.organizations.create(name="Acme", allow_profiles_outside_organization=True)
    assert created.allow_profiles_outside_organization is True
    updated = await client.organizations.update(
        created.id, stripe_customer_id="cus_123", allow_profiles_outside_organization=False
    )
    assert updated.stripe_customer_id == "cus_123"
    assert updated.allow_profiles_outside_organization is False


async def test_delete_returns_none_and_the_organization_is_gone(client: AsyncWorkOS) -> None:
    created = await client.organizations.create(name="Doomed")
    assert await client.organizations.delete(created.id) is None
    with pytest.raises(NotFoundError):
        await client.organizations.get(created.id)


async def test_with_raw_response_gives_status_headers_request_id_and_model(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    raw = await client.organizations.with_raw_response.create(name="Acme")
    assert isinstance(raw, APIResponse)
    assert raw.status_code == 201
    assert raw.request_id == emulator.requests[-1].request_id
    assert raw.headers["content-type"].startswith("application/json")
    created = raw.parse()
    assert raw.data == created
    got = await client.organizations.with_raw_response.get(created.id)
    assert (got.status_code, got.parse()) == (200, created)
    deleted = await client.organizations.with_raw_response.delete(created.id)
    assert (deleted.status_code, deleted.parse(), deleted.body) == (202, None, b"Accepted")
    assert deleted.request_id == emulator.requests[-1].request_id


async def test_with_raw_response_list_gives_one_page(client: AsyncWorkOS) -> None:
    for name in ("A", "B", "C"):
        await client.organizations.create(name=name)
    raw = await client.organizations.with_raw_response.list(limit=2, order="asc")
    page = raw.parse()
    assert raw.status_code == 200
    assert [organization.name for organization in page.data] == ["A", "B"]
    assert page.list_metadata.after == page.data[-1].id


async def test_extra_headers_are_sent(client: AsyncWorkOS, emulator: Emulator) -> None:
    # The emulator does not record headers; an Authorization in extra_headers is refused
    # (tests/sdk/test_hardening.py), so none can win over the client's key.
    created = await client.organizations.create(name="Acme", extra_headers={"X-Trace": "t"})
    assert created.name == "Acme"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.organizations.get(""), "id must not be empty"),
        (lambda c: c.organizations.get("   "), "id must not be empty"),
        (lambda c: c.organizations.get_by_external_id(""), "external_id must not be empty"),
        # Your own id, not one the API returned.
        (lambda c: c.organizations.get_by_external_id(" "), "pass the external ID you gave the organization"),
        (lambda c: c.organizations.delete(""), "id must not be empty"),
        (lambda c: c.organizations.update("", name="x"), "id must not be empty"),
        (lambda c: c.organizations.create(name=""), "name must be a non-empty string"),
        # Sent, and refused by the API with a 422.
        (lambda c: c.organizations.create(name=UNSET), "name must be a non-empty string"),
        (
            lambda c: c.organization_domains.create(
                organization_id="org_01ARZ3NDEKTSV4RRFFQ69G5FAV", domain="acme.com globex.com"
            ),
            r"domain: 'acme.com globex.com' is not a domain name: it holds a space; give each domain on its own\.",
        ),
        (lambda c: c.organizations.create(name="A", domain_data="acme.com"), "domain_data must be a list"),
        (lambda c: c.organizations.create(name="A", domain_data=[("a.com", "verified")]), r"domain_data\[0\]"),
        (lambda c: c.organizations.create(name="A", idempotency_key=""), "idempotency_key must be"),
        (
            lambda c: c.organizations.create(name="A", domain_data=[{"domain": "a.com", "sate": "verified"}]),
            r"domain_data\[0\] has a key the API does not take: 'sate'",
        ),
        (
            lambda c: c.organizations.create(name="A", domain_data=[{"domain": "a.com b.com"}]),
            r"domain_data\[0\]: 'a.com b.com' is not a domain name: it holds a space; give each domain on its own\.",
        ),
        # An empty filter listed every organization.
        (lambda c: c.organizations.list(domains=[]), "domains must name at least one domain"),
        (lambda c: c.organizations.list(domains=[" "]), "pass a domain name such as 'acme.com'"),
    ],
)
async def test_bad_arguments_fail_before_sending(
    client: AsyncWorkOS, emulator: Emulator, call: object, message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        await call(client)  # type: ignore[operator]
    assert emulator.requests == []


@pytest.mark.parametrize(
    "hostile",
    [
        "../organization_domains/{domain}",
        "..%2Forganization_domains%2F{domain}",
        "{org}/../../organization_domains/{domain}",
        "{org}?x=1",
        "{org}#frag",
        "..",
        ".",
        "{org}/",
        "%2E%2E",
    ],
)
async def test_hostile_ids_never_reach_another_endpoint(client: AsyncWorkOS, emulator: Emulator, hostile: str) -> None:
    organization = await client.organizations.create(name="Acme")
    domain = await client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    ident = hostile.format(org=organization.id, domain=domain.id)
    for call in (
        client.organizations.get,
        client.organizations.delete,
        client.organization_domains.get,
        client.organization_domains.verify,
        client.organization_domains.delete,
    ):
        with pytest.raises(NotFoundError) as caught:
            await call(ident)
        assert caught.value.message == "Not Found"  # a malformed ID, not some entity found elsewhere
    with pytest.raises(NotFoundError):
        await client.organizations.update(ident, name="Hijacked")
    # Nothing was touched.
    current = await client.organizations.get(organization.id)
    assert (current.name, current.updated_at) == (organization.name, organization.updated_at)
    assert [d.id for d in current.domains] == [domain.id]
    assert (await client.organization_domains.get(domain.id)).state is DomainState.PENDING
    assert all(request.method != "GET" or request.query == "" for request in emulator.requests)
