"""A sync stops on errors that are not the record's fault, and keeps its report bounded.

A revoked key or a closed client would fail every record the same way: the job stops at
once with `SyncStoppedError`, carrying the partial report, instead of sending a request per
record and keeping a failure per record.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from workos_orgs import (
    AsyncWorkOS,
    AuthenticationError,
    Backoff,
    ClientClosedError,
    InvalidRecordError,
    Organization,
    OrganizationRecord,
    RateLimitError,
    SyncEvent,
    SyncReport,
    SyncStoppedError,
    UnprocessableEntityError,
)
from workos_orgs._bulk import MAX_FAILURES_KEPT, sync_organizations
from workos_orgs.emulator import Emulator

from ..gate import SAFETY_NET

FAST = Backoff(base=0.01, cap=0.05)


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST) as client:
        yield client


class Counted:
    """Records on demand, counting how many the job took."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.taken = 0

    def __iter__(self) -> Iterator[OrganizationRecord]:
        for number in range(self.count):
            self.taken += 1
            yield OrganizationRecord(f"cust-{number}", f"Customer {number}")


async def test_a_revoked_key_stops_the_job_with_its_report(emulator: Emulator) -> None:
    records = Counted(1_000)
    async with AsyncWorkOS(api_key="sk_test_revoked_key_0000", base_url=emulator.url, backoff=FAST) as client:
        with pytest.raises(SyncStoppedError) as caught:
            await client.organizations.sync(records, concurrency=2, prune=True)
    error = caught.value
    assert isinstance(error.__cause__, AuthenticationError)
    assert "AuthenticationError" in str(error)
    assert "nothing was pruned" in str(error)
    assert "sk_test_revoked_key_0000" not in str(error)
    assert isinstance(error.report, SyncReport)
    assert (error.report.failed, error.report.created, error.report.deleted) == (0, 0, 0)
    # No record failed, but the job did not run to its end: the report must not say all is well.
    assert error.report.ok is False
    assert error.report.stopped is not None
    assert error.report.stopped.startswith("AuthenticationError: ")
    assert error.report.to_dict()["report"]["ok"] is False
    assert error.report.to_dict()["report"]["stopped"] == error.report.stopped
    # Two workers, a queue of two, one record in the reader's hand: never the whole input.
    assert records.taken <= 6
    assert len(emulator.requests) <= 2


async def test_a_key_refused_while_pruning_keeps_the_report(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": "Stale", "external_id": "stale"}])
    emulator.inject_fault(method="GET", path="/organizations", status=401, times=1)
    with pytest.raises(SyncStoppedError) as caught:
        await client.organizations.sync([OrganizationRecord("new", "New")], prune=True)
    assert isinstance(caught.value.__cause__, AuthenticationError)
    assert (caught.value.report.created, caught.value.report.deleted) == (1, 0)
    assert "nothing was pruned" in str(caught.value)
    assert (await client.organizations.get_by_external_id("stale")).name == "Stale"


@pytest.mark.parametrize(
    "fault",
    [{"status": 200, "body": "<html>proxy</html>", "content_type": "text/html"}, {"status": 503}],
    ids=["a proxy's page", "503"],
)
async def test_a_stop_after_a_delete_that_may_have_been_done_does_not_say_nothing_was_pruned(
    emulator: Emulator, fault: dict[str, Any]
) -> None:
    # The first prune delete fails with an unknown outcome (it may have been done), then a
    # refused key stops the job: the stop said "nothing was pruned".
    emulator.seed([{"name": f"O{n}", "external_id": f"e{n}"} for n in range(3)])
    emulator.inject_fault(method="DELETE", path="/organizations/*", times=1, **fault)
    emulator.inject_fault(method="DELETE", path="/organizations/*", status=401, times=1)
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, max_retries=0) as client:
        with pytest.raises(SyncStoppedError) as caught:
            await client.organizations.sync(
                [OrganizationRecord("e0", "O0")], prune=True, concurrency=1, rate_limiter=None
            )
    report = caught.value.report
    assert (report.deleted, report.failed) == (0, 1)
    assert report.failures[0].error is not None
    assert getattr(report.failures[0].error, "outcome_unknown", False) is True
    message = str(caught.value)
    assert "nothing was pruned" not in message
    assert "1 delete failed with an unknown outcome and may have been done" in message
    assert "pruning stopped partway" in message


