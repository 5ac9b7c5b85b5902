"""`Idempotency-Key` on POST: the same key and body replay the first reply; another body is a 400."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest

from workos_orgs.emulator import Emulator, Limits

from ..clock import ManualClock


async def send(
    http: aiohttp.ClientSession, method: str, path: str, *, key: str | None = None, body: Any = None
) -> tuple[int, bytes]:
    """The status and the exact body bytes, so a replay can be compared byte for byte."""
    headers = {} if key is None else {"Idempotency-Key": key}
    async with http.request(method, path, json=body, headers=headers) as response:
        return response.status, await response.read()


async def create(http: aiohttp.ClientSession, body: Any, key: str | None = None) -> tuple[int, dict[str, Any]]:
    status, raw = await send(http, "POST", "/organizations", key=key, body=body)
    return status, orjson.loads(raw)


async def organization_names(http: aiohttp.ClientSession) -> list[str]:
    status, raw = await send(http, "GET", "/organizations?limit=100&order=asc")
    assert status == 200
    return [organization["name"] for organization in orjson.loads(raw)["data"]]


@asynccontextmanager
async def session_for(emulator: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with aiohttp.ClientSession(base_url=emulator.url, headers=headers) as session:
        yield session


def key_reuse_message(key: str) -> str:
    return f"Another idempotency key ({key}) with different request parameters was found."


# Organizations.


async def test_same_key_and_body_replays_the_first_response_and_creates_one_organization(
    http: aiohttp.ClientSession,
) -> None:
    body = {"name": "Acme", "domain_data": [{"domain": "acme.com", "state": "pending"}]}
    first = await send(http, "POST", "/organizations", key="key-1", body=body)
    second = await send(http, "POST", "/organizations", key="key-1", body=body)
    assert first[0] == 201
    assert second == first
    assert await organization_names(http) == ["Acme"]


async def test_a_replay_still_returns_the_organization_as_first_created(http: aiohttp.ClientSession) -> None:
    status, created = await create(http, {"name": "Acme"}, key="key-1")
    assert status == 201
    organization_id = created["id"]
    await send(http, "PUT", f"/organizations/{organization_id}", body={"name": "Renamed"})
    assert await create(http, {"name": "Acme"}, key="key-1") == (201, created)


async def test_the_same_json_in_another_key_order_counts_as_the_same_body(http: aiohttp.ClientSession) -> None:
    headers = {"Idempotency-Key": "key-1", "Content-Type": "application/json"}
    responses = []
    for raw in (b'{"name": "Acme", "external_id": "e1"}', b'{"external_id":"e1","name":"Acme"}'):
        async with http.post("/organizations", data=raw, headers=headers) as response:
            responses.append((response.status, await response.read()))
    assert responses[0][0] == 201
    assert responses[1] == responses[0]
    assert await organization_names(http) == ["Acme"]


@pytest.mark.parametrize(
    "second_body",
    [{"name": "Other"}, {"name": "Acme", "external_id": "e1"}, {}],
    ids=["other name", "extra field", "empty"],
)
async def test_same_key_with_a_different_body_is_a_400(http: aiohttp.ClientSession, second_body: Any) -> None:
    await create(http, {"name": "Acme"}, key="key-1")
    status, body = await create(http, second_body, key="key-1")
    assert status == 400
    assert set(body) == {"message"}
    assert body["message"].startswith(key_reuse_message("key-1"))
    assert await organization_names(http) == ["Acme"]


async def test_different_keys_create_different_organizations(http: aiohttp.ClientSession) -> None:
    first = await create(http, {"name": "Acme"}, key="key-1")
    second = await create(http, {"name": "Acme"}, key="key-2")
    assert first[0] == second[0] == 201
    assert first[1]["id"] != second[1]["id"]
    assert await organization_names(http) == ["Acme", "Acme"]


async def test_without_a_key_every_post_creates(http: aiohttp.ClientSession) -> None:
    await create(http, {"name": "Acme"})
    await create(http, {"name": "Acme"})
    assert await organization_names(http) == ["Acme", "Acme"]


async def test_a_replayed_4xx_stays_the_same_even_when_a_retry_would_now_succeed(http: aiohttp.ClientSession) -> None:
    _, holder = await create(http, {"name": "Holder", "external_id": "e1"})
    body = {"name": "Claimant", "external_id": "e1"}
    first = await send(http, "POST", "/organizations", key="key-1", body=body)
    assert first[0] == 400
    assert orjson.loads(first[1])["code"] == "external_id_already_used"
    await send(http, "DELETE", f"/organizations/{holder['id']}")
    assert await send(http, "POST", "/organizations", key="key-1", body=body) == first
    assert await organization_names(http) == []


async def test_a_replayed_404_stays_the_same_after_the_organization_appears(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    organization_id = "org_01EHWNCE74X7JSDV0X3SZ3KJNY"
    body = {"organization_id": organization_id, "domain": "acme.com"}
    first = await send(http, "POST", "/organization_domains", key="key-1", body=body)
    assert first[0] == 404
    emulator.seed([{"id": organization_id, "name": "Acme"}])
    assert await send(http, "POST", "/organization_domains", key="key-1", body=body) == first


async def test_a_replayed_422_stays_the_same(http: aiohttp.ClientSession) -> None:
    first = await send(http, "POST", "/organizations", key="key-1", body={"name": ""})
    assert first[0] == 422
    assert await send(http, "POST", "/organizations", key="key-1", body={"name": ""}) == first


async def test_concurrent_retries_with_one_key_create_one_organization(http: aiohttp.ClientSession) -> None:
    responses = await asyncio.gather(
        *(send(http, "POST", "/organizations", key="key-1", body={"name": "Acme"}) for _ in range(10))
    )
    assert {status for status, _ in responses} == {201}
    assert len({raw for _, raw in responses}) == 1
    assert await organization_names(http) == ["Acme"]


async def test_put_ignores_the_idempotency_key(http: aiohttp.ClientSession) -> None:
    _, created = await create(http, {"name": "Acme"})
    path = f"/organizations/{created['id']}"
    for name in ("First", "Second"):
        status, raw = await send(http, "PUT", path, key="key-1", body={"name": name})
        assert (status, orjson.loads(raw)["name"]) == (200, name)


# Domains.


async def test_create_domain_replays_instead_of_responding_409(http: aiohttp.ClientSession) -> None:
    _, organization = await create(http, {"name": "Acme"})
    body = {"organization_id": organization["id"], "domain": "acme.com"}
    first = await send(http, "POST", "/organization_domains", key="key-1", body=body)
    second = await send(http, "POST", "/organization_domains", key="key-1", body=body)
    assert first[0] == 201
    assert second == first
    status, raw = await send(http, "GET", f"/organizations/{organization['id']}")
    assert status == 200
    assert [domain["id"] for domain in orjson.loads(raw)["domains"]] == [orjson.loads(first[1])["id"]]


async def test_create_domain_with_a_reused_key_and_another_body_is_a_400(http: aiohttp.ClientSession) -> None:
    _, organization = await create(http, {"name": "Acme"})
    await send(
        http,
        "POST",
        "/organization_domains",
        key="key-1",
        body={"organization_id": organization["id"], "domain": "a.com"},
    )
    status, raw = await send(
        http,
        "POST",
        "/organization_domains",
        key="key-1",
        body={"organization_id": organization["id"], "domain": "b.com"},
    )
    assert status == 400
    assert orjson.loads(raw)["message"].startswith(key_reuse_message("key-1"))


@pytest.mark.workos_emulator(auto_verify=True)
async def test_verify_replays_instead_of_responding_domain_already_verified(http: aiohttp.ClientSession) -> None:
    _, organization = await create(http, {"name": "Acme", "domain_data": [{"domain": "acme.com", "state": "pending"}]})
    path = f"/organization_domains/{organization['domains'][0]['id']}/verify"
    first = await send(http, "POST", path, key="key-1")
    second = await send(http, "POST", path, key="key-1")
    assert first[0] == 201
    assert orjson.loads(first[1])["state"] == "verified"
    assert second == first
    status, raw = await send(http, "POST", path, key="key-2")
    assert (status, orjson.loads(raw)["code"]) == (400, "domain_already_verified")


# Configuration.


async def test_idempotency_can_be_switched_off() -> None:
    async with Emulator(idempotency=False) as emulator, session_for(emulator) as http:
        first = await create(http, {"name": "Acme"}, key="key-1")
        second = await create(http, {"name": "Acme"}, key="key-1")
        assert first[0] == second[0] == 201
        assert first[1]["id"] != second[1]["id"]
        assert await organization_names(http) == ["Acme", "Acme"]


async def test_a_key_is_forgotten_after_its_ttl() -> None:
    clock = ManualClock()
    async with Emulator(idempotency_ttl=60.0, clock=clock) as emulator, session_for(emulator) as http:
        first = await create(http, {"name": "Acme"}, key="key-1")
        assert await create(http, {"name": "Acme"}, key="key-1") == first
        clock.advance(60.0)
        second = await create(http, {"name": "Acme"}, key="key-1")
        assert second[0] == 201
        assert second[1]["id"] != first[1]["id"]
        assert await organization_names(http) == ["Acme", "Acme"]


async def test_after_the_ttl_a_key_may_carry_another_body() -> None:
    clock = ManualClock()
    async with Emulator(idempotency_ttl=60.0, clock=clock) as emulator, session_for(emulator) as http:
        await create(http, {"name": "Acme"}, key="key-1")
        clock.advance(60.0)
        assert (await create(http, {"name": "Other"}, key="key-1"))[0] == 201


async def test_reset_forgets_idempotency_keys(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    first = await create(http, {"name": "Acme"}, key="key-1")
    emulator.reset()
    second = await create(http, {"name": "Acme"}, key="key-1")
    assert second[0] == 201
    assert second[1]["id"] != first[1]["id"]


async def test_stored_responses_are_kept_within_a_byte_budget_the_oldest_going_first() -> None:
    budget = 1024 * 1024
    async with Emulator(limits=Limits(idempotency_bytes=budget)) as emulator, session_for(emulator) as http:
        status, organization = await create(http, {"name": "Acme"})
        assert status == 201
        # A refusal is kept too, and this one echoes its 100 KB organization ID twice.
        refused = {"organization_id": "org_" + "x" * 100_000, "domain": "acme.com"}
        responses = [await send(http, "POST", "/organization_domains", key=f"key-{n}", body=refused) for n in range(20)]
        assert {status for status, _ in responses} == {404}
        assert sum(len(body) for _, body in responses) > 3 * budget
        # The newest is replayed, and still holds its key against another body ...
        assert await send(http, "POST", "/organization_domains", key="key-19", body=refused) == responses[-1]
        status, raw = await send(http, "POST", "/organization_domains", key="key-19", body={"domain": "acme.com"})
        assert (status, orjson.loads(raw)["message"][: len(key_reuse_message("key-19"))]) == (
            400,
            key_reuse_message("key-19"),
        )
        # ... the oldest was let go, so its key carries another body (the documented cost of the cap).
        wanted = {"organization_id": organization["id"], "domain": "acme.com"}
        status, raw = await send(http, "POST", "/organization_domains", key="key-0", body=wanted)
        assert (status, orjson.loads(raw).get("domain")) == (201, "acme.com")
        assert emulator._api._store.idempotent_bytes() <= budget


@pytest.mark.parametrize("ttl", [math.inf, 60.0], ids=["kept for ever", "a clock standing still"])
async def test_the_byte_budget_never_lets_go_of_the_response_just_stored(ttl: float) -> None:
    # Records expiring at the same moment (an endless TTL, or a test clock standing still)
    # were let go in key order: the one just stored could go, and a retry of that very
    # request made a second organization.
    async with (
        Emulator(idempotency_ttl=ttl, clock=lambda: 1_800_000_000.0, limits=Limits(idempotency_bytes=500)) as emulator,
        session_for(emulator) as http,
    ):
        older = await send(http, "POST", "/organizations", key="zzz-older", body={"name": "Older"})
        first = await send(http, "POST", "/organizations", key="aaa-newer", body={"name": "Newer"})
        retry = await send(http, "POST", "/organizations", key="aaa-newer", body={"name": "Newer"})
        assert (older[0], first[0]) == (201, 201)
        assert retry == first
        names = await organization_names(http)
    assert sorted(names) == ["Newer", "Older"]
