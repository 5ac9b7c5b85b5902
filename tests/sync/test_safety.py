"""Bulk sync never deletes, clears or drops what the input did not ask for.

Each test reproduces a report from issue 9 and drives the public API against the emulator.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest

from workos_orgs import (
    UNSET,
    AsyncWorkOS,
    Backoff,
    BadRequestError,
    FieldChange,
    InvalidArgumentError,
    InvalidRecordError,
    NotFoundError,
    Organization,
    OrganizationRecord,
    RateLimiter,
    SyncEvent,
    SyncInputError,
    SyncStoppedError,
    WorkOSError,
)
from workos_orgs._bulk import sync_organizations
from workos_orgs.emulator import Emulator

from ..gate import SAFETY_NET, Gate

FAST = Backoff(base=0.01, cap=0.05)


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST) as client:
        yield client


async def external_ids(client: AsyncWorkOS) -> list[str]:
    return sorted([str(organization.external_id) async for organization in client.organizations.list(limit=100)])


class Row:
    """A database row whose key is an integer, as in the README's own pattern."""

    def __init__(self, id: int, name: str) -> None:
        self.id = id
        self.name = name


@pytest.mark.parametrize("concurrency", [1_001, 1_000_000, 2**40])
async def test_a_concurrency_past_any_use_is_refused_before_a_worker_starts(
    client: AsyncWorkOS, emulator: Emulator, concurrency: int
) -> None:
    # Every worker started at once: a million took ~1 GB for a one-record job, 2**40 never ended.
    with pytest.raises(InvalidArgumentError, match=r"concurrency must be a whole number from 1 to 1,000; got "):
        await client.organizations.sync([OrganizationRecord("a", "A")], concurrency=concurrency)
    assert emulator.requests == []
    report = await client.organizations.sync([OrganizationRecord("a", "A")], concurrency=1_000, rate_limiter=None)
    assert report.created == 1


