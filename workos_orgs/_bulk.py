"""Bulk sync: make WorkOS hold your organizations, keyed by your own ``external_id``.

For each record: look it up by external id; create it if missing, update it only where it
differs, leave it alone if equal.  Re-running after a crash converges, because the external
id is unique in WorkOS: a record created by the crashed run is found, not created again.

A field a record does not give (``domains``, ``metadata`` left `UNSET`) is left alone; an
empty list or mapping clears it.  The first record with an external id wins: a later one with
the same id fails, naming the first.  `_plan` (what differs; `plan_update` to tests) and
`_update_steps` (how an update is sent) are pure; the job runs a bounded pool of workers over
a bounded queue, so memory grows with the input only by one entry per external id (~150
bytes), to catch repeats and to know what to prune.

This module needs only what `OrganizationStore` describes, not the client or its resources.

Closing the client stops a sync at once with `SyncStoppedError` and its report, wherever it
waits.  The pieces: the client runs the whole job through `SessionHolder.wait` (`_transport`,
via `BaseClient._until_closed`), which `SessionHolder.close` wakes with `ClientClosedError`;
`sync_organizations` here turns that into `SyncStoppedError`, with the writes it cut short
(`_Job._write`).  The blocking client's `close()` leaves such a call to end itself this way
rather than cancel it (`LoopThread.call(..., reports_on_close=True)`, `_loop_thread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal, Protocol, TypeVar

import attrs

from ._contract import (
    EXTERNAL_ID_ALREADY_USED,
    LIST_LIMIT_MAX,
    METADATA_DOCS_MAX_KEYS,
    VERIFIED_STATES,
    DomainState,
    normalize_domain,
)
from ._domain_data import DomainDataInput, domain_data_list
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    InvalidArgumentError,
    RateLimitError,
    WorkOSError,
    WrongEventLoopError,
    given,
    is_entity_not_found,
)
from ._event_loops import being_cancelled
from ._log import logger
from ._models import UNSET, DomainData, Organization, Unset
from ._request import check_metadata
from ._retry import outcome_unknown

SyncAction = Literal["created", "updated", "unchanged", "deleted", "failed"]
DEFAULT_CONCURRENCY: Final = 8
MAX_CONCURRENCY: Final = 1_000
"""The most records a sync works on at once: each is a task, started with the job."""
RECORD_KEYS: Final = frozenset({"external_id", "name", "domains", "metadata"})
MAX_FAILURES_KEPT: Final = 1_000
"""How many failures a `SyncReport` keeps with their errors; later ones are only counted."""
# Errors that say nothing about the record: every other record would fail the same way
# (a revoked key, a closed client, an API that asks for more rest than the client waits, or
# kept refusing through every retry), so the job stops rather than send a request per record.
# A 403 is not one of them: the API refuses an update or delete of one organization with it.
_STOPPING_ERRORS: Final = (AuthenticationError, ClientClosedError, RateLimitError, WrongEventLoopError)

_T = TypeVar("_T")

_Stale = tuple[str, str | None]
"""An organization prune deletes: its id and external id."""


class InvalidRecordError(InvalidArgumentError):
    """A sync record that cannot be used as it is; the message says where, which field and why.

    ``source`` is where the record came from (``"orgs.csv line 3"``, ``"records[2]"``) and
    ``external_id`` the record's external id, when they are known.
    """

    def __init__(self, message: str, *, source: str | None = None, external_id: str | None = None) -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.source = source
        self.external_id = external_id


class OrganizationStore(Protocol):
    """What bulk sync needs of ``client.organizations``; `Organizations` is one."""

    async def get_by_external_id(self, external_id: str) -> Organization:
        """The organization with this external id; `NotFoundError` (``entity_not_found``) when there is none."""
        ...

    async def create(
        self,
        *,
        name: str,
        external_id: str,
        domain_data: Sequence[DomainData] = ...,
        metadata: Mapping[str, str] = ...,
    ) -> Organization:
        """Create one; ``domain_data`` and ``metadata`` are passed only when a record gives them."""
        ...

    async def update(
        self,
        id: str,
        *,
        name: str = ...,
        domain_data: Sequence[DomainData] = ...,
        metadata: Mapping[str, str | None] = ...,
    ) -> Organization:
        """Change one; only the fields that differ are passed."""
        ...

    async def delete(self, id: str) -> object:
        """Delete one; `NotFoundError` (``entity_not_found``) when there is none."""
        ...

    def list(self, *, limit: int) -> AsyncIterable[Organization]:
        """Every organization, ``limit`` to a page."""
        ...


def _external_id_refusal(value: object) -> str | None:
    """Why `value` cannot be a record's external id, or None when it can."""
    if not isinstance(value, str) or not value.strip():
        return (
            f"external_id is required and must be a non-empty string (your own ID for the organization, e.g. str(row.id));"
            f" got {given(value)}."
        )
    if value != value.strip():
        # WorkOS would hold "cust-1 " as another id than "cust-1": a stray space from an
        # export would make a second organization, and prune would delete the first.
        return (
            f"external_id {value!r} has whitespace at its start or end; strip it (WorkOS would take it as"
            " another id than the one without)."
        )
    return None