async def test_a_closed_client_stops_the_job(client: AsyncWorkOS) -> None:
    await client.close()
    with pytest.raises(SyncStoppedError) as caught:
        await client.organizations.sync(Counted(100), concurrency=2)
    assert isinstance(caught.value.__cause__, ClientClosedError)
    assert caught.value.report.failed == 0
    assert "create a new one. What was done" in str(caught.value)  # one full stop, not two


@pytest.mark.parametrize("phase", ["created", "deleted"])
async def test_closing_the_client_while_it_syncs_stops_the_job_at_once_with_its_report(
    emulator: Emulator, phase: str
) -> None:
    emulator.seed([{"name": f"S {number}", "external_id": f"s-{number}"} for number in range(60)])
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url)
    heard: list[SyncEvent] = []

    async def on_event(event: SyncEvent) -> None:
        heard.append(event)
        if event.action == phase and len([each for each in heard if each.action == phase]) == 20:
            await client.close()

    count = 200 if phase == "created" else 2
    records = [OrganizationRecord(f"r-{number}", f"R {number}") for number in range(count)]
    with pytest.raises(SyncStoppedError) as stopped:
        await client.organizations.sync(records, concurrency=4, on_event=on_event, rate_limiter=None, prune=True)
    assert isinstance(stopped.value.__cause__, ClientClosedError)
    report = stopped.value.report
    done = report.created if phase == "created" else report.deleted
    told = len([event for event in heard if event.action == phase])
    assert 20 <= told <= done <= told + 4
    if phase == "created":
        assert (report.created, report.deleted) == (done, 0)  # nothing pruned after the stop
    else:
        assert (report.created, report.deleted) == (2, done)
        assert done < 60


async def test_two_closes_at_once_still_stop_a_sync_with_its_report(emulator: Emulator) -> None:
    # The second close cancelled again the sync the first had woken: a bare CancelledError in
    # the caller's task, and the report lost.
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url)
    heard: list[SyncEvent] = []

    async def on_event(event: SyncEvent) -> None:
        heard.append(event)
        if len(heard) == 10:
            await asyncio.gather(client.close(), client.close())

    records = [OrganizationRecord(f"r-{number}", f"R {number}") for number in range(200)]
    with pytest.raises(SyncStoppedError) as stopped:
        await client.organizations.sync(records, concurrency=4, on_event=on_event, rate_limiter=None)
    assert isinstance(stopped.value.__cause__, ClientClosedError)
    assert stopped.value.report.created >= 10
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


@pytest.mark.parametrize("write", ["create", "delete"])
async def test_a_write_under_way_when_the_client_closes_is_named_in_the_stop(emulator: Emulator, write: str) -> None:
    # Held at the emulator, it reaches the API and may be done there: the report cannot count
    # it, so the stop says so (it said nothing, and "nothing was pruned" while a DELETE was out).
    emulator.seed([{"name": "Stale", "external_id": "stale"}])
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url)
    method, path = ("POST", "/organizations") if write == "create" else ("DELETE", "/organizations/*")
    emulator.inject_fault(method=method, path=path, hold=True)
    sync = asyncio.create_task(
        client.organizations.sync([OrganizationRecord("new", "New")], prune=write == "delete", rate_limiter=None)
    )
    async with asyncio.timeout(SAFETY_NET):
        await emulator.wait_until_held()
        await client.close()
        with pytest.raises(SyncStoppedError) as stopped:
            await sync
    emulator.release_held()
    message = str(stopped.value)
    assert stopped.value.cut_short == (write,)
    assert f"1 write ({write}) was under way when it stopped, and may have been done" in message
    assert ("nothing was pruned" in message) == (write == "create")
    assert ("pruning stopped partway" in message) == (write == "delete")


async def test_a_record_the_api_refuses_still_fails_alone(client: AsyncWorkOS) -> None:
    report = await client.organizations.sync(
        [OrganizationRecord("bad", "Bad", domains=["gmail.com"]), OrganizationRecord("good", "Good")]
    )
    assert (report.failed, report.created) == (1, 1)
    assert isinstance(report.failures[0].error, UnprocessableEntityError)


def test_the_failures_kept_are_capped_and_the_rest_counted() -> None:
    report = SyncReport()
    error = InvalidRecordError("bad")
    for number in range(MAX_FAILURES_KEPT + 5):
        report.record(SyncEvent("failed", f"cust-{number}", error=error))
    assert report.failed == MAX_FAILURES_KEPT + 5
    assert len(report.failures) == MAX_FAILURES_KEPT
    assert report.failures[0].external_id == "cust-0"
    assert report.failures_not_kept == 5
    assert report.to_dict()["report"]["failures_not_kept"] == 5