async def test_prune_after_records_with_integer_ids_deletes_nothing(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": f"Customer {n}", "external_id": str(n)} for n in range(20)])
    rows = [Row(n, f"Customer {n}") for n in range(20)]

    def records() -> Iterator[Any]:
        for row in rows:
            yield OrganizationRecord(row.id, row.name)  # type: ignore[arg-type]

    # The first record refuses its integer id; the input stops there and prune never runs.
    with pytest.raises(SyncInputError, match="external_id is required and must be a non-empty string") as caught:
        await client.organizations.sync(records(), prune=True)
    assert isinstance(caught.value.__cause__, InvalidRecordError)
    assert caught.value.report.deleted == 0
    assert await external_ids(client) == sorted(str(n) for n in range(20))


@pytest.mark.parametrize("external_id", [7, None, "", "   ", b"cust-1"])
def test_a_record_refuses_an_external_id_that_is_not_a_string(external_id: Any) -> None:
    with pytest.raises(InvalidRecordError, match="external_id is required and must be a non-empty string"):
        OrganizationRecord(external_id, "Acme")


def test_a_record_refuses_a_blank_name() -> None:
    with pytest.raises(InvalidRecordError, match="name is required and must be a non-empty string"):
        OrganizationRecord("acme", " ")


async def test_prune_holds_back_when_a_mapping_has_an_unusable_external_id(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    emulator.seed([{"name": "Keep", "external_id": "7"}, {"name": "Other", "external_id": "other"}])
    report = await client.organizations.sync(
        [{"external_id": 7, "name": "Keep"}, {"external_id": "other", "name": "Other"}], prune=True
    )
    assert (report.failed, report.deleted, report.unchanged) == (1, 0, 1)
    assert report.prune_skipped is not None
    assert await external_ids(client) == ["7", "other"]


async def test_a_record_that_names_only_the_name_leaves_domains_and_metadata_alone(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    emulator.seed(
        [
            {
                "name": "Acme",
                "external_id": "x",
                "domains": [{"domain": "acme.com", "state": "pending"}],
                "metadata": {"tier": "gold"},
            }
        ]
    )
    report = await client.organizations.sync([{"external_id": "x", "name": "Renamed"}])
    assert report.updated == 1
    organization = await client.organizations.get_by_external_id("x")
    assert organization.name == "Renamed"
    assert [domain.domain for domain in organization.domains] == ["acme.com"]
    assert organization.metadata == {"tier": "gold"}
    record = OrganizationRecord("x", "Renamed")
    assert record.domains is UNSET
    assert record.metadata is UNSET
    assert (await client.organizations.sync([record])).unchanged == 1


async def test_an_explicit_empty_list_or_object_clears(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed(
        [
            {
                "name": "Acme",
                "external_id": "x",
                "domains": [{"domain": "acme.com", "state": "pending"}],
                "metadata": {"tier": "gold"},
            }
        ]
    )
    report = await client.organizations.sync([{"external_id": "x", "name": "Acme", "domains": [], "metadata": {}}])
    assert report.updated == 1
    organization = await client.organizations.get_by_external_id("x")
    assert (organization.domains, organization.metadata) == ((), {})


async def test_a_new_organization_from_a_bare_record_has_no_domains_or_metadata(client: AsyncWorkOS) -> None:
    report = await client.organizations.sync([OrganizationRecord("bare", "Bare")])
    assert report.created == 1
    organization = await client.organizations.get_by_external_id("bare")
    assert (organization.domains, organization.metadata) == ((), {})


async def test_each_duplicate_external_id_fails_naming_the_first(client: AsyncWorkOS) -> None:
    items = [
        OrganizationRecord("same", "First"),
        OrganizationRecord("other", "Other"),
        OrganizationRecord("same", "Second"),
        {"external_id": "same", "name": "Third"},
    ]
    report = await client.organizations.sync(items)
    assert (report.created, report.failed) == (2, 2)
    assert [failure.source for failure in report.failures] == ["records[2]", "records[3]"]
    for failure in report.failures:
        assert isinstance(failure.error, InvalidRecordError)
        assert "external_id 'same' repeats records[0]" in str(failure.error)
    assert (await client.organizations.get_by_external_id("same")).name == "First"


async def test_every_failure_names_its_index(client: AsyncWorkOS) -> None:
    items: list[Any] = [
        OrganizationRecord("ok", "Ok"),
        {"external_id": "no-name"},
        OrganizationRecord("gm", "Gm", ["gmail.com"]),
    ]
    report = await client.organizations.sync(items)
    assert sorted((failure.source, failure.external_id) for failure in report.failures) == [
        ("records[1]", "no-name"),
        ("records[2]", "gm"),
    ]
    assert all(f"{failure.source}: " in str(failure) for failure in report.failures)


async def test_an_input_that_raises_midway_finishes_what_it_read_and_never_prunes(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    emulator.seed([{"name": "Stale", "external_id": "stale"}])

    def records() -> Iterator[OrganizationRecord]:
        for number in range(10):
            yield OrganizationRecord(f"r-{number}", f"R {number}")
        raise OSError("the database connection went away")

    events: list[SyncEvent] = []
    with pytest.raises(SyncInputError, match="the database connection went away") as caught:
        await client.organizations.sync(records(), prune=True, concurrency=4, on_event=events.append)
    report = caught.value.report
    assert report.created == 10
    assert report.deleted == 0
    assert (report.ok, report.stopped) == (False, "OSError: the database connection went away")
    assert len(events) == 10
    assert isinstance(caught.value.__cause__, OSError)
    assert "created 10" in str(caught.value)
    assert await external_ids(client) == sorted([*(f"r-{n}" for n in range(10)), "stale"])


class LostRow(Mapping[str, Any]):
    """A database row whose values are read when asked for, after its connection went away."""

    def __getitem__(self, key: str) -> Any:
        raise OSError("the database connection went away")

    def __iter__(self) -> Iterator[str]:
        return iter(("external_id", "name"))

    def __len__(self) -> int:
        return 2


async def test_a_mapping_that_raises_when_read_stops_the_input_as_a_failing_input_does(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # It escaped as itself, with no report, and the task group cancelled the writes in flight:
    # organizations were made that no event or report mentioned.
    emulator.seed([{"name": "Stale", "external_id": "stale"}])
    rows: list[Mapping[str, Any]] = [{"external_id": f"r-{number}", "name": f"R {number}"} for number in range(10)]
    events: list[SyncEvent] = []
    with pytest.raises(SyncInputError, match="the database connection went away") as caught:
        await client.organizations.sync(
            [*rows, LostRow(), {"external_id": "after", "name": "After"}],
            prune=True,
            concurrency=4,
            on_event=events.append,
        )
    report = caught.value.report
    assert (report.created, report.deleted, report.failed) == (10, 0, 0)
    assert len(events) == 10
    assert isinstance(caught.value.__cause__, OSError)
    assert await external_ids(client) == sorted([*(f"r-{n}" for n in range(10)), "stale"])


async def test_dry_run_lists_each_change_with_old_and_new(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed(
        [
            {
                "name": "Acme",
                "external_id": "x",
                "domains": [{"domain": "acme.com", "state": "pending"}],
                "metadata": {"tier": "gold", "old": "1"},
            }
        ]
    )
    events: list[SyncEvent] = []
    wanted = [
        OrganizationRecord("x", "Acme Corp", domains=["acme.com", "acme.dev"], metadata={"tier": "silver"}),
        OrganizationRecord("new", "New", metadata={"a": "b"}),
    ]
    report = await client.organizations.sync(wanted, dry_run=True, on_event=events.append)
    assert (report.created, report.updated) == (1, 1)
    by_id = {event.external_id: event for event in events}
    assert [(change.field, change.old, change.new) for change in by_id["x"].changes] == [
        ("name", "Acme", "Acme Corp"),
        ("metadata.old", "1", None),
        ("metadata.tier", "gold", "silver"),
        ("domains", ["acme.com (pending)"], ["acme.com (pending)", "acme.dev (pending)"]),
    ]
    assert [(change.field, change.old, change.new) for change in by_id["new"].changes] == [
        ("name", None, "New"),
        ("metadata.a", None, "b"),
    ]
    assert (await client.organizations.get_by_external_id("x")).name == "Acme"


async def test_real_runs_carry_the_same_change_list(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": "Acme", "external_id": "x"}])
    events: list[SyncEvent] = []
    await client.organizations.sync([OrganizationRecord("x", "Acme 2")], on_event=events.append)
    (event,) = events
    assert (event.action, [(c.field, c.old, c.new) for c in event.changes]) == ("updated", [("name", "Acme", "Acme 2")])
    assert event.to_dict()["changes"] == [{"field": "name", "old": "Acme", "new": "Acme 2"}]


def test_unknown_keys_fail_naming_the_key() -> None:
    with pytest.raises(InvalidRecordError, match="unknown key 'domain'"):
        OrganizationRecord.from_mapping({"external_id": "x", "name": "X", "domain": "x.com"})
    with pytest.raises(InvalidRecordError, match="unknown key 'metdata'"):
        OrganizationRecord.from_mapping({"external_id": "x", "name": "X", "metdata": {}})


def test_null_domains_or_metadata_are_refused_rather_than_guessed() -> None:
    with pytest.raises(InvalidRecordError, match=r"domains.*\[\]"):
        OrganizationRecord.from_mapping({"external_id": "x", "name": "X", "domains": None})
    with pytest.raises(InvalidRecordError, match=r"metadata.*\{\}"):
        OrganizationRecord.from_mapping({"external_id": "x", "name": "X", "metadata": None})


async def test_a_legacy_verified_domain_is_left_alone_unless_the_domain_set_changes(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # The deprecated `domains` list makes legacy_verified domains; domain_data cannot ask for
    # that state, so a change to the set resends them as verified, and the change says so.
    emulator.seed(
        [{"name": "Acme", "external_id": "x", "domains": [{"domain": "acme.com", "state": "legacy_verified"}]}]
    )
    same = await client.organizations.sync([OrganizationRecord("x", "Acme", domains=["acme.com"])])
    assert same.unchanged == 1
    kept = await client.organizations.get_by_external_id("x")
    assert [(d.domain, d.state) for d in kept.domains] == [("acme.com", "legacy_verified")]

    events: list[SyncEvent] = []
    await client.organizations.sync(
        [OrganizationRecord("x", "Acme", domains=["acme.com", "acme.org"])], on_event=events.append
    )
    [change] = events[0].changes
    assert (change.field, change.old, change.new) == (
        "domains",
        ["acme.com (legacy_verified)"],
        ["acme.com (verified)", "acme.org (pending)"],
    )
    after = await client.organizations.get_by_external_id("x")
    assert [(d.domain, d.state, d.id == kept.domains[0].id) for d in after.domains] == [
        ("acme.com", "verified", True),
        ("acme.org", "pending", False),
    ]


@pytest.mark.parametrize(
    ("option", "value"), [("prune", "false"), ("prune", 0), ("dry_run", "false"), ("dry_run", None)]
)
async def test_prune_and_dry_run_take_only_true_or_false(
    client: AsyncWorkOS, emulator: Emulator, option: str, value: Any
) -> None:
    # "false" read from a config file is truthy: taken as True it would delete every
    # organization not in the input (prune), or write what was meant as a rehearsal (dry_run).
    emulator.seed([{"name": f"Customer {n}", "external_id": str(n)} for n in range(5)])
    with pytest.raises(InvalidArgumentError, match=f"{option} must be True or False; got {value!r}"):
        await client.organizations.sync([{"external_id": "0", "name": "Renamed"}], **{option: value})
    assert await external_ids(client) == [str(n) for n in range(5)]
    assert (await client.organizations.get_by_external_id("0")).name == "Customer 0"


async def test_on_event_must_be_callable(client: AsyncWorkOS) -> None:
    with pytest.raises(InvalidArgumentError, match="on_event must be a function that takes a SyncEvent, or None"):
        await client.organizations.sync([{"external_id": "a", "name": "A"}], on_event="print")  # type: ignore[arg-type]
    assert await external_ids(client) == []


async def test_an_error_in_on_event_is_raised_as_itself_however_many_workers_hit_it(client: AsyncWorkOS) -> None:
    raised: list[OSError] = []

    def on_event(event: SyncEvent) -> None:
        error = OSError(28, "No space left on device")
        raised.append(error)
        raise error

    records = [{"external_id": f"c{n}", "name": f"C {n}"} for n in range(32)]
    for _ in range(3):
        with pytest.raises(OSError, match="No space left on device") as caught:
            await client.organizations.sync(records, concurrency=8, on_event=on_event)
        assert caught.value is raised[0]  # the first, not a group of every worker's
        raised.clear()


async def test_a_create_that_finds_another_jobs_organization_applies_the_record_and_says_so(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # Another job made cust-1 after this job looked it up (the lookup's 404 stands for that
    # moment); this job's create then meets a 503 and, its outcome unknown, a 400
    # external_id_already_used: the create's recovery finds the other job's organization,
    # with the same name but not the record's metadata or domains.
    await client.organizations.create(name="Acme", external_id="cust-1", metadata={"tier": "free"})
    emulator.inject_fault(
        method="GET",
        path="/organizations/external_id/cust-1",
        status=404,
        body={"code": "entity_not_found", "message": "Not found"},
    )
    emulator.inject_fault(method="POST", path="/organizations", status=503)
    events: list[SyncEvent] = []
    record = OrganizationRecord("cust-1", "Acme", metadata={"tier": "gold"}, domains=["acme.com"])
    report = await client.organizations.sync([record], on_event=events.append, rate_limiter=None)
    assert (report.created, report.updated, report.failed) == (0, 1, 0)
    assert [event.action for event in events] == ["updated"]
    assert {change.field: (change.old, change.new) for change in events[0].changes} == {
        "metadata.tier": ("free", "gold"),
        "domains": ([], ["acme.com (pending)"]),
    }
    stored = await client.organizations.get_by_external_id("cust-1")
    assert dict(stored.metadata) == {"tier": "gold"}
    assert [domain.domain for domain in stored.domains] == ["acme.com"]
    assert await external_ids(client) == ["cust-1"]


async def test_an_error_in_on_event_keeps_its_own_cause(client: AsyncWorkOS) -> None:
    class StoreError(Exception):
        pass

    def on_event(event: SyncEvent) -> None:
        try:
            {}[event.external_id]
        except KeyError as missing:
            raise StoreError(f"no row for {event.external_id}") from missing

    with pytest.raises(StoreError) as caught:
        await client.organizations.sync([{"external_id": "a", "name": "A"}], on_event=on_event)
    assert isinstance(caught.value.__cause__, KeyError)


@pytest.mark.parametrize("external_id", ["cust-1 ", " cust-1", "cust-1\t", "cust-1\n"])
def test_a_record_refuses_an_external_id_with_whitespace_around_it(external_id: str) -> None:
    with pytest.raises(InvalidRecordError, match="has whitespace at its start or end"):
        OrganizationRecord(external_id, "Acme")


async def test_an_external_id_with_whitespace_around_it_neither_creates_nor_lets_prune_delete(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # A stray space from a CSV export: taken as it is, the record made a second organization
    # ("cust-1 ") and prune deleted the real one, with its metadata, as stale.
    emulator.seed([{"name": "Acme", "external_id": "cust-1", "metadata": {"tier": "gold"}}])
    report = await client.organizations.sync([{"external_id": "cust-1 ", "name": "Acme"}], prune=True)
    assert (report.created, report.deleted, report.failed) == (0, 0, 1)
    assert "'cust-1 ' has whitespace at its start or end" in str(report.failures[0])
    assert report.prune_skipped is not None
    assert await external_ids(client) == ["cust-1"]
    assert (await client.organizations.get_by_external_id("cust-1")).metadata == {"tier": "gold"}


async def test_prune_with_no_records_at_all_deletes_nothing(client: AsyncWorkOS, emulator: Emulator) -> None:
    # An export that died before writing a line reads as no records: pruning on it would
    # delete every organization.
    emulator.seed([{"name": f"Customer {n}", "external_id": str(n)} for n in range(5)])
    report = await client.organizations.sync([], prune=True)
    assert (report.deleted, report.failed) == (0, 0)
    assert report.prune_skipped is not None
    assert "no records were read" in report.prune_skipped
    assert "prune skipped: no records were read" in str(report)
    assert report.ok is False  # it did not do what it was asked (the command line exits 1)
    assert report.to_dict()["report"]["ok"] is False
    assert await external_ids(client) == [str(n) for n in range(5)]


async def test_an_async_on_event_is_awaited_for_every_event(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": "Old", "external_id": "b"}, {"name": "Stale", "external_id": "s"}])
    heard: list[tuple[str, str | None]] = []

    async def on_event(event: SyncEvent) -> None:
        await asyncio.sleep(0)
        heard.append((event.action, event.external_id))

    records = [
        {"external_id": "a", "name": "A"},
        {"external_id": "b", "name": "New"},
        {"external_id": "a", "name": "B"},
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" fails the test
        report = await client.organizations.sync(records, prune=True, on_event=on_event)
    assert (report.created, report.updated, report.failed, report.deleted) == (1, 1, 1, 1)
    assert sorted(heard) == [("created", "a"), ("deleted", "s"), ("failed", "a"), ("updated", "b")]


async def test_an_async_on_event_that_raises_stops_the_job_before_the_prune(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    emulator.seed([{"name": "Stale", "external_id": "s"}])

    async def on_event(event: SyncEvent) -> None:
        await asyncio.sleep(0)
        raise LookupError(f"cannot record {event.external_id}")

    with pytest.raises(LookupError, match="cannot record a"):
        await client.organizations.sync([{"external_id": "a", "name": "A"}], prune=True, on_event=on_event)
    assert await external_ids(client) == ["a", "s"]


@pytest.mark.parametrize("state", ["Verified", "VERIFIED", "verifed", None, ["verified"]])
def test_a_record_refuses_a_domain_state_the_api_does_not_take(state: Any) -> None:
    with pytest.raises(InvalidRecordError, match="state must be 'pending' or 'verified'"):
        OrganizationRecord("x", "X", domains=[{"domain": "acme.com", "state": state}])


async def test_replacing_every_metadata_key_converges_within_the_key_limit(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # 30 keys replaced by 30 others: one update naming the 30 removals and the 30 new keys
    # holds 60, over the API's 50, and failed on every run.
    old = {f"old_{n}": "x" for n in range(30)}
    new = {f"new_{n}": "y" for n in range(30)}
    emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    events: list[SyncEvent] = []
    report = await client.organizations.sync([OrganizationRecord("x", "Acme 2", metadata=new)], on_event=events.append)
    assert (report.updated, report.failed) == (1, 0), report.failures
    organization = await client.organizations.get_by_external_id("x")
    assert (organization.name, dict(organization.metadata)) == ("Acme 2", new)
    assert len(events[0].changes) == 61  # the name, 30 keys removed, 30 set: one event
    assert (await client.organizations.sync([OrganizationRecord("x", "Acme 2", metadata=new)])).unchanged == 1


# A 404 that is not the API's own "no such organization" -- a gateway's page, or the bare
# "Not Found" of a route the API does not have -- says nothing about the organization.
NOT_THE_APIS_404 = [
    pytest.param({"body": "<html><body>404 Not Found (nginx)</body></html>", "content_type": "text/html"}, id="html"),
    pytest.param({"body": {"message": "Not Found"}}, id="bare-json"),
]


@pytest.mark.parametrize("fault", NOT_THE_APIS_404)
async def test_prune_counts_a_404_as_deleted_only_when_the_api_says_the_organization_is_gone(
    client: AsyncWorkOS, emulator: Emulator, fault: dict[str, Any]
) -> None:
    emulator.seed([{"name": "Keep", "external_id": "keep"}, {"name": "Stale", "external_id": "stale"}])
    emulator.inject_fault(method="DELETE", path="/organizations/*", status=404, **fault)
    events: list[SyncEvent] = []
    report = await client.organizations.sync(
        [OrganizationRecord("keep", "Keep")], prune=True, on_event=events.append, rate_limiter=None
    )
    assert (report.deleted, report.failed, report.ok) == (0, 1, False)
    assert [(event.action, event.external_id) for event in events] == [("unchanged", "keep"), ("failed", "stale")]
    assert isinstance(events[1].error, NotFoundError)
    assert await external_ids(client) == ["keep", "stale"]
    # The API's own answer for an organization deleted meanwhile is the outcome prune wants.
    emulator.inject_fault(
        method="DELETE",
        path="/organizations/*",
        status=404,
        body={"message": "Organization not found.", "code": "entity_not_found"},
    )
    report = await client.organizations.sync([OrganizationRecord("keep", "Keep")], prune=True, rate_limiter=None)
    assert (report.deleted, report.failed, report.ok) == (1, 0, True)


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("fault", NOT_THE_APIS_404)
async def test_a_lookup_404_that_is_not_the_apis_fails_the_record_rather_than_creating(
    client: AsyncWorkOS, emulator: Emulator, fault: dict[str, Any], dry_run: bool
) -> None:
    emulator.seed([{"name": "Acme", "external_id": "acme", "stripe_customer_id": "cus_1"}])
    emulator.inject_fault(method="GET", path="/organizations/external_id/acme", status=404, **fault)
    events: list[SyncEvent] = []
    report = await client.organizations.sync(
        [OrganizationRecord("acme", "Acme")], dry_run=dry_run, on_event=events.append, rate_limiter=None
    )
    assert (report.created, report.failed, report.ok) == (0, 1, False)
    assert [event.action for event in events] == ["failed"]
    assert isinstance(events[0].error, NotFoundError)
    assert [request.method for request in emulator.requests] == ["GET"]  # no create tried


async def test_a_split_update_whose_second_step_is_refused_keeps_every_metadata_key(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # Replacing 30 keys with 30 others takes two updates (the removals with the other fields,
    # then the keys set).  When the second is refused (here a value over the API's 600
    # characters), the first had removed every key: the organization was left with no
    # metadata, and the event said nothing of it.  The rename, done by the first, stays done.
    old = {f"old_{n}": "x" for n in range(30)}
    new = {f"new_{n}": "y" for n in range(30)} | {"new_0": "z" * 700}
    (seeded,) = emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    events: list[SyncEvent] = []
    report = await client.organizations.sync(
        [OrganizationRecord("x", "Acme 2", metadata=new)], on_event=events.append, rate_limiter=None
    )
    assert (report.updated, report.failed) == (0, 1)
    organization = await client.organizations.get_by_external_id("x")
    assert (organization.name, dict(organization.metadata)) == ("Acme 2", old)
    assert [(event.action, event.organization_id, event.changes) for event in events] == [
        ("failed", seeded["id"], (FieldChange("name", "Acme", "Acme 2"),))
    ]


async def test_a_split_update_that_cannot_be_undone_says_what_it_wrote(client: AsyncWorkOS, emulator: Emulator) -> None:
    # The second update fails without a definitive response (it may have been done), so the
    # first is not undone: the failure names the organization, the keys the first removed,
    # and those the second may have set.
    old = {f"old_{n}": "x" for n in range(30)}
    new = {f"new_{n}": "y" for n in range(30)}
    (seeded,) = emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    emulator.inject_fault(method="PUT", path="/organizations/*", delay_ms=1)  # the first passes
    emulator.inject_fault(method="PUT", path="/organizations/*", status=503, times=10)
    events: list[SyncEvent] = []
    report = await client.with_options(max_retries=1).organizations.sync(
        [OrganizationRecord("x", "Acme", metadata=new)], on_event=events.append, rate_limiter=None
    )
    assert (report.updated, report.failed) == (0, 1)
    (event,) = events
    assert (event.action, event.organization_id) == ("failed", seeded["id"])
    # The keys the first removed, named first, then those the second may have set.
    assert [change.field for change in event.changes] == [f"metadata.{key}" for key in [*sorted(old), *sorted(new)]]
    assert {(change.old, change.new) for change in event.changes} == {("x", None), (None, "y")}
    (failure,) = report.failures
    assert (failure.organization_id, failure.changes) == (seeded["id"], event.changes)
    assert f"before it failed, these fields of {seeded['id']} were changed, or may have been: old_" in str(
        failure
    ).replace("metadata.", "")
    assert dict((await client.organizations.get_by_external_id("x")).metadata) == {}
    # A re-run converges.
    emulator.clear_faults()
    assert (await client.organizations.sync([OrganizationRecord("x", "Acme", metadata=new)])).updated == 1
    assert dict((await client.organizations.get_by_external_id("x")).metadata) == new


async def test_a_failed_update_names_the_organization_it_found(client: AsyncWorkOS, emulator: Emulator) -> None:
    (seeded,) = emulator.seed([{"name": "Acme", "external_id": "x"}])
    events: list[SyncEvent] = []
    report = await client.organizations.sync(
        [OrganizationRecord("x", "Acme", metadata={"k": "v" * 700})], on_event=events.append, rate_limiter=None
    )
    assert report.failed == 1
    assert [(event.action, event.organization_id) for event in events] == [("failed", seeded["id"])]
    assert report.failures[0].organization_id == seeded["id"]


async def test_a_refused_second_step_whose_undoing_fails_says_what_it_wrote(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    old = {f"old_{n}": "x" for n in range(30)}
    new = {f"new_{n}": "y" for n in range(30)} | {"new_0": "z" * 700}
    (seeded,) = emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    emulator.inject_fault(method="PUT", path="/organizations/*", delay_ms=1, times=2)  # removals; the refused rest
    emulator.inject_fault(method="PUT", path="/organizations/*", status=503, times=10)  # putting the keys back
    report = await client.with_options(max_retries=1).organizations.sync(
        [OrganizationRecord("x", "Acme", metadata=new)], rate_limiter=None
    )
    (failure,) = report.failures
    assert isinstance(failure.error, BadRequestError)  # the record's own failure, not the undoing's
    assert (failure.organization_id, len(failure.changes)) == (seeded["id"], 30)
    assert f"before it failed, these fields of {seeded['id']} were changed, or may have been: metadata.old_" in str(
        failure
    )
    assert dict((await client.organizations.get_by_external_id("x")).metadata) == {}


@pytest.mark.parametrize(
    ("records", "hint"),
    [
        ({"external_id": "a", "name": "A"}, "wrap a single record in a list"),
        (OrganizationRecord("a", "A"), "wrap a single record in a list"),
        (None, "got NoneType"),
        ("a,b", "got str"),
        (7, "got int"),
    ],
    ids=["one mapping", "one record", "None", "text", "a number"],
)
async def test_records_that_are_not_a_collection_of_records_are_refused_before_anything_is_sent(
    client: AsyncWorkOS, emulator: Emulator, records: Any, hint: str
) -> None:
    # A mapping was walked as its keys (two failed records); None was a SyncInputError saying
    # to fix the input and run again.
    emulator.seed([{"name": "Keep", "external_id": "keep"}])
    with pytest.raises(InvalidArgumentError, match="records must be an iterable of records") as caught:
        await client.organizations.sync(records, prune=True)
    assert hint in str(caught.value)
    assert emulator.requests == []


async def test_a_record_refused_for_its_domains_changes_no_metadata(client: AsyncWorkOS, emulator: Emulator) -> None:
    # The removals went alone first: a domain the API refuses (a consumer domain) came in the
    # second step, and the keys were gone unless putting them back worked (here it fails).
    old = {f"old_{n}": "x" for n in range(30)}
    new = {f"new_{n}": "y" for n in range(30)}
    (seeded,) = emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    emulator.inject_fault(method="PUT", path="/organizations/*", delay_ms=1, times=2)
    emulator.inject_fault(method="PUT", path="/organizations/*", status=503, times=10)
    events: list[SyncEvent] = []
    report = await client.with_options(max_retries=1).organizations.sync(
        [OrganizationRecord("x", "Acme", domains=["gmail.com"], metadata=new)],
        on_event=events.append,
        rate_limiter=None,
    )
    assert report.failed == 1
    assert [(event.action, event.changes) for event in events] == [("failed", ())]
    assert dict((await client.organizations.get(seeded["id"])).metadata) == old


async def test_a_metadata_key_called_name_is_not_taken_for_the_name(client: AsyncWorkOS, emulator: Emulator) -> None:
    old = {"name": "x"} | {f"old_{n}": "x" for n in range(29)}
    new = {f"new_{n}": "y" for n in range(30)}
    emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    emulator.inject_fault(method="PUT", path="/organizations/*", delay_ms=1)  # the first step passes
    emulator.inject_fault(method="PUT", path="/organizations/*", status=503, times=10)  # the second: unknown
    events: list[SyncEvent] = []
    await client.with_options(max_retries=1).organizations.sync(
        [OrganizationRecord("x", "Acme", metadata=new)], on_event=events.append, rate_limiter=None
    )
    (event,) = events
    assert [change.field for change in event.changes] == [f"metadata.{key}" for key in [*sorted(old), *sorted(new)]]


async def test_a_first_step_whose_outcome_is_unknown_is_named_by_the_failure(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # Done, but unanswered: the keys were removed and the failure said nothing of them.
    old = {f"old_{n}": "x" for n in range(30)}
    new = {f"new_{n}": "y" for n in range(30)} | {"new_0": "z" * 700}
    (seeded,) = emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    emulator.inject_fault(method="PUT", path="/organizations/*", drop="after", times=5)
    report = await client.with_options(max_retries=0).organizations.sync(
        [OrganizationRecord("x", "Acme", metadata=new)], rate_limiter=None
    )
    assert dict((await client.organizations.get(seeded["id"])).metadata) == {}
    (failure,) = report.failures
    assert failure.organization_id == seeded["id"]
    assert {(change.field, change.old) for change in failure.changes} == {(f"metadata.{key}", "x") for key in old}


async def test_a_single_update_whose_outcome_is_unknown_is_named_by_the_failure(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    # Done, but unanswered: the organization was renamed, and the failure said it changed nothing.
    (seeded,) = emulator.seed([{"name": "Orig", "external_id": "o", "metadata": {"tier": "gold"}}])
    emulator.inject_fault(method="PUT", path="/organizations/*", drop="after", times=5)
    events: list[SyncEvent] = []
    report = await client.with_options(max_retries=0).organizations.sync(
        [OrganizationRecord("o", "Renamed", metadata={"plan": "gold"})], on_event=events.append, rate_limiter=None
    )
    assert (await client.organizations.get(seeded["id"])).name == "Renamed"
    (failure,) = report.failures
    assert failure.error.outcome_unknown is True
    assert {(change.field, change.old, change.new) for change in failure.changes} == {
        ("name", "Orig", "Renamed"),
        ("metadata.tier", "gold", None),
        ("metadata.plan", None, "gold"),
    }
    assert [event.changes for event in events] == [failure.changes]
    assert f"these fields of {seeded['id']} were changed, or may have been: " in str(failure)


async def test_a_single_update_refused_outright_names_no_change(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": "Orig", "external_id": "o"}])
    emulator.inject_fault(method="PUT", path="/organizations/*", status=400, times=1)
    report = await client.organizations.sync([OrganizationRecord("o", "Renamed")], rate_limiter=None)
    (failure,) = report.failures
    assert (failure.error.outcome_unknown, failure.changes) == (False, ())
    assert "may have been" not in str(failure)


@pytest.mark.parametrize("awaited", [False, True], ids=["function", "coroutine function"])
async def test_a_sync_cancelled_between_the_two_steps_tells_on_event_what_the_first_changed(
    emulator: Emulator, awaited: bool
) -> None:
    # Cancelled (Ctrl-C, a task's timeout) after the first step removed the old keys: the job
    # kept that in a report nobody gets, and on_event, all a cancelled sync's caller has, was
    # never told -- the keys were gone without a word.
    old = {f"old_{n}": "x" for n in range(30)}
    new = {f"new_{n}": "y" for n in range(30)}
    (seeded,) = emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    events: list[SyncEvent] = []

    async def told(event: SyncEvent) -> None:
        await asyncio.sleep(0)
        events.append(event)

    async with Gate(emulator.url) as gate:
        second = gate.hold("PUT", "/organizations/*", skip=1, times=1)  # the first step passes
        async with AsyncWorkOS(api_key=emulator.api_key, base_url=gate.url) as client:
            job = asyncio.create_task(
                client.organizations.sync(
                    [OrganizationRecord("x", "Acme", metadata=new)],
                    on_event=told if awaited else events.append,
                    rate_limiter=None,
                )
            )
            async with asyncio.timeout(SAFETY_NET):  # a safety net: the hold keeps the second step
                await second.arrived()
                job.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await job
    (event,) = events
    assert (event.action, event.external_id, event.organization_id) == ("failed", "x", seeded["id"])
    # The second step was sent when the cancellation came: what it sets may have been set.
    assert [(change.field, change.old) for change in event.changes] == [
        (f"metadata.{key}", "x") for key in sorted(old)
    ] + [(f"metadata.{key}", None) for key in sorted(new)]
    assert "stopped during this record's update" in str(event.error)


@pytest.mark.parametrize("other_first", [False, True], ids=["cut short first", "other first"])
async def test_a_cancelled_sync_tells_of_a_record_cut_short_even_while_on_event_was_being_told(
    emulator: Emulator, other_first: bool
) -> None:
    # Another record's event was being told (on_event awaited) when the cancellation came: that
    # await's CancelledError was taken for on_event failing, and nothing more was told.
    old = {f"old_{n}": "x" for n in range(30)}
    (seeded,) = emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    told: list[SyncEvent] = []
    telling, never = asyncio.Event(), asyncio.Event()

    async def on_event(event: SyncEvent) -> None:
        if event.action == "created":
            telling.set()
            await never.wait()  # still being told when the job is cancelled
        told.append(event)

    records = [
        OrganizationRecord("x", "Acme", metadata={f"new_{n}": "y" for n in range(30)}),
        OrganizationRecord("y", "B"),
    ]
    if other_first:
        records.reverse()
    async with Gate(emulator.url) as gate:
        second = gate.hold("PUT", "/organizations/*", skip=1, times=1)  # the first step passes
        async with AsyncWorkOS(api_key=emulator.api_key, base_url=gate.url) as client:
            job = asyncio.create_task(
                client.organizations.sync(records, concurrency=2, on_event=on_event, rate_limiter=None)
            )
            async with asyncio.timeout(SAFETY_NET):
                await second.arrived()
                await telling.wait()
                job.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await job
    assert [(event.action, event.external_id, event.organization_id) for event in told] == [
        ("failed", "x", seeded["id"])
    ]


async def test_an_on_event_that_raises_as_a_cancelled_sync_ends_does_not_replace_the_cancellation(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    # The job ended with on_event's ValueError: a caller's asyncio.timeout then raised it instead
    # of TimeoutError, and asyncio.run's Ctrl-C became that error.
    emulator.seed([{"name": "Acme", "external_id": "x", "metadata": {f"old_{n}": "x" for n in range(30)}}])

    def on_event(event: SyncEvent) -> None:
        raise ValueError("on_event's own bug")

    async with Gate(emulator.url) as gate:
        second = gate.hold("PUT", "/organizations/*", skip=1, times=1)  # the first step passes
        async with AsyncWorkOS(api_key=emulator.api_key, base_url=gate.url) as client:
            job = asyncio.create_task(
                client.organizations.sync(
                    [OrganizationRecord("x", "Acme", metadata={f"new_{n}": "y" for n in range(30)})],
                    on_event=on_event,
                    rate_limiter=None,
                )
            )
            async with asyncio.timeout(SAFETY_NET):
                await second.arrived()
                job.cancel()
                with caplog.at_level(logging.ERROR, logger="workos_orgs"), pytest.raises(asyncio.CancelledError):
                    await job
    # Not lost: logged, with its traceback.
    (record,) = [record for record in caplog.records if record.name == "workos_orgs"]
    assert record.getMessage() == "on_event raised as the cancelled sync told it x failed"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_an_on_event_raising_cancelled_error_of_its_own_stops_the_job_with_an_error(
    client: AsyncWorkOS, concurrency: int
) -> None:
    # It awaited something cancelled elsewhere; its task was not being cancelled.  Its worker
    # ended as cancelled, which the pool's TaskGroup does not count as failing: with four
    # workers the job went on without it and returned success; with one, it hung.
    told: list[str | None] = []

    async def on_event(event: SyncEvent) -> None:
        told.append(event.external_id)
        if len(told) == 2:
            other = asyncio.get_running_loop().create_future()
            other.cancel()
            await other

    records = [OrganizationRecord(f"e{n}", f"Org {n}") for n in range(20)]
    async with asyncio.timeout(SAFETY_NET):
        with pytest.raises(WorkOSError, match="on_event raised CancelledError") as caught:
            await client.organizations.sync(records, concurrency=concurrency, on_event=on_event, rate_limiter=None)
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)
    assert len(told) == 2  # it stopped there


async def test_a_sync_stopped_between_the_two_steps_names_what_the_first_changed(emulator: Emulator) -> None:
    old = {f"old_{n}": "x" for n in range(30)}
    new = {f"new_{n}": "y" for n in range(30)}
    (seeded,) = emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    async with Gate(emulator.url) as gate:
        second = gate.hold("PUT", "/organizations/*", skip=1, times=1)  # the first step passes
        client = AsyncWorkOS(api_key=emulator.api_key, base_url=gate.url)
        job = asyncio.create_task(
            client.organizations.sync([OrganizationRecord("x", "Acme", metadata=new)], rate_limiter=None)
        )
        async with asyncio.timeout(SAFETY_NET):  # a safety net: the hold keeps the second step
            await second.arrived()
            await client.close()
            with pytest.raises(SyncStoppedError) as caught:
                await job
    (failure,) = caught.value.report.failures
    assert (failure.external_id, failure.organization_id) == ("x", seeded["id"])
    assert [change.field for change in failure.changes] == [f"metadata.{key}" for key in [*sorted(old), *sorted(new)]]
    assert caught.value.cut_short == ("update",)


class _CancelledElsewhere(RateLimiter):
    """A limiter whose `n`th wait awaits a future another task cancelled: a CancelledError in
    the worker's task that nobody asked of it."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.count = n, 0

    async def wait(self, method: str, path_segments: tuple[str, ...]) -> None:
        self.count += 1
        if self.count == self.n:
            await _cancelled_elsewhere()


async def _cancelled_elsewhere() -> None:
    other: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    other.cancel()
    await other


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_worker_cancelled_by_nobody_fails_its_record_and_the_job_goes_on(
    client: AsyncWorkOS, concurrency: int
) -> None:
    # The worker ended as cancelled, and the job went on without it (the record neither
    # synced nor failed), or, with one worker, hung.  The call now fails, and its record.
    records = [OrganizationRecord(f"e{n}", f"Org {n}") for n in range(20)]
    async with asyncio.timeout(SAFETY_NET):
        report = await client.with_options(max_retries=0).organizations.sync(
            records, concurrency=concurrency, rate_limiter=_CancelledElsewhere(3)
        )
    assert (report.created, report.failed) == (19, 1)
    assert "a CancelledError came from the rate limiter's wait" in str(report.failures[0].error)


class _Store:
    """A store (what sync needs of ``client.organizations``) whose `n`th lookup is cancelled by
    nobody: a CancelledError from a path the client does not turn into an error."""

    def __init__(self, n: int) -> None:
        self.n, self.count = n, 0

    async def get_by_external_id(self, external_id: str) -> Organization:
        self.count += 1
        if self.count == self.n:
            await _cancelled_elsewhere()
        raise NotFoundError("no such organization", status_code=404, code="entity_not_found")

    async def create(self, **arguments: Any) -> Organization:
        raise AssertionError("not reached in a dry run")

    update = delete = create

    def list(self, *, limit: int) -> AsyncIterator[Organization]:
        raise AssertionError("no prune here")


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_worker_ended_by_a_cancellation_nobody_asked_for_stops_the_job_with_an_error(
    concurrency: int,
) -> None:
    # A worker ending cancelled is no failure to the pool's TaskGroup: it went on without it,
    # or, with one worker, waited for it for ever.
    records = [OrganizationRecord(f"e{n}", f"Org {n}") for n in range(20)]
    async with asyncio.timeout(SAFETY_NET):
        with pytest.raises(WorkOSError, match="not the sync's own cancellation") as caught:
            await sync_organizations(_Store(3), records, concurrency=concurrency, dry_run=True)
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)
