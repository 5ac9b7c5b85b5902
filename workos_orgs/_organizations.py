"""``client.organizations``: list, create, get, get by external ID, update, delete, and sync
(many records at once, `_bulk`)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Unpack

import attrs

from ._base_client import BaseClient
from ._bulk import DEFAULT_CONCURRENCY, EventCallback, SyncItem, SyncReport, sync_organizations
from ._contract import DomainState, Order, normalize_domain
from ._domain_data import DomainDataInput, domain_data_list
from ._errors import BadRequestError, ConflictError, InvalidArgumentError, WorkOSError
from ._models import (
    UNSET,
    Organization,
    Page,
    Unset,
    structure_organization,
)
from ._pagination import AsyncPager, Listing, page_structure
from ._request import (
    DOMAIN_EXAMPLE,
    EXTERNAL_ID_EXAMPLE,
    STRIPE_CUSTOMER_ID_EXAMPLE,
    check_id,
    check_metadata,
    check_optional_id,
)
from ._resource import APIResource, RawResponseMethod, RequestOptions, WithRawResponse
from ._response import Response, json_parser
from ._retry import ended_without_response, outcome_unknown
from ._throttle import RateLimiter

ORGANIZATIONS: Final = "organizations"


def _organization(data: Any) -> Organization:
    return structure_organization(data, Organization)  # type: ignore[no-any-return]


parse_organization: Final = json_parser(_organization)
"""An organization from a response's body."""

_organization_page: Final[Callable[[Any], Page[Organization]]] = page_structure(structure_organization, Organization)


_EXAMPLE_MAX_CHARS: Final = 200
"""The longest string of domains a message turns into the list to pass instead."""


def list_filters(domains: Sequence[str] | None, search: str | None) -> list[tuple[str, str]]:
    """The query values only organization listings have."""
    query: list[tuple[str, str]] = []
    if domains is not None:
        if isinstance(domains, str | bytes | bytearray) or not isinstance(domains, Iterable):
            # The names the string seems to hold, as the list to pass (a blank one holds none).
            short = isinstance(domains, str) and len(domains) <= _EXAMPLE_MAX_CHARS
            names = [name.strip() for name in domains.split(",")] if short else []
            if not names or not all(names):
                names = ["acme.com"]
            raise InvalidArgumentError(
                f"domains must be a list of domain names, e.g. {names!r}; got {type(domains).__name__}."
            )
        names = [check_id("each of domains", domain, DOMAIN_EXAMPLE).strip() for domain in domains]
        if not names:
            # Never dropped: the filter would then list every organization.
            raise InvalidArgumentError(
                "domains must name at least one domain; leave it out (or pass None) to list organizations"
                " whatever their domains."
            )
        query.append(("domains", ",".join(names)))
    if search is not None:
        if not isinstance(search, str):
            raise InvalidArgumentError(f"search must be a string; got {type(search).__name__}.")
        query.append(("search", search))
    return query


@attrs.frozen
class _CreatedByExternalId:
    """A create with an external id that may have made the organization after all: no attempt
    got a definitive response, or one whose outcome is unknown was followed by a 400 or 409 --
    ``external_id_already_used``, or any other uniqueness check (``domain_already_exists``)
    that the API may run before the external id's and that our own earlier attempt would trip.
    The lookup accepts only an organization that holds everything the create sent (`body`):
    one made earlier with the same name and external id, but other metadata, domains or
    settings, is not this call's, and returning it would drop what was asked for."""

    body: Mapping[str, Any]

    def applies(self, error: WorkOSError) -> bool:
        if ended_without_response(error):
            return True
        return isinstance(error, BadRequestError | ConflictError) and outcome_unknown(error)

    async def find(self, error: WorkOSError, client: BaseClient, options: RequestOptions) -> Response | None:
        path = (ORGANIZATIONS, "external_id", check_id("external_id", self.body["external_id"]))
        response = await client._request("GET", path, **options)
        return response if self._made(parse_organization(response)) else None

    def _made(self, organization: Organization) -> bool:
        """Whether `organization` is what this create would have made.

        A domain asked for as verified must be verified; one asked for as pending may have been
        verified since.  A setting the API leaves out (None) is not held against it."""
        body = self.body
        metadata = {key: value for key, value in (body.get("metadata") or {}).items() if value is not None}
        wanted = {normalize_domain(data["domain"]): data["state"] for data in body.get("domain_data", ())}
        found = {normalize_domain(domain.domain): domain.state for domain in organization.domains}
        allow_profiles = organization.allow_profiles_outside_organization
        return (
            (organization.name, organization.external_id) == (body["name"], body["external_id"])
            and dict(organization.metadata) == metadata
            and found.keys() == wanted.keys()
            and all(
                found[name] == DomainState.VERIFIED for name, state in wanted.items() if state == DomainState.VERIFIED
            )
            and (
                allow_profiles is None
                or allow_profiles == body.get("allow_profiles_outside_organization", allow_profiles)
            )
        )


