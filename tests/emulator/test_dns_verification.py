"""Domain verification is DNS, as live: ``verify`` finds a TXT record or leaves the domain pending.

Recorded and documented live behaviour: ``POST /organization_domains/{id}/verify`` starts (or
re-runs) DNS verification and responds 201 with the domain; the domain becomes ``verified``
only once WorkOS finds a TXT record named ``<verification_prefix>.<domain>`` whose value is the
``verification_token``; until then it stays ``pending``, and it may end ``failed``.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from workos_orgs import AsyncWorkOS, DomainState
from workos_orgs.emulator import Emulator, TxtRecord


async def send(http: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, path, json=body) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def pending_domain(http: aiohttp.ClientSession, name: str = "acme.com") -> dict[str, Any]:
    status, organization = await send(http, "POST", "/organizations", {"name": "Acme"})
    assert status == 201
    status, domain = await send(
        http, "POST", "/organization_domains", {"organization_id": organization["id"], "domain": name}
    )
    assert (status, domain["state"]) == (201, "pending")
    return dict(domain)


async def verify(http: aiohttp.ClientSession, domain: dict[str, Any]) -> dict[str, Any]:
    status, body = await send(http, "POST", f"/organization_domains/{domain['id']}/verify")
    assert status == 201, body
    return dict(body)


async def test_verify_without_a_dns_record_responds_201_and_leaves_the_domain_pending(
    http: aiohttp.ClientSession,
) -> None:
    domain = await pending_domain(http)
    for _ in range(3):
        assert (await verify(http, domain))["state"] == "pending"
    _, fetched = await send(http, "GET", f"/organization_domains/{domain['id']}")
    assert fetched == domain


async def test_publishing_the_record_then_verifying_makes_it_verified(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    domain = await pending_domain(http)
    assert (await verify(http, domain))["state"] == "pending"
    record = emulator.publish_dns_record(domain["id"])
    assert record == TxtRecord(f"{domain['verification_prefix']}.acme.com", domain["verification_token"])
    assert emulator.dns_records() == [record]
    verified = await verify(http, domain)
    assert (verified["state"], verified["verification_strategy"]) == ("verified", "dns")
    assert verified["verification_token"] == domain["verification_token"]


async def test_a_record_with_another_value_or_name_verifies_nothing(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    domain = await pending_domain(http)
    emulator.publish_txt_record(f"{domain['verification_prefix']}.acme.com", "not-the-token")
    emulator.publish_txt_record("acme.com", domain["verification_token"])
    assert (await verify(http, domain))["state"] == "pending"
    emulator.publish_txt_record(f"{domain['verification_prefix']}.ACME.com.", domain["verification_token"])
    assert (await verify(http, domain))["state"] == "verified"  # DNS names ignore case and the root dot


async def test_the_record_verifies_only_its_own_domain(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    first, second = await pending_domain(http, "one.com"), await pending_domain(http, "two.com")
    emulator.publish_dns_record(first["id"])
    assert [(await verify(http, d))["state"] for d in (first, second)] == ["verified", "pending"]


async def test_a_verification_told_to_fail_ends_failed_and_a_later_one_checks_again(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    domain = await pending_domain(http)
    emulator.fail_next_verifications(1)
    assert (await verify(http, domain))["state"] == "failed"
    # Assumed: verifying a failed domain re-runs the check; without a record it is pending again.
    assert (await verify(http, domain))["state"] == "pending"
    emulator.fail_next_verifications(1)
    assert (await verify(http, domain))["state"] == "failed"
    emulator.publish_dns_record(domain["id"])
    assert (await verify(http, domain))["state"] == "verified"


@pytest.mark.workos_emulator(auto_verify=True)
async def test_auto_verify_verifies_at_once(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    domain = await pending_domain(http)
    assert (await verify(http, domain))["state"] == "verified"


async def test_auto_verify_still_honours_a_failure(http: aiohttp.ClientSession) -> None:
    async with Emulator(auto_verify=True) as emu:
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        async with aiohttp.ClientSession(base_url=emu.url, headers=headers) as other:
            domain = await pending_domain(other)
            emu.fail_next_verifications(1)
            assert (await verify(other, domain))["state"] == "failed"
            assert (await verify(other, domain))["state"] == "verified"


async def test_only_a_domain_waiting_for_dns_has_a_record_to_publish(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    _, organization = await send(
        http, "POST", "/organizations", {"name": "Acme", "domain_data": [{"domain": "acme.com", "state": "verified"}]}
    )
    with pytest.raises(ValueError, match="no verification token"):
        emulator.publish_dns_record(organization["domains"][0]["id"])
    with pytest.raises(ValueError, match="no organization domain"):
        emulator.publish_dns_record("org_domain_01EHWNCE74X7JSDV0X3SZ3KJNY")
    with pytest.raises(ValueError, match="non-empty name"):
        emulator.publish_txt_record("", "x")


async def test_the_control_api_publishes_lists_and_clears_records(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    first, second = await pending_domain(http, "one.com"), await pending_domain(http, "two.com")
    status, record = await send(http, "POST", "/_emulator/dns", {"domain_id": first["id"]})
    assert (status, record) == (
        201,
        {"name": f"{first['verification_prefix']}.one.com", "value": first["verification_token"]},
    )
    name = f"{second['verification_prefix']}.two.com"
    status, other = await send(http, "POST", "/_emulator/dns", {"name": name, "value": second["verification_token"]})
    assert (status, other) == (201, {"name": name, "value": second["verification_token"]})
    status, listed = await send(http, "GET", "/_emulator/dns")
    assert (status, sorted(item["name"] for item in listed["data"])) == (200, sorted([record["name"], name]))
    assert [(await verify(http, d))["state"] for d in (first, second)] == ["verified", "verified"]
    status, _ = await send(http, "DELETE", "/_emulator/dns")
    assert status == 204
    assert emulator.dns_records() == []


@pytest.mark.parametrize(
    "body",
    [{}, {"domain_id": "org_domain_01EHWNCE74X7JSDV0X3SZ3KJNY"}, {"name": "a.com"}, {"domain_id": 1}, [1]],
)
async def test_the_control_api_refuses_a_record_it_cannot_publish(http: aiohttp.ClientSession, body: Any) -> None:
    status, error = await send(http, "POST", "/_emulator/dns", body)
    assert status == 422
    assert error["message"]


async def test_reset_forgets_the_dns_records(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.publish_txt_record("x.acme.com", "token")
    emulator.reset()
    assert emulator.dns_records() == []


async def test_the_sdk_sees_pending_then_verified(emulator: Emulator) -> None:
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        organization = await client.organizations.create(name="Acme")
        domain = await client.organization_domains.create(organization_id=organization.id, domain="acme.com")
        assert (await client.organization_domains.verify(domain.id)).state is DomainState.PENDING
        emulator.publish_dns_record(domain.id)
        assert (await client.organization_domains.verify(domain.id)).state is DomainState.VERIFIED
