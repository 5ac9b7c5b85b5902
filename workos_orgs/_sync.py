"""Bulk sync: make WorkOS hold your organizations, keyed by your own ``external_id``.

For each record: look it up by external id; create it if missing, update it only where it
differs, leave it alone if equal.  Re-running after a crash converges, because the external
id is unique in WorkOS: a record created by the crashed run is found, not created again.

`plan_update` (what differs) is pure; `sync_organizations` runs a bounded pool of workers
over a bounded queue, so memory stays flat however long the input is.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, Union

import attrs

from ._contract import EXTERNAL_ID_ALREADY_USED, LIST_LIMIT_MAX, DomainState, normalize_domain
from ._errors import BadRequestError, InvalidArgumentError, NotFoundError, WorkOSError
from ._models import DomainData, Organization

if TYPE_CHECKING:
    from ._organizations import Organizations

SyncAction = Literal["created", "updated", "unchanged", "deleted", "failed"]
DEFAULT_CONCURRENCY: Final = 8
_VERIFIED_STATES: Final = frozenset({DomainState.VERIFIED, DomainState.LEGACY_VERIFIED})


class InvalidRecordError(InvalidArgumentError):
    """A sync record that cannot be used as it is; the message says which field and why."""


SyncItem = Union["OrganizationRecord", Mapping[str, Any], InvalidRecordError]
"""What `sync` takes: a record, a mapping to make one from, or the error of one that could
not be read (a reader yields it in place of the record; it is counted as failed)."""


def _domains(value: Iterable[DomainData | str | Mapping[str, Any]]) -> tuple[DomainData, ...]:
    domains = []
    for item in value:
        if isinstance(item, DomainData):
            domains.append(item)
        elif isinstance(item, str):
            domains.append(DomainData(item))
        elif isinstance(item, Mapping) and isinstance(item.get("domain"), str):
            domains.append(DomainData(item["domain"], item.get("state", DomainState.PENDING)))
        else:
            raise InvalidRecordError(f"each domain must be a name or {{'domain': ..., 'state': ...}}; got {item!r}.")
    return tuple(domains)


def _metadata(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


@attrs.frozen
class OrganizationRecord:
    """One organization as you want it to be in WorkOS.

    ``domains`` takes `DomainData`, plain names (``pending``) or ``{"domain", "state"}``
    mappings; ``metadata`` maps strings to strings::

        OrganizationRecord("cust-42", "Acme", domains=["acme.com"], metadata={"tier": "gold"})
    """

    external_id: str
    name: str
    domains: tuple[DomainData, ...] = attrs.field(default=(), converter=_domains)
    metadata: Mapping[str, str] = attrs.field(factory=dict, converter=_metadata)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> OrganizationRecord:
        """A record from parsed JSON (or a CSV row made into a mapping), checked field by field."""
        if not isinstance(data, Mapping):
            raise InvalidRecordError(
                f"a record must be an object with external_id and name; got {type(data).__name__}."
            )
        for field in ("external_id", "name"):
            value = data.get(field)
            if not isinstance(value, str) or not value.strip():
                raise InvalidRecordError(f"{field} is required and must be a non-empty string; got {value!r}.")
        domains = data.get("domains") or ()
        metadata = data.get("metadata") or {}
        if isinstance(domains, str) or not isinstance(domains, Iterable):
            raise InvalidRecordError(f"domains must be a list; got {domains!r}.")
        if not isinstance(metadata, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()
        ):
            raise InvalidRecordError(f"metadata must map strings to strings; got {metadata!r}.")
        return cls(data["external_id"], data["name"], domains, metadata)


@attrs.frozen
class SyncEvent:
    """What the sync did (or, in a dry run, would do) with one organization."""

    action: SyncAction
    external_id: str | None
    organization_id: str | None = None
    error: Exception | None = None
    dry_run: bool = False


@attrs.frozen
class SyncFailure:
    """A record that could not be synced, and the typed error that says why."""

    external_id: str | None
    error: Exception


@attrs.define
class SyncReport:
    """Counts of a sync run, and every failure with its error."""

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

    @property
    def ok(self) -> bool:
        """True when no record failed."""
        return self.failed == 0

    def record(self, event: SyncEvent) -> None:
        setattr(self, event.action, getattr(self, event.action) + 1)
        if event.action == "failed":
            assert event.error is not None
            self.failures.append(SyncFailure(event.external_id, event.error))

    def __str__(self) -> str:
        would = " (dry run: nothing was written)" if self.dry_run else ""
        held = f" (prune skipped: {self.prune_skipped})" if self.prune_skipped else ""
        return (
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged},"
            f" deleted {self.deleted}, failed {self.failed}{would}{held}"
        )


def _domain_matches(wanted: DomainState | str, current: DomainState | str | None) -> bool:
    # Asking for "pending" never downgrades a domain that has been verified since.
    if wanted == DomainState.VERIFIED:
        return current in _VERIFIED_STATES
    return True


def plan_update(record: OrganizationRecord, organization: Organization) -> dict[str, Any]:
    """The `update` arguments that make `organization` match `record`; empty when it does."""
    changes: dict[str, Any] = {}
    if organization.name != record.name:
        changes["name"] = record.name
    if dict(organization.metadata) != dict(record.metadata):
        # Keys given are set, keys mapped to None are removed, others kept: spell out removals.
        metadata: dict[str, str | None] = {key: None for key in organization.metadata if key not in record.metadata}
        metadata.update(record.metadata)
        changes["metadata"] = metadata
    current = {domain.domain: domain.state for domain in organization.domains}
    wanted = {normalize_domain(data.domain): data.state for data in record.domains}
    if current.keys() != wanted.keys() or not all(
        _domain_matches(state, current[name]) for name, state in wanted.items()
    ):
        changes["domain_data"] = [
            DomainData(name, DomainState.VERIFIED if current.get(name) in _VERIFIED_STATES else state)
            for name, state in wanted.items()
        ]
    return changes


async def _each(records: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterable[Any]:
    if isinstance(records, AsyncIterable):
        async for record in records:
            yield record
    else:
        for record in records:
            yield record


class _Job:
    def __init__(
        self,
        organizations: Organizations,
        *,
        dry_run: bool,
        on_event: Callable[[SyncEvent], None] | None,
    ) -> None:
        self.organizations = organizations
        self.dry_run = dry_run
        self.on_event = on_event
        self.report = SyncReport(dry_run=dry_run)

    def emit(
        self,
        action: SyncAction,
        external_id: str | None,
        organization_id: str | None = None,
        error: Exception | None = None,
    ) -> None:
        event = SyncEvent(action, external_id, organization_id, error, self.dry_run)
        self.report.record(event)
        if self.on_event is not None:
            self.on_event(event)

    async def sync_one(self, item: SyncItem) -> None:
        if isinstance(item, InvalidRecordError):
            self.emit("failed", None, error=item)
            return
        external_id = item.external_id if isinstance(item, OrganizationRecord) else _external_id_of(item)
        try:
            record = item if isinstance(item, OrganizationRecord) else OrganizationRecord.from_mapping(item)
            existing = await self._find(record.external_id)
            if existing is None:
                if self.dry_run:
                    self.emit("created", external_id)
                    return
                try:
                    created = await self.organizations.create(
                        name=record.name,
                        external_id=record.external_id,
                        domain_data=record.domains,
                        metadata=record.metadata,
                    )
                except BadRequestError as error:
                    if error.code != EXTERNAL_ID_ALREADY_USED:
                        raise
                    # Made meanwhile (a duplicate record in the input, or another job): update it.
                    existing = await self._find(record.external_id)
                    if existing is None:
                        raise
                else:
                    self.emit("created", external_id, created.id)
                    return
            changes = plan_update(record, existing)
            if not changes:
                self.emit("unchanged", external_id, existing.id)
                return
            if not self.dry_run:
                await self.organizations.update(existing.id, **changes)
            self.emit("updated", external_id, existing.id)
        except WorkOSError as error:
            self.emit("failed", external_id, error=error)

    async def _find(self, external_id: str) -> Organization | None:
        try:
            return await self.organizations.get_by_external_id(external_id)
        except NotFoundError:
            return None

    async def delete_one(self, organization: Organization) -> None:
        try:
            if not self.dry_run:
                with contextlib.suppress(NotFoundError):  # gone already: the outcome we wanted
                    await self.organizations.delete(organization.id)
            self.emit("deleted", organization.external_id, organization.id)
        except WorkOSError as error:
            self.emit("failed", organization.external_id, organization.id, error)


def _external_id_of(item: Any) -> str | None:
    value = item.get("external_id") if isinstance(item, Mapping) else None
    return value if isinstance(value, str) and value.strip() else None


async def _pool(items: AsyncIterable[Any], work: Callable[[Any], Any], concurrency: int) -> None:
    """Run `work` over `items` with at most `concurrency` at once and a bounded backlog."""
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)
    done = object()

    async def worker() -> None:
        while (item := await queue.get()) is not done:
            await work(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
            async for item in items:
                await queue.put(item)
            for _ in range(concurrency):
                await queue.put(done)
    except BaseExceptionGroup as group:
        # One failure (a bug in a callback, say) is raised as itself, not wrapped in a group.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


async def sync_organizations(
    organizations: Organizations,
    records: Iterable[SyncItem] | AsyncIterable[SyncItem],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    prune: bool = False,
    dry_run: bool = False,
    on_event: Callable[[SyncEvent], None] | None = None,
) -> SyncReport:
    """Create, update or leave alone each record; with `prune`, delete the rest.

    See `Organizations.sync`, the public entry point.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidArgumentError(f"concurrency must be a whole number, 1 or more; got {concurrency!r}.")
    started = time.monotonic()
    job = _Job(organizations, dry_run=dry_run, on_event=on_event)
    seen: set[str] = set()
    unidentified = 0

    async def remembered() -> AsyncIterable[Any]:
        nonlocal unidentified
        async for item in _each(records):
            external_id = item.external_id if isinstance(item, OrganizationRecord) else _external_id_of(item)
            if external_id is None:
                unidentified += 1
            elif prune:
                seen.add(external_id)
            yield item

    await _pool(remembered(), job.sync_one, concurrency)
    if prune and unidentified:
        # A record that could not be read may be an organization that is still wanted: with
        # its external id unknown it cannot be told apart from a stale one, so delete nothing.
        job.report.prune_skipped = (
            f"{unidentified} record(s) had no readable external_id, so organizations they may name"
            " cannot be told apart from stale ones; fix them and run again to prune"
        )
    elif prune:
        # Collected first, deleted after: deleting while the walk's cursors still point at
        # them is not something to rely on against the live API.
        stale = [
            organization
            async for organization in organizations.list(limit=LIST_LIMIT_MAX)
            if organization.external_id is not None and organization.external_id not in seen
        ]
        await _pool(_each(stale), job.delete_one, concurrency)
    job.report.elapsed = time.monotonic() - started
    return job.report
