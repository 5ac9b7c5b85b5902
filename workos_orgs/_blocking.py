"""`WorkOS`: the blocking client -- `AsyncWorkOS` run on an event loop thread it owns.

Every method is the async client's method of the same name, awaited on that loop: the same
arguments, models, errors, retries and exactly-once creates, one implementation of each.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import weakref
from collections.abc import Callable, Coroutine, Iterable, Iterator
from types import TracebackType
from typing import (
    Any,
    Concatenate,
    Final,
    Generic,
    ParamSpec,
    TypeVar,
    Unpack,
    get_args,
    get_origin,
    get_type_hints,
    overload,
)

import aiohttp

from ._base_client import ClientOptions
from ._blocking_pager import Pager
from ._bulk import DEFAULT_CONCURRENCY, SyncEvent, SyncItem, SyncReport, check_sync_options, read_item
from ._client import DEFAULT_TIMEOUT, AsyncWorkOS
from ._errors import InvalidArgumentError
from ._loop_thread import CallerInbox, LoopThread
from ._models import UNSET, Page, T, Unset
from ._organization_domains import OrganizationDomains
from ._organizations import Organizations
from ._pagination import AsyncPager
from ._resource import dress, method_signature, raw_response_type
from ._response import APIResponse
from ._retry import DEFAULT_MAX_RETRIES, Backoff
from ._throttle import RateLimiter

P = ParamSpec("P")
R = TypeVar("R")

LOOP_THREAD_NAME = "workos-orgs-loop"

_AsyncCall = Callable[[AsyncWorkOS], Coroutine[Any, Any, R]]


async def _closed(connector: aiohttp.BaseConnector) -> None:
    await connector.close()


def _let_go(session: aiohttp.ClientSession | None) -> None:
    """Mark a session a forked child inherited as closed, leaving its connections open.

    They are the parent's connections too: closing them here could end them for the parent
    (TLS sends a close alert).  Its event loop is closed already, and then aiohttp's connector
    close only marks itself closed and touches no connection (tests/blocking/test_lifecycle.py
    pins this: an aiohttp that changes it fails there).
    """
    if session is None:
        return
    connector = session.connector
    session.detach()
    if connector is not None:
        # What close() returns must be awaited (else aiohttp warns), on a loop that runs: the
        # session's own is closed, so a throwaway one.
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(_closed(connector))
        finally:
            loop.close()


def _remade(inherited: AsyncWorkOS) -> AsyncWorkOS:
    """A forked child's async client: the inherited one let go of, its configuration reopened."""
    _let_go(inherited.session)
    return inherited._reopened()


class _Runner:
    """What a blocking client, its views, resources and pagers call through: the loop thread,
    and the options of the view it runs calls on.

    It never refers back to any of them: with no reference cycle, dropping the last reference
    to a client ends its thread at once, by reference counting, not at some later cyclic
    collection (which could leave dropped clients' threads, loops and sessions alive).
    """

    def __init__(self, loop_thread: LoopThread[AsyncWorkOS], options: ClientOptions, owner: _Runner | None) -> None:
        self.loop_thread = loop_thread
        self.options = options
        # A view's runner keeps its client's alive: the thread ends when the last of them goes.
        self._owner = owner
        root = loop_thread.client
        self._view = (root, root.with_options(**options) if options else root)  # checks the options now

    def with_options(self, options: ClientOptions) -> _Runner:
        """The runner of a view with these options on top of this one's."""
        return _Runner(self.loop_thread, {**self.options, **options}, self._owner or self)

    def async_client(self) -> AsyncWorkOS:
        """The async client (or view of it) calls run against, in this process."""
        root = self.loop_thread.client
        made_from, view = self._view
        if made_from is not root:  # a forked child's new client
            view = root.with_options(**self.options) if self.options else root
            self._view = (root, view)
        return view

    def call(self, function: _AsyncCall[R], inbox: CallerInbox | None = None, *, reports_on_close: bool = False) -> R:
        """Await ``function(async client)`` on the loop thread; its result, or its error
        (see `LoopThread.call` for `inbox` and `reports_on_close`)."""
        return self.loop_thread.call(lambda _: function(self.async_client()), inbox, reports_on_close=reports_on_close)


