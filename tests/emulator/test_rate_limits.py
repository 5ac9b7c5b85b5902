"""Rate limits: off by default; when on, 429 with `Retry-After` past the limit, per window.

Each test runs its own emulator with tiny limits and a clock that stands still until the
test moves it past a window: however slow the machine, no window passes by accident, and the
tests of what happens after a window do not wait for one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from workos_orgs.emulator import Emulator, RateLimits

from ..clock import ManualClock

RATE_LIMITED = {"message": "Too many requests.", "code": "rate_limit_exceeded"}


@asynccontextmanager
async def limited(clock: Callable[[], float] | None = None, **limits: Any) -> AsyncIterator[aiohttp.ClientSession]:
    """A fresh emulator with the given `RateLimits` and a clock standing still (or `clock`), and a session to it."""
    async with Emulator(rate_limits=RateLimits(**limits), clock=clock or ManualClock()) as emulator:
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        async with aiohttp.ClientSession(base_url=emulator.url, headers=headers) as session:
            yield session


async def status_of(http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> int:
    async with http.request(method, path, **kwargs) as response:
        await response.read()
        return response.status


async def create(http: aiohttp.ClientSession, count: int) -> list[str]:
    ids = []
    for number in range(count):
        async with http.post("/organizations", json={"name": f"Org {number}"}) as response:
            assert response.status == 201
            ids.append((await response.json())["id"])
    return ids


async def assert_rate_limited(http: aiohttp.ClientSession, method: str, path: str) -> None:
    async with http.request(method, path) as response:
        assert response.status == 429
        assert await response.json() == RATE_LIMITED
        retry_after = response.headers["Retry-After"]
        assert retry_after.isdigit(), retry_after
        assert int(retry_after) >= 1
        assert uuid.UUID(response.headers["X-Request-ID"])


async def test_rate_limits_are_off_by_default(http: aiohttp.ClientSession) -> None:
    statuses = await asyncio.gather(*(status_of(http, "GET", "/organizations") for _ in range(200)))
    assert set(statuses) == {200}


async def test_a_request_over_the_limit_is_a_429_with_retry_after() -> None:
    async with limited(requests=5, organization_deletes=2, window_seconds=60.0) as http:
        assert [await status_of(http, "GET", "/organizations") for _ in range(5)] == [200] * 5
        await assert_rate_limited(http, "GET", "/organizations")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/organizations"), ("GET", "/organizations/org_01EHWNCE74X7JSDV0X3SZ3KJNY"), ("GET", "/nowhere")],
    ids=["create", "get", "unknown route"],
)
async def test_the_limit_covers_every_api_route(method: str, path: str) -> None:
    async with limited(requests=1, organization_deletes=1, window_seconds=60.0) as http:
        await status_of(http, "GET", "/organizations")
        await assert_rate_limited(http, method, path)


async def test_refused_requests_do_not_extend_the_wait() -> None:
    clock = ManualClock()
    async with limited(clock, requests=2, organization_deletes=2, window_seconds=60.0) as http:
        for _ in range(2):
            await status_of(http, "GET", "/organizations")
        clock.advance(30.0)
        for _ in range(5):
            assert await status_of(http, "GET", "/organizations") == 429
        clock.advance(30.0)  # a window after the allowed requests, half one after the refused
        assert await status_of(http, "GET", "/organizations") == 200


async def test_requests_succeed_again_after_the_window() -> None:
    clock = ManualClock()
    async with limited(clock, requests=3, organization_deletes=2, window_seconds=60.0) as http:
        for _ in range(3):
            await status_of(http, "GET", "/organizations")
        assert await status_of(http, "GET", "/organizations") == 429
        clock.advance(60.0)
        assert [await status_of(http, "GET", "/organizations") for _ in range(3)] == [200] * 3


async def test_organization_deletes_have_their_own_smaller_limit() -> None:
    async with limited(requests=100, organization_deletes=2, window_seconds=60.0) as http:
        first, second, third = await create(http, 3)
        assert await status_of(http, "DELETE", f"/organizations/{first}") == 202
        assert await status_of(http, "DELETE", f"/organizations/{second}") == 202
        await assert_rate_limited(http, "DELETE", f"/organizations/{third}")
        assert await status_of(http, "GET", f"/organizations/{third}") == 200
        assert await status_of(http, "GET", "/organizations") == 200


async def test_organization_deletes_are_allowed_again_after_the_window() -> None:
    clock = ManualClock()
    async with limited(clock, requests=100, organization_deletes=1, window_seconds=60.0) as http:
        first, second = await create(http, 2)
        assert await status_of(http, "DELETE", f"/organizations/{first}") == 202
        assert await status_of(http, "DELETE", f"/organizations/{second}") == 429
        clock.advance(60.0)
        assert await status_of(http, "DELETE", f"/organizations/{second}") == 202


async def test_domain_deletes_do_not_use_the_organization_delete_allowance() -> None:
    async with limited(requests=100, organization_deletes=1, window_seconds=60.0) as http:
        body = {"name": "Acme", "domain_data": [{"domain": f"d{n}.com", "state": "pending"} for n in range(3)]}
        async with http.post("/organizations", json=body) as response:
            organization = await response.json()
        for domain in organization["domains"]:
            assert await status_of(http, "DELETE", f"/organization_domains/{domain['id']}") == 204
        assert await status_of(http, "DELETE", f"/organizations/{organization['id']}") == 202


async def test_health_is_not_rate_limited() -> None:
    async with limited(requests=1, organization_deletes=1, window_seconds=60.0) as http:
        await status_of(http, "GET", "/organizations")
        assert await status_of(http, "GET", "/organizations") == 429
        assert await status_of(http, "GET", "/health") == 200


def test_the_default_limits_are_workos_published_ones() -> None:
    assert RateLimits() == RateLimits(requests=6_000, organization_deletes=50, window_seconds=60.0)


async def test_rate_limits_true_turns_on_the_published_limits() -> None:
    async with Emulator(rate_limits=True) as emulator:
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        async with aiohttp.ClientSession(base_url=emulator.url, headers=headers) as http:
            ids = await create(http, 51)
            statuses = [await status_of(http, "DELETE", f"/organizations/{ident}") for ident in ids]
    assert statuses == [202] * 50 + [429]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"requests": 0}, "requests"),
        ({"requests": -5}, "requests"),
        ({"requests": 1.5}, "requests"),
        ({"organization_deletes": 0}, "organization_deletes"),
        ({"window_seconds": 0}, "window_seconds"),
        ({"window_seconds": -1.0}, "window_seconds"),
        ({"window_seconds": float("nan")}, "window_seconds"),
        ({"window_seconds": float("inf")}, "window_seconds"),
    ],
)
def test_rate_limits_that_would_refuse_every_request_are_refused_at_construction(
    options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=f"^{field} must be"):
        RateLimits(**options)


def test_the_smallest_rate_limits_are_accepted() -> None:
    limits = RateLimits(requests=1, organization_deletes=1, window_seconds=0.001)
    assert (limits.requests, limits.organization_deletes, limits.window_seconds) == (1, 1, 0.001)
