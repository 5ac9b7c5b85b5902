"""Models turned back into the API's JSON: every fixture and any generated organization
round-trip through ``to_dict()``; a `Page` is sized and iterable; what the fast build of the
models must not skip."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workos_orgs import (
    AsyncWorkOS,
    DomainState,
    DomainVerificationStrategy,
    Organization,
    OrganizationDomain,
)
from workos_orgs._models import CONVERTER
from workos_orgs.emulator import Emulator

from .test_models import DOMAIN, ORGANIZATION

FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture(name: str) -> Any:
    return orjson.loads((FIXTURES / name).read_bytes())


@pytest.mark.parametrize("name", ["organization.json", "organization_create.json", "organization_update.json"])
async def test_an_organization_turns_back_into_the_response_it_came_from(
    client: AsyncWorkOS, emulator: Emulator, name: str
) -> None:
    body = fixture(name)
    emulator.inject_fault(path="/organizations/*", status=200, body=body)
    organization = await client.organizations.get(body["id"])
    assert organization.to_dict() == body
    assert orjson.loads(organization.to_json()) == body


async def test_a_domain_turns_back_into_the_response_it_came_from(client: AsyncWorkOS, emulator: Emulator) -> None:
    body = fixture("organization_domain.json")
    emulator.inject_fault(path="/organization_domains/*", status=200, body=body)
    domain = await client.organization_domains.get(body["id"])
    assert domain.to_dict() == body
    assert orjson.loads(domain.to_json()) == body


async def test_a_page_turns_back_into_the_response_it_came_from(client: AsyncWorkOS, emulator: Emulator) -> None:
    body = fixture("organization_list.json")
    emulator.inject_fault(path="/organizations", status=200, body=body)
    page = await client.organizations.list()
    assert page.to_dict() == body
    assert page.list_metadata.to_dict() == body["list_metadata"]
    assert orjson.loads(page.to_json()) == body


def test_to_dict_gives_plain_json_values_and_a_copy() -> None:
    organization = CONVERTER.structure(ORGANIZATION, Organization)
    data = organization.to_dict()
    (domain,) = data["domains"]
    assert (type(domain["state"]), type(domain["verification_strategy"])) == (str, str)
    assert (domain["created_at"], domain["updated_at"]) == ("2026-01-15T12:00:00.000Z", "2026-01-15T12:30:00.000Z")
    data["metadata"]["tier"] = "lead"
    assert organization.metadata == {"tier": "gold"}
    assert organization.to_json() == orjson.dumps(organization.to_dict()).decode()


def test_a_model_built_by_hand_turns_into_the_api_shape() -> None:
    moment = datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)
    domain = OrganizationDomain("org_domain_1", "org_1", "acme.com", moment, moment, DomainState.PENDING, "sms")
    organization = Organization("org_1", "Acme", (domain,), {}, None, moment, moment)
    assert organization.to_dict() == {
        "object": "organization",
        "id": "org_1",
        "name": "Acme",
        "domains": [
            {
                "object": "organization_domain",
                "id": "org_domain_1",
                "organization_id": "org_1",
                "domain": "acme.com",
                "state": "pending",
                "verification_strategy": "sms",
                "created_at": "2026-01-15T12:00:00.123Z",
                "updated_at": "2026-01-15T12:00:00.123Z",
            }
        ],
        "metadata": {},
        "external_id": None,
        "created_at": "2026-01-15T12:00:00.123Z",
        "updated_at": "2026-01-15T12:00:00.123Z",
    }


async def test_a_page_is_sized_iterable_and_says_whether_more_follow(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": f"Org {number}"} for number in range(3)])
    first = await client.organizations.list(limit=2)
    assert (len(first), [organization.id for organization in first]) == (2, [item.id for item in first.data])
    assert first.has_more
    last = await client.organizations.list(limit=2, after=first.list_metadata.after)
    assert (len(last), last.has_more) == (1, False)
    # Under `normal` a walk follows `before`; so does `has_more`.
    normal = await client.organizations.list(limit=2, order="normal")
    assert (normal.direction, normal.list_metadata.after, normal.has_more) == ("before", None, True)
    # Walking backwards from `before=` follows `before`.
    oldest = last.data[-1].id
    back = await client.organizations.list(limit=2, before=oldest)
    assert (back.direction, len(back), back.list_metadata.before, back.has_more) == ("before", 2, None, False)
    middle = await client.organizations.list(limit=1, before=oldest)
    assert (middle.direction, len(middle), middle.has_more) == ("before", 1, True)
    pages = [page async for page in client.organizations.list(limit=2).pages()]
    assert [(len(page), page.has_more) for page in pages] == [(2, True), (1, False)]


def test_the_fast_build_skips_nothing_attrs_would_do() -> None:
    # The hooks fill each model's slots directly instead of calling its attrs __init__, so a
    # model must have nothing that __init__ would add: no validator, converter or factory.
    for model in (Organization, OrganizationDomain):
        for field in attrs.fields(model):
            assert (field.validator, field.converter, field.init) == (None, None, True), field.name
            assert not isinstance(field.default, attrs.Factory), field.name  # type: ignore[arg-type]
        assert not hasattr(model, "__attrs_post_init__")
        assert not hasattr(model, "__attrs_pre_init__")


TIMESTAMPS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)).map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
)
TEXT = st.text(max_size=12)
KNOWN_OR_NEW = st.sampled_from([*DomainState, *DomainVerificationStrategy, "carrier_pigeon"]).map(str)


@st.composite
def domains(draw: st.DrawFn, organization_id: str, created_at: str) -> dict[str, Any]:
    domain: dict[str, Any] = {"object": "organization_domain", "id": draw(TEXT), "domain": draw(TEXT)}
    # Recorded shapes leave any of these out (before 2025: organization_id and both timestamps).
    optional = {
        "organization_id": st.sampled_from([organization_id, "org_other"]),
        "state": KNOWN_OR_NEW,
        "verification_strategy": KNOWN_OR_NEW,
        "verification_token": TEXT,
        "verification_prefix": TEXT,
        "created_at": st.just(created_at) | TIMESTAMPS,
        "updated_at": st.just(created_at) | TIMESTAMPS,
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            domain[key] = draw(values)
    return domain


@st.composite
def organizations(draw: st.DrawFn) -> dict[str, Any]:
    id_, created_at = draw(TEXT), draw(TIMESTAMPS)
    organization: dict[str, Any] = {
        "object": "organization",
        "id": id_,
        "name": draw(TEXT),
        "domains": draw(st.lists(domains(id_, created_at), max_size=3)),
        "metadata": draw(st.dictionaries(TEXT, TEXT, max_size=4)),
        "external_id": draw(st.none() | TEXT),
        "created_at": created_at,
        "updated_at": draw(st.just(created_at) | TIMESTAMPS),
    }
    if draw(st.booleans()):
        organization["allow_profiles_outside_organization"] = draw(st.booleans())
    if draw(st.booleans()):
        organization["stripe_customer_id"] = draw(TEXT)
    return organization


@settings(max_examples=300, deadline=None)
@given(organizations())
def test_any_organization_turns_back_into_its_json_and_equals_one_built_by_hand(body: dict[str, Any]) -> None:
    organization = CONVERTER.structure(orjson.loads(orjson.dumps(body)), Organization)
    assert organization.to_dict() == body
    by_hand = Organization(
        **{
            **{field.name: getattr(organization, field.name) for field in attrs.fields(Organization)},
            "domains": tuple(
                OrganizationDomain(
                    **{field.name: getattr(domain, field.name) for field in attrs.fields(OrganizationDomain)}
                )
                for domain in organization.domains
            ),
        }
    )
    assert by_hand == organization
    assert type(organization) is Organization
    assert all(type(domain) is OrganizationDomain for domain in organization.domains)
    assert repr(by_hand) == repr(organization)


@pytest.mark.parametrize("key", ["organization_id", "created_at", "updated_at"])
def test_a_domain_key_may_be_left_out_but_not_null(key: str) -> None:
    left_out = {name: value for name, value in DOMAIN.items() if name != key}
    assert getattr(CONVERTER.structure(left_out, OrganizationDomain), key) is None
    with pytest.raises((TypeError, ValueError)):
        CONVERTER.structure({**DOMAIN, key: None}, OrganizationDomain)
    with pytest.raises((TypeError, ValueError)):
        CONVERTER.structure({**ORGANIZATION, "domains": [{**DOMAIN, key: None}]}, Organization)


def test_metadata_may_be_left_out_but_not_null() -> None:
    left_out = {name: value for name, value in ORGANIZATION.items() if name != "metadata"}
    assert CONVERTER.structure(left_out, Organization).metadata == {}
    with pytest.raises(TypeError):
        CONVERTER.structure({**ORGANIZATION, "metadata": None}, Organization)