_Made = TypeVar("_Made")


class _Resource(Generic[_Made]):
    """A resource of the blocking client, made with it (`WorkOS._bind`) and kept in its
    ``__dict__``: replaceable as any attribute is (``mock.patch.object``), and on the class a
    data descriptor, so that ``help(WorkOS)`` lists it with its docstring and
    ``mock.create_autospec`` leaves it open."""

    def __init__(self, kind: str, doc: str) -> None:
        self.__doc__ = doc
        self._kind = kind  # its class's name (defined further down)
        self._name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<{self._kind}, made with the client>"

    @overload
    def __get__(self, client: None, owner: type[Any]) -> _Resource[_Made]: ...

    @overload
    def __get__(self, client: WorkOS, owner: type[Any]) -> _Made: ...

    def __get__(self, client: WorkOS | None, owner: type[Any]) -> _Resource[_Made] | _Made:
        if client is None:
            return self
        try:
            resource: _Made = client.__dict__[self._name]
        except KeyError:
            raise AttributeError(f"this client has no {self._name}") from None
        return resource

    def __set__(self, client: WorkOS, resource: _Made) -> None:
        client.__dict__[self._name] = resource

    def __delete__(self, client: WorkOS) -> None:
        try:
            del client.__dict__[self._name]
        except KeyError:
            raise AttributeError(f"this client has no {self._name}") from None


class WorkOS:
    """A blocking client for the WorkOS Organizations API, for Django, Flask, Celery and
    scripts (not inside a running event loop, such as a notebook's: use `AsyncWorkOS` there).
    Make one per process, share it between threads, close it at the end::

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

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        attempt_timeout: float | Unset | None = UNSET,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = None,
        allow_insecure_http: bool = False,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        # Built here, so that a bad option fails now; a forked child's is built from it.
        client = AsyncWorkOS(
            api_key,
            base_url=base_url,
            timeout=timeout,
            attempt_timeout=attempt_timeout,
            max_retries=max_retries,
            backoff=backoff,
            allow_insecure_http=allow_insecure_http,
            rate_limiter=rate_limiter,
        )
        loop_thread = LoopThread(client, remake=_remade, name=LOOP_THREAD_NAME)
        runner = _Runner(loop_thread, {}, None)
        # Runs when the runner goes: after the client, its views, resources and pagers have.
        self._bind(runner, weakref.finalize(runner, loop_thread.close))

    def _bind(self, runner: _Runner, close: weakref.finalize[[], _Runner] | None) -> None:
        """Make this a client (``close`` given) or a view of one, calling through `runner`."""
        self._runner = runner
        self._close = close
        # Made now, not on first use: a lock held while making one (as functools.cached_property
        # holds one on 3.11) could be held by another thread at os.fork(), for ever in the child.
        self.organizations = BlockingOrganizations(runner)
        self.organization_domains = BlockingOrganizationDomains(runner)

    organizations: _Resource[BlockingOrganizations] = _Resource(
        "BlockingOrganizations",
        "Organizations: ``list``, ``create``, ``get``, ``get_by_external_id``, ``update``, ``delete``, ``sync``.",
    )
    organization_domains: _Resource[BlockingOrganizationDomains] = _Resource(
        "BlockingOrganizationDomains", "Organization domains: ``create``, ``get``, ``verify``, ``delete``."
    )

    def _async(self) -> AsyncWorkOS:
        return self._runner.async_client()

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._async().base_url

    @property
    def timeout(self) -> float | None:
        """The default socket timeout in seconds (None: no limit)."""
        return self._async().timeout

    @property
    def attempt_timeout(self) -> float | None:
        """The default hard bound in seconds on each attempt, from its connection (None: no limit)."""
        return self._async().attempt_timeout

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
        view = WorkOS.__new__(WorkOS)
        view._bind(self._runner.with_options(options), None)
        return view

    def close(self) -> None:
        """End the client's thread and close its connections; a call still in flight gets
        `ClientClosedError` (a `sync`, `SyncStoppedError` with its report).  Closing twice, or
        closing a view, does nothing; a close interrupted (Ctrl-C) is finished by the next."""
        if self._close is not None:
            self._runner.loop_thread.close()
            self._close.detach()  # nothing left for collection to do

    def __enter__(self) -> WorkOS:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        view = " view" if self._close is None else ""
        return f"<WorkOS{view} base_url={self.base_url!r} timeout={self.timeout!r} max_retries={self.max_retries}>"


_Start = Callable[[AsyncWorkOS], Any]
"""A call of an async method, given the async client to make it on."""


def _awaited(runner: _Runner, start: _Start) -> Any:
    """A coroutine method's blocking result: the coroutine, awaited on the loop thread."""
    return runner.call(start)