def _domain_data(entries: Sequence[DomainDataInput]) -> list[dict[str, str]]:
    domains = domain_data_list(
        entries,
        names=False,
        refusal=lambda: (
            "domain_data must be a list of DomainData, e.g. [DomainData('acme.com', DomainState.VERIFIED)]."
        ),
    )
    return [{"domain": data.domain, "state": str(data.state)} for data in domains]


def _organization_body(
    *,
    name: str | Unset,
    domain_data: Sequence[DomainDataInput] | Unset,
    external_id: str | Unset | None,
    metadata: Mapping[str, str | None] | Unset | None,
    allow_profiles_outside_organization: bool | Unset,
    stripe_customer_id: str | Unset | None = UNSET,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if name is not UNSET:
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError("name must be a non-empty string, e.g. name='Acme Inc.'.")
        body["name"] = name
    if domain_data is not UNSET:
        body["domain_data"] = _domain_data(domain_data)
    if external_id is not UNSET:
        body["external_id"] = check_optional_id("external_id", external_id, EXTERNAL_ID_EXAMPLE)
    if metadata is not UNSET:
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidArgumentError("metadata must be a mapping of strings, or None.")
        body["metadata"] = None if metadata is None else dict(metadata)
    if allow_profiles_outside_organization is not UNSET:
        if not isinstance(allow_profiles_outside_organization, bool):
            raise InvalidArgumentError(
                "allow_profiles_outside_organization must be True or False;"
                f" got {type(allow_profiles_outside_organization).__name__}."
            )
        body["allow_profiles_outside_organization"] = allow_profiles_outside_organization
    if stripe_customer_id is not UNSET:
        body["stripe_customer_id"] = check_optional_id(
            "stripe_customer_id", stripe_customer_id, STRIPE_CUSTOMER_ID_EXAMPLE
        )
    return body


class Organizations(APIResource):
    """Organizations: ``client.organizations``.

    Every method but ``sync`` also takes the options `RequestOptions` lists (``timeout``,
    ``max_retries``, ...) for that call alone (a sync runs on ``client.with_options(...)`` for
    other settings);
    ``create`` takes an ``idempotency_key`` (one is generated when you pass none).
    """

    @functools.cached_property
    def with_raw_response(self) -> OrganizationsWithRawResponse:
        """The same calls, returning `APIResponse` (status, headers, request id, ``parse()``)."""
        return OrganizationsWithRawResponse(self)

    def list(
        self,
        *,
        limit: int | None = None,
        order: Order | str | None = None,
        before: str | None = None,
        after: str | None = None,
        domains: Sequence[str] | None = None,
        search: str | None = None,
        max_items: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[Organization]:
        """List organizations: a pager to ``async for`` over (every item) or ``await`` (first page).

        ``limit`` is the page size (1..100), ``max_items`` the most items to yield overall.
        ``domains`` keeps organizations with any of those domains; ``search`` matches names.
        Starting from ``before=`` walks backwards.  Nothing is sent until the pager is used::

            async for organization in client.organizations.list(domains=["acme.com"]):
                ...

        With ``with_raw_response``, ``list`` gives the first page's `APIResponse`.
        """
        return self._list(
            (ORGANIZATIONS,),
            Listing(limit, order, before, after, max_items),
            page=_organization_page,
            filters=list_filters(domains, search),
            **options,
        )

    async def create(
        self,
        *,
        name: str,
        domain_data: Sequence[DomainDataInput] | Unset = UNSET,
        external_id: str | Unset | None = UNSET,
        metadata: Mapping[str, str] | Unset | None = UNSET,
        allow_profiles_outside_organization: bool | Unset = UNSET,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Organization:
        """Create an organization.

        ``domain_data`` attaches domains (``DomainData("acme.com", DomainState.VERIFIED)``);
        ``external_id`` is your own ID for it (unique); ``metadata`` maps strings to strings::

            organization = await client.organizations.create(name="Acme", external_id="acme-1")

        Exactly once: every retry of the call reuses one ``Idempotency-Key``.  WorkOS documents
        that key only for audit-log events, so the SDK does not rely on it alone when you pass
        an ``external_id``: if some attempt's outcome was unknown (a dropped connection, a
        timeout, a 5xx) and a later one gets a 400 or 409 (``external_id_already_used``,
        ``domain_already_exists``, ...), or none of them gets a response at all, the
        organization is looked up by its external id and returned (when it holds everything
        you asked for: name, metadata, domains and settings) instead of made twice or reported
        as a failure.  If the lookup finds nothing, the original error is raised, and retrying
        the create is then safe.  A
        first, definitive 400 or 409 still raises (`BadRequestError`, `ConflictError`).  With
        ``with_raw_response`` the response returned is then the lookup's.

        Without an ``external_id`` only the ``Idempotency-Key`` protects you: should the API
        not honour it, a create whose response was lost and was retried may make a second
        organization.  Pass an ``external_id`` when a duplicate would matter, or
        ``max_retries=0`` and decide yourself.
        """
        if not isinstance(name, str):  # UNSET too: required here, though an update may leave it out
            raise InvalidArgumentError("name must be a non-empty string, e.g. name='Acme Inc.'.")
        body = _organization_body(
            name=name,
            domain_data=domain_data,
            external_id=external_id,
            metadata=metadata,
            allow_profiles_outside_organization=allow_profiles_outside_organization,
        )
        if body.get("metadata"):
            check_metadata(body["metadata"], removes=False)
        return await self._post(
            (ORGANIZATIONS,),
            cast=parse_organization,
            body=body,
            idempotency_key=idempotency_key,
            recovery=_CreatedByExternalId(body) if isinstance(external_id, str) else None,
            **options,
        )

    async def get(self, id: str, **options: Unpack[RequestOptions]) -> Organization:
        """Get an organization by its ID (``org_...``); `NotFoundError` when there is none."""
        return await self._get((ORGANIZATIONS, check_id("id", id)), cast=parse_organization, **options)

    async def get_by_external_id(self, external_id: str, **options: Unpack[RequestOptions]) -> Organization:
        """Get an organization by the ``external_id`` you gave it; `NotFoundError` when there is none."""
        path = (ORGANIZATIONS, "external_id", check_id("external_id", external_id, EXTERNAL_ID_EXAMPLE))
        return await self._get(path, cast=parse_organization, **options)

    async def update(
        self,
        id: str,
        *,
        name: str | Unset = UNSET,
        domain_data: Sequence[DomainDataInput] | Unset = UNSET,
        external_id: str | Unset | None = UNSET,
        metadata: Mapping[str, str | None] | Unset | None = UNSET,
        stripe_customer_id: str | Unset | None = UNSET,
        allow_profiles_outside_organization: bool | Unset = UNSET,
        **options: Unpack[RequestOptions],
    ) -> Organization:
        """Change an organization; only the arguments you pass are sent.

        ``None`` clears a field (``external_id=None``); ``domain_data`` replaces the whole set
        of domains; in ``metadata`` a key mapped to ``None`` is removed, others are set::

            await client.organizations.update(org_id, name="Acme Corp", external_id=None)
        """
        body = _organization_body(
            name=name,
            domain_data=domain_data,
            external_id=external_id,
            metadata=metadata,
            allow_profiles_outside_organization=allow_profiles_outside_organization,
            stripe_customer_id=stripe_customer_id,
        )
        return await self._put((ORGANIZATIONS, check_id("id", id)), cast=parse_organization, body=body, **options)

    async def delete(self, id: str, **options: Unpack[RequestOptions]) -> None:
        """Delete an organization and its domains; returns None.

        The API's 404 (``entity_not_found``) counts as done when an earlier attempt of this call
        had an unknown outcome (that attempt deleted it); a 404 on the first attempt, or one
        from a gateway, raises `NotFoundError`.
        """
        return await self._delete((ORGANIZATIONS, check_id("id", id)), **options)

    async def sync(
        self,
        records: Iterable[SyncItem] | AsyncIterable[SyncItem],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        prune: bool = False,
        dry_run: bool = False,
        on_event: EventCallback | None = None,
        rate_limiter: RateLimiter | Unset | None = UNSET,
    ) -> SyncReport:
        """Make WorkOS hold these organizations, keyed by their ``external_id``.

        Each record (an `OrganizationRecord`, or a mapping with ``external_id``, ``name``,
        ``domains``, ``metadata``) is looked up by external id, then created if missing,
        updated only where it differs, and otherwise left alone.  A record without
        ``domains`` or ``metadata`` leaves them as they are; ``[]`` or ``{}`` clears them.
        ``prune=True`` then deletes organizations whose external id is not in the input
        (those without one are never touched; if any record could not be identified, or
        there were no records at all, none are); ``dry_run=True`` reports what would change
        and writes nothing.  An external id with whitespace at its start or end fails its
        record (WorkOS would take it as another id), as does a domain state other than
        ``pending`` or ``verified``.

        ``records`` may be any iterable or async iterable: it is read as the work goes, with
        at most ``concurrency`` records in flight; memory grows only by ~150 bytes a record
        (its external id, to catch repeats).  A record that fails
        (a repeated external id too) is reported with its typed error and where it came from,
        and the job goes on; ``on_event`` hears every outcome, with the fields it changes
        (a coroutine function is awaited), and the worker waits for it: an error it raises
        stops the job there.
        If ``records`` itself raises, the records read are finished and `SyncInputError`
        (carrying the partial report) is raised; nothing is pruned.  An error no record could
        get past (a wrong or revoked key, a closed client, a rate limit it cannot wait out)
        stops the job with `SyncStoppedError`, carrying the partial report.
        ``report.failures`` keeps the first 1,000 failures.
        Requests are paced under WorkOS's limits by ``rate_limiter`` (default: the
        client's own, else a new `RateLimiter()`; ``None`` turns pacing off).  Re-running
        after a crash converges: nothing is created twice, nothing is lost::

            report = await client.organizations.sync(read_customers(), concurrency=16)
            print(report)  # created 12, updated 3, unchanged 985, deleted 0, failed 0
        """
        if rate_limiter is UNSET:
            rate_limiter = self._client.rate_limiter or RateLimiter()
        organizations = self
        if rate_limiter is not self._client.rate_limiter:
            organizations = Organizations(self._client.with_options(rate_limiter=rate_limiter))
        return await sync_organizations(
            organizations,
            records,
            concurrency=concurrency,
            prune=prune,
            dry_run=dry_run,
            on_event=on_event,
            until_closed=self._client._until_closed,
        )


class OrganizationsWithRawResponse(WithRawResponse[Organizations]):
    """``client.organizations.with_raw_response``: each call returns an `APIResponse`.

    ``list`` returns the first page's (use ``before=``/``after=`` for others).
    """

    list: Final = RawResponseMethod(Organizations.list)
    create: Final = RawResponseMethod(Organizations.create)
    get: Final = RawResponseMethod(Organizations.get)
    get_by_external_id: Final = RawResponseMethod(Organizations.get_by_external_id)
    update: Final = RawResponseMethod(Organizations.update)
    delete: Final = RawResponseMethod(Organizations.delete)
