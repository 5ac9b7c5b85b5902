"""Exactly-once domain creates and verifies, and creates that trip another uniqueness check.

Every test here runs against ``Emulator(idempotency=False)``: a retried POST is done again,
so an answer that says "already done" after a lost answer is the SDK's to resolve.
"""

from __future__ import annotations

import pytest

from workos_orgs import AsyncWorkOS, BadRequestError, ConflictError, DomainData, DomainState
from workos_orgs._contract import DOMAIN_ALREADY_EXISTS, DOMAIN_ALREADY_VERIFIED
from workos_orgs.emulator import Emulator


def trail(emulator: Emulator, since: int = 0) -> list[tuple[str, str, int | None, str | None]]:
    return [(r.method, r.path, r.status, r.fault) for r in emulator.requests[since:]]


def test_the_error_codes_are_the_wire_strings() -> None:
    assert (DOMAIN_ALREADY_EXISTS, DOMAIN_ALREADY_VERIFIED) == ("domain_already_exists", "domain_already_verified")


# Domain create.


async def test_a_domain_create_whose_answer_was_lost_returns_the_domain(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    organization = await bare_client.organizations.create(name="Acme")
    start = len(bare_emulator.requests)
    bare_emulator.inject_fault(method="POST", path="/organization_domains", drop="after")
    domain = await bare_client.organization_domains.create(organization_id=organization.id, domain="Acme.com")
    assert (domain.organization_id, domain.domain, domain.state) == (organization.id, "acme.com", DomainState.PENDING)
    assert trail(bare_emulator, start) == [
        ("POST", "/organization_domains", None, "drop_after"),  # added, answer lost
        ("POST", "/organization_domains", 409, None),  # domain_already_exists: by us
        ("GET", f"/organizations/{organization.id}", 200, None),
        ("GET", f"/organization_domains/{domain.id}", 200, None),
    ]
    assert [d.id for d in (await bare_client.organizations.get(organization.id)).domains] == [domain.id]


async def test_a_raw_domain_create_after_a_lost_answer_is_the_lookups_answer(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    organization = await bare_client.organizations.create(name="Acme")
    bare_emulator.inject_fault(method="POST", path="/organization_domains", drop="after")
    raw = await bare_client.organization_domains.with_raw_response.create(
        organization_id=organization.id, domain="acme.com"
    )
    assert raw.status_code == 200
    assert raw.request_id == bare_emulator.requests[-1].request_id
    domain = raw.parse()
    assert domain.domain == "acme.com"
    assert await bare_client.organization_domains.get(domain.id) == domain


async def test_a_domain_conflict_after_an_unknown_outcome_with_no_such_domain_raises_it(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    organization = await bare_client.organizations.create(name="Acme")
    bare_emulator.inject_fault(method="POST", path="/organization_domains", status=503)
    bare_emulator.inject_fault(
        method="POST",
        path="/organization_domains",
        status=409,
        body={"code": "domain_already_exists", "message": "The domain acme.com already exists."},
    )
    with pytest.raises(ConflictError) as caught:
        await bare_client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    assert (caught.value.code, caught.value.attempts, caught.value.outcome_unknown) == (
        "domain_already_exists",
        2,
        True,
    )
    assert trail(bare_emulator)[-1] == ("GET", f"/organizations/{organization.id}", 200, None)


async def test_a_definitive_domain_already_exists_still_raises(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    organization = await bare_client.organizations.create(name="Acme")
    await bare_client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    start = len(bare_emulator.requests)
    with pytest.raises(ConflictError) as caught:
        await bare_client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    assert (caught.value.code, caught.value.attempts, caught.value.outcome_unknown) == (
        "domain_already_exists",
        1,
        False,
    )
    assert [r.method for r in bare_emulator.requests[start:]] == ["POST"]  # no lookup


# Domain verify.


@pytest.mark.workos_emulator(auto_verify=True)  # instant verification, as these tests mean
async def test_a_verify_whose_answer_was_lost_returns_the_verified_domain(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    organization = await bare_client.organizations.create(name="Acme")
    domain = await bare_client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    start = len(bare_emulator.requests)
    bare_emulator.inject_fault(method="POST", path="/organization_domains/*/verify", drop="after")
    verified = await bare_client.organization_domains.verify(domain.id)
    assert (verified.id, verified.state) == (domain.id, DomainState.VERIFIED)
    assert trail(bare_emulator, start) == [
        ("POST", f"/organization_domains/{domain.id}/verify", None, "drop_after"),
        ("POST", f"/organization_domains/{domain.id}/verify", 400, None),  # domain_already_verified: by us
        ("GET", f"/organization_domains/{domain.id}", 200, None),
    ]
    raw = await bare_client.organization_domains.with_raw_response.get(domain.id)
    assert raw.parse() == verified


@pytest.mark.workos_emulator(auto_verify=True)  # instant verification, as these tests mean
async def test_a_raw_verify_after_a_lost_answer_is_the_lookups_answer(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    organization = await bare_client.organizations.create(name="Acme")
    domain = await bare_client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    bare_emulator.inject_fault(method="POST", path="/organization_domains/*/verify", drop="after")
    raw = await bare_client.organization_domains.with_raw_response.verify(domain.id)
    assert (raw.status_code, raw.request_id) == (200, bare_emulator.requests[-1].request_id)
    assert raw.parse().state is DomainState.VERIFIED


@pytest.mark.workos_emulator(auto_verify=True)  # instant verification, as these tests mean
async def test_a_definitive_domain_already_verified_still_raises(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    organization = await bare_client.organizations.create(name="Acme")
    domain = await bare_client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    await bare_client.organization_domains.verify(domain.id)
    start = len(bare_emulator.requests)
    with pytest.raises(BadRequestError) as caught:
        await bare_client.organization_domains.verify(domain.id)
    assert (caught.value.code, caught.value.attempts, caught.value.outcome_unknown) == (
        "domain_already_verified",
        1,
        False,
    )
    assert [r.method for r in bare_emulator.requests[start:]] == ["POST"]  # no lookup


# Organization creates that trip a check other than the external id's.


async def test_an_organization_create_answered_domain_already_exists_after_a_lost_answer_is_resolved(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    # An API that checks domains before external ids answers the retry with a 409.
    bare_emulator.inject_fault(method="POST", path="/organizations", drop="after")
    bare_emulator.inject_fault(
        method="POST",
        path="/organizations",
        status=409,
        body={"code": "domain_already_exists", "message": "The domain acme.com already exists."},
    )
    organization = await bare_client.organizations.create(
        name="Acme", external_id="acme-1", domain_data=[DomainData("acme.com", DomainState.VERIFIED)]
    )
    assert (organization.name, organization.external_id) == ("Acme", "acme-1")
    assert trail(bare_emulator) == [
        ("POST", "/organizations", None, "drop_after"),
        ("POST", "/organizations", 409, "status_409"),
        ("GET", "/organizations/external_id/acme-1", 200, None),
    ]
    assert [o.id async for o in bare_client.organizations.list()] == [organization.id]


async def test_an_organization_create_with_a_definitive_409_still_raises(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    bare_emulator.inject_fault(
        method="POST", path="/organizations", status=409, body={"code": "domain_already_exists", "message": "taken"}
    )
    with pytest.raises(ConflictError) as caught:
        await bare_client.organizations.create(name="Acme", external_id="acme-1")
    assert (caught.value.attempts, caught.value.outcome_unknown) == (1, False)
    assert [r.method for r in bare_emulator.requests] == ["POST"]  # no lookup
