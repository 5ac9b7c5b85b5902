"""``client.organizations``: list, create, get, get by external ID, update, delete."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from typing import Any, Unpack

from ._bulk import DEFAULT_CONCURRENCY, SyncEvent, SyncItem, SyncReport, sync_organizations
from ._contract import Order
from ._errors import BadRequestError, ConflictError, InvalidArgumentError, NotFoundError, WorkOSError
from ._models import (
    UNSET,
    DomainData,
    ListMetadata,
    Organization,
    Page,
    Unset,
    structure_list_metadata,
    structure_organization,
)
from ._pagination import AsyncPager, RawPage, check_max_items
from ._protocol import (
    Direction,
    check_id,
    list_query,
    outcome_unknown,
    pagination_direction,
    unanswered,
    walks_in_display_order,
)
from ._resource import APIResponse, Requester, RequestOptions, error_response, json_parser, no_content, parsed
from ._throttle import RateLimiter

DomainDataInput = DomainData | Mapping[str, str]
"""A domain to attach: a `DomainData`, or a mapping with ``domain`` and ``state``."""

ORGANIZATIONS = "organizations"


def _organization(data: Any) -> Organization:
    return structure_organization(data, Organization)  # type: ignore[no-any-return]


def _organization_page(data: Any) -> Page[Organization]:
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise TypeError("expected a list object with a data array")
    list_metadata = data.get("list_metadata")
    if list_metadata is None:
        list_metadata = {}
    elif not isinstance(list_metadata, dict):
        raise TypeError("expected list_metadata to be an object")
    organizations = tuple(structure_organization(item, Organization) for item in data["data"])
    return Page(organizations, structure_list_metadata(list_metadata, ListMetadata))


_parse_organization = json_parser(_organization)
_parse_organization_page = json_parser(_organization_page)


def _may_have_created(error: WorkOSError) -> bool:
    """Whether a failed create with an external id may have made the organization after all:
    no attempt answered definitively, or one whose outcome is unknown was followed by a 400 or
    409 -- ``external_id_already_used``, or any other uniqueness check (``domain_already_exists``)
    that the API may run before the external id's and that our own earlier attempt would trip.
    The lookup that follows only accepts an organization with the same name and external id."""
    if unanswered(error):
        return True
    return isinstance(error, BadRequestError | ConflictError) and outcome_unknown(error)


def _domain_data(entries: Sequence[DomainDataInput]) -> list[dict[str, str]]:
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise InvalidArgumentError(
            "domain_data must be a list of DomainData, e.g. [DomainData('acme.com', DomainState.VERIFIED)]."
        )
    body = []
    for index, entry in enumerate(entries):
        if isinstance(entry, DomainData):
            domain, state = entry.domain, entry.state
        elif isinstance(entry, Mapping) and "domain" in entry:
            domain, state = entry["domain"], entry.get("state", "pending")
        else:
            raise InvalidArgumentError(
                f"domain_data[{index}] must be a DomainData(domain, state) or a mapping with domain and state;"
                f" got {entry!r}."
            )
        if not isinstance(domain, str) or not domain.strip():
            raise InvalidArgumentError(f"domain_data[{index}].domain must be a domain name such as 'acme.com'.")
        body.append({"domain": domain, "state": str(state)})
    return body


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
        body["external_id"] = external_id
    if metadata is not UNSET:
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidArgumentError("metadata must be a mapping of strings, or None.")
        body["metadata"] = None if metadata is None else dict(metadata)
    if allow_profiles_outside_organization is not UNSET:
        body["allow_profiles_outside_organization"] = allow_profiles_outside_organization
    if stripe_customer_id is not UNSET:
        body["stripe_customer_id"] = stripe_customer_id
    return body


class Organizations:
    """Organizations: ``client.organizations``.

    Every method also takes ``timeout``, ``max_retries`` and ``extra_headers`` for that call
    alone; ``create`` takes an ``idempotency_key`` (one is generated when you pass none).
    """

    def __init__(self, client: Requester) -> None:
        self._client = client
        self.with_raw_response = OrganizationsWithRawResponse(self)
        """The same calls, returning `APIResponse` (status, headers, request id, ``parse()``)."""

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
        """
        filters = list_query(limit=limit, order=order, before=None, after=None, domains=domains, search=search)
        # Checked now, so that a bad argument fails at the call, not at the first page.
        list_query(limit=None, order=None, before=before, after=after, domains=None, search=None)
        check_max_items(max_items)
        checked_order = None if order is None else Order(order)

        async def fetch(direction: Direction, cursor: str | None) -> RawPage[Organization]:
            query = filters if cursor is None else [*filters, (direction, cursor)]
            response = await self._client._request(
                "GET",
                (ORGANIZATIONS,),
                query=query,
                **options,
            )
            return RawPage.of(response, _organization_page)

        direction = pagination_direction(checked_order, before=before, after=after)
        return AsyncPager(
            fetch,
            direction=direction,
            cursor=before if before is not None else after,
            max_items=max_items,
            in_display_order=walks_in_display_order(checked_order, direction),
        )

    async def _list_page(
        self,
        *,
        limit: int | None = None,
        order: Order | str | None = None,
        before: str | None = None,
        after: str | None = None,
        domains: Sequence[str] | None = None,
        search: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[Page[Organization]]:
        """One page of organizations, as it came (see `list` for the arguments)."""
        query = list_query(limit=limit, order=order, before=before, after=after, domains=domains, search=search)
        response = await self._client._request("GET", (ORGANIZATIONS,), query=query, **options)
        return APIResponse(response, _parse_organization_page)

    async def _create(
        self,
        *,
        name: str,
        domain_data: Sequence[DomainDataInput] | Unset = UNSET,
        external_id: str | Unset | None = UNSET,
        metadata: Mapping[str, str] | Unset | None = UNSET,
        allow_profiles_outside_organization: bool | Unset = UNSET,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[Organization]:
        """Create an organization.

        ``domain_data`` attaches domains (``DomainData("acme.com", DomainState.VERIFIED)``);
        ``external_id`` is your own ID for it (unique); ``metadata`` maps strings to strings::

            organization = await client.organizations.create(name="Acme", external_id="acme-1")

        Exactly once: every retry of the call reuses one ``Idempotency-Key``.  WorkOS documents
        that key only for audit-log events, so the SDK does not rely on it alone when you pass
        an ``external_id``: if some attempt's outcome was unknown (a dropped connection, a
        timeout, a 5xx) and a later one answers a 400 or 409 (``external_id_already_used``,
        ``domain_already_exists``, ...), or none of them answers at all, the organization is looked up by its external id and returned (when
        its name is the one you asked for) instead of made twice or reported as a failure.
        If the lookup finds nothing, the original error is raised, and retrying the create
        is then safe.  A first, definitive 400 or 409 still raises (`BadRequestError`,
        `ConflictError`).  With ``with_raw_response`` the answer returned is then the
        lookup's.

        Without an ``external_id`` only the ``Idempotency-Key`` protects you: should the API
        not honour it, a create whose answer was lost and was retried may make a second
        organization.  Pass an ``external_id`` when a duplicate would matter, or
        ``max_retries=0`` and decide yourself.
        """
        body = _organization_body(
            name=name,
            domain_data=domain_data,
            external_id=external_id,
            metadata=metadata,
            allow_profiles_outside_organization=allow_profiles_outside_organization,
        )
        try:
            response = await self._client._request(
                "POST",
                (ORGANIZATIONS,),
                json=body,
                idempotency_key=idempotency_key,
                **options,
            )
        except WorkOSError as error:
            if not isinstance(external_id, str) or not _may_have_created(error):
                raise
            found = await self._find_created(external_id, name, **options)
            if found is None:
                raise
            return found
        return APIResponse(response, _parse_organization)

    async def _find_created(
        self,
        external_id: str,
        name: str,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[Organization] | None:
        """The organization an uncertain create may have made, or None when there is none (or
        none that can be told apart from someone else's: another name, or no answer)."""
        try:
            found = await self._get_by_external_id(external_id, **options)
            organization = found.parse()
        except WorkOSError:
            return None
        return found if organization.name == name and organization.external_id == external_id else None

    async def _get(
        self,
        id: str,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[Organization]:
        """Get an organization by its ID (``org_...``); `NotFoundError` when there is none."""
        response = await self._client._request(
            "GET",
            (ORGANIZATIONS, check_id("id", id)),
            **options,
        )
        return APIResponse(response, _parse_organization)

    async def _get_by_external_id(
        self,
        external_id: str,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[Organization]:
        """Get an organization by the ``external_id`` you gave it; `NotFoundError` when there is none."""
        response = await self._client._request(
            "GET",
            (ORGANIZATIONS, "external_id", check_id("external_id", external_id)),
            **options,
        )
        return APIResponse(response, _parse_organization)

    async def _update(
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
    ) -> APIResponse[Organization]:
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
        response = await self._client._request(
            "PUT",
            (ORGANIZATIONS, check_id("id", id)),
            json=body,
            **options,
        )
        return APIResponse(response, _parse_organization)

    async def _delete(
        self,
        id: str,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[None]:
        """Delete an organization and its domains; returns None.

        A 404 counts as done when an earlier attempt of this call had an unknown outcome
        (that attempt deleted it); a 404 on the first attempt raises `NotFoundError`.
        """
        try:
            response = await self._client._request(
                "DELETE",
                (ORGANIZATIONS, check_id("id", id)),
                **options,
            )
        except NotFoundError as error:
            if not outcome_unknown(error):
                raise
            return APIResponse(error_response(error), no_content)
        return APIResponse(response, no_content)

    async def sync(
        self,
        records: Iterable[SyncItem] | AsyncIterable[SyncItem],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        prune: bool = False,
        dry_run: bool = False,
        on_event: Callable[[SyncEvent], None] | None = None,
        rate_limiter: RateLimiter | Unset | None = UNSET,
    ) -> SyncReport:
        """Make WorkOS hold these organizations, keyed by their ``external_id``.

        Each record (an `OrganizationRecord`, or a mapping with ``external_id``, ``name``,
        ``domains``, ``metadata``) is looked up by external id, then created if missing,
        updated only where it differs, and otherwise left alone.  A record without
        ``domains`` or ``metadata`` leaves them as they are; ``[]`` or ``{}`` clears them.
        ``prune=True`` then deletes organizations whose external id is not in the input
        (those without one are never touched; if any record could not be identified, none
        are); ``dry_run=True`` reports what would change and writes nothing.

        ``records`` may be any iterable or async iterable: it is read as the work goes, with
        at most ``concurrency`` records in flight, so memory stays flat.  A record that fails
        (a repeated external id too) is reported with its typed error and where it came from,
        and the job goes on; ``on_event`` hears every outcome, with the fields it changes.
        If ``records`` itself raises, the records read are finished and `SyncInputError`
        (carrying the partial report) is raised; nothing is pruned.  Requests are paced under WorkOS's limits by ``rate_limiter`` (default: the
        client's own, else a new `RateLimiter()`; ``None`` turns pacing off).  Re-running
        after a crash converges: nothing is created twice, nothing is lost::

            report = await client.organizations.sync(read_customers(), concurrency=16)
            print(report)  # created 12, updated 3, unchanged 985, deleted 0, failed 0
        """
        if rate_limiter is UNSET:
            rate_limiter = self._client.rate_limiter or RateLimiter()
        organizations = self
        if rate_limiter is not self._client.rate_limiter:
            organizations = self._client.with_options(rate_limiter=rate_limiter).organizations
        return await sync_organizations(
            organizations, records, concurrency=concurrency, prune=prune, dry_run=dry_run, on_event=on_event
        )

    create = parsed(_create)
    get = parsed(_get)
    get_by_external_id = parsed(_get_by_external_id)
    update = parsed(_update)
    delete = parsed(_delete)


class OrganizationsWithRawResponse:
    """``client.organizations.with_raw_response``: each call returns an `APIResponse`.

    ``list`` returns one page (use ``before=``/``after=`` for others).
    """

    def __init__(self, organizations: Organizations) -> None:
        self.list = organizations._list_page
        self.create = organizations._create
        self.get = organizations._get
        self.get_by_external_id = organizations._get_by_external_id
        self.update = organizations._update
        self.delete = organizations._delete
