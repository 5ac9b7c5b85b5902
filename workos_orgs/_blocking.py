"""`WorkOS`: the blocking client -- `AsyncWorkOS` run on an event loop thread it owns.

Every method is the async client's method of the same name, awaited on that loop: the same
arguments, models, errors, retries and exactly-once creates, one implementation of each.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, Unpack

import aiohttp

from ._blocking_pager import Pager
from ._bulk import DEFAULT_CONCURRENCY, SyncEvent, SyncItem, SyncReport
from ._client import API_KEY_ENV_VAR, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, AsyncWorkOS
from ._contract import Order
from ._loop_thread import CallerInbox, LoopThread
from ._models import UNSET, Organization, OrganizationDomain, Page, Unset
from ._organizations import DomainDataInput
from ._resource import RequestOptions
from ._response import APIResponse
from ._retry import Backoff
from ._throttle import RateLimiter

R = TypeVar("R")

LOOP_THREAD_NAME = "workos-orgs-loop"

_AsyncCall = Callable[[AsyncWorkOS], Coroutine[Any, Any, R]]


def _let_go(session: aiohttp.ClientSession | None) -> None:
    """Mark a session a forked child inherited as closed, leaving its connections open.

    They are the parent's connections too: closing them here could end them for the parent
    (TLS sends a close alert).  Its event loop is closed already, so aiohttp's connector
    close only marks itself closed and touches no connection -- and neither warns at exit.
    """
    if session is None:
        return
    connector = session.connector
    session.detach()
    if connector is not None:
        # With its loop closed the connector has nothing to wait for: one step finishes it.
        with contextlib.suppress(StopIteration):
            connector.close().__await__().send(None)


class WorkOS:
    """A blocking client for the WorkOS Organizations API, for Django, Flask, Celery, scripts
    and notebooks.  Make one per process, share it between threads, close it at the end::

        with WorkOS() as client:  # reads WORKOS_API_KEY
            organization = client.organizations.get("org_01H...")
            for organization in client.organizations.list(limit=100):
                print(organization.name)

    It takes `AsyncWorkOS`'s options (but no ``session``: its connections live on the
    client's own event loop thread, which starts with the first call and ends with
    ``close()``, the ``with`` block, or the interpreter).  After ``os.fork()`` the child
    starts a thread and connections of its own.  Calling it from inside a running event
    loop raises `BlockingCallInEventLoopError`: there, use `AsyncWorkOS`.
    """

    organizations: BlockingOrganizations
    """Organizations: ``list``, ``create``, ``get``, ``get_by_external_id``, ``update``, ``delete``, ``sync``."""
    organization_domains: BlockingOrganizationDomains
    """Organization domains: ``create``, ``get``, ``verify``, ``delete``."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = None,
        allow_insecure_http: bool = False,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get(API_KEY_ENV_VAR)
        # Built here, so that a bad option fails now; built again, the same, in a forked child.
        client = AsyncWorkOS(
            api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            allow_insecure_http=allow_insecure_http,
            rate_limiter=rate_limiter,
        )
        resolved_base_url = client.base_url

        def remake(inherited: AsyncWorkOS) -> AsyncWorkOS:
            _let_go(inherited.session)
            return AsyncWorkOS(
                api_key,
                base_url=resolved_base_url,
                timeout=timeout,
                max_retries=max_retries,
                backoff=backoff,
                allow_insecure_http=allow_insecure_http,
                rate_limiter=rate_limiter,
            )

        self._loop_thread = LoopThread(client, remake=remake, name=LOOP_THREAD_NAME)
        self._close = weakref.finalize(self, self._loop_thread.close)
        self._root: WorkOS | None = None
        self._options: dict[str, Any] = {}
        self._view: tuple[AsyncWorkOS, AsyncWorkOS] = (client, client)
        self.organizations = BlockingOrganizations(self)
        self.organization_domains = BlockingOrganizationDomains(self)

    def _async(self) -> AsyncWorkOS:
        """The async client (or view of it) this client's calls run against, in this process."""
        root = self._loop_thread.client
        made_from, view = self._view
        if made_from is not root:  # a forked child's new client
            view = root.with_options(**self._options) if self._options else root
            self._view = (root, view)
        return view

    def _call(self, function: _AsyncCall[R], inbox: CallerInbox | None = None) -> R:
        return self._loop_thread.call(lambda _: function(self._async()), inbox)

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._async().base_url

    @property
    def timeout(self) -> float | None:
        """The default socket timeout in seconds (None: no limit)."""
        return self._async().timeout

    @property
    def max_retries(self) -> int:
        """The default number of retries."""
        return self._async().max_retries

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The limiter that paces this client's requests, if any."""
        return self._async().rate_limiter

    def with_options(
        self,
        *,
        timeout: float | Unset | None = UNSET,
        max_retries: int | Unset = UNSET,
        backoff: Backoff | Unset = UNSET,
        rate_limiter: RateLimiter | Unset | None = UNSET,
    ) -> WorkOS:
        """A view of this client with other defaults, sharing its thread and connections::

            patient = client.with_options(timeout=120, max_retries=5)

        Only the client it came from owns them: closing a view does nothing.
        """
        given = {"timeout": timeout, "max_retries": max_retries, "backoff": backoff, "rate_limiter": rate_limiter}
        options = {**self._options, **{name: value for name, value in given.items() if value is not UNSET}}
        root = self._loop_thread.client
        view = object.__new__(WorkOS)
        view._loop_thread = self._loop_thread
        view._close = self._close
        view._root = self._root or self
        view._options = options
        view._view = (root, root.with_options(**options))  # checks the options now
        view.organizations = BlockingOrganizations(view)
        view.organization_domains = BlockingOrganizationDomains(view)
        return view

    def close(self) -> None:
        """End the client's thread and close its connections; a call still in flight gets
        `ClientClosedError`.  Closing twice, or closing a view, does nothing."""
        if self._root is None:
            self._close()

    def __enter__(self) -> WorkOS:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        view = " view" if self._root is not None else ""
        return f"<WorkOS{view} base_url={self.base_url!r} timeout={self.timeout!r} max_retries={self.max_retries}>"


