"""Retries against injected faults, counting the attempts the emulator saw."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from workos_orgs import (
    APIConnectionError,
    APITimeoutError,
    AsyncWorkOS,
    Backoff,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    RateLimiter,
)
from workos_orgs.emulator import Emulator

from .. import clock
from ..gate import SAFETY_NET, Gate
from .conftest import FAST

AN_HOUR = 3600.0
GENEROUS = 60.0
"""The timeout of requests that must not time out: one the machine would have to stall through."""


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried_until_success(
    client: AsyncWorkOS, emulator: Emulator, status: int
) -> None:
    emulator.inject_fault(method="POST", path="/organizations", status=status, times=2)
    organization = await client.organizations.create(name="Acme")
    assert organization.name == "Acme"
    attempts = emulator.requests
    assert [request.status for request in attempts] == [status, status, 201]
    assert len({request.idempotency_key for request in attempts}) == 1


async def test_429_retry_after_is_honoured(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(method="GET", path="/organizations/*", status=429, retry_after=1)
    created = await client.organizations.create(name="Acme")
    raw = await client.organizations.with_raw_response.get(created.id)
    assert raw.status_code == 200
    assert [request.status for request in emulator.requests[1:]] == [429, 200]


async def test_other_4xx_are_not_retried(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(method="POST", path="/organizations", status=400, body={"message": "no"}, times=3)
    with pytest.raises(BadRequestError):
        await client.organizations.create(name="Acme")
    assert len(emulator.requests) == 1


async def test_max_retries_per_call_and_per_view(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(method="GET", path="/organizations/*", status=503, times=10)
    with pytest.raises(InternalServerError):
        await client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV", max_retries=0)
    assert len(emulator.requests) == 1
    with pytest.raises(InternalServerError):
        await client.with_options(max_retries=4).organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert len(emulator.requests) == 1 + 5


async def test_a_connection_dropped_before_the_work_is_retried(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(method="POST", path="/organizations", drop="before")
    organization = await client.organizations.create(name="Acme")
    assert [request.status for request in emulator.requests] == [None, 201]
    assert [organization] == [org async for org in client.organizations.list()]


async def test_a_create_whose_response_was_lost_happens_once(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(method="POST", path="/organizations", drop="after")
    organization = await client.organizations.create(name="Acme", external_id="acme-1")
    attempts = emulator.requests
    assert [request.status for request in attempts] == [None, 201]
    assert attempts[0].fault == "drop_after"
    assert attempts[0].idempotency_key == attempts[1].idempotency_key is not None
    # One organization, not two: the retry replayed the first response.
    assert [org.id async for org in client.organizations.list()] == [organization.id]


async def test_drops_on_every_attempt_raise_a_connection_error(client: AsyncWorkOS, emulator: Emulator) -> None:
    # A POST, because aiohttp itself resends an idempotent request (GET, PUT, DELETE) once
    # when a reused keep-alive connection closes under it, which would blur the count.
    emulator.inject_fault(method="POST", path="/organizations", drop="before", times=3)
    with pytest.raises(APIConnectionError) as caught:
        await client.organizations.create(name="Acme")
    assert not isinstance(caught.value, APITimeoutError)
    assert "POST /organizations" in str(caught.value)
    assert [request.status for request in emulator.requests] == [None, None, None]
    assert [org async for org in client.organizations.list()] == []


def test_a_slow_response_times_out_and_is_retried() -> None:
    clock.run(a_slow_response_times_out_and_is_retried())


async def a_slow_response_times_out_and_is_retried() -> None:
    async with (
        Emulator(stall_timeout=AN_HOUR) as emulator,
        Gate(emulator.url) as gate,
        AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client,
        AsyncWorkOS(api_key=emulator.api_key, base_url=gate.url, backoff=FAST, timeout=GENEROUS) as gated,
    ):
        # The first attempt does the work, and its response never comes: once it has arrived,
        # the clock skips past its timeout.  The retry has the whole generous timeout again.
        first = gate.hold("POST", "/organizations", work_first=True)
        call = asyncio.create_task(gated.organizations.create(name="Acme"))
        await first.arrived()
        clock.skip(GENEROUS + 2)  # aiohttp rounds a deadline up to the next whole second
        async with asyncio.timeout(SAFETY_NET):
            organization = await call
        assert first.held == 1
        assert organization.name == "Acme"
        # The slow first attempt still did the work; the retry replayed it.
        assert [org.id async for org in client.organizations.list()] == [organization.id]
        posts = [request for request in emulator.requests if request.method == "POST"]
        assert len(posts) == 2
        assert len({request.idempotency_key for request in posts}) == 1


async def test_timeouts_on_every_attempt_raise_a_timeout_error(emulator: Emulator) -> None:
    async with Gate(emulator.url) as gate:
        gate.hold("GET", "/organizations/*", times=2)  # never answered
        async with AsyncWorkOS(api_key=emulator.api_key, base_url=gate.url, backoff=FAST) as client:
            with pytest.raises(APITimeoutError, match=r"0\.1s socket timeout"):
                await client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV", timeout=0.1, max_retries=1)


def test_the_attempt_bound_follows_timeout_unless_given() -> None:
    assert AsyncWorkOS(api_key="sk_test", timeout=2).attempt_timeout == 6.0
    assert AsyncWorkOS(api_key="sk_test", timeout=None).attempt_timeout is None
    given = AsyncWorkOS(api_key="sk_test", timeout=None, attempt_timeout=5)
    assert (given.timeout, given.attempt_timeout) == (None, 5.0)
    # A view that changes timeout keeps a bound that was given, and moves one that was not.
    assert given.with_options(timeout=1).attempt_timeout == 5.0
    assert AsyncWorkOS(api_key="sk_test", timeout=2).with_options(timeout=1).attempt_timeout == 3.0
    assert (
        AsyncWorkOS(api_key="sk_test", timeout=2, attempt_timeout=1).with_options(attempt_timeout=None).attempt_timeout
        is None
    )


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), True, "5"])
def test_a_bad_attempt_bound_is_refused_by_name(bad: object) -> None:
    with pytest.raises(ConfigurationError, match=r"^attempt_timeout must be a positive number of seconds or None"):
        AsyncWorkOS(api_key="sk_test", attempt_timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"^attempt_timeout must be"):
        AsyncWorkOS(api_key="sk_test").with_options(attempt_timeout=bad)  # type: ignore[arg-type]


async def test_a_refused_connection_is_a_connection_error() -> None:
    async with AsyncWorkOS(api_key="sk_test", base_url="http://127.0.0.1:9", max_retries=1, backoff=FAST) as client:
        with pytest.raises(APIConnectionError, match="Connection failed"):
            await client.organizations.get("org_1")


async def test_retries_are_logged_without_secrets(
    client: AsyncWorkOS, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.inject_fault(method="POST", path="/organizations", status=503)
    with caplog.at_level(logging.DEBUG, logger="workos_orgs"):
        await client.organizations.create(name="Acme", idempotency_key="idem-secret-1")
    lines = [record.getMessage() for record in caplog.records]
    assert any("POST /organizations -> 503" in line and "attempt=1" in line for line in lines)
    assert any("Retrying POST /organizations" in line for line in lines)
    assert any("POST /organizations -> 201" in line and "attempt=2" in line for line in lines)
    request_id = emulator.requests[-1].request_id
    assert any(request_id in line for line in lines)
    assert not any(emulator.api_key in line or "idem-secret-1" in line for line in lines)


TOO_LARGE_FOR_A_FLOAT = 10**400


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda: AsyncWorkOS(api_key="sk_test", timeout=TOO_LARGE_FOR_A_FLOAT), "timeout must be"),
        (lambda: AsyncWorkOS(api_key="sk_test", attempt_timeout=TOO_LARGE_FOR_A_FLOAT), "attempt_timeout must be"),
        (lambda: AsyncWorkOS(api_key="sk_test").with_options(timeout=TOO_LARGE_FOR_A_FLOAT), "timeout must be"),
        (lambda: Backoff(base=TOO_LARGE_FOR_A_FLOAT), "Backoff.base must be"),
        (lambda: Backoff(max_retry_after=-TOO_LARGE_FOR_A_FLOAT), "Backoff.max_retry_after must be"),
        (lambda: RateLimiter(requests_per_minute=TOO_LARGE_FOR_A_FLOAT), "requests_per_minute"),
        (lambda: RateLimiter(organization_deletes_per_minute=TOO_LARGE_FOR_A_FLOAT), "organization_deletes_per_minute"),
    ],
    ids=["timeout", "attempt_timeout", "with_options", "backoff base", "backoff negative", "requests", "deletes"],
)
def test_a_whole_number_too_large_for_a_float_is_refused_by_name(make: Callable[[], object], said: str) -> None:
    # It passed the range checks, then raised a bare OverflowError from float() (a Backoff's
    # only at its first retry, turning a 503 into an OverflowError).
    with pytest.raises(ConfigurationError, match=said) as caught:
        make()
    assert "1000000000" in str(caught.value)  # the value, cut short
