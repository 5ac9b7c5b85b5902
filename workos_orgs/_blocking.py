"""`WorkOS`: the blocking client -- `AsyncWorkOS` run on an event loop thread it owns.

Every method is the async client's method of the same name, awaited on that loop: the same
arguments, models, errors, retries and exactly-once creates, one implementation of each.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Callable, Coroutine, Iterable, Sequence
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, Unpack, get_type_hints, overload

import aiohttp

from ._base_client import ClientOptions
from ._blocking_pager import Pager
from ._bulk import DEFAULT_CONCURRENCY, SyncEvent, SyncItem, SyncReport
from ._client import API_KEY_ENV_VAR, DEFAULT_TIMEOUT, AsyncWorkOS
from ._contract import Order
from ._loop_thread import CallerInbox, LoopThread
from ._models import UNSET, Organization, Page, Unset
from ._organization_domains import OrganizationDomains
from ._organizations import Organizations
from ._resource import RequestOptions, dress, method_signature
from ._response import APIResponse
from ._retry import DEFAULT_MAX_RETRIES, Backoff
from ._throttle import RateLimiter

P = ParamSpec("P")
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
        self._options: ClientOptions = {}
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

    def with_options(self, **options: Unpack[ClientOptions]) -> WorkOS:
        """A view of this client with other defaults (`ClientOptions`), sharing its thread and
        connections::

            patient = client.with_options(timeout=120, max_retries=5)

        Only the client it came from owns them: closing a view does nothing.
        """
        options = {**self._options, **options}
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


class BlockingMethod(Generic[P, R]):
    """A blocking client's method: the async method it is made from, awaited on the client's
    loop thread.  Its runtime signature is that method's, returning what the await gives."""

    def __init__(self, method: Callable[Concatenate[Any, P], Coroutine[Any, Any, Any]], returns: Any) -> None:
        self._method = method
        self._signature = method_signature(method, returns)

    @overload
    def __get__(self, resource: None, owner: type[Any]) -> BlockingMethod[P, R]: ...

    @overload
    def __get__(self, resource: _BlockingResource, owner: type[Any]) -> Callable[P, R]: ...

    def __get__(self, resource: _BlockingResource | None, owner: type[Any]) -> BlockingMethod[P, R] | Callable[P, R]:
        if resource is None:
            return self
        name = self._method.__name__
        client, pick = resource._client, resource._pick

        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            result: R = client._call(lambda api: getattr(pick(api), name)(*args, **kwargs))
            return result

        dress(call, self._method, f"{owner.__name__}.{name}", self._signature)
        resource.__dict__[name] = call  # made once per resource object
        return call


def blocking(method: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]) -> BlockingMethod[P, R]:
    """The blocking twin of an async resource method."""
    return BlockingMethod(method, get_type_hints(method)["return"])


def blocking_raw(
    method: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]],
) -> BlockingMethod[P, APIResponse[R]]:
    """The blocking twin of an async resource method's ``with_raw_response`` variant."""
    generic_response: Any = APIResponse
    return BlockingMethod(method, generic_response[get_type_hints(method)["return"]])


class _BlockingResource:
    """What a blocking resource is: the client it calls through, and which async resource
    (or raw-response view of one) its methods run on."""

    def __init__(self, client: WorkOS, pick: Callable[[AsyncWorkOS], Any]) -> None:
        self._client = client
        self._pick = pick


class BlockingOrganizationsWithRawResponse(_BlockingResource):
    """``client.organizations.with_raw_response``: each call returns an `APIResponse`.

    ``list`` returns one page (use ``before=``/``after=`` for others).
    """

    create = blocking_raw(Organizations.create)
    get = blocking_raw(Organizations.get)
    get_by_external_id = blocking_raw(Organizations.get_by_external_id)
    update = blocking_raw(Organizations.update)
    delete = blocking_raw(Organizations.delete)

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


class BlockingOrganizations(_BlockingResource):
    """Organizations: ``client.organizations`` of the blocking client.

    Each method is `Organizations`' method of the same name (same arguments, docstring,
    errors and exactly-once guarantees), returning its result instead of a coroutine.
    Every method also takes ``timeout``, ``max_retries`` and ``extra_headers`` for that call
    alone; ``create`` takes an ``idempotency_key`` (one is generated when you pass none).
    """

    create = blocking(Organizations.create)
    get = blocking(Organizations.get)
    get_by_external_id = blocking(Organizations.get_by_external_id)
    update = blocking(Organizations.update)
    delete = blocking(Organizations.delete)

    def __init__(self, client: WorkOS) -> None:
        super().__init__(client, lambda api: api.organizations)
        self.with_raw_response = BlockingOrganizationsWithRawResponse(
            client, lambda api: api.organizations.with_raw_response
        )
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
        Starting from ``before=`` walks backwards, nearest items first.  Nothing is sent
        until the pager is used::

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


class BlockingOrganizationDomainsWithRawResponse(_BlockingResource):
    """``client.organization_domains.with_raw_response``: each call returns an `APIResponse`."""

    create = blocking_raw(OrganizationDomains.create)
    get = blocking_raw(OrganizationDomains.get)
    verify = blocking_raw(OrganizationDomains.verify)
    delete = blocking_raw(OrganizationDomains.delete)


class BlockingOrganizationDomains(_BlockingResource):
    """Organization domains: ``client.organization_domains`` of the blocking client.

    Each method is `OrganizationDomains`' method of the same name, returning its result.
    Every method also takes ``timeout``, ``max_retries`` and ``extra_headers`` for that call
    alone; the POSTs (``create``, ``verify``) take an ``idempotency_key``.
    """

    create = blocking(OrganizationDomains.create)
    get = blocking(OrganizationDomains.get)
    verify = blocking(OrganizationDomains.verify)
    delete = blocking(OrganizationDomains.delete)

    def __init__(self, client: WorkOS) -> None:
        super().__init__(client, lambda api: api.organization_domains)
        self.with_raw_response = BlockingOrganizationDomainsWithRawResponse(
            client, lambda api: api.organization_domains.with_raw_response
        )
        """The same calls, returning `APIResponse` (status, headers, request id, ``parse()``)."""
