"""Every organization-domain call against the emulator."""

from __future__ import annotations

import pytest

from workos_orgs import (
    AsyncWorkOS,
    BadRequestError,
    ConflictError,
    DomainState,
    DomainVerificationStrategy,
    InvalidArgumentError,
    NotFoundError,
    OrganizationDomain,
    UnprocessableEntityError,
)
from workos_orgs._contract import ORGANIZATION_DOMAIN_ID_RE, VERIFICATION_TOKEN_LENGTH
from workos_orgs.emulator import Emulator


@pytest.mark.workos_emulator(auto_verify=True)  # instant verification, as these tests mean
async def test_create_get_verify_delete(client: AsyncWorkOS) -> None:
    organization = await client.organizations.create(name="Acme")
    domain = await client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    assert isinstance(domain, OrganizationDomain)
    assert ORGANIZATION_DOMAIN_ID_RE.fullmatch(domain.id)
    assert (domain.organization_id, domain.domain) == (organization.id, "acme.com")
    assert domain.state is DomainState.PENDING
    assert domain.verification_strategy is DomainVerificationStrategy.DNS
    assert domain.verification_token is not None
    assert len(domain.verification_token) == VERIFICATION_TOKEN_LENGTH
    assert domain.verification_prefix
    assert await client.organization_domains.get(domain.id) == domain

    verified = await client.organization_domains.verify(domain.id)
    assert verified.id == domain.id
    assert verified.state is DomainState.VERIFIED

    assert await client.organization_domains.delete(domain.id) is None
    with pytest.raises(NotFoundError) as caught:
        await client.organization_domains.get(domain.id)
    assert caught.value.code == "entity_not_found"
    assert (await client.organizations.get(organization.id)).domains == ()


@pytest.mark.workos_emulator(auto_verify=True)  # instant verification, as these tests mean
async def test_a_failed_verification_is_a_state_not_an_error(client: AsyncWorkOS, emulator: Emulator) -> None:
    organization = await client.organizations.create(name="Acme")
    domain = await client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    emulator.fail_next_verifications(1)
    assert (await client.organization_domains.verify(domain.id)).state is DomainState.FAILED
    assert (await client.organization_domains.verify(domain.id)).state is DomainState.VERIFIED


@pytest.mark.workos_emulator(auto_verify=True)  # instant verification, as these tests mean
async def test_verifying_a_verified_domain_is_a_bad_request(client: AsyncWorkOS) -> None:
    organization = await client.organizations.create(name="Acme")
    domain = await client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    await client.organization_domains.verify(domain.id)
    with pytest.raises(BadRequestError) as caught:
        await client.organization_domains.verify(domain.id)
    assert caught.value.code == "domain_already_verified"
    assert caught.value.status_code == 400


async def test_a_duplicate_domain_is_a_conflict(client: AsyncWorkOS) -> None:
    organization = await client.organizations.create(name="Acme")
    await client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    with pytest.raises(ConflictError) as caught:
        await client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    assert (caught.value.status_code, caught.value.code) == (409, "domain_already_exists")
    assert "acme.com" in caught.value.message


async def test_a_domain_for_an_unknown_organization_is_not_found(client: AsyncWorkOS) -> None:
    with pytest.raises(NotFoundError):
        await client.organization_domains.create(organization_id="org_01ARZ3NDEKTSV4RRFFQ69G5FAV", domain="acme.com")


async def test_a_consumer_domain_is_unprocessable(client: AsyncWorkOS) -> None:
    organization = await client.organizations.create(name="Acme")
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.organization_domains.create(organization_id=organization.id, domain="gmail.com")
    assert [error.field for error in caught.value.errors] == ["domain"]
    assert caught.value.errors[0].code == "consumer_domain"


async def test_raw_responses(client: AsyncWorkOS) -> None:
    organization = await client.organizations.create(name="Acme")
    raw = await client.organization_domains.with_raw_response.create(organization_id=organization.id, domain="a.com")
    assert raw.status_code == 201
    domain = raw.parse()
    assert (await client.organization_domains.with_raw_response.get(domain.id)).status_code == 200
    assert (await client.organization_domains.with_raw_response.verify(domain.id)).status_code == 201
    deleted = await client.organization_domains.with_raw_response.delete(domain.id)
    assert (deleted.status_code, deleted.parse()) == (204, None)
    assert deleted.request_id


async def test_blank_arguments_fail_before_sending(client: AsyncWorkOS, emulator: Emulator) -> None:
    with pytest.raises(InvalidArgumentError, match="organization_id must not be empty"):
        await client.organization_domains.create(organization_id="", domain="acme.com")
    with pytest.raises(InvalidArgumentError, match="domain must be"):
        await client.organization_domains.create(organization_id="org_1", domain=" ")
    for call in (
        client.organization_domains.get,
        client.organization_domains.verify,
        client.organization_domains.delete,
    ):
        with pytest.raises(InvalidArgumentError, match="id must not be empty"):
            await call("")
    assert emulator.requests == []
