"""What keeps a long-running emulator healthy: bounded idempotency storage, slow faults that
hold up nobody else, control inputs that cannot wedge it."""

from __future__ import annotations

import asyncio
import gc
import sqlite3

import aiohttp
import orjson
import pytest

from workos_orgs.emulator import Emulator, Fault
from workos_orgs.emulator._api import ApiRequest, EmulatedApi

from ..gate import SAFETY_NET


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def create(api: EmulatedApi, key: str, name: str) -> tuple[int, dict[str, object]]:
    body = orjson.dumps({"name": name})
    response = api.handle(ApiRequest("POST", ("organizations",), idempotency_key=key, body=body))
    return response.status, orjson.loads(response.body)


def stored_keys(api: EmulatedApi) -> int:
    return api._store.count_idempotent()


def test_idempotency_keys_are_capped_newest_kept() -> None:
    api = EmulatedApi(api_key="sk_test", idempotency_keys_kept=20)
    first = [create(api, f"key-{n}", f"Org {n}")[1]["id"] for n in range(100)]
    assert stored_keys(api) <= 20
    # The newest key still replays: no second organization.
    assert create(api, "key-99", "Org 99")[1]["id"] == first[99]
    # The oldest was forgotten, so reusing it is a new create (the documented cost of the cap).
    assert create(api, "key-0", "Org 0")[1]["id"] != first[0]
    api.close()


def test_expired_idempotency_keys_are_purged() -> None:
    clock = Clock()
    api = EmulatedApi(api_key="sk_test", idempotency_ttl=60, idempotency_keys_kept=10, clock=clock)
    for n in range(9):
        create(api, f"old-{n}", f"Old {n}")
    clock.now += 61
    for n in range(10):
        create(api, f"new-{n}", f"New {n}")
    assert stored_keys(api) == 10
    status, replayed = create(api, "new-9", "New 9")
    assert status == 201
    assert replayed["name"] == "New 9"
    api.close()


async def test_a_slow_fault_delays_only_its_own_request(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(Fault(method="GET", path="/organizations/*", hold=True))
    slow = asyncio.ensure_future(http.get("/organizations/org_01EHWNCE74X7JSDV0X3SZ3KJNY"))
    async with asyncio.timeout(SAFETY_NET):
        await emulator.wait_until_held()  # the slow request reaches the emulator and waits there
    for _ in range(10):
        async with http.post("/organizations", json={"name": "Meanwhile"}) as response:
            assert response.status == 201
    assert not slow.done()
    assert emulator.release_held() == 1
    async with await slow as response:
        assert response.status == 404


@pytest.mark.parametrize(
    "spec",
    [
        {"path": "*", "delay_ms": 10**12},
        {"path": "*", "delay_ms": 1e308},
        {"path": "*", "status": 500, "times": 1.5},
        {"path": "*", "status": 500, "times": True},
        {"path": "*", "status": 101},
        {"path": "*", "status": 503, "retry_after": "1\r\nX-Evil: 1"},
        {"path": "*", "status": 503, "content_type": "text/html; charset=utf-8"},
    ],
)
async def test_a_fault_spec_that_could_wedge_or_break_the_emulator_is_a_422(
    emulator: Emulator, http: aiohttp.ClientSession, spec: dict[str, object]
) -> None:
    async with http.post("/_emulator/faults", json=spec) as response:
        assert response.status == 422
        assert isinstance((await response.json())["message"], str)
    async with http.get("/_emulator/faults") as response:
        assert await response.json() == {"data": []}


@pytest.mark.parametrize(
    "spec", [{"rate": True}, {"kinds": "429"}, {"kinds": [["429"]]}, {"seed": {}}, {"slow_ms": 10**9}]
)
async def test_a_bad_chaos_spec_is_a_422_and_leaves_chaos_off(
    emulator: Emulator, http: aiohttp.ClientSession, spec: dict[str, object]
) -> None:
    async with http.post("/_emulator/chaos", json=spec) as response:
        assert response.status == 422
    for _ in range(20):
        async with http.get("/organizations") as response:
            assert response.status == 200


async def test_close_without_start_releases_the_database() -> None:
    emulator = Emulator()
    await emulator.close()
    with pytest.raises(RuntimeError, match="was closed; make a new Emulator"):
        emulator.seed([{"name": "Too late"}])
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):  # the database itself was let go of
        emulator._api.seed([{"name": "Too late"}])
    del emulator
    gc.collect()  # with the connection left open, Python 3.13 would warn here (an error in this suite)


def test_kept_list_pages_are_keyed_by_the_query_the_api_reads_not_by_every_parameter_sent() -> None:
    # Parameters the API ignores would otherwise make each request a new, large cache key
    # (thousands of tiny tuples cost far more memory than their bytes say).
    api = EmulatedApi(api_key="sk_test")
    create(api, "key-1", "Acme")
    plain = api.handle(ApiRequest("GET", ("organizations",), query=(("limit", "10"),)))
    for number in range(50):
        junk = tuple(("ignored", str(n)) for n in range(number * 100, number * 100 + 100))
        response = api.handle(ApiRequest("GET", ("organizations",), query=(*junk, ("limit", "10"))))
        assert response.body == plain.body
    assert len(api._pages) == 1
    api.close()