def _paged(runner: _Runner, start: _Start) -> Pager[Any]:
    """A listing's blocking result: its async pager (made here, so a bad argument is raised
    here and nothing is sent), walked by one task on the loop thread that hands each page over."""
    return Pager(runner.loop_thread, start, client=runner.async_client, owner=runner)


_PAGER_NOTE = (
    "\n\n        From the blocking client it returns a `Pager`: ``for`` over it (every item),"
    " or use ``.first_page()`` or ``.pages()``."
)


class BlockingMethod(Generic[P, R]):
    """A blocking client's method: the async method it is made from, called on the client's
    loop thread -- a coroutine awaited there, a listing's pager walked from the caller.  Its
    runtime signature is that method's, returning what the blocking call gives."""

    def __init__(
        self, method: Callable[Concatenate[Any, P], Any], returns: Any, run: Callable[[_Runner, _Start], Any]
    ) -> None:
        self._method = method
        self._signature = method_signature(method, returns)
        self._returns = returns
        self._run = run
        self._unbound_in: dict[type[Any], Callable[..., Any]] = {}

    @overload
    def __get__(self, resource: None, owner: type[Any]) -> Callable[Concatenate[Any, P], R]: ...

    @overload
    def __get__(self, resource: _BlockingResource, owner: type[Any]) -> Callable[P, R]: ...

    def __get__(
        self, resource: _BlockingResource | None, owner: type[Any]
    ) -> Callable[Concatenate[Any, P], R] | Callable[P, R]:
        name = self._method.__name__
        if resource is None:
            if owner not in self._unbound_in:
                self._unbound_in[owner] = self._unbound(owner)
            unbound: Callable[Concatenate[Any, P], R] = self._unbound_in[owner]
            return unbound
        runner, pick, run = resource._runner, resource._pick, self._run

        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            result: R = run(runner, lambda api: getattr(pick(api), name)(*args, **kwargs))
            return result

        self._dress(call, owner, self._signature)
        resource.__dict__[name] = call  # made once per resource object
        return call

    def _unbound(self, owner: type[Any]) -> Callable[Concatenate[Any, P], R]:
        """The method as its class gives it, taking the resource first, as a function defined
        there would: what ``help()`` on the class shows, with its signature and docstring."""

        def method(resource: _BlockingResource, /, *args: P.args, **kwargs: P.kwargs) -> R:
            bound: Callable[P, R] = self.__get__(resource, owner)
            return bound(*args, **kwargs)

        full = inspect.signature(self._method, eval_str=True).replace(return_annotation=self._returns)
        self._dress(method, owner, full)
        return method

    def _dress(self, call: Callable[..., Any], owner: type[Any], signature: inspect.Signature) -> None:
        dress(call, self._method, f"{owner.__name__}.{self._method.__name__}", signature)
        call.__doc__ = _blocking_doc(call.__doc__ or "")
        if self._run is _paged:
            call.__doc__ = call.__doc__.rstrip() + _PAGER_NOTE


