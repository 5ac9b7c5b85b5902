"""``with_raw_response`` is a view that carries the raw flag: no public method takes a hidden keyword for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from workos_orgs import APIResponse, AsyncWorkOS, Organization, Page
from workos_orgs.emulator import Emulator


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        yield client


async def test_a_public_method_refuses_a_raw_response_keyword(client: AsyncWorkOS) -> None:
    organization = await client.organizations.create(name="Acme", external_id="acme")
    for call in (
        lambda: client.organizations.get(organization.id, raw_response=True),  # type: ignore[call-arg]
        lambda: client.organizations.get_by_external_id("acme", raw_response=True),  # type: ignore[call-arg]
        lambda: client.organizations.update(organization.id, name="Acme 2", raw_response=True),  # type: ignore[call-arg]
        lambda: client.organizations.create(name="Other", raw_response=True),  # type: ignore[call-arg]
        lambda: client.organizations.delete(organization.id, raw_response=True),  # type: ignore[call-arg]
        lambda: client.organization_domains.get("org_domain_1", raw_response=True),  # type: ignore[call-arg]
    ):
        with pytest.raises(TypeError, match="raw_response"):
            await call()
    with pytest.raises(TypeError, match="raw_response"):
        await client.organizations.list(raw_response=True)  # type: ignore[call-arg]
    # Nothing was written by the refused calls.
    assert [o.name async for o in client.organizations.list()] == ["Acme"]


async def test_the_raw_view_still_returns_responses_and_the_resource_its_models(client: AsyncWorkOS) -> None:
    created = await client.organizations.with_raw_response.create(name="Acme")
    assert isinstance(created, APIResponse)
    assert created.status_code == 201
    organization = created.parse()
    raw = await client.organizations.with_raw_response.get(organization.id)
    assert isinstance(raw, APIResponse)
    assert raw.parse() == organization
    assert await client.organizations.get(organization.id) == organization
    first = await client.organizations.with_raw_response.list()
    assert isinstance(first.parse(), Page)
    assert [o.id for o in first.parse().data] == [organization.id]
    fetched = await client.organizations.get(organization.id)
    assert isinstance(fetched, Organization)
    deleted = await client.organizations.with_raw_response.delete(organization.id)
    assert deleted.status_code == 202