class BlockingOrganizations:
    """Organizations: ``client.organizations`` of the blocking client.

    Every method also takes ``timeout``, ``max_retries`` and ``extra_headers`` for that call
    alone; ``create`` takes an ``idempotency_key`` (one is generated when you pass none).
    """

    def __init__(self, client: WorkOS) -> None:
        self._client = client
        self.with_raw_response = BlockingOrganizationsWithRawResponse(client)
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
    ) -> Pager[Organization]:
        """List organizations: a `Pager` to ``for`` over (every item), or ``.first_page()``.

        ``limit`` is the page size (1..100), ``max_items`` the most items to yield overall.
        ``domains`` keeps organizations with any of those domains; ``search`` matches names.
        Starting from ``before=`` walks backwards.  Nothing is sent until the pager is used::

            for organization in client.organizations.list(domains=["acme.com"]):
                ...
        """
        pager = self._client._async().organizations.list(
            limit=limit,
            order=order,
            before=before,
            after=after,
            domains=domains,
            search=search,
            max_items=max_items,
            **options,
        )
        return Pager(self._client._loop_thread, pager, owner=self._client)

    def create(
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
        """Create an organization, exactly once (see `Organizations.create`)::

        organization = client.organizations.create(name="Acme", external_id="acme-1")
        """
        return self._client._call(
            lambda api: api.organizations.create(
                name=name,
                domain_data=domain_data,
                external_id=external_id,
                metadata=metadata,
                allow_profiles_outside_organization=allow_profiles_outside_organization,
                idempotency_key=idempotency_key,
                **options,
            )
        )

    def get(self, id: str, **options: Unpack[RequestOptions]) -> Organization:
        """Get an organization by its ID (``org_...``); `NotFoundError` when there is none."""
        return self._client._call(lambda api: api.organizations.get(id, **options))

    def get_by_external_id(self, external_id: str, **options: Unpack[RequestOptions]) -> Organization:
        """Get an organization by the ``external_id`` you gave it; `NotFoundError` when there is none."""
        return self._client._call(lambda api: api.organizations.get_by_external_id(external_id, **options))

    def update(
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
        """Change an organization; only the arguments you pass are sent (``None`` clears a field)."""
        return self._client._call(
            lambda api: api.organizations.update(
                id,
                name=name,
                domain_data=domain_data,
                external_id=external_id,
                metadata=metadata,
                stripe_customer_id=stripe_customer_id,
                allow_profiles_outside_organization=allow_profiles_outside_organization,
                **options,
            )
        )

    def delete(self, id: str, **options: Unpack[RequestOptions]) -> None:
        """Delete an organization and its domains, exactly once (see `Organizations.delete`)."""
        return self._client._call(lambda api: api.organizations.delete(id, **options))

    def sync(
        self,
        records: Iterable[SyncItem],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        prune: bool = False,
        dry_run: bool = False,
        on_event: Callable[[SyncEvent], None] | None = None,
        rate_limiter: RateLimiter | Unset | None = UNSET,
    ) -> SyncReport:
        """Make WorkOS hold these organizations, keyed by their ``external_id`` (see
        `Organizations.sync`)::

            report = client.organizations.sync(read_customers(), concurrency=16)

        ``records`` is read, and ``on_event`` called, in this thread (a database cursor or
        an ORM query works as it does anywhere else in your code).  An error raised by
        ``on_event`` stops the job and is raised here.
        """
        inbox = CallerInbox()
        events = None if on_event is None else inbox.forward(on_event)
        return self._client._call(
            lambda api: api.organizations.sync(
                inbox.iterate(records),
                concurrency=concurrency,
                prune=prune,
                dry_run=dry_run,
                on_event=events,
                rate_limiter=rate_limiter,
            ),
            inbox,
        )


class BlockingOrganizationsWithRawResponse:
    """``client.organizations.with_raw_response``: each call returns an `APIResponse`.

    ``list`` returns one page (use ``before=``/``after=`` for others).
    """

    def __init__(self, client: WorkOS) -> None:
        self._client = client

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
    ) -> APIResponse[Page[Organization]]:
        """The first page of organizations, as it came (cut at `max_items` when parsed)."""
        return self._client._call(
            lambda api: api.organizations.with_raw_response.list(
                limit=limit,
                order=order,
                before=before,
                after=after,
                domains=domains,
                search=search,
                max_items=max_items,
                **options,
            )
        )

    def create(
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
        """Create an organization, exactly once; the response as it came."""
        return self._client._call(
            lambda api: api.organizations.with_raw_response.create(
                name=name,
                domain_data=domain_data,
                external_id=external_id,
                metadata=metadata,
                allow_profiles_outside_organization=allow_profiles_outside_organization,
                idempotency_key=idempotency_key,
                **options,
            )
        )

    def get(self, id: str, **options: Unpack[RequestOptions]) -> APIResponse[Organization]:
        """Get an organization by its ID; the response as it came."""
        return self._client._call(lambda api: api.organizations.with_raw_response.get(id, **options))

    def get_by_external_id(self, external_id: str, **options: Unpack[RequestOptions]) -> APIResponse[Organization]:
        """Get an organization by its ``external_id``; the response as it came."""
        return self._client._call(
            lambda api: api.organizations.with_raw_response.get_by_external_id(external_id, **options)
        )

    def update(
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
        """Change an organization; the response as it came."""
        return self._client._call(
            lambda api: api.organizations.with_raw_response.update(
                id,
                name=name,
                domain_data=domain_data,
                external_id=external_id,
                metadata=metadata,
                stripe_customer_id=stripe_customer_id,
                allow_profiles_outside_organization=allow_profiles_outside_organization,
                **options,
            )
        )

    def delete(self, id: str, **options: Unpack[RequestOptions]) -> APIResponse[None]:
        """Delete an organization, exactly once; the response as it came."""
        return self._client._call(lambda api: api.organizations.with_raw_response.delete(id, **options))


class BlockingOrganizationDomains:
    """Organization domains: ``client.organization_domains`` of the blocking client.

    Every method also takes ``timeout``, ``max_retries`` and ``extra_headers`` for that call
    alone; the POSTs (``create``, ``verify``) take an ``idempotency_key``.
    """

    def __init__(self, client: WorkOS) -> None:
        self._client = client
        self.with_raw_response = BlockingOrganizationDomainsWithRawResponse(client)
        """The same calls, returning `APIResponse` (status, headers, request id, ``parse()``)."""

    def create(
        self,
        *,
        organization_id: str,
        domain: str,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> OrganizationDomain:
        """Add a domain to an organization, pending DNS verification (see `OrganizationDomains.create`)::

        domain = client.organization_domains.create(organization_id=org.id, domain="acme.com")
        """
        return self._client._call(
            lambda api: api.organization_domains.create(
                organization_id=organization_id, domain=domain, idempotency_key=idempotency_key, **options
            )
        )

    def get(self, id: str, **options: Unpack[RequestOptions]) -> OrganizationDomain:
        """Get a domain by its ID (``org_domain_...``); `NotFoundError` when there is none."""
        return self._client._call(lambda api: api.organization_domains.get(id, **options))

    def verify(
        self, id: str, *, idempotency_key: str | None = None, **options: Unpack[RequestOptions]
    ) -> OrganizationDomain:
        """Start verifying a domain; the returned domain's ``state`` tells how it went."""
        return self._client._call(
            lambda api: api.organization_domains.verify(id, idempotency_key=idempotency_key, **options)
        )

    def delete(self, id: str, **options: Unpack[RequestOptions]) -> None:
        """Remove a domain from its organization, exactly once; returns None."""
        return self._client._call(lambda api: api.organization_domains.delete(id, **options))


class BlockingOrganizationDomainsWithRawResponse:
    """``client.organization_domains.with_raw_response``: each call returns an `APIResponse`."""

    def __init__(self, client: WorkOS) -> None:
        self._client = client

    def create(
        self,
        *,
        organization_id: str,
        domain: str,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[OrganizationDomain]:
        """Add a domain to an organization; the response as it came."""
        return self._client._call(
            lambda api: api.organization_domains.with_raw_response.create(
                organization_id=organization_id, domain=domain, idempotency_key=idempotency_key, **options
            )
        )

    def get(self, id: str, **options: Unpack[RequestOptions]) -> APIResponse[OrganizationDomain]:
        """Get a domain by its ID; the response as it came."""
        return self._client._call(lambda api: api.organization_domains.with_raw_response.get(id, **options))

    def verify(
        self, id: str, *, idempotency_key: str | None = None, **options: Unpack[RequestOptions]
    ) -> APIResponse[OrganizationDomain]:
        """Start verifying a domain; the response as it came."""
        return self._client._call(
            lambda api: api.organization_domains.with_raw_response.verify(
                id, idempotency_key=idempotency_key, **options
            )
        )

    def delete(self, id: str, **options: Unpack[RequestOptions]) -> APIResponse[None]:
        """Remove a domain from its organization; the response as it came."""
        return self._client._call(lambda api: api.organization_domains.with_raw_response.delete(id, **options))