def _blocking_doc(doc: str) -> str:
    """An async method's docstring as its blocking twin's: the examples call it without
    ``await``, and a listing is walked with ``for``."""
    doc = doc.replace("``async for`` over (every item) or ``await`` (first page)", "``for`` over (every item)")
    return re.sub(r"\bawait (?=client\.)", "", re.sub(r"\basync for\b", "for", doc))


def _item_type(returns: Any) -> Any | None:
    """What a listing yields, when `returns` is an `AsyncPager`; None otherwise."""
    return get_args(returns)[0] if get_origin(returns) is AsyncPager else None


@overload
def blocking(method: Callable[Concatenate[Any, P], AsyncPager[T]]) -> BlockingMethod[P, Pager[T]]: ...


@overload
def blocking(method: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]) -> BlockingMethod[P, R]: ...


def blocking(method: Callable[Concatenate[Any, P], Any]) -> BlockingMethod[P, Any]:
    """The blocking twin of an async resource method: a listing gives a blocking `Pager`."""
    generic_pager: Any = Pager
    returns = get_type_hints(method)["return"]
    item = _item_type(returns)
    if item is not None:
        return BlockingMethod(method, generic_pager[item], _paged)
    return BlockingMethod(method, returns, _awaited)


@overload
def blocking_raw(method: Callable[Concatenate[Any, P], AsyncPager[T]]) -> BlockingMethod[P, APIResponse[Page[T]]]: ...


@overload
def blocking_raw(
    method: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]],
) -> BlockingMethod[P, APIResponse[R]]: ...


def blocking_raw(method: Callable[Concatenate[Any, P], Any]) -> BlockingMethod[P, Any]:
    """The blocking twin of an async resource method's ``with_raw_response`` variant (for a
    listing, the first page's response)."""
    return BlockingMethod(method, raw_response_type(method), _awaited)


class _BlockingResource:
    """What a blocking resource is: the runner of the client it calls through, and which async
    resource (or raw-response view of one) its methods run on."""

    def __init__(self, runner: _Runner, pick: Callable[[AsyncWorkOS], Any]) -> None:
        self._runner = runner
        self._pick = pick


class BlockingOrganizationsWithRawResponse(_BlockingResource):
    """``client.organizations.with_raw_response``: each call returns an `APIResponse`.

    ``list`` returns one page (use ``before=``/``after=`` for others).
    """

    create: Final = blocking_raw(Organizations.create)
    get: Final = blocking_raw(Organizations.get)
    get_by_external_id: Final = blocking_raw(Organizations.get_by_external_id)
    update: Final = blocking_raw(Organizations.update)
    delete: Final = blocking_raw(Organizations.delete)
    list: Final = blocking_raw(Organizations.list)


_ASYNC_ON_EVENT: Final = (
    "on_event is called in your thread, where nothing would await what it returns: pass a plain"
    " function (def, not async def), or use AsyncWorkOS to have a coroutine function awaited."
)


def _called_in_this_thread(on_event: Callable[[SyncEvent], object]) -> Callable[[SyncEvent], None]:
    """`on_event`, refusing an awaitable it returns (nothing in the caller's thread runs it)."""

    def told(event: SyncEvent) -> None:
        returned: object = on_event(event)
        if inspect.isawaitable(returned):
            close = getattr(returned, "close", None)
            if callable(close):
                close()  # no "never awaited" warning on top of the error
            raise InvalidArgumentError(f"on_event returned an awaitable; {_ASYNC_ON_EVENT}")

    return told


