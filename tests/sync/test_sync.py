"""`client.organizations.sync` against the emulator: converge, never lose or duplicate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from workos_orgs import (
    AsyncWorkOS,
    Backoff,
    DomainData,
    DomainState,
    InvalidRecordError,
    OrganizationRecord,
    RateLimiter,
    SyncEvent,
    UnprocessableEntityError,
)
from workos_orgs.emulator import Emulator, RateLimits

from ..clock import START

FAST = Backoff(base=0.01, cap=0.05)


class Crash(Exception):
    """The job's process going down."""


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST) as client:
        yield client


def records(count: int, *, prefix: str = "cust") -> list[OrganizationRecord]:
    return [
        OrganizationRecord(
            f"{prefix}-{number}",
            f"Customer {number}",
            domains=[f"customer{number}.example"],
            metadata={"tier": "gold" if number % 2 else "silver"},
        )
        for number in range(count)
    ]


async def everything(client: AsyncWorkOS) -> dict[str, Any]:
    """External id -> organization, failing on any duplicate."""
    found: dict[str, Any] = {}
    async for organization in client.organizations.list(limit=100):
        assert organization.external_id not in found, f"duplicated: {organization.external_id}"
        found[str(organization.external_id)] = organization
    return found


async def test_creates_then_leaves_equal_records_alone(client: AsyncWorkOS, emulator: Emulator) -> None:
    wanted = records(25)
    first = await client.organizations.sync(wanted)
    assert (first.created, first.updated, first.unchanged, first.failed) == (25, 0, 0, 0)
    writes_before = sum(1 for request in emulator.requests if request.method != "GET")
    second = await client.organizations.sync(wanted)
    assert (second.created, second.updated, second.unchanged, second.failed) == (0, 0, 25, 0)
    assert sum(1 for request in emulator.requests if request.method != "GET") == writes_before
    stored = await everything(client)
    assert sorted(stored) == sorted(record.external_id for record in wanted)
    assert stored["cust-3"].metadata == {"tier": "gold"}
    assert [domain.domain for domain in stored["cust-3"].domains] == ["customer3.example"]


async def test_updates_only_what_differs(client: AsyncWorkOS) -> None:
    await client.organizations.sync(records(3))
    changed = [
        OrganizationRecord("cust-0", "Customer 0 renamed", ["customer0.example"], {"tier": "silver"}),
        OrganizationRecord("cust-1", "Customer 1", ["customer1.example", "c1.example"], {"tier": "gold"}),
        OrganizationRecord("cust-2", "Customer 2", ["customer2.example"], {"region": "eu"}),
    ]
    report = await client.organizations.sync(changed)
    assert (report.updated, report.unchanged) == (3, 0)
    stored = await everything(client)
    assert stored["cust-0"].name == "Customer 0 renamed"
    assert [domain.domain for domain in stored["cust-1"].domains] == ["customer1.example", "c1.example"]
    assert stored["cust-2"].metadata == {"region": "eu"}  # the old key is removed, not merged
    assert (await client.organizations.sync(changed)).unchanged == 3


async def test_a_pending_record_does_not_downgrade_a_verified_domain(client: AsyncWorkOS) -> None:
    await client.organizations.sync([OrganizationRecord("x", "X", [DomainData("x.example", DomainState.VERIFIED)])])
    report = await client.organizations.sync([OrganizationRecord("x", "X", ["x.example"])])
    assert report.unchanged == 1
    stored = await everything(client)
    assert stored["x"].domains[0].state == DomainState.VERIFIED


async def test_a_bad_record_fails_alone(client: AsyncWorkOS) -> None:
    items: list[Any] = [
        *records(2),
        OrganizationRecord("consumer", "Uses Gmail", ["gmail.com"]),
        {"external_id": "no-name"},
        InvalidRecordError("orgs.jsonl line 9: not valid JSON."),
        *records(2, prefix="more"),
    ]
    report = await client.organizations.sync(items)
    assert (report.created, report.failed) == (4, 3)
    failures = {failure.external_id: failure.error for failure in report.failures}
    assert isinstance(failures["consumer"], UnprocessableEntityError)
    assert isinstance(failures["no-name"], InvalidRecordError)
    assert "name is required" in str(failures["no-name"])
    assert str(failures[None]) == "orgs.jsonl line 9: not valid JSON."
    assert sorted(await everything(client)) == ["cust-0", "cust-1", "more-0", "more-1"]


