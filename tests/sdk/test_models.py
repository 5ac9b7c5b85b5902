"""The models and the converter: lenient where the API may grow, strict where it must not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from workos_orgs import DomainData, DomainState, DomainVerificationStrategy, ListMetadata, Organization
from workos_orgs._models import CONVERTER, OrganizationDomain

DOMAIN: dict[str, Any] = {
    "object": "organization_domain",
    "id": "org_domain_01",
    "organization_id": "org_01",
    "domain": "acme.com",
    "state": "verified",
    "verification_strategy": "manual",
    "verification_token": None,
    "created_at": "2026-01-15T12:00:00.000Z",
    "updated_at": "2026-01-15T12:30:00.000Z",
}
ORGANIZATION: dict[str, Any] = {
    "object": "organization",
    "id": "org_01",
    "name": "Acme",
    "domains": [DOMAIN],
    "metadata": {"tier": "gold"},
    "external_id": None,
    "created_at": "2026-01-15T12:00:00.000Z",
    "updated_at": "2026-01-15T12:00:00.000Z",
}


def test_an_organization_is_built_with_aware_timestamps_and_enums() -> None:
    organization = CONVERTER.structure(ORGANIZATION, Organization)
    assert organization.created_at == datetime(2026, 1, 15, 12, tzinfo=UTC)
    domain = organization.domains[0]
    assert domain.state is DomainState.VERIFIED
    assert domain.verification_strategy is DomainVerificationStrategy.MANUAL
    assert domain.updated_at == datetime(2026, 1, 15, 12, 30, tzinfo=UTC)
    assert organization.stripe_customer_id is None  # absent
    assert organization.allow_profiles_outside_organization is None  # absent


def test_models_are_frozen_and_slotted() -> None:
    organization = CONVERTER.structure(ORGANIZATION, Organization)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        organization.name = "Other"  # type: ignore[misc]
    assert not hasattr(organization, "__dict__")
    assert hash(DomainData("acme.com")) == hash(DomainData("acme.com", DomainState.PENDING))


def test_an_organization_can_be_hashed_and_kept_in_a_set() -> None:
    # Frozen attrs classes are hashable; the metadata dict made hashing fail with a TypeError.
    first, again = CONVERTER.structure(ORGANIZATION, Organization), CONVERTER.structure(ORGANIZATION, Organization)
    assert hash(first) == hash(again)
    assert {first, again} == {first}
    other = CONVERTER.structure({**ORGANIZATION, "metadata": {"tier": "free"}}, Organization)
    assert other != first  # metadata still counts for equality
    assert len({first, other}) == 2


def test_unknown_fields_are_ignored_and_unknown_enum_values_kept() -> None:
    future = {**DOMAIN, "state": "quarantined", "verification_strategy": "carrier_pigeon", "new_field": [1]}
    domain = CONVERTER.structure(future, OrganizationDomain)
    assert domain.state == "quarantined"
    assert not isinstance(domain.state, DomainState)
    assert domain.verification_strategy == "carrier_pigeon"


def test_a_timestamp_without_offset_is_read_as_utc() -> None:
    domain = CONVERTER.structure({**DOMAIN, "created_at": "2026-01-15T12:00:00"}, OrganizationDomain)
    assert domain.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    "broken",
    [
        {**ORGANIZATION, "metadata": {"tier": 1}},
        {**ORGANIZATION, "metadata": None},
        {**ORGANIZATION, "domains": {"a": 1}},
        {**ORGANIZATION, "external_id": 5},
        {**ORGANIZATION, "created_at": 1700000000},
        {**ORGANIZATION, "allow_profiles_outside_organization": "yes"},
        {key: value for key, value in ORGANIZATION.items() if key != "updated_at"},
        {**ORGANIZATION, "domains": [{**DOMAIN, "state": 3}]},
    ],
)
def test_a_body_that_does_not_fit_raises(broken: dict[str, Any]) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        CONVERTER.structure(broken, Organization)


def test_list_metadata_ignores_extra_keys() -> None:
    assert CONVERTER.structure({"before": None, "after": "org_2", "total": 9}, ListMetadata) == ListMetadata(
        None, "org_2"
    )
