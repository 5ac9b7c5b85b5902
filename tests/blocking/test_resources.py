"""Every resource method through the blocking client, against the emulator over loopback HTTP."""

from __future__ import annotations

import inspect
import pydoc
import threading
import time
import typing
from collections.abc import AsyncIterator
from unittest import mock

import pytest

import workos_orgs
from workos_orgs import (
    APIResponse,
    AsyncWorkOS,
    BlockingOrganizations,
    ClientClosedError,
    ConfigurationError,
    DomainData,
    DomainState,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    Organization,
    OrganizationDomain,
    OrganizationRecord,
    Page,
    Pager,
    RateLimiter,
    SyncEvent,
    SyncInputError,
    SyncReport,
    SyncStoppedError,
    WorkOS,
)
from workos_orgs._blocking import _blocking_doc
from workos_orgs.emulator import Emulator


def test_create_get_get_by_external_id_update_delete(client: WorkOS) -> None:
    created = client.organizations.create(
        name="Acme", external_id="acme-1", metadata={"tier": "gold"}, domain_data=[DomainData("acme.com", "verified")]
    )
    assert isinstance(created, Organization)
    assert (created.name, created.external_id, created.metadata) == ("Acme", "acme-1", {"tier": "gold"})
    assert [(domain.domain, domain.state) for domain in created.domains] == [("acme.com", DomainState.VERIFIED)]
    assert client.organizations.get(created.id) == created
    assert client.organizations.get_by_external_id("acme-1") == created

    updated = client.organizations.update(created.id, name="Acme Corp", external_id=None)
    assert (updated.id, updated.name, updated.external_id) == (created.id, "Acme Corp", None)

    assert client.organizations.delete(created.id) is None
    with pytest.raises(NotFoundError) as caught:
        client.organizations.get(created.id)
    assert caught.value.code == "entity_not_found"


def test_domains_create_get_verify_delete(client: WorkOS) -> None:
    organization = client.organizations.create(name="Acme")
    domain = client.organization_domains.create(organization_id=organization.id, domain="acme.com")
    assert isinstance(domain, OrganizationDomain)
    assert (domain.organization_id, domain.domain) == (organization.id, "acme.com")
    assert client.organization_domains.get(domain.id) == domain

    verified = client.organization_domains.verify(domain.id)
    assert isinstance(verified, OrganizationDomain)
    assert (verified.id, verified.domain) == (domain.id, "acme.com")
    # Whether the emulator verifies at once or leaves it pending is its choice; verify returns a state either way.
    assert verified.state in (DomainState.VERIFIED, DomainState.PENDING)
    assert client.organization_domains.get(domain.id).state is verified.state

    assert client.organization_domains.delete(domain.id) is None
    with pytest.raises(NotFoundError):
        client.organization_domains.get(domain.id)
    assert client.organizations.get(organization.id).domains == ()


def test_list_walks_every_page_and_first_page_gives_one(client: WorkOS, emulator: Emulator) -> None:
    seeded = emulator.seed([{"name": f"Org {number:02}"} for number in range(23)])
    pager = client.organizations.list(limit=5)
    assert isinstance(pager, Pager)
    assert sorted(organization.id for organization in pager) == sorted(org["id"] for org in seeded)

    page = client.organizations.list(limit=5).first_page()
    assert isinstance(page, Page)
    assert len(page.data) == 5
    assert page.list_metadata.after == page.data[-1].id

    pages = list(client.organizations.list(limit=5).pages())
    assert [len(page.data) for page in pages] == [5, 5, 5, 5, 3]
    assert [organization.id for page in pages for organization in page.data] == [
        organization.id for organization in client.organizations.list(limit=5)
    ]
    assert len(list(client.organizations.list(limit=5, max_items=7))) == 7