async def test_dry_run_reports_and_writes_nothing(client: AsyncWorkOS, emulator: Emulator) -> None:
    await client.organizations.sync(records(2))
    emulator.seed([{"name": "Stale", "external_id": "stale"}])
    wanted = [*records(1), OrganizationRecord("cust-1", "Renamed"), OrganizationRecord("new", "New")]
    events: list[SyncEvent] = []
    seen_before = len(emulator.requests)
    report = await client.organizations.sync(wanted, prune=True, dry_run=True, on_event=events.append)
    during = emulator.requests[seen_before:]
    assert (report.created, report.updated, report.unchanged, report.deleted) == (1, 1, 1, 1)
    assert report.dry_run
    assert all(event.dry_run for event in events)
    assert len(during) == 4  # three lookups and one list page
    assert {request.method for request in during} == {"GET"}
    assert sorted(await everything(client)) == ["cust-0", "cust-1", "stale"]


async def test_prune_deletes_only_external_ids_missing_from_the_input(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": "Stale", "external_id": "stale"}, {"name": "Made by hand"}])
    report = await client.organizations.sync(records(3), prune=True)
    assert (report.created, report.deleted) == (3, 1)
    names = sorted([organization.name async for organization in client.organizations.list()])
    assert names == ["Customer 0", "Customer 1", "Customer 2", "Made by hand"]


async def test_a_failed_record_is_not_pruned(client: AsyncWorkOS) -> None:
    await client.organizations.sync([OrganizationRecord("keep", "Keep")])
    report = await client.organizations.sync([OrganizationRecord("keep", "Keep", ["gmail.com"])], prune=True)
    assert (report.failed, report.deleted) == (1, 0)
    assert list(await everything(client)) == ["keep"]


async def test_events_stream_every_outcome(client: AsyncWorkOS) -> None:
    events: list[SyncEvent] = []
    await client.organizations.sync(records(4), on_event=events.append)
    assert sorted(event.external_id or "" for event in events) == [f"cust-{n}" for n in range(4)]
    assert {event.action for event in events} == {"created"}
    assert all(event.organization_id and event.organization_id.startswith("org_") for event in events)


async def test_async_iterable_input(client: AsyncWorkOS) -> None:
    async def stream() -> AsyncIterator[OrganizationRecord]:
        for record in records(5):
            await asyncio.sleep(0)
            yield record

    report = await client.organizations.sync(stream(), concurrency=2)
    assert report.created == 5


async def test_duplicate_external_ids_in_the_input_make_one_organization(client: AsyncWorkOS) -> None:
    # Issue 9: a repeated external id is no longer merged silently; each repeat fails, naming the first.
    twice = [OrganizationRecord("same", "Same")] * 6
    report = await client.organizations.sync(twice, concurrency=6)
    assert report.failed == 5
    assert all("repeats records[0]" in str(failure.error) for failure in report.failures)
    assert report.created == 1
    assert list(await everything(client)) == ["same"]


async def test_a_crash_midway_then_a_rerun_converges(emulator: Emulator, client: AsyncWorkOS) -> None:
    wanted = records(60)
    # Some creates are done but never acknowledged, and the job dies partway through.
    emulator.inject_fault(method="POST", path="/organizations", drop="after", times=3)
    emulator.inject_fault(method="POST", path="/organizations", status=503, times=4)
    seen = 0

    def crash_after_25(event: SyncEvent) -> None:
        nonlocal seen
        seen += 1
        if seen == 25:
            raise Crash

    with pytest.raises(Crash):
        await client.organizations.sync(wanted, concurrency=8, on_event=crash_after_25)
    partial = await everything(client)
    assert 25 <= len(partial) < 60

    report = await client.organizations.sync(wanted, concurrency=8)
    assert report.failed == 0
    assert report.created + report.unchanged == 60
    assert report.unchanged >= 25
    stored = await everything(client)
    assert sorted(stored) == sorted(record.external_id for record in wanted)


async def test_rate_limiter_keeps_the_job_under_the_servers_limit() -> None:
    # The control: 40 requests (a lookup and a create for each of 20 records) go over a limit
    # of 25 per window.  The emulator's clock stands still, so the first 26 requests surely
    # share a window however slowly they come; it moves on a whole window after each refused
    # request, so every retry lands in a fresh window and the job still completes.
    control = RateLimits(requests=25, organization_deletes=25, window_seconds=1.0)
    emulator = Emulator(rate_limits=control, clock=lambda: START + 1.0 * refused(emulator))
    async with emulator:
        async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST) as client:
            unpaced = await client.organizations.sync(records(20, prefix="unpaced"), concurrency=8, rate_limiter=None)
            assert unpaced.failed == 0
            assert any(request.status == 429 for request in emulator.requests)  # the control: limits do bite

    # Paced at 15 a second (burst 1), any 1-second span holds at most 16 reservations, plus
    # the 8 requests (one per worker) reserved earlier and not yet arrived: 24, under the
    # server's 25 however the machine schedules them.
    async with Emulator(rate_limits=RateLimits(requests=25, organization_deletes=25, window_seconds=1.0)) as emulator:
        async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST) as client:
            limiter = RateLimiter(requests_per_minute=15 * 60, burst=1, headroom=1.0)
            paced = await client.organizations.sync(records(20), concurrency=8, rate_limiter=limiter)
        assert paced.created == 20
        statuses = [request.status for request in emulator.requests]
        assert len(statuses) == 40  # one lookup and one create each
        assert 429 not in statuses