def _external_id(instance: Any, attribute: Any, value: Any) -> None:
    if (refusal := _external_id_refusal(value)) is not None:
        raise InvalidRecordError(refusal)


def _name(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecordError(f"name is required and must be a non-empty string; got {given(value)}.")


def _domains(value: Iterable[DomainDataInput | str] | Unset) -> tuple[DomainData, ...] | Unset:
    if value is UNSET:
        return UNSET
    try:
        domains = domain_data_list(
            value,
            names=True,
            refusal=lambda: (
                f"domains must be a list ([] removes every domain), or left out to keep them; got {given(value)}."
            ),
        )
    except InvalidArgumentError as error:
        raise InvalidRecordError(str(error)) from None
    # The API refuses a domain listed twice (409); a sync keyed by domain would keep one entry's
    # state and drop the other's ("verified" among them) without a word.
    seen: dict[str, str] = {}
    for data in domains:
        if (first := seen.get(name := normalize_domain(data.domain))) is not None:
            raise InvalidRecordError(
                f"domains name {given(first)} more than once (again as {given(data.domain)}); list each domain"
                " once, with the state it should have."
            )
        seen[name] = data.domain
    return domains


def _metadata(value: Mapping[str, str] | Unset) -> Mapping[str, str] | Unset:
    if value is UNSET:
        return UNSET
    # A record states the whole set of keys, so None (remove this key, in an update) has no place in it.
    plain: dict[str, str] | None = None
    if isinstance(value, Mapping) and not any(item is None for item in value.values()):
        with contextlib.suppress(InvalidArgumentError):
            check_metadata(value)
            # As plain str: a key that is a str subclass (an enum's member) would be named by
            # its repr in the changes a sync reports, not by the text that is sent.
            plain = {str.__str__(key): str.__str__(item) for key, item in value.items()}
    if plain is not None:
        if len(plain) == len(value):
            return plain
        repeated = next(key for key in plain if sum(str.__str__(each) == key for each in value) > 1)
        raise InvalidRecordError(
            f"metadata names {given(repeated)} more than once (keys of a str subclass, equal as text);"
            " give each key once."
        )
    # The message is made only here: every record of a sync passes through this converter.
    raise InvalidRecordError(
        f"metadata must map strings to strings ({{}} removes every key), or be left out to keep it; got {given(value)}."
    )


@attrs.frozen
class OrganizationRecord:
    """One organization as you want it to be in WorkOS.

    ``external_id`` and ``name`` are non-empty strings.  ``domains`` takes `DomainData`,
    plain names (``pending``) or ``{"domain", "state"}`` mappings; ``metadata`` maps strings
    to strings.  Left out (`UNSET`), a field is left as it is in WorkOS; ``[]`` or ``{}``
    clears it.  ``source`` (``"orgs.csv line 3"``) is named in failures::

        OrganizationRecord("cust-42", "Acme", domains=["acme.com"], metadata={"tier": "gold"})
        OrganizationRecord("cust-43", "Renamed")  # domains and metadata left alone
    """

    external_id: str = attrs.field(validator=_external_id)
    name: str = attrs.field(validator=_name)
    domains: tuple[DomainData, ...] | Unset = attrs.field(default=UNSET, converter=_domains)
    # Compared, not hashed (a dict has no hash), as `Organization.metadata` is.
    metadata: Mapping[str, str] | Unset = attrs.field(default=UNSET, converter=_metadata, hash=False)
    source: str | None = attrs.field(default=None, kw_only=True, eq=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str | None = None) -> OrganizationRecord:
        """A record from parsed JSON (or a CSV row made into a mapping), checked key by key.

        A key the record does not know (``"domain"``, ``"metdata"``) is an error, not ignored.
        """
        if not isinstance(data, Mapping):
            raise InvalidRecordError(
                f"a record must be an object with external_id and name; got {type(data).__name__}.", source=source
            )
        external_id = external_id_of(data)
        unknown = sorted(str(key) for key in data if key not in RECORD_KEYS)
        if unknown:
            raise InvalidRecordError(
                f"unknown key {unknown[0]!r} (a record has {', '.join(sorted(RECORD_KEYS))}).",
                source=source,
                external_id=external_id,
            )
        for field in ("external_id", "name"):
            if field not in data:
                raise InvalidRecordError(
                    f"{field} is required and must be a non-empty string.", source=source, external_id=external_id
                )
        try:
            return cls(
                data["external_id"],
                data["name"],
                data.get("domains", UNSET),
                data.get("metadata", UNSET),
                source=source,
            )
        except InvalidRecordError as error:
            raise InvalidRecordError(str(error), source=source, external_id=external_id) from None


@attrs.frozen
class FieldChange:
    """One field a sync changes (or, in a dry run, would change): ``field``, ``old``, ``new``.

    ``field`` is ``name``, ``domains`` (values are lists of ``"acme.com (verified)"``) or
    ``metadata.<key>`` (``None`` where the key is absent); the values are plain JSON.
    """

    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        """The change as a JSON object."""
        return {"field": self.field, "old": self.old, "new": self.new}


def _error_dict(error: Exception | None) -> dict[str, str] | None:
    return None if error is None else {"type": type(error).__name__, "message": str(error)}


@attrs.frozen
class SyncEvent:
    """What the sync did (or, in a dry run, would do) with one organization.

    ``changes`` lists each field created or updated, with its old and new value (for a
    ``failed`` record, those its update changed before it failed, which stay changed);
    ``source`` is where the record came from (``"orgs.csv line 3"``, ``"records[2]"``).
    """

    action: SyncAction
    external_id: str | None
    organization_id: str | None = None
    error: WorkOSError | None = None
    dry_run: bool = False
    changes: tuple[FieldChange, ...] = ()
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON object (what ``workos-orgs sync --json`` prints)."""
        return {
            "event": self.action,
            "external_id": self.external_id,
            "organization_id": self.organization_id,
            "source": self.source,
            "dry_run": self.dry_run,
            "changes": [change.to_dict() for change in self.changes],
            "error": _error_dict(self.error),
        }


EventCallback = Callable[[SyncEvent], object]
"""What ``on_event`` is: a function of each `SyncEvent`; an awaitable it returns (a coroutine
function's) is awaited, anything else it returns is ignored."""


@attrs.frozen
class SyncFailure:
    """A record that could not be synced, where it came from, and the typed error that says why.

    ``organization_id`` is the organization the record was found to be, if it got that far;
    ``changes`` are those its update made before it failed, which stay made (see `SyncEvent`).
    """

    external_id: str | None
    error: WorkOSError
    source: str | None = None
    organization_id: str | None = None
    changes: tuple[FieldChange, ...] = ()

    def __str__(self) -> str:
        message = str(self.error)
        where = "" if self.source is None or message.startswith(f"{self.source}: ") else f"{self.source}: "
        return f"{where}{message}{_written_before(self.changes, self.organization_id)}"


def _written_before(changes: Sequence[FieldChange], organization_id: str | None) -> str:
    if not changes:
        return ""
    shown = ", ".join(change.field for change in changes[:5])
    more = f", and {len(changes) - 5} more" if len(changes) > 5 else ""
    return (
        f" (before it failed, these fields of {organization_id} were changed, or may have been: {shown}{more};"
        " its changes give their old values; run the sync again once the record can succeed)"
    )


@attrs.define
class SyncReport:
    """Counts of a sync run, and its failures with their errors.

    ``failures`` keeps the first `MAX_FAILURES_KEPT` (so the errors kept are bounded however many
    records fail); ``failures_not_kept`` counts the rest, which ``failed`` includes.
    """

    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    failures: list[SyncFailure] = attrs.field(factory=list)
    elapsed: float = 0.0
    prune_skipped: str | None = None
    """Why ``prune=True`` deleted nothing, when it had to hold back."""
    failures_not_kept: int = 0
    """Failures counted in ``failed`` but not kept in ``failures`` (past `MAX_FAILURES_KEPT`)."""
    stopped: str | None = None
    """Why the job stopped before its end (the error, in one line), when it did: the report of
    `SyncInputError` and `SyncStoppedError`."""

    @property
    def ok(self) -> bool:
        """True when the job did all it was asked: it ran to its end, no record failed, and a
        prune asked for was not held back (`prune_skipped`)."""
        return self.failed == 0 and self.stopped is None and self.prune_skipped is None

    def record(self, event: SyncEvent) -> None:
        """Count one event (and keep its failure, while fewer than `MAX_FAILURES_KEPT` are kept)."""
        setattr(self, event.action, getattr(self, event.action) + 1)
        if event.action == "failed":
            assert event.error is not None
            if len(self.failures) < MAX_FAILURES_KEPT:
                self.failures.append(
                    SyncFailure(event.external_id, event.error, event.source, event.organization_id, event.changes)
                )
            else:
                self.failures_not_kept += 1

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON object (the last line of ``workos-orgs sync --json``)."""
        return {
            "report": {
                "ok": self.ok,
                "dry_run": self.dry_run,
                **{
                    action: getattr(self, action) for action in ("created", "updated", "unchanged", "deleted", "failed")
                },
                "prune_skipped": self.prune_skipped,
                "stopped": self.stopped,
                "failures_not_kept": self.failures_not_kept,
                "elapsed": round(self.elapsed, 3),
                "failures": [
                    {
                        "source": f.source,
                        "external_id": f.external_id,
                        "organization_id": f.organization_id,
                        "changes": [change.to_dict() for change in f.changes],
                        "error": _error_dict(f.error),
                    }
                    for f in self.failures
                ],
            }
        }

    def __str__(self) -> str:
        would = " (dry run: nothing was written)" if self.dry_run else ""
        held = f" (prune skipped: {self.prune_skipped})" if self.prune_skipped else ""
        return (
            f"created {self.created:,}, updated {self.updated:,}, unchanged {self.unchanged:,},"
            f" deleted {self.deleted:,}, failed {self.failed:,}{would}{held}"
        )


class SyncInputError(WorkOSError):
    """The records could not all be read: the sync stopped early and pruned nothing.

    The records read before the failure were synced; ``report`` says what was done and
    ``__cause__`` is the error the input raised.  Fix the input and run again: it converges.
    """

    def __init__(self, report: SyncReport, read: int, error: Exception) -> None:
        report.stopped = _one_line(error)
        super().__init__(
            f"reading the records failed after {read:,} record(s) ({type(error).__name__}: {error});"
            f" the records read were synced ({report}) and nothing was pruned."
            " Fix the input and run the sync again: it converges."
        )
        self.report = report


class SyncStoppedError(WorkOSError):
    """The sync stopped early: on an error no record could get past (a revoked or wrong API
    key, a closed client, another event loop, a rate limit it could not wait out), or because
    listing the organizations
    for ``prune=True`` failed.  Nothing was pruned after it.

    ``report`` says what was done before it stopped and ``__cause__`` is the error.
    ``cut_short`` names the writes (``"create"``, ``"update"``, ``"delete"``) under way when it
    stopped: sent, maybe done, counted nowhere.  ``deletes_unknown`` counts the prune's deletes
    that failed with an unknown outcome (counted as failed, maybe done).  Fix the cause (the
    key, the client, the connection) and run again: it converges.
    """

    def __init__(
        self, report: SyncReport, error: WorkOSError, *, cut_short: Sequence[str] = (), deletes_unknown: int = 0
    ) -> None:
        report.stopped = _one_line(error)
        under_way = ""
        if cut_short:
            kinds = ", ".join(sorted(set(cut_short)))
            writes, were = ("write", "was") if len(cut_short) == 1 else ("writes", "were")
            under_way = (
                f" {len(cut_short)} {writes} ({kinds}) {were} under way when it stopped, and may have been done;"
            )
        if deletes_unknown:
            deletes = "delete" if deletes_unknown == 1 else "deletes"
            under_way += f" {deletes_unknown} {deletes} failed with an unknown outcome and may have been done;"
        pruned = report.deleted > 0 or "delete" in cut_short or deletes_unknown > 0
        super().__init__(
            f"the sync stopped on {type(error).__name__}: {str(error).rstrip('.')}."
            f" What was done before it stopped: {report};{under_way}"
            f" {'pruning stopped partway' if pruned else 'nothing was pruned'}."
            " Fix the cause and run the sync again: it converges."
        )
        self.report = report
        self.cut_short: tuple[str, ...] = tuple(cut_short)
        self.deletes_unknown = deletes_unknown


def _one_line(error: Exception) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())


def _domain_text(domain: str, state: DomainState | str | None) -> str:
    return f"{domain} ({state})"


def _plan(record: OrganizationRecord, organization: Organization | None) -> tuple[dict[str, Any], list[FieldChange]]:
    """The arguments that make `organization` (None: a new one) match `record`, and the changes."""
    arguments: dict[str, Any] = {}
    changes: list[FieldChange] = []
    old_name = None if organization is None else organization.name
    if old_name != record.name:
        arguments["name"] = record.name
        changes.append(FieldChange("name", old_name, record.name))
    if record.metadata is not UNSET:
        current_metadata = {} if organization is None else dict(organization.metadata)
        wanted_metadata = dict(record.metadata)
        if current_metadata != wanted_metadata:
            # Keys given are set, keys mapped to None are removed, others kept: spell out the
            # removals, and send only the keys that change (the API holds an update's metadata
            # object to its key limit too).
            metadata: dict[str, str | None] = {key: None for key in current_metadata if key not in wanted_metadata}
            metadata.update(
                (key, value) for key, value in wanted_metadata.items() if current_metadata.get(key) != value
            )
            arguments["metadata"] = wanted_metadata if organization is None else metadata
            changes.extend(
                FieldChange(f"metadata.{key}", current_metadata.get(key), wanted_metadata.get(key))
                for key in sorted(current_metadata.keys() | wanted_metadata.keys())
                if current_metadata.get(key) != wanted_metadata.get(key)
            )
    if record.domains is not UNSET:
        current = {} if organization is None else {normalize_domain(d.domain): d.state for d in organization.domains}
        wanted = {normalize_domain(data.domain): data.state for data in record.domains}
        if current.keys() != wanted.keys() or not all(
            _domain_matches(state, current[name]) for name, state in wanted.items()
        ):
            # domain_data takes only pending or verified: a legacy_verified domain kept in the
            # set is sent as verified (it keeps its ID); the change list shows it.
            domain_data = [
                DomainData(name, DomainState.VERIFIED if current.get(name) in VERIFIED_STATES else state)
                for name, state in wanted.items()
            ]
            arguments["domain_data"] = domain_data
            changes.append(
                FieldChange(
                    "domains",
                    [_domain_text(name, state) for name, state in current.items()],
                    [_domain_text(data.domain, data.state) for data in domain_data],
                )
            )
    return arguments, changes


def _domain_matches(wanted: DomainState | str, current: DomainState | str | None) -> bool:
    # Asking for "pending" never downgrades a domain that has been verified since.
    if wanted == DomainState.VERIFIED:
        return current in VERIFIED_STATES
    return True


def _update_steps(
    arguments: dict[str, Any], organization: Organization, record: OrganizationRecord
) -> list[dict[str, Any]]:
    """The updates that carry out `arguments`: one, or two when its metadata names more keys
    (removals and sets together) than either the organization or the record holds, and more
    than the lower of the two key limits WorkOS documents.

    The API holds an update's metadata object to its key limit: replacing 30 keys with 30
    others in one update names 60.  The organization's keys and the record's each fit the
    limit, whatever it is, so the removals (with the other fields), then the keys set, each
    fit it too.  Stopped between the two, the organization lacks only keys the record asks
    for: a re-run adds them.  A second update refused outright puts the removed keys back, and
    a failure after the first says what it changed (`_Job._update`).  An update that fits
    either limit (a key renamed names two) goes as one, which is done whole or not at all.
    """
    metadata: dict[str, str | None] | None = arguments.get("metadata")
    if metadata is None or record.metadata is UNSET:
        return [arguments]
    removals = {key: value for key, value in metadata.items() if value is None}
    sets = {key: value for key, value in metadata.items() if value is not None}
    # Never an empty object: to the API, metadata {} removes every key.
    if len(metadata) <= max(len(organization.metadata), len(record.metadata), METADATA_DOCS_MAX_KEYS) or not (
        removals and sets
    ):
        return [arguments]
    return [{**arguments, "metadata": removals}, {"metadata": sets}]


def plan_update(record: OrganizationRecord, organization: Organization) -> dict[str, Any]:
    """The `update` arguments that make `organization` match `record`; empty when it does."""
    return _plan(record, organization)[0]


def _changes_in(step: Mapping[str, Any], changes: Sequence[FieldChange]) -> tuple[FieldChange, ...]:
    """Those of `changes` (`_plan`'s) that the update arguments `step` make."""
    fields = {"domains" if name == "domain_data" else name for name in step if name != "metadata"}
    fields.update(f"metadata.{key}" for key in step.get("metadata") or ())
    return tuple(change for change in changes if change.field in fields)


@attrs.define
class _Progress:
    """How far one record's sync got before it failed: the organization it found, and the
    changes it made that stay made."""

    organization_id: str | None = None
    changes: tuple[FieldChange, ...] = ()


async def _each(records: Iterable[_T] | AsyncIterable[_T]) -> AsyncIterator[_T]:
    if isinstance(records, AsyncIterable):
        async for record in records:
            yield record
    else:
        for record in records:
            yield record


class _Job:
    def __init__(
        self,
        store: OrganizationStore,
        *,
        dry_run: bool,
        on_event: EventCallback | None,
    ) -> None:
        self.store = store
        self.dry_run = dry_run
        self.on_event = on_event
        self.report = SyncReport(dry_run=dry_run)
        self.stopped: WorkOSError | None = None
        self.cut_short: list[str] = []  # the writes the job's stop ended mid-way (see `_write`)
        self.deletes_unknown = 0  # the prune's deletes that failed, and may have been done
        # Set once on_event has raised: the job is over.  Workers resumed in the same turn of
        # the loop, before the pool cancels them, neither tell it more nor start more work.
        self.told_failed = False

    async def emit(
        self,
        action: SyncAction,
        external_id: str | None,
        organization_id: str | None = None,
        error: WorkOSError | None = None,
        *,
        changes: Sequence[FieldChange] = (),
        source: str | None = None,
    ) -> None:
        """Count the event and tell `on_event`; the worker goes on only once it has been told
        (an awaitable it returns is awaited), so an error it raises stops the job there."""
        event = SyncEvent(action, external_id, organization_id, error, self.dry_run, tuple(changes), source)
        self.report.record(event)
        if self.on_event is not None and not self.told_failed:
            try:
                told = self.on_event(event)
                if inspect.isawaitable(told):
                    await told
            except asyncio.CancelledError as error:
                if being_cancelled() or self.told_failed:
                    # The job stopping while on_event was being told (or told no more, as it
                    # failed for another record): not on_event failing here, and a record cut
                    # short must still be told of as the job ends (see `sync_one`).
                    raise
                # on_event's own (it awaited something cancelled elsewhere): a worker ending
                # cancelled is not a failure to the pool, which would go on without it, or hang.
                self.told_failed = True
                raise WorkOSError(
                    "on_event raised CancelledError (it awaited something cancelled elsewhere); the sync"
                    " stopped there. Let on_event handle that cancellation itself."
                ) from error
            except BaseException:
                self.told_failed = True
                raise

    def worker(self, work: Callable[[_T], Awaitable[None]]) -> Callable[[_T], Awaitable[None]]:
        """`work` (`sync_one`, `delete_one`) as the pool runs it: a `CancelledError` that is
        not the job's cancellation ends the job with a `WorkOSError`."""

        async def run(item: _T) -> None:
            try:
                await work(item)
            except asyncio.CancelledError as error:
                # on_event failing ends the job (the blocking client's then cancels the events
                # other workers wait to tell): their cancellation is that end, not a failure.
                if being_cancelled() or self.told_failed:
                    raise
                # A future cancelled elsewhere, awaited (a rate limiter's wait, say): a worker
                # ending cancelled is no failure to the pool's TaskGroup, which would go on
                # without it, its record neither done nor failed, or wait for it forever.
                raise WorkOSError(
                    "A CancelledError that was not the sync's own cancellation ended a record's work"
                    " (something it awaited, a rate limiter's wait say, was cancelled elsewhere); the"
                    " sync stopped there."
                ) from error

        return run

    @property
    def over(self) -> bool:
        """Whether the job stopped: on an error no record gets past, or on_event's."""
        return self.stopped is not None or self.told_failed

    def _stop(self, error: WorkOSError) -> bool:
        """Whether `error` stops the job (the first such error is kept as the reason)."""
        if not isinstance(error, _STOPPING_ERRORS):
            return False
        if self.stopped is None:
            self.stopped = error
        return True

    async def sync_one(self, record: OrganizationRecord) -> None:
        if self.over:
            return
        external_id, source = record.external_id, record.source
        progress = _Progress()
        try:
            action, organization_id, changes = await self._apply(record, progress)
        except WorkOSError as error:
            # A record that changed something before it failed is told even when the job stops.
            if not self._stop(error) or progress.changes:
                await self.emit(
                    "failed", external_id, progress.organization_id, error, changes=progress.changes, source=source
                )
            return
        except asyncio.CancelledError as cancelled:
            # The job is stopping (the client closed, on_event raised, Ctrl-C, the caller's
            # task cancelled) with the record's update partway: the report keeps what it
            # changed, for a stop's error to show, and on_event is told, for a caller whose
            # task was cancelled has nothing else to learn it from.
            if progress.changes:
                stopped = WorkOSError("the sync stopped during this record's update")
                try:
                    await self.emit(
                        "failed",
                        external_id,
                        progress.organization_id,
                        stopped,
                        changes=progress.changes,
                        source=source,
                    )
                except Exception:
                    # on_event's own error: the cancellation goes on (a caller's timeout is
                    # still a TimeoutError), and the error is logged rather than lost.
                    logger.exception("on_event raised as the cancelled sync told it %s failed", external_id)
                    raise cancelled from None
            raise
        # Outside the try: an on_event that raises is the caller's error, not the record's.
        await self.emit(action, external_id, organization_id, changes=changes, source=source)

    async def _apply(
        self, record: OrganizationRecord, progress: _Progress
    ) -> tuple[SyncAction, str | None, Sequence[FieldChange]]:
        """Make WorkOS hold `record`: what was done, to which organization, changing what.
        Should it fail, `progress` says which organization it found and what it left changed."""
        external_id = record.external_id
        existing = await self._find(external_id)
        if existing is None:
            arguments, changes = _plan(record, None)
            if self.dry_run:
                return "created", None, changes
            try:
                created = await self._write("create", self.store.create(external_id=external_id, **arguments))
            except BadRequestError as error:
                if error.code != EXTERNAL_ID_ALREADY_USED:
                    raise
                # Made meanwhile by another job: update it instead.
                existing = await self._find(external_id)
                if existing is None:
                    raise
            else:
                if not _plan(record, created)[0]:
                    return "created", created.id, changes
                # The create's recovery found an organization another job made meanwhile (the
                # same name and external id, after an attempt whose outcome was unknown), not
                # what the record asks for: update it, and say so.
                existing = created
        progress.organization_id = existing.id
        arguments, changes = _plan(record, existing)
        if not arguments:
            return "unchanged", existing.id, ()
        if not self.dry_run:
            await self._update(existing, _update_steps(arguments, existing, record), changes, progress)
        return "updated", existing.id, changes

    async def _update(
        self,
        organization: Organization,
        steps: Sequence[dict[str, Any]],
        changes: Sequence[FieldChange],
        progress: _Progress,
    ) -> None:
        """Send `steps` (see `_update_steps`).  From the moment each is asked for (it may then
        wait for its turn in a rate limiter), `progress` holds the changes made so far and those
        it makes, which a failure (or a stop) then reports: it may have been done.  A step
        refused outright changed nothing; when the second is, the keys the first removed are
        put back, and only the first's other changes stay."""
        first, *rest = steps
        progress.changes = _changes_in(first, changes)
        try:
            await self._write("update", self.store.update(organization.id, **first))
        except WorkOSError as error:
            if not outcome_unknown(error):
                progress.changes = ()
            raise
        if not rest:
            return
        done = progress.changes
        progress.changes = done + _changes_in(rest[0], changes)  # the removals, named first
        try:
            await self._write("update", self.store.update(organization.id, **rest[0]))
        except WorkOSError as error:
            if outcome_unknown(error):
                raise
            progress.changes = done
            removed = {key: organization.metadata[key] for key in first["metadata"]}
            try:
                await self._write("update", self.store.update(organization.id, metadata=removed))
            except WorkOSError:
                pass  # the keys stay removed, and the failure says so
            else:
                progress.changes = _changes_in({**first, "metadata": {}}, changes)
            raise

    async def _write(self, kind: str, write: Awaitable[_T]) -> _T:
        """`write`, noted in `cut_short` when the job's stop ends it mid-way (the client closed
        under it, or the job's workers cancelled): it may have been done, and no event says so."""
        try:
            return await write
        except (asyncio.CancelledError, ClientClosedError):
            self.cut_short.append(kind)
            raise

    async def _find(self, external_id: str) -> Organization | None:
        try:
            return await self.store.get_by_external_id(external_id)
        except WorkOSError as error:
            # Only the API's own "no such organization": any other 404 (a gateway's) fails the
            # record, rather than have it created a second time.
            if is_entity_not_found(error):
                return None
            raise

    async def delete_one(self, stale: _Stale) -> None:
        if self.over:
            return
        organization_id, external_id = stale
        try:
            if not self.dry_run:
                await self._write("delete", self.store.delete(organization_id))
        except WorkOSError as error:
            # Gone already, by the API's own word, is the outcome prune wants; a gateway's 404 is not.
            if is_entity_not_found(error):
                await self.emit("deleted", external_id, organization_id)
                return
            if not self._stop(error):
                if outcome_unknown(error):
                    self.deletes_unknown += 1
                await self.emit("failed", external_id, organization_id, error)
            return
        await self.emit("deleted", external_id, organization_id)


def external_id_of(item: Any) -> str | None:
    """The external id a mapping names, when it is one a record takes; None otherwise (the
    record is then unidentified: it may stand for any organization, so prune holds back)."""
    value = item.get("external_id") if isinstance(item, Mapping) else None
    return value if _external_id_refusal(value) is None else None


SyncItem = OrganizationRecord | Mapping[str, Any] | InvalidRecordError
"""What `sync` takes: a record, a mapping to make one from, or the error of one that could
not be read (a reader yields it in place of the record; it is counted as failed)."""


def read_item(item: Any) -> OrganizationRecord | InvalidRecordError:
    """`item` as a record, or the error that fails it; a mapping is read here, whole.

    Reading a mapping reads its values (a lazy ``domains``, an ORM row's fields): any error
    that raises other than `InvalidRecordError` is the input's own, as if iterating it had
    failed.  The blocking client calls this in the caller's thread, where those values live.
    """
    if isinstance(item, OrganizationRecord | InvalidRecordError):
        return item
    try:
        return OrganizationRecord.from_mapping(item)
    except InvalidRecordError as error:
        return error


class _Reader:
    """Turns the input into records, failing the items that cannot be one; remembers what it saw."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.firsts: dict[str, str] = {}  # external id -> where its first record came from
        self.unidentified = 0
        self.read = 0
        self.error: Exception | None = None

    async def records(self, items: Iterable[SyncItem] | AsyncIterable[SyncItem]) -> AsyncIterator[OrganizationRecord]:
        iterator = aiter(_each(items))
        while not self.job.over:
            try:
                item = read_item(await anext(iterator))
            except StopAsyncIteration:
                return
            except Exception as error:  # the input broke: what was read is finished, nothing pruned
                self.error = error
                return
            index, self.read = self.read, self.read + 1
            record = await self._record(item, f"records[{index}]")
            if record is not None:
                yield record

    async def _record(self, item: OrganizationRecord | InvalidRecordError, index: str) -> OrganizationRecord | None:
        if isinstance(item, InvalidRecordError):
            await self._fail(item, item.source or index)
            return None
        record = item if item.source is not None else attrs.evolve(item, source=index)
        assert record.source is not None
        first = self.firsts.get(record.external_id)
        if first is not None:
            repeat = InvalidRecordError(
                f"external_id {record.external_id!r} repeats {first}; only the first record with an"
                " external id is synced (remove or merge the repeat).",
                source=record.source,
            )
            await self.job.emit("failed", record.external_id, error=repeat, source=record.source)
            return None
        self._remember(record.external_id, record.source)
        return record

    async def _fail(self, error: InvalidRecordError, source: str) -> None:
        self._remember(error.external_id, source)
        await self.job.emit("failed", error.external_id, error=error, source=source)

    def _remember(self, external_id: str | None, source: str) -> None:
        if external_id is None:
            self.unidentified += 1
        else:
            self.firsts.setdefault(external_id, source)


async def _pool(items: AsyncIterable[_T], work: Callable[[_T], Awaitable[None]], concurrency: int) -> None:
    """Run `work` over `items` with at most `concurrency` at once and a bounded backlog."""
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)
    done = object()

    async def worker() -> None:
        while (item := await queue.get()) is not done:
            await work(item)

    failed: BaseExceptionGroup[BaseException] | None = None
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
            async for item in items:
                await queue.put(item)
            for _ in range(concurrency):
                await queue.put(done)
    except BaseExceptionGroup as failures:
        failed = failures
    if failed is not None:
        # A failure (a bug in a callback, say) is raised as itself, not wrapped in a group: the
        # first one, even when other workers hit the same failure before they were stopped.
        # Raised out here, it keeps its own cause.  Failures of more than one kind stay a group:
        # none of them is hidden.
        first = failed.exceptions[0]
        error = first if all(type(each) is type(first) for each in failed.exceptions) else failed
        del failed, first
        try:
            raise error
        finally:
            del error  # its traceback holds this frame: no reference cycle through it


def check_sync_options(
    records: object, *, concurrency: object, prune: object, dry_run: object, on_event: object, blocking: bool = False
) -> None:
    """Refuse the records and options a sync cannot run with, before a record is read or a
    request sent; a `blocking` sync reads its records in the caller's thread, so not from an
    async iterable."""
    kinds: tuple[type, ...] = (Iterable,) if blocking else (Iterable, AsyncIterable)
    if isinstance(records, str | bytes | bytearray | Mapping | OrganizationRecord) or not isinstance(records, kinds):
        if isinstance(records, Mapping | OrganizationRecord):
            hint = "; wrap a single record in a list: [record]"
        elif blocking and isinstance(records, AsyncIterable):
            hint = ", not an async iterable: WorkOS reads them in the calling thread (AsyncWorkOS takes one)"
        else:
            hint = ""
        raise InvalidArgumentError(
            "records must be an iterable of records (OrganizationRecord objects or mappings, such as a list"
            f" or a generator){hint}; got {type(records).__name__}."
        )
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidArgumentError(
            f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY:,}; got {given(concurrency)}. More workers"
            " would only wait, on the API's rate limit and on the connection pool."
        )
    for name, value in (("prune", prune), ("dry_run", dry_run)):
        if not isinstance(value, bool):
            # "false" from a config file is truthy: taken as True, prune would delete.
            raise InvalidArgumentError(
                f"{name} must be True or False; got {given(value)}. Convert a setting read as text or a number"
                " to a bool first."
            )
    if on_event is not None and not callable(on_event):
        raise InvalidArgumentError(
            f"on_event must be a function that takes a SyncEvent, or None; got {type(on_event).__name__}."
        )


UntilClosed = Callable[[Callable[[], Awaitable[None]], str], Awaitable[None]]
"""Runs a job unless the client is closed first: then `ClientClosedError`, at once."""


async def sync_organizations(
    store: OrganizationStore,
    records: Iterable[SyncItem] | AsyncIterable[SyncItem],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    prune: bool = False,
    dry_run: bool = False,
    on_event: EventCallback | None = None,
    until_closed: UntilClosed | None = None,
) -> SyncReport:
    """Create, update or leave alone each record; with `prune`, delete the rest.

    See `Organizations.sync`, the public entry point.  With `until_closed` (the client's),
    closing the client stops the job at once, with `SyncStoppedError` and what was done.
    """
    check_sync_options(records, concurrency=concurrency, prune=prune, dry_run=dry_run, on_event=on_event)
    started = time.monotonic()
    job = _Job(store, dry_run=dry_run, on_event=on_event)
    run = functools.partial(_sync, job, records, concurrency=concurrency, prune=prune)
    try:
        if until_closed is None:
            await run()
        else:
            await until_closed(run, " while the sync ran")
    except ClientClosedError as closed:
        job.stopped = job.stopped or closed
    finally:
        job.report.elapsed = time.monotonic() - started
    if job.stopped is not None:
        raise SyncStoppedError(
            job.report, job.stopped, cut_short=job.cut_short, deletes_unknown=job.deletes_unknown
        ) from job.stopped
    return job.report


async def _sync(
    job: _Job, records: Iterable[SyncItem] | AsyncIterable[SyncItem], *, concurrency: int, prune: bool
) -> None:
    """The job: the records, then (with `prune`) the organizations they do not name.  Stops
    with `job.stopped` set, or `SyncInputError`."""
    reader = _Reader(job)
    await _pool(reader.records(records), job.worker(job.sync_one), concurrency)
    if job.stopped is not None:
        return
    if reader.error is not None:
        raise SyncInputError(job.report, reader.read, reader.error) from reader.error
    if prune and reader.read == 0:
        # An export that died before its first line reads as no records at all: taken at its
        # word, prune would delete every organization.
        job.report.prune_skipped = (
            "no records were read, and pruning on an empty input would delete every organization with an"
            " external id; check the input (delete organizations one by one if that is what you want)"
        )
    elif prune and reader.unidentified:
        # A record that could not be read may be an organization that is still wanted: with
        # its external id unknown it cannot be told apart from a stale one, so delete nothing.
        job.report.prune_skipped = (
            f"{reader.unidentified} record(s) had no readable external_id, so organizations they may name"
            " cannot be told apart from stale ones; fix them and run again to prune"
        )
    elif prune:
        # Collected first, deleted after: deleting while the walk's cursors still point at
        # them is not something to rely on against the live API.
        # Only the id and the external id of each are kept, not the organization.
        try:
            stale = [
                (organization.id, organization.external_id)
                async for organization in job.store.list(limit=LIST_LIMIT_MAX)
                if organization.external_id is not None and organization.external_id not in reader.firsts
            ]
        except WorkOSError as error:
            # The records were synced: the report says so, whatever stopped the walk.
            job.stopped = error
            return
        await _pool(_each(stale), job.worker(job.delete_one), concurrency)
