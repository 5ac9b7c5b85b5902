"""Fault injection from Python: statuses, delays, dropped connections, matching, the request log."""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from typing import Any

import aiohttp
import attrs
import pytest

from workos_orgs.emulator import DEFAULT_API_KEY, Emulator, Fault, PendingFault

from ..gate import SAFETY_NET

RATE_LIMITED = {"message": "Too many requests.", "code": "rate_limit_exceeded"}


async def call(http: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    kwargs = {} if body is None else {"json": body}
    async with http.request(method, path, **kwargs) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def organization_names(emulator: Emulator) -> list[str]:
    """What is stored, read over a fresh connection (so no fault queue is involved)."""
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with (
        aiohttp.ClientSession(base_url=emulator.url, headers=headers) as session,
        session.get("/organizations", params={"limit": "100", "order": "asc"}) as response,
    ):
        assert response.status == 200
        return [organization["name"] for organization in (await response.json())["data"]]


def log(emulator: Emulator) -> list[tuple[str, str, int | None, str | None]]:
    return [(entry.method, entry.path, entry.status, entry.fault) for entry in emulator.requests]


# Status faults.


async def test_status_fault_with_json_body_and_retry_after(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    fault = emulator.inject_fault(
        method="GET", path="/organizations", status=503, body={"message": "Down for lunch"}, retry_after=7
    )
    assert isinstance(fault, Fault)
    async with http.get("/organizations") as response:
        assert response.status == 503
        assert response.content_type == "application/json"
        assert response.headers["Retry-After"] == "7"
        assert response.headers["X-Request-ID"]
        assert await response.json() == {"message": "Down for lunch"}
    async with http.get("/organizations") as response:
        assert response.status == 200
        assert "Retry-After" not in response.headers


async def test_default_body_for_429_is_the_rate_limit_body(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(path="/organizations", status=429, retry_after=2)
    async with http.get("/organizations") as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "2"
        assert await response.json() == RATE_LIMITED


async def test_injected_429_carries_retry_after_even_when_not_given(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    # The contract: a 429 always comes with `Retry-After: <seconds>`; the default 429 fault
    # stands in for the API's rate limit reply, so it should not be missing the header.
    emulator.inject_fault(path="/organizations", status=429)
    async with http.get("/organizations") as response:
        assert response.status == 429
        assert await response.json() == RATE_LIMITED
        assert response.headers.get("Retry-After", "").isdigit()


@pytest.mark.parametrize("status", [400, 500, 502, 503])
async def test_default_body_for_other_statuses_is_json_with_a_message(
    emulator: Emulator, http: aiohttp.ClientSession, status: int
) -> None:
    emulator.inject_fault(path="/organizations", status=status)
    responded, body = await call(http, "GET", "/organizations")
    assert responded == status
    assert body == {"message": f"Injected fault: HTTP {status}."}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>Bad Gateway</body></html>", "text/html"),
        ("  <html>Bad Gateway</html>", "text/html"),
        ("upstream connect error", "text/plain"),
    ],
)
async def test_string_body_is_sent_as_text(
    emulator: Emulator, http: aiohttp.ClientSession, body: str, content_type: str
) -> None:
    emulator.inject_fault(path="/organizations", status=502, body=body)
    async with http.get("/organizations") as response:
        assert response.status == 502
        assert response.content_type == content_type
        assert await response.text() == body


async def test_explicit_content_type(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(path="/organizations", status=500, body="oops", content_type="application/problem+json")
    async with http.get("/organizations") as response:
        assert response.content_type == "application/problem+json"
        assert await response.read() == b"oops"


async def test_status_fault_skips_the_work(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(method="POST", path="/organizations", status=500)
    status, _ = await call(http, "POST", "/organizations", {"name": "Never"})
    assert status == 500
    assert await organization_names(emulator) == []


@pytest.mark.parametrize("times", [1, 2, 5])
async def test_times_applies_to_exactly_that_many_requests(
    emulator: Emulator, http: aiohttp.ClientSession, times: int
) -> None:
    emulator.inject_fault(method="POST", path="/organizations", status=503, times=times)
    statuses = [(await call(http, "POST", "/organizations", {"name": f"Try {n}"}))[0] for n in range(times + 2)]
    assert statuses == [503] * times + [201, 201]
    assert await organization_names(emulator) == [f"Try {times}", f"Try {times + 1}"]


async def test_faults_queue_in_the_order_they_were_added(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(path="/organizations", status=500)
    emulator.inject_fault(path="/organizations", status=502, times=2)
    statuses = [(await call(http, "GET", "/organizations"))[0] for _ in range(4)]
    assert statuses == [500, 502, 502, 200]


# Matching.


async def test_fault_for_post_does_not_fire_on_get(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(method="post", path="/organizations", status=503)  # the method is case-insensitive
    assert (await call(http, "GET", "/organizations"))[0] == 200
    assert (await call(http, "POST", "/organizations", {"name": "A"}))[0] == 503
    assert (await call(http, "POST", "/organizations", {"name": "B"}))[0] == 201


async def test_any_method_by_default(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(path="/organizations", status=503, times=2)
    assert (await call(http, "GET", "/organizations"))[0] == 503
    assert (await call(http, "POST", "/organizations", {"name": "A"}))[0] == 503
    assert (await call(http, "POST", "/organizations", {"name": "B"}))[0] == 201


@pytest.mark.parametrize(
    ("pattern", "path", "fires"),
    [
        ("/organizations", "/organizations", True),
        ("/organizations", "/organizations/{org}", False),
        ("/organizations/*", "/organizations", False),
        ("/organizations/*", "/organizations/{org}", True),
        ("/organizations*", "/organizations", True),
        ("/organizations*", "/organizations/{org}", True),
        ("/organizations*", "/organizations/external_id/acme", True),
        ("/organizations/*", "/organizations/external_id/acme", True),  # `*` crosses `/`
        ("/organization_domains/*/verify", "/organization_domains/{domain}/verify", True),
        ("/organization_domains/*/verify", "/organization_domains/{domain}", False),
        ("*", "/organization_domains/{domain}", True),
        ("/organizations/org_*", "/organizations/external_id/acme", False),
        ("/organizations/?", "/organizations/{org}", False),
    ],
)
async def test_path_glob_matching(
    emulator: Emulator, http: aiohttp.ClientSession, pattern: str, path: str, fires: bool
) -> None:
    status, organization = await call(
        http, "POST", "/organizations", {"name": "Acme", "external_id": "acme", "domain_data": []}
    )
    assert status == 201
    status, domain = await call(
        http, "POST", "/organization_domains", {"organization_id": organization["id"], "domain": "acme.com"}
    )
    assert status == 201
    target = path.format(org=organization["id"], domain=domain["id"])
    method = "POST" if target.endswith("/verify") else "GET"
    emulator.inject_fault(method=method, path=pattern, status=418)
    status, _ = await call(http, method, target)
    assert (status == 418) is fires


async def test_query_string_is_not_part_of_the_path(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(method="GET", path="/organizations", status=503)
    async with http.get("/organizations", params={"limit": "5"}) as response:
        assert response.status == 503


# Delays.


@pytest.mark.parametrize("delay_ms", [50, 250])
async def test_delay_then_a_normal_response(emulator: Emulator, http: aiohttp.ClientSession, delay_ms: int) -> None:
    emulator.inject_fault(method="POST", path="/organizations", delay_ms=delay_ms)
    started = time.monotonic()
    status, body = await call(http, "POST", "/organizations", {"name": "Slow"})
    elapsed = time.monotonic() - started
    assert elapsed >= delay_ms / 1000
    assert status == 201
    assert body["name"] == "Slow"
    assert await organization_names(emulator) == ["Slow"]
    assert log(emulator)[0] == ("POST", "/organizations", 201, "delay")


async def test_delay_then_a_status(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(path="/organizations", delay_ms=100, status=504)
    started = time.monotonic()
    status, _ = await call(http, "GET", "/organizations")
    assert time.monotonic() - started >= 0.1
    assert status == 504


async def test_a_delayed_request_does_not_hold_up_others(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(method="GET", path="/organizations", hold=True)
    slow = asyncio.create_task(call(http, "GET", "/organizations"))
    async with asyncio.timeout(SAFETY_NET):
        await emulator.wait_until_held()  # the slow request has reached the emulator first
    assert (await call(http, "POST", "/organizations", {"name": "Quick"}))[0] == 201
    assert not slow.done()
    assert emulator.release_held() == 1
    status, page = await slow
    assert status == 200
    assert [organization["name"] for organization in page["data"]] == ["Quick"]
    assert log(emulator) == [("POST", "/organizations", 201, None), ("GET", "/organizations", 200, "hold")]


async def test_a_delay_is_waited_at_the_emulator_and_can_be_cut_short(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    # The longest delay a fault may have (10 minutes): only release_held ends it before the
    # test's safety net.
    emulator.inject_fault(method="GET", path="/organizations", delay_ms=600_000)
    slow = asyncio.create_task(call(http, "GET", "/organizations"))
    async with asyncio.timeout(SAFETY_NET):
        await emulator.wait_until_held()
    assert emulator.held_requests == 1
    assert (await call(http, "POST", "/organizations", {"name": "Quick"}))[0] == 201
    assert not slow.done()
    assert emulator.release_held() == 1
    status, page = await slow
    assert (status, [organization["name"] for organization in page["data"]]) == (200, ["Quick"])
    assert emulator.held_requests == 0
    assert log(emulator) == [("POST", "/organizations", 201, None), ("GET", "/organizations", 200, "delay")]


async def test_closing_the_emulator_releases_held_requests() -> None:
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    async with Emulator() as emulator, aiohttp.ClientSession(base_url=emulator.url, headers=headers) as http:
        emulator.inject_fault(method="GET", path="/organizations", hold=True)
        slow = asyncio.create_task(call(http, "GET", "/organizations"))
        async with asyncio.timeout(SAFETY_NET):
            await emulator.wait_until_held()
        async with asyncio.timeout(SAFETY_NET):
            await emulator.close()
            status, _ = await slow
    assert status == 200


async def test_waiting_for_a_hold_ends_with_an_error_once_the_emulator_is_closed() -> None:
    # Once closed, no request is held any more: a wait for one, begun before the close or
    # after it, never returned.
    emulator = Emulator()
    await emulator.start()
    waiting = asyncio.create_task(emulator.wait_until_held())
    await asyncio.sleep(0)  # it waits
    async with asyncio.timeout(SAFETY_NET):
        await emulator.close()
        with pytest.raises(RuntimeError, match="was closed"):
            await waiting
        with pytest.raises(RuntimeError, match="was closed"):
            await emulator.wait_until_held()


# Dropped connections.


async def test_drop_before_does_nothing_and_disconnects(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(method="POST", path="/organizations", drop="before")
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(http, "POST", "/organizations", {"name": "Lost"})
    assert await organization_names(emulator) == []
    assert log(emulator)[0] == ("POST", "/organizations", None, "drop_before")


async def test_drop_after_does_the_work_then_disconnects(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(method="POST", path="/organizations", drop="after")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, "POST", "/organizations", {"name": "Did it happen?"})
    # It did: the organization exists, and the session still works for the next call.
    assert await organization_names(emulator) == ["Did it happen?"]
    status, body = await call(http, "GET", "/organizations")
    assert status == 200
    assert [organization["name"] for organization in body["data"]] == ["Did it happen?"]
    assert log(emulator)[0] == ("POST", "/organizations", None, "drop_after")


async def test_drop_after_a_delay(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(method="POST", path="/organizations", drop="after", delay_ms=100)
    started = time.monotonic()
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(http, "POST", "/organizations", {"name": "Slowly"})
    assert time.monotonic() - started >= 0.1
    assert await organization_names(emulator) == ["Slowly"]


async def test_drop_after_with_idempotency_key_is_safe_to_retry(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    emulator.inject_fault(method="POST", path="/organizations", drop="after")
    headers = {"Idempotency-Key": "retry-me"}
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.post("/organizations", json={"name": "Once"}, headers=headers):
            pass
    async with http.post("/organizations", json={"name": "Once"}, headers=headers) as response:
        assert response.status == 201
    assert await organization_names(emulator) == ["Once"]


# The request log.


async def test_requests_records_every_attempt(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(method="POST", path="/organizations", status=503)
    emulator.inject_fault(method="POST", path="/organizations", drop="before")
    emulator.inject_fault(method="GET", path="/organizations/*", delay_ms=1)
    assert (await call(http, "POST", "/organizations", {"name": "A"}))[0] == 503
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(http, "POST", "/organizations", {"name": "A"})
    status, created = await call(http, "POST", "/organizations", {"name": "A"})
    assert status == 201
    assert (await call(http, "GET", f"/organizations/{created['id']}"))[0] == 200
    async with http.get("/organizations", params={"limit": "3"}):
        pass
    assert log(emulator) == [
        ("POST", "/organizations", 503, "status_503"),
        ("POST", "/organizations", None, "drop_before"),
        ("POST", "/organizations", 201, None),
        ("GET", f"/organizations/{created['id']}", 200, "delay"),
        ("GET", "/organizations", 200, None),
    ]
    last = emulator.requests[-1]
    assert last.query == "limit=3"
    assert last.idempotency_key is None
    assert len({entry.request_id for entry in emulator.requests}) == 5


async def test_request_id_in_the_log_matches_the_header(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.get("/organizations", headers={"Idempotency-Key": "k"}) as response:
        request_id = response.headers["X-Request-ID"]
    assert [entry.request_id for entry in emulator.requests] == [request_id]
    assert emulator.requests[0].idempotency_key == "k"


# What faults leave alone.


async def test_faults_do_not_fire_for_unauthorized_requests(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(path="*", status=503)
    async with aiohttp.ClientSession(base_url=emulator.url) as anonymous:
        for headers in ({}, {"Authorization": "Bearer sk_test_wrong"}):
            async with anonymous.get("/organizations", headers=headers) as response:
                assert response.status == 401
                assert await response.json() == {"message": "Unauthorized"}
    assert emulator.requests == []
    # The fault is still waiting for an authorized request.
    assert (await call(http, "GET", "/organizations"))[0] == 503


async def test_faults_do_not_touch_health_or_control_routes(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(path="*", status=503)
    async with http.get("/health") as response:
        assert response.status == 200
    async with http.get("/_emulator/requests") as response:
        assert response.status == 200
    assert (await call(http, "GET", "/organizations"))[0] == 503


async def test_clear_faults(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(path="*", status=503, times=10)
    emulator.inject_fault(method="POST", path="/organizations", drop="before")
    emulator.clear_faults()
    assert (await call(http, "GET", "/organizations"))[0] == 200
    assert (await call(http, "POST", "/organizations", {"name": "A"}))[0] == 201


async def test_reset_clears_faults(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault(path="*", status=503)
    emulator.reset()
    assert (await call(http, "GET", "/organizations"))[0] == 200


async def test_a_fault_object_can_be_passed(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    fault = Fault(method="GET", path="/organizations", status=500, times=2)
    assert emulator.inject_fault(fault) is fault
    assert fault.kind == "status_500"
    statuses = [(await call(http, "GET", "/organizations"))[0] for _ in range(3)]
    assert statuses == [500, 500, 200]
    with pytest.raises(TypeError):
        emulator.inject_fault(fault, status=503)


INVALID_SPECS = {
    "status-and-drop-after": {"status": 503, "drop": "after"},
    "status-and-drop-before": {"status": 503, "drop": "before"},
    "nothing": {},
    "only-a-path": {"path": "/organizations"},
    "times-0": {"status": 503, "times": 0},
    "times-negative": {"status": 503, "times": -1},
    "drop-sideways": {"drop": "sideways"},
    "negative-delay": {"delay_ms": -1},
    "status-99": {"status": 99},
    "status-600": {"status": 600},
}


@pytest.mark.parametrize("spec", INVALID_SPECS.values(), ids=INVALID_SPECS.keys())
async def test_invalid_fault_specs_raise_value_error(emulator: Emulator, spec: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        emulator.inject_fault(**spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"method": 5, "status": 503},
        {"path": 5, "status": 503},
        {"path": None, "status": 503},
        {"status": 503, "body": "x", "content_type": 5},
    ],
    ids=["method-not-a-string", "path-not-a-string", "path-null", "content-type-not-a-string"],
)
async def test_mistyped_fault_fields_are_refused_up_front(
    emulator: Emulator, http: aiohttp.ClientSession, spec: dict[str, Any]
) -> None:
    with pytest.raises((TypeError, ValueError)):
        emulator.inject_fault(**spec)
    # A fault that was let in would break every request it is checked against.
    assert (await call(http, "GET", "/organizations"))[0] == 200


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ({"status": 503}, "status_503"),
        ({"delay_ms": 5}, "delay"),
        ({"drop": "before"}, "drop_before"),
        ({"drop": "after", "delay_ms": 5}, "drop_after"),
    ],
)
def test_fault_kind(spec: dict[str, Any], kind: str) -> None:
    assert Fault(**spec).kind == kind


# Faults that could never match, and the typed way to ask for one.


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"path": "organizations", "status": 500}, "must start with '/'"),
        ({"path": "/organizations?limit=1", "status": 500}, "without the query string"),
        ({"method": "GET /x", "status": 500}, "HTTP method name"),
        ({"drop": "sideways"}, "drop must be 'before' (nothing done) or 'after' (done, then dropped); got 'sideways'."),
    ],
)
def test_a_fault_that_could_never_match_is_refused_at_once(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        Fault(**spec)
    assert "\n" not in str(raised.value)


def test_a_glob_question_mark_is_still_a_glob() -> None:
    assert Fault(path="/organizations/?", status=500).matches("GET", "/organizations/x")


async def test_the_control_api_refuses_a_fault_that_could_never_match(http: aiohttp.ClientSession) -> None:
    async with http.post("/_emulator/faults", json={"path": "organizations", "status": 500}) as response:
        assert response.status == 422
        assert "must start with '/'" in (await response.json())["message"]


def test_inject_fault_takes_typed_keywords() -> None:
    parameters = inspect.signature(Emulator.inject_fault).parameters
    assert list(parameters)[2:] == [
        "method",
        "path",
        "status",
        "body",
        "content_type",
        "retry_after",
        "delay_ms",
        "drop",
        "times",
        "hold",
    ]
    assert all(parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in list(parameters)[2:])
    # The signature is the one copy of Fault's defaults that cannot be derived: kept in step here.
    assert {name: parameters[name].default for name in list(parameters)[2:]} == {
        field.name: field.default for field in attrs.fields(Fault)
    }


async def test_inject_fault_refuses_a_fault_and_fields_together(emulator: Emulator) -> None:
    with pytest.raises(TypeError, match="either a Fault or its fields"):
        emulator.inject_fault(Fault(status=500), status=503)


async def test_pending_faults_are_listed_with_what_they_have_left(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    first = emulator.inject_fault(method="GET", path="/organizations", status=503, times=2)
    second = emulator.inject_fault(path="/organizations/*", delay_ms=1)
    assert emulator.pending_faults() == [PendingFault(first, 2), PendingFault(second, 1)]
    async with http.get("/organizations") as response:
        assert response.status == 503
    assert emulator.pending_faults() == [PendingFault(first, 1), PendingFault(second, 1)]
    emulator.clear_faults()
    assert emulator.pending_faults() == []


@pytest.mark.parametrize("body", [{1, 2}, {"when": object()}, {1: "integer key"}], ids=["set", "object", "int-key"])
async def test_a_fault_body_that_is_not_json_is_refused_at_injection(emulator: Emulator, body: Any) -> None:
    with pytest.raises(ValueError, match=r"^body must be a string or a JSON value"):
        emulator.inject_fault(path="/organizations", status=500, body=body)
    assert emulator.pending_faults() == []
