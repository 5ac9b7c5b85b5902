"""The control API under /_emulator/: the Python controls, over HTTP, for another process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from workos_orgs.emulator import Emulator

from ..gate import SAFETY_NET

FAULT_KEYS = {"method", "path", "status", "body", "content_type", "retry_after", "delay_ms", "drop", "times", "hold"}
REQUEST_KEYS = {"method", "path", "query", "idempotency_key", "status", "fault", "request_id"}
CONTROL_ROUTES = [
    ("POST", "/_emulator/faults", {"path": "*", "status": 503}),
    ("GET", "/_emulator/faults", None),
    ("DELETE", "/_emulator/faults", None),
    ("POST", "/_emulator/verifications", {"fail_next": 1}),
    ("POST", "/_emulator/seed", {"organizations": [{"name": "Seeded"}]}),
    ("POST", "/_emulator/reset", None),
    ("GET", "/_emulator/requests", None),
]


async def call(http: aiohttp.ClientSession, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
    if body is not None:
        kwargs["json"] = body
    async with http.request(method, path, **kwargs) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.read()


async def control(http: aiohttp.ClientSession, method: str, route: str, body: Any = None, expect: int = 200) -> Any:
    status, reply = await call(http, method, f"/_emulator/{route}", body)
    assert status == expect, reply
    return reply


async def organization_names(http: aiohttp.ClientSession) -> list[str]:
    status, page = await call(http, "GET", "/organizations", params={"order": "asc", "limit": "100"})
    assert status == 200
    return [organization["name"] for organization in page["data"]]


# Faults.


async def test_a_held_request_waits_until_released_over_the_control_api(http: aiohttp.ClientSession) -> None:
    await control(http, "POST", "faults", {"method": "GET", "path": "/organizations", "hold": True}, 201)
    slow = asyncio.create_task(call(http, "GET", "/organizations"))
    async with asyncio.timeout(SAFETY_NET):
        # A client in another process can only poll; a slow machine makes it poll longer, no more.
        while (await control(http, "GET", "held"))["held"] != 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert not slow.done()
    assert await control(http, "POST", "held/release", {}) == {"released": 1}
    assert (await slow)[0] == 200
    assert await control(http, "GET", "held") == {"held": 0}


async def test_post_fault_then_it_fires(http: aiohttp.ClientSession) -> None:
    spec = {"method": "get", "path": "/organizations", "status": 503, "body": {"message": "later"}, "retry_after": 3}
    created = await control(http, "POST", "faults", spec, expect=201)
    assert created == {
        "method": "GET",
        "path": "/organizations",
        "status": 503,
        "body": {"message": "later"},
        "content_type": None,
        "retry_after": 3,
        "delay_ms": 0,
        "drop": None,
        "times": 1,
        "hold": False,
    }
    async with http.get("/organizations") as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "3"
        assert await response.json() == {"message": "later"}
    assert (await call(http, "GET", "/organizations"))[0] == 200


async def test_get_faults_lists_pending_with_remaining(http: aiohttp.ClientSession) -> None:
    assert await control(http, "GET", "faults") == {"data": []}
    await control(http, "POST", "faults", {"method": "POST", "path": "/organizations", "status": 500, "times": 3}, 201)
    await control(http, "POST", "faults", {"path": "/organizations/*", "delay_ms": 10}, 201)
    listed = (await control(http, "GET", "faults"))["data"]
    assert [(fault["status"], fault["delay_ms"], fault["times"], fault["remaining"]) for fault in listed] == [
        (500, 0, 3, 3),
        (None, 10, 1, 1),
    ]
    assert all(set(fault) == FAULT_KEYS | {"remaining"} for fault in listed)
    assert (await call(http, "POST", "/organizations", {"name": "A"}))[0] == 500
    listed = (await control(http, "GET", "faults"))["data"]
    assert [fault["remaining"] for fault in listed] == [2, 1]


async def test_delete_faults_clears_them(http: aiohttp.ClientSession) -> None:
    await control(http, "POST", "faults", {"path": "*", "status": 503, "times": 5}, 201)
    status, body = await call(http, "DELETE", "/_emulator/faults")
    assert status == 204
    assert body == b""
    assert await control(http, "GET", "faults") == {"data": []}
    assert (await call(http, "GET", "/organizations"))[0] == 200


async def test_string_body_fault_over_http(http: aiohttp.ClientSession) -> None:
    await control(http, "POST", "faults", {"path": "/organizations", "status": 502, "body": "<html>Bad</html>"}, 201)
    async with http.get("/organizations") as response:
        assert response.status == 502
        assert response.content_type == "text/html"
        assert await response.text() == "<html>Bad</html>"


async def test_delay_fault_over_http(http: aiohttp.ClientSession) -> None:
    await control(http, "POST", "faults", {"method": "GET", "path": "/organizations", "delay_ms": 150}, 201)
    started = time.monotonic()
    assert (await call(http, "GET", "/organizations"))[0] == 200
    assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize(("drop", "stored"), [("before", []), ("after", ["Maybe"])])
async def test_drop_fault_over_http(http: aiohttp.ClientSession, drop: str, stored: list[str]) -> None:
    await control(http, "POST", "faults", {"method": "POST", "path": "/organizations", "drop": drop}, 201)
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(http, "POST", "/organizations", {"name": "Maybe"})
    assert await organization_names(http) == stored
    requests = (await control(http, "GET", "requests"))["data"]
    assert (requests[0]["status"], requests[0]["fault"]) == (None, f"drop_{drop}")


async def test_python_and_http_faults_share_one_queue(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(path="/organizations", status=500)
    await control(http, "POST", "faults", {"path": "/organizations", "status": 502}, 201)
    assert [fault["status"] for fault in (await control(http, "GET", "faults"))["data"]] == [500, 502]
    assert (await call(http, "GET", "/organizations"))[0] == 500
    assert (await call(http, "GET", "/organizations"))[0] == 502
    await control(http, "POST", "faults", {"path": "*", "status": 503}, 201)
    emulator.clear_faults()
    assert await control(http, "GET", "faults") == {"data": []}


INVALID_SPECS: dict[str, Any] = {
    "status-and-drop": {"status": 503, "drop": "after"},
    "nothing": {},
    "only-a-path": {"path": "/organizations"},
    "times-0": {"status": 503, "times": 0},
    "drop-sideways": {"drop": "sideways"},
    "negative-delay": {"delay_ms": -5},
    "status-42": {"status": 42},
    "unknown-field": {"status": 503, "colour": "red"},
    "not-an-object": ["status", 503],
    "method-not-a-string": {"method": 5, "status": 503},
    "path-not-a-string": {"path": 5, "status": 503},
    "path-null": {"path": None, "status": 503},
    "content-type-not-a-string": {"status": 503, "body": "x", "content_type": 5},
}


@pytest.mark.parametrize("spec", INVALID_SPECS.values(), ids=INVALID_SPECS.keys())
async def test_invalid_fault_spec_is_422_with_a_message(http: aiohttp.ClientSession, spec: Any) -> None:
    status, body = await call(http, "POST", "/_emulator/faults", spec)
    assert status == 422
    assert body["code"] == "invalid_request_parameters"
    assert isinstance(body["message"], str)
    assert body["message"]
    assert await control(http, "GET", "faults") == {"data": []}
    # Nothing broken was queued: the API still responds normally.
    assert (await call(http, "GET", "/organizations"))[0] == 200


async def test_malformed_json_to_control_is_422(http: aiohttp.ClientSession) -> None:
    status, body = await call(
        http, "POST", "/_emulator/faults", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert status == 422
    assert body["code"] == "invalid_request_parameters"


# Verifications.


async def test_fail_next_verification_over_http(http: aiohttp.ClientSession) -> None:
    status, organization = await call(http, "POST", "/organizations", {"name": "Acme"})
    assert status == 201
    domains = []
    for name in ("one.com", "two.com"):
        status, domain = await call(
            http, "POST", "/organization_domains", {"organization_id": organization["id"], "domain": name}
        )
        assert status == 201
        domains.append(domain)
    assert await control(http, "POST", "verifications", {"fail_next": 1}) == {"fail_next": 1}
    for domain in domains:
        await control(http, "POST", "dns", {"domain_id": domain["id"]}, 201)
    states = [(await call(http, "POST", f"/organization_domains/{d['id']}/verify"))[1]["state"] for d in domains]
    assert states == ["failed", "verified"]


@pytest.mark.parametrize("body", [{"fail_next": -1}, {"fail_next": "one"}, {"fail_next": 1.5}, [1]])
async def test_invalid_fail_next_is_422(http: aiohttp.ClientSession, body: Any) -> None:
    status, reply = await call(http, "POST", "/_emulator/verifications", body)
    assert status == 422
    assert reply["message"]


# Seed, reset, requests.


async def test_seed_over_http(http: aiohttp.ClientSession) -> None:
    seed = {
        "organizations": [
            {"id": "org_01EHWNCE74X7JSDV0X3SZ3KJNY", "name": "Acme Inc.", "domains": ["acme.com"]},
            {"name": "Beta", "external_id": "beta"},
        ]
    }
    reply = await control(http, "POST", "seed", seed, expect=201)
    assert [organization["name"] for organization in reply["organizations"]] == ["Acme Inc.", "Beta"]
    assert reply["organizations"][0]["id"] == "org_01EHWNCE74X7JSDV0X3SZ3KJNY"
    status, fetched = await call(http, "GET", "/organizations/external_id/beta")
    assert status == 200
    assert fetched == reply["organizations"][1]
    assert await organization_names(http) == ["Acme Inc.", "Beta"]


async def test_bad_seed_over_http_is_422_and_stores_nothing(http: aiohttp.ClientSession) -> None:
    seed = [{"name": "Fine"}, {"external_id": "no-name"}]
    status, body = await call(http, "POST", "/_emulator/seed", seed)
    assert status == 422
    assert "organizations[1]" in body["message"]
    assert await organization_names(http) == []


async def test_reset_forgets_data_faults_log_and_failures(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    status, organization = await call(
        http, "POST", "/organizations", {"name": "Gone"}, headers={"Idempotency-Key": "k"}
    )
    assert status == 201
    await control(http, "POST", "faults", {"path": "/nowhere", "status": 500}, 201)
    await control(http, "POST", "verifications", {"fail_next": 1})
    assert await control(http, "POST", "reset") == {"reset": True}
    assert await control(http, "GET", "faults") == {"data": []}
    assert await control(http, "GET", "requests") == {"data": []}
    assert emulator.requests == []
    assert (await call(http, "GET", f"/organizations/{organization['id']}"))[0] == 404
    # The idempotency key is forgotten too: the same request creates a new organization.
    status, again = await call(http, "POST", "/organizations", {"name": "Gone"}, headers={"Idempotency-Key": "k"})
    assert status == 201
    assert again["id"] != organization["id"]
    # And the pending verification failure.
    status, domain = await call(
        http, "POST", "/organization_domains", {"organization_id": again["id"], "domain": "acme.com"}
    )
    await control(http, "POST", "dns", {"domain_id": domain["id"]}, 201)
    status, verified = await call(http, "POST", f"/organization_domains/{domain['id']}/verify")
    assert verified["state"] == "verified"


async def test_requests_log_over_http(http: aiohttp.ClientSession) -> None:
    await control(http, "POST", "faults", {"method": "POST", "path": "/organizations", "status": 503}, 201)
    assert (await call(http, "POST", "/organizations", {"name": "A"}, headers={"Idempotency-Key": "key-1"}))[0] == 503
    async with http.get("/organizations", params={"limit": "2"}) as response:
        request_id = response.headers["X-Request-ID"]
    entries = (await control(http, "GET", "requests"))["data"]
    # Control calls are not API requests and are not logged.
    assert [(e["method"], e["path"], e["status"], e["fault"]) for e in entries] == [
        ("POST", "/organizations", 503, "status_503"),
        ("GET", "/organizations", 200, None),
    ]
    assert all(set(entry) == REQUEST_KEYS for entry in entries)
    assert entries[0]["idempotency_key"] == "key-1"
    assert entries[1]["query"] == "limit=2"
    assert entries[1]["request_id"] == request_id


# Authorization and routing.


@pytest.mark.parametrize(("method", "path", "body"), CONTROL_ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer sk_test_wrong", "sk_test_default", "Bearer "])
async def test_control_routes_need_the_key(
    emulator: Emulator, http: aiohttp.ClientSession, method: str, path: str, body: Any, authorization: str | None
) -> None:
    await call(http, "POST", "/organizations", {"name": "Survivor"})
    headers = {} if authorization is None else {"Authorization": authorization}
    async with aiohttp.ClientSession(base_url=emulator.url, headers=headers) as anonymous:
        status, reply = await call(anonymous, method, path, body)
    assert status == 401
    assert reply == {"message": "Unauthorized"}
    # Nothing happened.
    assert await organization_names(http) == ["Survivor"]
    assert await control(http, "GET", "faults") == {"data": []}
    assert (await call(http, "GET", "/organizations"))[0] == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_emulator/"),
        ("GET", "/_emulator/nothing"),
        ("POST", "/_emulator/restart"),
        ("GET", "/_emulator/reset"),
        ("PUT", "/_emulator/faults"),
        ("DELETE", "/_emulator/requests"),
        ("POST", "/_emulator/faults/extra"),
    ],
)
async def test_unknown_control_route_is_404(http: aiohttp.ClientSession, method: str, path: str) -> None:
    status, body = await call(http, method, path)
    assert status == 404
    assert body == {"message": "Not Found"}


async def test_control_responses_carry_a_request_id(http: aiohttp.ClientSession) -> None:
    async with http.get("/_emulator/faults") as response:
        assert response.headers["X-Request-ID"]