def test_list_filters_and_bad_arguments_fail_at_the_call(client: WorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": "Acme", "domains": ["acme.example"]}, {"name": "Globex", "domains": ["globex.example"]}])
    assert [organization.name for organization in client.organizations.list(domains=["acme.example"])] == ["Acme"]
    sent = len(emulator.requests)
    with pytest.raises(InvalidArgumentError):
        client.organizations.list(limit=0)
    with pytest.raises(InvalidArgumentError):
        client.organizations.get("")
    assert len(emulator.requests) == sent


def test_with_raw_response_on_every_method(client: WorkOS) -> None:
    raw_organizations = client.organizations.with_raw_response
    created = raw_organizations.create(name="Acme", external_id="acme-1")
    assert isinstance(created, APIResponse)
    organization = created.parse()
    assert organization.name == "Acme"
    assert created.request_id
    assert raw_organizations.get(organization.id).parse() == organization
    assert raw_organizations.get_by_external_id("acme-1").parse() == organization
    assert raw_organizations.update(organization.id, name="Acme Corp").parse().name == "Acme Corp"
    listed = raw_organizations.list(limit=10).parse()
    assert [item.id for item in listed.data] == [organization.id]

    raw_domains = client.organization_domains.with_raw_response
    domain = raw_domains.create(organization_id=organization.id, domain="acme.com").parse()
    assert raw_domains.get(domain.id).parse() == domain
    assert raw_domains.verify(domain.id).parse().id == domain.id
    assert raw_domains.delete(domain.id).parse() is None
    assert raw_organizations.delete(organization.id).parse() is None


def test_with_options_is_a_view_sharing_the_thread(client: WorkOS, emulator: Emulator) -> None:
    patient = client.with_options(timeout=120, max_retries=0)
    assert (patient.timeout, patient.max_retries) == (120, 0)
    assert (client.timeout, client.max_retries) == (30, 2)
    emulator.inject_fault(method="GET", path="/organizations/*", status=503)
    organization = client.organizations.create(name="Acme")
    with pytest.raises(InternalServerError) as caught:
        patient.organizations.get(organization.id)
    assert caught.value.attempts == 1
    patient.close()  # a view owns nothing
    assert client.organizations.get(organization.id) == organization
    with pytest.raises(ConfigurationError):
        client.with_options(max_retries=-1)


def test_retries_and_the_errors_they_end_in(client: WorkOS, emulator: Emulator) -> None:
    organization = client.organizations.create(name="Acme")
    emulator.inject_fault(method="GET", path=f"/organizations/{organization.id}", status=503, times=2)
    assert client.organizations.get(organization.id) == organization
    gets = [request for request in emulator.requests if request.path == f"/organizations/{organization.id}"]
    assert [request.status for request in gets] == [503, 503, 200]

    emulator.inject_fault(method="GET", path=f"/organizations/{organization.id}", status=503, times=3)
    with pytest.raises(InternalServerError) as caught:
        client.organizations.get(organization.id)
    assert caught.value.attempts == 3


def test_create_is_exactly_once_when_the_response_is_lost(client: WorkOS, emulator: Emulator) -> None:
    # The emulator creates it, then drops the connection: the retry must not make a second one.
    emulator.inject_fault(method="POST", path="/organizations", drop="after")
    created = client.organizations.create(name="Acme", external_id="acme-1")
    assert (created.name, created.external_id) == ("Acme", "acme-1")
    assert [organization.id for organization in client.organizations.list()] == [created.id]


def test_sync_reads_records_and_reports_in_the_callers_thread(client: WorkOS) -> None:
    client.organizations.create(name="Old name", external_id="b")
    caller = threading.current_thread()
    read_in: list[threading.Thread] = []
    events: list[tuple[str, str | None, threading.Thread]] = []

    def records() -> typing.Iterator[OrganizationRecord]:
        for number in range(40):
            read_in.append(threading.current_thread())
            yield OrganizationRecord(external_id=chr(ord("a") + number % 26) + str(number // 26), name=f"Org {number}")
        read_in.append(threading.current_thread())
        yield OrganizationRecord(external_id="b", name="New name")

    def on_event(event: SyncEvent) -> None:
        events.append((event.action, event.external_id, threading.current_thread()))

    report = client.organizations.sync(records(), concurrency=4, on_event=on_event)
    assert (report.created, report.updated, report.failed) == (40, 1, 0)
    assert set(read_in) == {caller}
    assert {thread for _, _, thread in events} == {caller}
    assert ("updated", "b", caller) in events
    assert client.organizations.get_by_external_id("b").name == "New name"
    assert len(list(client.organizations.list(limit=100))) == 41


def test_sync_reads_each_mapping_record_whole_in_the_callers_thread(client: WorkOS) -> None:
    # A record's values may belong to the caller's thread as its iterator does: a lazy
    # ``domains`` over a database cursor, an ORM row's fields.  They were read on the loop's.
    caller = threading.current_thread()
    read_in: list[threading.Thread] = []

    class Row(typing.Mapping[str, typing.Any]):
        def __init__(self, number: int) -> None:
            self.number = number

        def __getitem__(self, key: str) -> typing.Any:
            read_in.append(threading.current_thread())
            return {"external_id": f"r-{self.number}", "name": f"R {self.number}", "domains": self.domains()}[key]

        def __iter__(self) -> typing.Iterator[str]:
            return iter(("external_id", "name", "domains"))

        def __len__(self) -> int:
            return 3

        def domains(self) -> typing.Iterator[str]:
            read_in.append(threading.current_thread())
            yield f"r{self.number}.example"

    report = client.organizations.sync((Row(number) for number in range(12)), concurrency=4)
    assert (report.created, report.failed) == (12, 0)
    assert len(read_in) >= 12 * 2
    assert set(read_in) == {caller}
    assert [domain.domain for domain in client.organizations.get_by_external_id("r-3").domains] == ["r3.example"]


def test_a_mapping_record_that_raises_when_read_stops_sync_as_a_failing_input_does(client: WorkOS) -> None:
    class LostRow(typing.Mapping[str, str]):
        def __getitem__(self, key: str) -> str:
            raise OSError("the database connection went away")

        def __iter__(self) -> typing.Iterator[str]:
            return iter(("external_id", "name"))

        def __len__(self) -> int:
            return 2

    records: list[typing.Mapping[str, str]] = [
        {"external_id": "a", "name": "A"},
        LostRow(),
        {"external_id": "b", "name": "B"},
    ]
    with pytest.raises(SyncInputError, match="went away") as raised:
        client.organizations.sync(records, concurrency=1)
    assert isinstance(raised.value.__cause__, OSError)
    assert raised.value.report.created == 1
    assert [organization.external_id for organization in client.organizations.list()] == ["a"]


@pytest.mark.parametrize("phase", ["created", "deleted"])
@pytest.mark.parametrize("closed_from", ["another thread", "on_event itself"])
def test_closing_the_client_during_sync_stops_it_with_its_report(
    emulator: Emulator, closed_from: str, phase: str
) -> None:
    # As AsyncWorkOS does: SyncStoppedError with what was done, whether it was creating or
    # pruning.  It was a bare ClientClosedError, and the report of what had been written lost.
    stale = emulator.seed([{"name": f"S {number}", "external_id": f"s-{number}"} for number in range(60)])
    client = WorkOS(api_key=emulator.api_key, base_url=emulator.url)
    heard: list[SyncEvent] = []
    closer: list[threading.Thread] = []

    def on_event(event: SyncEvent) -> None:
        heard.append(event)
        if event.action == phase and len([each for each in heard if each.action == phase]) == 20:
            if closed_from == "on_event itself":
                client.close()
            else:
                # Waited for here, so that the job surely has more to do when it is closed.
                closer.append(threading.Thread(target=client.close))
                closer[0].start()
                closer[0].join()

    count = 200 if phase == "created" else 2
    records = [OrganizationRecord(f"r-{number}", f"R {number}") for number in range(count)]
    with pytest.raises(SyncStoppedError) as stopped:
        client.organizations.sync(records, concurrency=4, on_event=on_event, rate_limiter=None, prune=True)
    assert len(closer) == (1 if closed_from == "another thread" else 0)
    client.close()
    report = stopped.value.report
    assert isinstance(stopped.value.__cause__, ClientClosedError)
    assert "AsyncWorkOS" not in str(stopped.value)  # a class this caller never made
    # The report says what was done; on_event may not have heard of the last few (at most one
    # a worker), whose telling the close cut short.
    told = len([event for event in heard if event.action == phase])
    done = report.created if phase == "created" else report.deleted
    assert 20 <= told <= done <= told + 4
    method, status = ("POST", 201) if phase == "created" else ("DELETE", 202)
    sent = [request for request in emulator.requests if request.method == method and request.status == status]
    assert done <= len(sent) <= done + 4  # at most the four in flight went unreported
    if phase == "created":
        assert report.deleted == 0  # nothing pruned after the stop
    else:
        assert report.created == 2
        assert done < len(stale)


def test_an_error_in_on_event_stops_sync_and_is_raised(client: WorkOS) -> None:
    def on_event(event: SyncEvent) -> None:
        raise LookupError(f"cannot record {event.external_id}")

    with pytest.raises(LookupError, match="cannot record"):
        client.organizations.sync([{"external_id": "a", "name": "A"}], on_event=on_event)
    assert client.organizations.get_by_external_id("a").name == "A"  # the client still works


class AuditDown(Exception):
    """The caller's audit log refusing an event."""


def test_an_error_in_on_event_stops_the_prune_at_once(client: WorkOS, emulator: Emulator) -> None:
    # on_event runs in the caller's thread; the loop thread must wait for it, not delete on.
    emulator.seed([{"name": "Keep", "external_id": "keep"}])
    emulator.seed([{"name": f"Stale {n}", "external_id": f"stale-{n}"} for n in range(40)])
    deleted: list[str | None] = []

    def on_event(event: SyncEvent) -> None:
        if event.action == "deleted":
            deleted.append(event.external_id)
            time.sleep(0.2)  # writing to the audit log, say: the loop thread must wait for it
            raise AuditDown("the audit log is down")

    with pytest.raises(AuditDown):
        client.organizations.sync(
            [{"external_id": "keep", "name": "Keep"}], prune=True, concurrency=2, on_event=on_event, rate_limiter=None
        )
    assert len(deleted) == 1  # told of one delete, then of nothing more
    left = len(list(client.organizations.list(limit=100)))
    # The delete it was told of, and at most one more already sent by the other worker.
    assert left >= 41 - 2, f"{41 - left} organizations were deleted though on_event raised at the first"


def test_an_error_in_on_event_before_the_prune_prunes_nothing(client: WorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": f"Stale {n}", "external_id": f"stale-{n}"} for n in range(10)])

    def on_event(event: SyncEvent) -> None:
        if event.action == "failed":
            time.sleep(0.2)  # as above: the loop thread must not go on to the prune meanwhile
            raise AuditDown(f"a record failed: {event.error}")

    records = [{"external_id": "a", "name": "A"}, {"external_id": "a", "name": "A again"}]
    with pytest.raises(AuditDown, match="a record failed"):
        client.organizations.sync(records, prune=True, on_event=on_event, rate_limiter=None)
    # "a" may or may not have been made (its create was cut short): the stale ten are all kept.
    left = {organization.external_id for organization in client.organizations.list(limit=100)}
    assert left - {"a"} == {f"stale-{n}" for n in range(10)}


def test_a_stop_iteration_in_on_event_is_raised_as_the_async_client_raises_it(client: WorkOS) -> None:
    # StopIteration cannot go into an asyncio future: handed to the loop thread as it was, it
    # was dropped there, and the call waited forever.
    def on_event(event: SyncEvent) -> None:
        next(iter([]))  # a bug in the caller's callback

    outcome: list[BaseException] = []

    def run() -> None:
        try:
            client.organizations.sync([{"external_id": "a", "name": "A"}], on_event=on_event, rate_limiter=None)
        except BaseException as error:
            outcome.append(error)

    caller = threading.Thread(target=run)
    caller.start()
    caller.join(60)  # a safety net only: a correct client answers at once
    assert not caller.is_alive(), "sync never returned"
    (error,) = outcome
    # What a coroutine makes of it (PEP 479), as AsyncWorkOS raises it.
    assert isinstance(error, RuntimeError)
    assert isinstance(error.__cause__, StopIteration)


def test_sync_refuses_an_async_on_event(client: WorkOS) -> None:
    async def on_event(event: SyncEvent) -> None:
        pass

    with pytest.raises(InvalidArgumentError, match="on_event is called in your thread"):
        client.organizations.sync([{"external_id": "a", "name": "A"}], on_event=on_event)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        client.organizations.get_by_external_id("a")  # refused before anything was sent

    def returns_a_coroutine(event: SyncEvent) -> typing.Any:
        return on_event(event)

    with pytest.raises(InvalidArgumentError, match="on_event returned an awaitable"):
        client.organizations.sync([{"external_id": "b", "name": "B"}], on_event=returns_a_coroutine)


def test_the_repr_shows_settings_and_never_the_key(emulator: Emulator) -> None:
    with WorkOS(api_key=emulator.api_key, base_url=emulator.url, timeout=7) as client:
        assert repr(client) == f"<WorkOS base_url={emulator.url!r} timeout=7.0 max_retries=2>"
        assert repr(client.with_options(max_retries=4)).startswith("<WorkOS view ")
        pager = client.organizations.list()
        for shown in (repr(client), repr(pager), repr(client.organizations)):
            assert emulator.api_key not in shown


def test_an_error_while_reading_records_stops_sync_and_is_raised(client: WorkOS) -> None:
    def records() -> typing.Iterator[dict[str, str]]:
        yield {"external_id": "a", "name": "A"}
        raise OSError("the export file went away")

    with pytest.raises(SyncInputError, match="went away") as raised:
        client.organizations.sync(records())
    # As from async code: the record read before the error is synced, the error is the cause.
    assert isinstance(raised.value.__cause__, OSError)
    assert raised.value.report.created == 1
    assert client.organizations.get_by_external_id("a").name == "A"
    assert client.organizations.create(name="B").name == "B"  # the client still works


def test_configuration_errors_are_raised_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKOS_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="WORKOS_API_KEY"):
        WorkOS()
    with pytest.raises(ConfigurationError):
        WorkOS(api_key="sk_test_1", base_url="http://example.com")


def _public_methods(resource: object) -> dict[str, typing.Any]:
    return {
        name: getattr(resource, name)
        for name in dir(resource)
        if not name.startswith("_") and callable(getattr(resource, name))
    }


RETURNS: dict[str, dict[str, typing.Any]] = {
    "organizations": {
        "list": Pager[Organization],
        "create": Organization,
        "get": Organization,
        "get_by_external_id": Organization,
        "update": Organization,
        "delete": type(None),
        "sync": SyncReport,
    },
    "organization_domains": {
        "create": OrganizationDomain,
        "get": OrganizationDomain,
        "verify": OrganizationDomain,
        "delete": type(None),
    },
    "organizations.with_raw_response": {
        "list": APIResponse[Page[Organization]],
        "create": APIResponse[Organization],
        "get": APIResponse[Organization],
        "get_by_external_id": APIResponse[Organization],
        "update": APIResponse[Organization],
        "delete": APIResponse[None],
    },
    "organization_domains.with_raw_response": {
        "create": APIResponse[OrganizationDomain],
        "get": APIResponse[OrganizationDomain],
        "verify": APIResponse[OrganizationDomain],
        "delete": APIResponse[None],
    },
}


@pytest.mark.parametrize("path", list(RETURNS))
def test_every_async_method_has_a_blocking_twin_with_its_parameters_and_a_true_return_type(path: str) -> None:
    with WorkOS(api_key="sk_test_1", base_url="http://127.0.0.1:1") as workos:
        blocking: object = workos
        asynchronous: object = AsyncWorkOS(api_key="sk_test_1", base_url="http://127.0.0.1:1")
        for part in path.split("."):
            blocking = getattr(blocking, part)
            asynchronous = getattr(asynchronous, part)
        async_methods = _public_methods(asynchronous)
        blocking_methods = _public_methods(blocking)
        assert set(blocking_methods) == set(async_methods) == set(RETURNS[path])
        for name, async_method in async_methods.items():
            blocking_method = blocking_methods[name]
            assert [
                (parameter.name, parameter.kind, parameter.default)
                for parameter in inspect.signature(blocking_method).parameters.values()
            ] == [
                (parameter.name, parameter.kind, parameter.default)
                for parameter in inspect.signature(async_method).parameters.values()
            ], name
            assert blocking_method.__doc__, name
            if name != "sync":  # the one written by hand: its records and events stay in the caller's thread
                # Derived from the async method, not copied: its docstring starts as that one's,
                # its examples written as blocking calls.
                assert blocking_method.__doc__.startswith(_blocking_doc(async_method.__doc__).rstrip()), name
            # The bulk sync's record type names its classes as strings; the package resolves them.
            hints = typing.get_type_hints(blocking_method, localns=vars(workos_orgs))
            assert hints["return"] == RETURNS[path][name], name


def test_help_on_the_blocking_classes_shows_their_resources_and_methods() -> None:
    # pydoc showed `get = <BlockingMethod object>` and did not list the resources at all.
    client_help = pydoc.render_doc(WorkOS, renderer=pydoc.plaintext)
    assert "organizations" in client_help
    assert "Organization domains: ``create``, ``get``, ``verify``, ``delete``." in client_help
    resource_help = pydoc.render_doc(BlockingOrganizations, renderer=pydoc.plaintext)
    assert "BlockingMethod" not in resource_help
    assert "get(self, id: str, **options:" in resource_help
    assert "Get an organization by its ID" in resource_help
    assert "From the blocking client it returns a `Pager`" in resource_help  # on list
    get = BlockingOrganizations.get
    assert list(inspect.signature(get).parameters) == ["self", "id", "options"]
    assert typing.get_type_hints(get)["return"] is Organization


def test_a_resource_of_the_blocking_client_can_be_patched_in_a_test(client: WorkOS) -> None:
    # As any attribute can: users replace it with a mock in their own tests.
    original = client.organizations
    with mock.patch.object(client, "organizations") as patched:
        patched.get.return_value = "stub"
        assert client.organizations.get("org_1") == "stub"
    assert client.organizations is original
    specced = mock.create_autospec(WorkOS, instance=True)
    specced.organizations.get.return_value = "stub"
    assert specced.organizations.get("org_1") == "stub"


def test_a_blocking_method_taken_from_its_class_is_called_with_the_resource(client: WorkOS) -> None:
    created = BlockingOrganizations.create(client.organizations, name="Acme")
    assert BlockingOrganizations.get(client.organizations, created.id) == created


def test_no_api_key_names_the_option_not_the_async_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKOS_API_KEY", raising=False)
    for make in (WorkOS, AsyncWorkOS):
        with pytest.raises(ConfigurationError) as caught:
            make()
        assert str(caught.value) == (
            "No WorkOS API key: pass api_key='sk_...' or set the WORKOS_API_KEY environment variable."
        )


def test_the_blocking_constructor_takes_the_async_ones_options_but_a_session() -> None:
    def described(function: typing.Any) -> list[tuple[str, typing.Any, typing.Any, typing.Any]]:
        return [
            (parameter.name, parameter.kind, parameter.default, parameter.annotation)
            for parameter in inspect.signature(function, eval_str=True).parameters.values()
        ]

    async_options = [option for option in described(AsyncWorkOS) if option[0] != "session"]
    assert described(WorkOS) == async_options
    assert "session" in [option[0] for option in described(AsyncWorkOS)]


def test_sync_checks_its_options_before_anything_is_read_or_written(client: WorkOS) -> None:
    read: list[int] = []

    def records() -> typing.Iterator[dict[str, str]]:
        read.append(1)
        yield {"external_id": "a", "name": "A"}

    with pytest.raises(InvalidArgumentError, match="prune must be True or False; got 'false'"):
        client.organizations.sync(records(), prune="false")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="on_event must be a function that takes a SyncEvent, or None"):
        client.organizations.sync(records(), on_event="print")  # type: ignore[arg-type]
    assert read == []
    assert list(client.organizations.list()) == []


def test_the_blocking_client_and_its_views_show_every_setting_the_async_client_shows(emulator: Emulator) -> None:
    def settings(cls: type) -> set[str]:
        return {name for name, member in inspect.getmembers(cls) if isinstance(member, property)}

    # The aiohttp session is the async client's alone: it belongs to the loop thread.
    assert settings(AsyncWorkOS) - {"session"} == settings(WorkOS)
    options = {"timeout": 7, "max_retries": 4, "attempt_timeout": 9, "rate_limiter": RateLimiter()}
    # Reading settings opens no session: the async client needs no loop, nor closing, here.
    async_client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, **options)
    with WorkOS(api_key=emulator.api_key, base_url=emulator.url, **options) as blocking:
        for name in settings(WorkOS):
            assert getattr(blocking, name) == getattr(async_client, name), name
        view, async_view = blocking.with_options(attempt_timeout=None), async_client.with_options(attempt_timeout=None)
        assert view.attempt_timeout is None
        for name in settings(WorkOS):
            assert getattr(view, name) == getattr(async_view, name), name


def test_sync_refuses_records_it_cannot_read_in_this_thread(client: WorkOS, emulator: Emulator) -> None:
    async def records() -> AsyncIterator[dict[str, str]]:
        yield {"external_id": "a", "name": "A"}

    with pytest.raises(InvalidArgumentError, match="records must be an iterable of records") as caught:
        client.organizations.sync(records())  # type: ignore[arg-type]
    assert "not an async iterable" in str(caught.value)
    with pytest.raises(InvalidArgumentError, match="wrap a single record in a list"):
        client.organizations.sync({"external_id": "a", "name": "A"})  # type: ignore[arg-type]
    assert emulator.requests == []


@pytest.mark.parametrize(
    "resource",
    [
        BlockingOrganizations,
        workos_orgs.BlockingOrganizationDomains,
        workos_orgs.BlockingOrganizationsWithRawResponse,
        workos_orgs.BlockingOrganizationDomainsWithRawResponse,
    ],
)
def test_the_blocking_methods_docs_show_blocking_calls(resource: type[typing.Any]) -> None:
    # They were the async methods' docs word for word: `await client.organizations.create(...)`
    # and "a pager to ``async for`` over", in the help of a client that takes neither.
    for name in ("list", "create", "get", "get_by_external_id", "update", "delete", "verify"):
        method = getattr(resource, name, None)
        if method is None:
            continue
        doc = method.__doc__ or ""
        assert "await" not in doc, (resource.__name__, name)
        assert "async for" not in doc, (resource.__name__, name)
    if resource is BlockingOrganizations:
        assert "organization = client.organizations.create(" in (resource.create.__doc__ or "")
        assert "for organization in client.organizations.list(" in (resource.list.__doc__ or "")
