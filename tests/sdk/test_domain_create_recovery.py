"""A domain create that ends with no response at all is settled by looking, like an organization create.

The emulator here ignores ``Idempotency-Key``: settling the outcome is the SDK's job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from workos_orgs import APIConnectionError, AsyncWorkOS, Backoff, ConflictError, DomainState, InternalServerError
from workos_orgs.emulator import Emulator

FAST = Backoff(base=0.01, cap=0.05)


@pytest.fixture
async def bare() -> AsyncIterator[Emulator]:
    async with Emulator(idempotency=False) as emulator:
        yield emulator


@pytest.fixture
async def client(bare: Emulator) -> AsyncIterator[AsyncWorkOS]:
    async with AsyncWorkOS(api_key=bare.api_key, base_url=bare.url, backoff=FAST, max_retries=1) as client:
        yield client


async def test_a_domain_create_whose_every_response_was_lost_returns_the_domain(
    client: AsyncWorkOS, bare: Emulator
) -> None:
    organization = await client.organizations.create(name="Acme")
    bare.inject_fault(method="POST", path="/organization_domains", drop="after", times=2)
    domain = await client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    assert (domain.organization_id, domain.domain, domain.state) == (organization.id, "acme.com", DomainState.PENDING)
    assert [d.id for d in (await client.organizations.get(organization.id)).domains] == [domain.id]
    # The user's own retry is not told the domain is someone else's.
    with pytest.raises(ConflictError):
        await client.organization_domains.create(organization_id=organization.id, domain="acme.com")


async def test_a_domain_create_that_ended_on_a_5xx_after_a_lost_response_returns_the_domain(
    client: AsyncWorkOS, bare: Emulator
) -> None:
    organization = await client.organizations.create(name="Acme")
    bare.inject_fault(method="POST", path="/organization_domains", drop="after")
    bare.inject_fault(method="POST", path="/organization_domains", status=503)
    domain = await client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    assert (domain.organization_id, domain.domain) == (organization.id, "acme.com")


async def test_a_domain_create_that_never_arrived_raises_its_error(client: AsyncWorkOS, bare: Emulator) -> None:
    organization = await client.organizations.create(name="Acme")
    bare.inject_fault(method="POST", path="/organization_domains", drop="before", times=2)
    with pytest.raises(APIConnectionError):
        await client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    assert (await client.organizations.get(organization.id)).domains == ()


async def test_the_lookup_accepts_only_that_domain_on_that_organization(client: AsyncWorkOS, bare: Emulator) -> None:
    acme = await client.organizations.create(name="Acme")
    other = await client.organizations.create(name="Other")
    await client.organization_domains.create(organization_id=other.id, domain="acme.com")
    await client.organization_domains.create(organization_id=acme.id, domain="acme.org")
    bare.inject_fault(method="POST", path="/organization_domains", status=503, times=2)
    # Nothing was added to Acme: its acme.org and Other's acme.com are not this call's domain.
    with pytest.raises(InternalServerError):
        await client.organization_domains.create(organization_id=acme.id, domain="acme.com")