async def test_an_event_handler_that_raises_is_not_a_failed_record(client: AsyncWorkOS) -> None:
    seen: list[SyncEvent] = []

    def refuse(event: SyncEvent) -> None:
        seen.append(event)
        raise InvalidRecordError("the handler refused")

    with pytest.raises(InvalidRecordError, match="the handler refused"):
        await client.organizations.sync([OrganizationRecord("one", "One")], on_event=refuse)
    # The record was created and reported once, as created: never also as failed.
    assert [event.action for event in seen] == ["created"]
    assert (await client.organizations.get_by_external_id("one")).name == "One"


async def test_one_organization_that_refuses_a_change_fails_alone(client: AsyncWorkOS, emulator: Emulator) -> None:
    """The API answers 403 to an update or delete of one organization (CONTRACT: update 403):
    that is about the organization, not the key, so only its record fails and the job goes on."""
    first = await client.organizations.sync([OrganizationRecord(f"cust-{n}", f"Customer {n}") for n in range(20)])
    assert first.created == 20
    refused = (await client.organizations.get_by_external_id("cust-7")).id
    emulator.inject_fault(method="PUT", path=f"/organizations/{refused}", status=403, times=1)
    renamed = [OrganizationRecord(f"cust-{n}", f"Renamed {n}") for n in range(20)]
    report = await client.organizations.sync(renamed, concurrency=2, prune=True)
    assert (report.updated, report.failed) == (19, 1)
    assert [failure.external_id for failure in report.failures] == ["cust-7"]
    assert (await client.organizations.get_by_external_id("cust-8")).name == "Renamed 8"


class OneTurnStore:
    """An organization store in memory whose every call takes one turn of the event loop, so
    that workers resume side by side, as they do when responses arrive together."""

    def __init__(self, stale: int) -> None:
        self.organizations = {"keep": _organization("org_keep", "keep")}
        self.organizations |= {f"s{n}": _organization(f"org_s{n}", f"s{n}") for n in range(stale)}
        self.deleted: list[str] = []

    async def get_by_external_id(self, external_id: str) -> Organization:
        await asyncio.sleep(0)
        return self.organizations[external_id]

    async def create(self, **fields: Any) -> Organization:
        raise AssertionError("nothing to create")

    async def update(self, id: str, **fields: Any) -> Organization:
        raise AssertionError("nothing to update")

    async def delete(self, id: str) -> None:
        await asyncio.sleep(0)
        self.deleted.append(id)

    async def list(self, *, limit: int) -> AsyncIterator[Organization]:
        for organization in list(self.organizations.values()):
            yield organization


def _organization(id: str, external_id: str) -> Organization:
    now = datetime(2026, 1, 15, tzinfo=UTC)
    return Organization(id, external_id.upper(), (), {}, external_id, now, now)


async def test_once_on_event_raised_no_worker_tells_it_more_or_deletes_more() -> None:
    # The first deletes end in the same turn of the loop: the worker whose event raised stops,
    # and the others, resumed in that turn, must neither call on_event again nor delete more.
    store = OneTurnStore(stale=40)
    told: list[str | None] = []

    def on_event(event: SyncEvent) -> None:
        told.append(event.external_id)
        if event.action == "deleted" and len(told) == 2:  # the "keep" event, then the first delete
            raise LookupError("the audit log is down")

    with pytest.raises(LookupError, match="the audit log is down"):
        await sync_organizations(
            store, [OrganizationRecord("keep", "KEEP")], prune=True, concurrency=4, on_event=on_event
        )
    assert len(told) == 2
    assert len(store.deleted) == 4  # the four already under way when it raised, and no more


async def test_a_rate_limit_longer_than_the_client_waits_stops_the_job(emulator: Emulator) -> None:
    # Every record would meet the same 429 at once: sending one request per record against an
    # API that asked for ten minutes' rest, and failing them all, helps nobody.
    emulator.inject_fault(path="/organizations/external_id/*", status=429, retry_after=600, times=1_000)
    records = Counted(200)
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST) as client:
        with pytest.raises(SyncStoppedError) as caught:
            await client.organizations.sync(records, concurrency=2, rate_limiter=None)
    assert isinstance(caught.value.__cause__, RateLimitError)
    assert caught.value.__cause__.retry_after == 600
    assert caught.value.report.failed == 0
    assert len(emulator.requests) <= 2  # one per worker, then the job stopped