class BlockingOrganizations(_BlockingResource):
    """Organizations: ``client.organizations`` of the blocking client.

    Each method is `Organizations`' method of the same name (same arguments, docstring,
    errors and exactly-once guarantees), returning its result instead of a coroutine.
    Every method but ``sync`` also takes the options `RequestOptions` lists (``timeout``,
    ``max_retries``, ...) for that call alone (a sync runs on ``client.with_options(...)`` for
    other settings);
    ``create`` takes an ``idempotency_key`` (one is generated when you pass none).
    """

    list: Final = blocking(Organizations.list)
    create: Final = blocking(Organizations.create)
    get: Final = blocking(Organizations.get)
    get_by_external_id: Final = blocking(Organizations.get_by_external_id)
    update: Final = blocking(Organizations.update)
    delete: Final = blocking(Organizations.delete)

    def __init__(self, runner: _Runner) -> None:
        super().__init__(runner, lambda api: api.organizations)
        self.with_raw_response: BlockingOrganizationsWithRawResponse = BlockingOrganizationsWithRawResponse(
            runner, lambda api: api.organizations.with_raw_response
        )
        """The same calls, returning `APIResponse` (status, headers, request id, ``parse()``)."""

    def sync(
        self,
        records: Iterable[SyncItem],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        prune: bool = False,
        dry_run: bool = False,
        on_event: Callable[[SyncEvent], object] | None = None,
        rate_limiter: RateLimiter | Unset | None = UNSET,
    ) -> SyncReport:
        """Make WorkOS hold these organizations, keyed by their ``external_id`` (see
        `Organizations.sync`)::

            report = client.organizations.sync(read_customers(), concurrency=16)

        ``records`` is read, and ``on_event`` called, in this thread (a database cursor or
        an ORM query works as it does anywhere else in your code).  An error raised by
        ``on_event`` stops the job and is raised here.
        """
        # Here too: on_event is wrapped below, and a wrapper is callable whatever it wraps.
        check_sync_options(
            records, concurrency=concurrency, prune=prune, dry_run=dry_run, on_event=on_event, blocking=True
        )
        if inspect.iscoroutinefunction(on_event):
            raise InvalidArgumentError(_ASYNC_ON_EVENT)
        inbox = CallerInbox()
        events = None if on_event is None else inbox.forward(_called_in_this_thread(on_event))
        return self._runner.call(
            lambda api: api.organizations.sync(
                inbox.iterate(_read_items(records)),
                concurrency=concurrency,
                prune=prune,
                dry_run=dry_run,
                on_event=events,
                rate_limiter=rate_limiter,
            ),
            inbox,
            reports_on_close=True,  # SyncStoppedError with the report, as from async code
        )


def _read_items(records: Iterable[SyncItem]) -> Iterator[SyncItem]:
    """`records`, each mapping read whole as it comes: in the caller's thread, where its values
    (a lazy ``domains``, an ORM row's fields) belong, as the iterator does."""
    for item in records:
        yield read_item(item)


class BlockingOrganizationDomainsWithRawResponse(_BlockingResource):
    """``client.organization_domains.with_raw_response``: each call returns an `APIResponse`."""

    create: Final = blocking_raw(OrganizationDomains.create)
    get: Final = blocking_raw(OrganizationDomains.get)
    verify: Final = blocking_raw(OrganizationDomains.verify)
    delete: Final = blocking_raw(OrganizationDomains.delete)


class BlockingOrganizationDomains(_BlockingResource):
    """Organization domains: ``client.organization_domains`` of the blocking client.

    Each method is `OrganizationDomains`' method of the same name, returning its result.
    Every method also takes the options `RequestOptions` lists (``timeout``, ``max_retries``,
    ...) for that call alone; the POSTs (``create``, ``verify``) take an ``idempotency_key``.
    """

    create: Final = blocking(OrganizationDomains.create)
    get: Final = blocking(OrganizationDomains.get)
    verify: Final = blocking(OrganizationDomains.verify)
    delete: Final = blocking(OrganizationDomains.delete)

    def __init__(self, runner: _Runner) -> None:
        super().__init__(runner, lambda api: api.organization_domains)
        self.with_raw_response: BlockingOrganizationDomainsWithRawResponse = BlockingOrganizationDomainsWithRawResponse(
            runner, lambda api: api.organization_domains.with_raw_response
        )
        """The same calls, returning `APIResponse` (status, headers, request id, ``parse()``)."""
