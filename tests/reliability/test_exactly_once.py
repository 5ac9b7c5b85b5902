"""Exactly-once creates and deletes when the server does not honour ``Idempotency-Key``.

Every test here runs against ``Emulator(idempotency=False)``: a retried create really would
make a second organization, so whatever keeps the count at one is the SDK's doing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from workos_orgs import (
    APIConnectionError,
    APITimeoutError,
    AsyncWorkOS,
    BadRequestError,
    DomainData,
    DomainState,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
)
from workos_orgs._retry import attempt_outcome_unknown, ended_without_response, outcome_unknown
from workos_orgs.emulator import Emulator

from .. import clock
from ..gate import SAFETY_NET, Gate
from .conftest import FAST

AN_HOUR = 3600.0
GENEROUS = 60.0
"""The timeout of requests that must not time out: one the machine would have to stall through."""


async def names(client: AsyncWorkOS) -> list[str]:
    return sorted([organization.name async for organization in client.organizations.list(limit=100)])


async def logged(emulator: Emulator, method: str, count: int) -> None:
    """Wait (polling the emulator's request log) until `count` `method` requests have been served."""
    async with asyncio.timeout(30):  # a safety net: the log, not the clock, says when
        while sum(1 for r in emulator.requests if r.method == method) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def trail(emulator: Emulator) -> list[tuple[str, str, int | None, str | None]]:
    return [(r.method, r.path, r.status, r.fault) for r in emulator.requests]


# The pure core: which attempts leave the outcome unknown.


@pytest.mark.parametrize(
    ("status", "reached_server", "unknown"),
    [
        (None, True, True),  # dropped, or no answer in time: the work may be done
        (None, False, False),  # could not connect: nothing was sent
        (500, True, True),
        (502, True, True),
        (503, True, True),
        (504, True, True),
        (429, True, False),  # refused before any work
        (408, True, False),
        (400, True, False),
        (404, True, False),
        (201, True, False),
    ],
)
def test_which_attempts_leave_the_outcome_unknown(status: int | None, reached_server: bool, unknown: bool) -> None:
    assert attempt_outcome_unknown(status=status, reached_server=reached_server) is unknown


def test_ended_without_response_needs_an_unknown_attempt_and_a_last_attempt_worth_retrying() -> None:
    dropped = APIConnectionError("dropped", method="POST", path="/organizations", attempts=3, outcome_unknown=True)
    refused = APIConnectionError("refused", method="POST", path="/organizations", attempts=3, outcome_unknown=False)
    server = InternalServerError("boom", status_code=502, attempts=3, outcome_unknown=True)
    limited = RateLimitError("slow down", status_code=429, attempts=3, outcome_unknown=False)
    after_a_drop = BadRequestError("used", status_code=400, code="external_id_already_used", outcome_unknown=True)
    assert [ended_without_response(e) for e in (dropped, refused, server, limited, after_a_drop)] == [
        True,
        False,
        True,
        False,
        False,
    ]


# Creates with an external id.


async def test_a_create_whose_answer_was_lost_returns_the_one_organization(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    bare_emulator.inject_fault(method="POST", path="/organizations", drop="after")
    organization = await bare_client.organizations.create(
        name="Acme", external_id="acme-1", domain_data=[DomainData("acme.com", DomainState.VERIFIED)]
    )
    assert (organization.name, organization.external_id) == ("Acme", "acme-1")
    assert [d.domain for d in organization.domains] == ["acme.com"]
    assert trail(bare_emulator) == [
        ("POST", "/organizations", None, "drop_after"),  # made, answer lost
        ("POST", "/organizations", 400, None),  # external_id_already_used: by us
        ("GET", "/organizations/external_id/acme-1", 200, None),
    ]
    assert await names(bare_client) == ["Acme"]


@pytest.mark.parametrize(
    "date", ["Thu, 01 Jan 99999999999 00:00:00 GMT", "Thu, 01 Jan 2026 00:00:00 +99999999999999999999"]
)
async def test_a_retry_after_date_no_calendar_holds_is_ignored(
    bare_client: AsyncWorkOS, bare_emulator: Emulator, date: str
) -> None:
    # It was a bare OverflowError: no retry, no outcome_unknown, and a sync stopped outright.
    bare_emulator.inject_fault(method="POST", path="/organizations", status=503, retry_after=date)
    organization = await bare_client.organizations.create(name="Acme", external_id="acme-1")
    assert organization.external_id == "acme-1"
    assert [(r.status, r.fault) for r in bare_emulator.requests] == [(503, "status_503"), (201, None)]
    bare_emulator.inject_fault(method="GET", path="/organizations/*", status=429, retry_after=date)
    with pytest.raises(RateLimitError) as caught:
        await bare_client.organizations.get(organization.id, max_retries=0)
    assert caught.value.retry_after is None
    assert caught.value.attempts == 1


async def test_a_create_with_no_answer_on_any_attempt_is_resolved_by_lookup(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    bare_emulator.inject_fault(method="POST", path="/organizations", drop="after", times=3)
    organization = await bare_client.organizations.create(name="Acme", external_id="acme-1")
    assert organization.external_id == "acme-1"
    assert [r.fault for r in bare_emulator.requests] == ["drop_after"] * 3 + [None]
    assert await names(bare_client) == ["Acme"]


def test_a_create_that_timed_out_is_made_once() -> None:
    clock.run(a_create_that_timed_out_is_made_once())


async def a_create_that_timed_out_is_made_once() -> None:
    # The slow attempt does its work after the client has given up on it: the gate holds it
    # (unanswered) and, once it has arrived, the clock skips past its timeout; it is let go
    # only after the retry, which has the whole generous timeout again, made the organization.
    async with (
        Emulator(idempotency=False, stall_timeout=AN_HOUR) as bare_emulator,
        Gate(bare_emulator.url) as gate,
        AsyncWorkOS(api_key=bare_emulator.api_key, base_url=gate.url, backoff=FAST, timeout=GENEROUS) as client,
    ):
        slow = gate.hold("POST", "/organizations")
        call = asyncio.create_task(client.organizations.create(name="Acme", external_id="acme-1"))
        await slow.arrived()
        clock.skip(GENEROUS + 2)  # aiohttp rounds a deadline up to the next whole second
        async with asyncio.timeout(SAFETY_NET):
            organization = await call
        assert slow.held == 1
        slow.release()
        await logged(bare_emulator, "POST", 2)  # the abandoned attempt has landed
        assert [o.id async for o in client.organizations.list()] == [organization.id]
    statuses = sorted((r.status or 0) for r in bare_emulator.requests if r.method == "POST")
    assert statuses == [201, 400]  # the late one found the external id taken


async def test_when_nothing_was_made_the_original_error_is_raised(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    bare_emulator.inject_fault(method="POST", path="/organizations", status=503, times=3)
    with pytest.raises(InternalServerError) as caught:
        await bare_client.organizations.create(name="Acme", external_id="acme-1")
    assert (caught.value.status_code, caught.value.attempts, caught.value.outcome_unknown) == (503, 3, True)
    assert trail(bare_emulator)[-1] == ("GET", "/organizations/external_id/acme-1", 404, None)
    assert await names(bare_client) == []
    # ... and then retrying is safe.
    assert (await bare_client.organizations.create(name="Acme", external_id="acme-1")).name == "Acme"
    assert await names(bare_client) == ["Acme"]


async def test_a_definitive_external_id_already_used_still_raises(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    await bare_client.organizations.create(name="Acme", external_id="acme-1")
    with pytest.raises(BadRequestError) as caught:
        await bare_client.organizations.create(name="Acme", external_id="acme-1")
    assert (caught.value.code, caught.value.attempts, caught.value.outcome_unknown) == (
        "external_id_already_used",
        1,
        False,
    )
    assert [r.method for r in bare_emulator.requests] == ["POST", "POST"]  # no lookup


async def test_someone_elses_organization_with_that_external_id_is_not_taken_for_ours(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    bare_emulator.seed([{"name": "Other Co", "external_id": "acme-1"}])
    bare_emulator.inject_fault(method="POST", path="/organizations", status=502)
    with pytest.raises(BadRequestError) as caught:
        await bare_client.organizations.create(name="Acme", external_id="acme-1")
    assert (caught.value.code, caught.value.attempts, caught.value.outcome_unknown) == (
        "external_id_already_used",
        2,
        True,
    )
    assert await names(bare_client) == ["Other Co"]


@pytest.mark.parametrize(
    "asked",
    [
        {"metadata": {"plan": "enterprise"}},
        {"domain_data": [DomainData("acme.com", DomainState.VERIFIED)]},
        {"allow_profiles_outside_organization": True},
        {},  # the old one has metadata this create did not ask for
        {"domain_data": [DomainData("acme.com", DomainState.VERIFIED)], "old_domains": [{"domain": "acme.com"}]},
    ],
    ids=["metadata", "domains", "allow_profiles", "nothing_else", "a domain not verified"],
)
async def test_an_older_organization_with_that_name_and_external_id_is_not_taken_for_ours(
    bare_client: AsyncWorkOS, bare_emulator: Emulator, asked: dict[str, Any]
) -> None:
    # Yesterday's organization: same name and external id, but not what this create asks for.
    # After a transient 502 the 400 looks like our own earlier attempt's doing; returning the
    # old organization would drop what was asked for, without an error.
    old: dict[str, Any] = {"name": "Acme", "external_id": "acme-1", "domains": asked.pop("old_domains", [])}
    if asked == {}:
        old["metadata"] = {"plan": "free"}
    bare_emulator.seed([old])
    bare_emulator.inject_fault(method="POST", path="/organizations", status=502)
    with pytest.raises(BadRequestError) as caught:
        await bare_client.organizations.create(name="Acme", external_id="acme-1", **asked)
    assert (caught.value.code, caught.value.attempts, caught.value.outcome_unknown) == (
        "external_id_already_used",
        2,
        True,
    )
    assert trail(bare_emulator)[-1] == ("GET", "/organizations/external_id/acme-1", 200, None)


async def test_our_own_organization_with_all_it_asked_for_is_found_after_a_lost_answer(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    bare_emulator.inject_fault(method="POST", path="/organizations", drop="after")
    organization = await bare_client.organizations.create(
        name="Acme",
        external_id="acme-1",
        metadata={"plan": "enterprise"},
        domain_data=[DomainData("Acme.COM.", DomainState.PENDING), {"domain": "acme.dev", "state": "verified"}],
        allow_profiles_outside_organization=True,
    )
    assert (organization.metadata, sorted(d.domain for d in organization.domains)) == (
        {"plan": "enterprise"},
        ["acme.com", "acme.dev"],
    )
    assert [method for method, *_ in trail(bare_emulator)] == ["POST", "POST", "GET"]
    assert await names(bare_client) == ["Acme"]


async def test_our_own_organization_is_found_when_the_api_leaves_out_allow_profiles(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    # Deprecated: a live response may leave it out (or null), which the model reads as None.
    bare_emulator.inject_fault(method="POST", path="/organizations", drop="after")
    (row,) = bare_emulator.seed([{"name": "Placeholder"}])
    shown = {key: value for key, value in row.items() if key != "allow_profiles_outside_organization"}
    ours = {**shown, "name": "Acme", "external_id": "acme-1"}
    bare_emulator.inject_fault(method="GET", path="/organizations/external_id/acme-1", status=200, body=ours)
    organization = await bare_client.organizations.create(
        name="Acme", external_id="acme-1", allow_profiles_outside_organization=False
    )
    assert (organization.id, organization.allow_profiles_outside_organization) == (row["id"], None)


async def test_a_domain_asked_for_as_pending_may_be_found_verified(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    # Verification may have run between the create and the lookup: pending is not a promise.
    bare_emulator.seed(
        [{"name": "Acme", "external_id": "acme-1", "domains": [{"domain": "acme.com", "state": "verified"}]}]
    )
    bare_emulator.inject_fault(method="POST", path="/organizations", status=502)
    organization = await bare_client.organizations.create(
        name="Acme", external_id="acme-1", domain_data=[DomainData("acme.com", DomainState.PENDING)]
    )
    assert [(d.domain, d.state) for d in organization.domains] == [("acme.com", DomainState.VERIFIED)]


@pytest.mark.parametrize("method", ["POST", "PUT"])  # a delete's response has no body to read
async def test_a_write_whose_success_cannot_be_read_says_it_may_have_taken_effect(
    bare_client: AsyncWorkOS, bare_emulator: Emulator, method: str
) -> None:
    # An API change the SDK does not know, or a proxy rewriting the body: the write may well
    # have been done, only its response is unreadable. Sending it again (without an external
    # id) could make a second organization. (The fault here answers in the API's place.)
    (acme,) = bare_emulator.seed([{"name": "Acme"}])
    path = "/organizations" if method == "POST" else f"/organizations/{acme['id']}"
    bare_emulator.inject_fault(method=method, path=path, status=201 if method == "POST" else 200, body=[1])
    calls = {
        "POST": lambda: bare_client.organizations.create(name="Acme"),
        "PUT": lambda: bare_client.organizations.update(acme["id"], name="Acme Inc"),
    }
    with pytest.raises(ResponseValidationError) as caught:
        await calls[method]()
    bare_emulator.inject_fault(method=method, path=path, status=201 if method == "POST" else 200, body=[1])
    raw = bare_client.organizations.with_raw_response
    response = await (raw.create(name="Acme") if method == "POST" else raw.update(acme["id"], name="Acme Inc"))
    with pytest.raises(ResponseValidationError) as parsed:
        response.parse()
    assert parsed.value.outcome_unknown is True  # read later, from the raw view, it says the same
    assert caught.value.outcome_unknown is True
    assert outcome_unknown(caught.value)
    assert f"so the {method} may have taken effect" in str(caught.value)
    assert "before sending it again" in str(caught.value)
    bare_emulator.inject_fault(method="GET", path=f"/organizations/{acme['id']}", status=200, body=[1])
    with pytest.raises(ResponseValidationError) as read:
        await bare_client.organizations.get(acme["id"])
    assert read.value.outcome_unknown is False
    assert not outcome_unknown(read.value)
    assert "taken effect" not in str(read.value)


async def test_a_rate_limit_is_not_an_unknown_outcome(bare_client: AsyncWorkOS, bare_emulator: Emulator) -> None:
    bare_emulator.inject_fault(method="POST", path="/organizations", status=429, retry_after=0, times=3)
    with pytest.raises(RateLimitError) as caught:
        await bare_client.organizations.create(name="Acme", external_id="acme-1")
    assert (caught.value.attempts, caught.value.outcome_unknown) == (3, False)
    assert [r.method for r in bare_emulator.requests] == ["POST"] * 3  # no lookup


async def test_a_refused_connection_is_not_an_unknown_outcome(bare_emulator: Emulator) -> None:
    url = bare_emulator.url
    await bare_emulator.close()
    async with AsyncWorkOS(api_key="sk_test_x", base_url=url, backoff=FAST, max_retries=1) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.organizations.create(name="Acme", external_id="acme-1")
    assert (caught.value.attempts, caught.value.outcome_unknown) == (2, False)


async def test_without_an_external_id_a_lost_answer_can_duplicate(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    # The documented risk: only the Idempotency-Key protects such a create.
    bare_emulator.inject_fault(method="POST", path="/organizations", drop="after")
    await bare_client.organizations.create(name="Acme")
    assert await names(bare_client) == ["Acme", "Acme"]


async def test_with_server_idempotency_a_create_without_external_id_is_made_once(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    emulator.inject_fault(method="POST", path="/organizations", drop="after", times=2)
    await client.organizations.create(name="Acme")
    assert await names(client) == ["Acme"]


# Deletes.


async def test_a_delete_whose_answer_was_lost_succeeds(bare_client: AsyncWorkOS, bare_emulator: Emulator) -> None:
    keep, drop = bare_emulator.seed([{"name": "Keep"}, {"name": "Drop"}])
    await bare_client.organizations.get(keep["id"])  # a pooled connection, which aiohttp would resend on
    bare_emulator.inject_fault(method="DELETE", path="/organizations/*", drop="after")
    assert await bare_client.organizations.delete(drop["id"]) is None
    deletes = [(r.status, r.fault) for r in bare_emulator.requests if r.method == "DELETE"]
    assert deletes == [(None, "drop_after"), (404, None)]
    assert await names(bare_client) == ["Keep"]


async def test_a_delete_whose_answer_was_lost_on_a_fresh_connection_succeeds(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    (row,) = bare_emulator.seed([{"name": "Drop"}])
    bare_emulator.inject_fault(method="DELETE", path="/organizations/*", drop="after", times=2)
    raw = await bare_client.organizations.with_raw_response.delete(row["id"])
    assert (raw.status_code, raw.parse()) == (404, None)
    assert await names(bare_client) == []


async def test_a_delete_after_a_5xx_and_then_404_succeeds(bare_client: AsyncWorkOS, bare_emulator: Emulator) -> None:
    (row,) = bare_emulator.seed([{"name": "Drop"}])
    await bare_client.organizations.delete(row["id"])
    bare_emulator.inject_fault(method="DELETE", path="/organizations/*", status=502)
    assert await bare_client.organizations.delete(row["id"]) is None  # gone, as asked


@pytest.mark.parametrize("path", ["/organizations/*", "/organization_domains/*"])
async def test_a_gateways_404_after_an_unknown_outcome_does_not_make_a_delete_look_done(
    bare_client: AsyncWorkOS, bare_emulator: Emulator, path: str
) -> None:
    organization = await bare_client.organizations.create(name="Keep", domain_data=[DomainData("keep.com")])
    bare_emulator.inject_fault(method="DELETE", path=path, drop="before")  # nothing deleted; outcome unknown
    bare_emulator.inject_fault(
        method="DELETE", path=path, status=404, body="<h1>Not Found</h1>", content_type="text/html"
    )
    delete = (
        bare_client.organizations.delete(organization.id)
        if path.startswith("/organizations")
        else bare_client.organization_domains.delete(organization.domains[0].id)
    )
    with pytest.raises(NotFoundError) as caught:
        await delete
    assert caught.value.outcome_unknown is True
    assert [r.fault for r in bare_emulator.requests if r.method == "DELETE"] == ["drop_before", "status_404"]
    kept = await bare_client.organizations.get(organization.id)
    assert [domain.domain for domain in kept.domains] == ["keep.com"]


async def test_a_definitive_404_on_delete_still_raises(bare_client: AsyncWorkOS, bare_emulator: Emulator) -> None:
    (row,) = bare_emulator.seed([{"name": "Drop"}])
    await bare_client.organizations.delete(row["id"])
    with pytest.raises(NotFoundError) as caught:
        await bare_client.organizations.delete(row["id"])
    assert (caught.value.attempts, caught.value.outcome_unknown) == (1, False)


async def test_a_domain_delete_whose_answer_was_lost_succeeds(
    bare_client: AsyncWorkOS, bare_emulator: Emulator
) -> None:
    organization = await bare_client.organizations.create(
        name="Acme", domain_data=[DomainData("acme.com", DomainState.VERIFIED), DomainData("acme.org", "pending")]
    )
    first, second = organization.domains
    bare_emulator.inject_fault(method="DELETE", path="/organization_domains/*", drop="after")
    assert await bare_client.organization_domains.delete(first.id) is None
    with pytest.raises(NotFoundError):
        await bare_client.organization_domains.delete(first.id)
    left = await bare_client.organizations.get(organization.id)
    assert [d.domain for d in left.domains] == [second.domain]


async def test_timeouts_on_every_attempt_report_an_unknown_outcome(bare_emulator: Emulator) -> None:
    (row,) = bare_emulator.seed([{"name": "Acme"}])
    async with (
        Gate(bare_emulator.url) as gate,
        AsyncWorkOS(api_key=bare_emulator.api_key, base_url=gate.url, backoff=FAST, max_retries=1) as client,
    ):
        late = gate.hold("PUT", "/organizations/*", times=2)  # unanswered until the call has given up
        with pytest.raises(APITimeoutError) as caught:
            # Bounded from each attempt's connection: a socket timeout this short would also
            # bound the connect, which a busy machine can outlast (no send, no unknown outcome).
            await client.organizations.update(row["id"], name="Acme 2", attempt_timeout=0.05)
        assert (caught.value.attempts, caught.value.outcome_unknown) == (2, True)
        await late.arrived(2)  # the gate may take the second a moment after the client gave up on it
        assert late.held == 2
        late.release()
        await logged(bare_emulator, "PUT", 2)
        # Both late updates landed; they set the same values, so the result is the same.
        assert (await client.organizations.get(row["id"])).name == "Acme 2"