def refused(emulator: Emulator) -> int:
    """How many requests the emulator has refused with a 429 so far."""
    return sum(request.status == 429 for request in emulator.requests)


@pytest.mark.parametrize(
    "unreadable",
    [InvalidRecordError("orgs.jsonl line 2: not valid JSON."), {"external_id": 7, "name": "Seven"}, {"name": "No id"}],
)
async def test_prune_deletes_nothing_when_a_record_cannot_be_identified(
    client: AsyncWorkOS, emulator: Emulator, unreadable: Any
) -> None:
    await client.organizations.sync(records(3))
    # The unreadable record may well be cust-1's line: cust-1 must not be taken for stale.
    report = await client.organizations.sync([records(3)[0], unreadable, records(3)[2]], prune=True)
    assert (report.unchanged, report.failed, report.deleted) == (2, 1, 0)
    assert report.prune_skipped is not None
    assert "1 record(s) had no readable external_id" in report.prune_skipped
    assert "prune skipped" in str(report)
    assert sorted(await everything(client)) == ["cust-0", "cust-1", "cust-2"]


async def test_a_domain_with_a_trailing_dot_is_unchanged_on_the_next_run(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    """The API stores ``acme.com.`` as ``acme.com``; sync must compare the same way, or it
    would send a PUT for this record on every run, forever."""
    record = OrganizationRecord("dot-1", "Dotted", domains=["Dotted.Example."])
    first = await client.organizations.sync([record])
    assert first.created == 1
    writes_before = sum(1 for request in emulator.requests if request.method != "GET")
    second = await client.organizations.sync([record])
    assert (second.updated, second.unchanged) == (0, 1)
    assert sum(1 for request in emulator.requests if request.method != "GET") == writes_before


@pytest.mark.parametrize(
    ("old", "new", "updates"),
    [
        # One key renamed names two: it went as two updates, the key removed by the first and
        # set by the second, so a failure between them left the organization without it.
        ({"tier": "gold"}, {"plan": "gold"}, 1),
        ({f"old_{n}": "x" for n in range(5)}, {f"new_{n}": "y" for n in range(5)}, 1),
        # Twelve keys named may pass the docs' limit of ten: still two.
        ({f"old_{n}": "x" for n in range(6)}, {f"new_{n}": "y" for n in range(6)}, 2),
    ],
)
async def test_an_update_naming_no_more_metadata_keys_than_any_limit_allows_goes_as_one(
    client: AsyncWorkOS, emulator: Emulator, old: dict[str, str], new: dict[str, str], updates: int
) -> None:
    (seeded,) = emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    report = await client.organizations.sync([OrganizationRecord("x", "Acme", metadata=new)])
    assert report.updated == 1
    assert [request.method for request in emulator.requests].count("PUT") == updates
    assert (await client.organizations.get(seeded["id"])).metadata == new


@pytest.mark.parametrize(
    "domains",
    [
        [{"domain": "b.com", "state": "verified"}, "b.com"],
        ["b.com", {"domain": "b.com", "state": "verified"}],
        ["b.com", "B.com."],
    ],
    ids=["verified then pending", "pending then verified", "same name, other spelling"],
)
async def test_a_record_naming_a_domain_twice_fails_alone(
    client: AsyncWorkOS, emulator: Emulator, domains: list[Any]
) -> None:
    # The API refuses such a list (409 domain_already_exists); the sync kept the last entry
    # for the domain, so "verified" could be dropped, and the run reported success.
    (seeded,) = emulator.seed([{"name": "B", "external_id": "b"}])
    report = await client.organizations.sync(
        [{"external_id": "b", "name": "B", "domains": domains}, {"external_id": "c", "name": "C"}]
    )
    assert (report.failed, report.created) == (1, 1)
    (failure,) = report.failures
    assert failure.external_id == "b"
    assert isinstance(failure.error, InvalidRecordError)
    assert "'B.com.'" in str(failure.error) or "'b.com'" in str(failure.error)
    assert "more than once" in str(failure.error)
    assert (await client.organizations.get(seeded["id"])).domains == ()
