"""The base of every resource: its HTTP verbs, exactly-once recovery, listing, and raw responses.

A resource writes each API call once, as a public ``async def`` with its docstring and true
return type, on top of `APIResource._get`, ``_post``, ``_put``, ``_delete`` and ``_list``.
Its ``with_raw_response`` view is derived from those public methods by `RawResponseMethod`:
the same call, returning the `APIResponse` (status, headers, request id, ``parse()``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import (
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    Protocol,
    Self,
    TypedDict,
    TypeVar,
    Unpack,
    get_args,
    get_origin,
    get_type_hints,
    overload,
)

import attrs

from ._base_client import BaseClient
from ._errors import (
    APIStatusError,
    ResponseValidationError,
    UnexpectedOptionError,
    WorkOSError,
    is_entity_not_found,
)
from ._models import Page, T
from ._pagination import AsyncPager, Listing, Query, paginate
from ._request import Method
from ._response import APIResponse, Response, error_response, no_content
from ._retry import outcome_unknown

P = ParamSpec("P")
R = TypeVar("R")
ResourceT = TypeVar("ResourceT", bound="APIResource")

Path = Sequence[str]
"""A request's path as its segments, each percent-encoded when the URL is built."""


class RequestOptions(TypedDict, total=False):
    """What every method also takes, for that call alone (the client's defaults otherwise)."""

    timeout: float | None
    """The socket timeout in seconds; None for no limit."""
    attempt_timeout: float | None
    """The hard bound in seconds on each attempt, from its connection; None for no limit."""
    max_retries: int
    """How many times to retry a retryable failure."""
    extra_headers: Mapping[str, str] | None
    """Headers to add; ``Authorization`` (make another client for another key), ``Content-Type``
    (a body is JSON), ``Idempotency-Key`` (pass ``idempotency_key=``) and the headers that say
    how a request is sent (``Content-Length``, ``Transfer-Encoding``, ``Content-Encoding``,
    ``Upgrade``) are refused."""


def check_options(options: Mapping[str, object]) -> None:
    """Refuse an option no call takes (a misspelt ``time_out``, say), naming those there are:
    Python's own error would name the SDK's internal method that received it."""
    if unknown := options.keys() - RequestOptions.__annotations__.keys():
        raise UnexpectedOptionError(
            f"unexpected option {sorted(unknown)[0]!r}: besides its own arguments, each call takes"
            f" {', '.join(RequestOptions.__annotations__)}."
        )


class Recovery(Protocol):
    """How a write whose outcome was unknown is settled once the call has failed.

    `applies` says whether `error` may hide a write that took effect after all; `find` then
    looks, and gives the response to return in the error's place, or None, and then the error
    is raised (as it is when `find` raises a `WorkOSError`).
    """

    def applies(self, error: WorkOSError) -> bool:
        """Whether `error` may hide a write that took effect after all."""
        ...

    async def find(self, error: WorkOSError, client: BaseClient, options: RequestOptions) -> Response | None:
        """The response to return in `error`'s place, if the write is found done; else None."""
        ...


@attrs.frozen
class _DeletedAlready:
    """A delete that meets the API's 404 (``entity_not_found``) after an earlier attempt had an
    unknown outcome: that attempt deleted it, so the 404 is the delete's response.  A 404
    without that code, from a gateway, says nothing of the kind."""

    def applies(self, error: WorkOSError) -> bool:
        return is_entity_not_found(error) and outcome_unknown(error)

    async def find(self, error: WorkOSError, client: BaseClient, options: RequestOptions) -> Response | None:
        assert isinstance(error, APIStatusError)
        return error_response(error)


_DELETED_ALREADY = _DeletedAlready()


class APIResource:
    """What every resource has: the client, and the verbs that call it.

    Each verb returns the body parsed by `cast`, or, on the raw twin of the resource that
    ``with_raw_response`` calls through (`_raw_twin`), the `APIResponse` that `cast` parses.
    """

    # The raw flag lives on the resource, not in a keyword: a public method's ``**options``
    # then cannot carry it, and its return type is always the one it declares.
    _raw = False

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def _raw_twin(self) -> Self:
        """This resource on the same client, its verbs returning `APIResponse`."""
        twin = type(self)(self._client)
        twin._raw = True
        return twin

    async def _get(
        self,
        path: Path,
        *,
        cast: Callable[[Response], R],
        **options: Unpack[RequestOptions],
    ) -> R:
        # The hot path of a get: one await of the client, nothing to recover.
        if options:
            check_options(options)
        return _result(await self._client._request("GET", path, **options), cast, self._raw)

    async def _post(
        self,
        path: Path,
        *,
        cast: Callable[[Response], R],
        body: Any = None,
        idempotency_key: str | None = None,
        recovery: Recovery | None = None,
        **options: Unpack[RequestOptions],
    ) -> R:
        return await self._write(
            "POST", path, cast, json=body, idempotency_key=idempotency_key, recovery=recovery, options=options
        )

    async def _put(
        self,
        path: Path,
        *,
        cast: Callable[[Response], R],
        body: Any,
        **options: Unpack[RequestOptions],
    ) -> R:
        return await self._write("PUT", path, cast, json=body, options=options)

    async def _delete(self, path: Path, **options: Unpack[RequestOptions]) -> None:
        """Delete; the API's 404 (``entity_not_found``) counts as done when an earlier attempt had
        an unknown outcome."""
        return await self._write("DELETE", path, no_content, recovery=_DELETED_ALREADY, options=options)

    def _list(
        self,
        path: Path,
        listing: Listing,
        *,
        page: Callable[[Any], Page[T]],
        filters: Query = (),
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[T]:
        client = self._client
        if options:
            check_options(options)  # now, not at the first page

        async def fetch(query: Query) -> Response:
            return await client._request("GET", path, query=query, **options)

        return paginate(fetch, page, listing, filters=filters, raw_response=self._raw)

    async def _write(
        self,
        method: Method,
        path: Path,
        cast: Callable[[Response], R],
        *,
        json: Any = None,
        idempotency_key: str | None = None,
        recovery: Recovery | None = None,
        options: RequestOptions,
    ) -> R:
        if options:
            check_options(options)
        try:
            response = await self._client._request(method, path, json=json, idempotency_key=idempotency_key, **options)
        except WorkOSError as error:
            if recovery is None or not recovery.applies(error):
                raise
            try:
                found = await recovery.find(error, self._client, options)
            except WorkOSError:
                found = None
            if found is None:
                raise
            response = found

        def read(response: Response) -> R:
            # For the raw view too: its parse() runs later, in the caller's hands.
            try:
                return cast(response)
            except ResponseValidationError as error:
                unread = _write_unread(error, method)
            raise unread

        return _result(response, read, self._raw)


def _write_unread(error: ResponseValidationError, method: Method) -> ResponseValidationError:
    """`error`, for a write whose success could not be read: saying it may have been done."""
    return ResponseValidationError(
        f"{error.message} (a success came back, so the {method} may have taken effect: look the object up"
        " before sending it again)",
        status_code=error.status_code,
        request_id=error.request_id,
        body=error.body,
        outcome_unknown=True,
    )


def _result(response: Response, cast: Callable[[Response], R], raw: bool) -> R:
    """What a verb returns: the parsed body, or for ``with_raw_response`` the `APIResponse`."""
    if raw:
        wrapped: Any = APIResponse(response, cast)
        return wrapped  # type: ignore[no-any-return]
    return cast(response)


class WithRawResponse(Generic[ResourceT]):
    """``resource.with_raw_response``: its methods, each returning an `APIResponse`."""

    def __init__(self, resource: ResourceT) -> None:
        self._resource = resource._raw_twin()


def method_signature(method: Callable[..., Any], returns: Any) -> inspect.Signature:
    """`method`'s signature without ``self``, returning `returns`: the truthful signature of a
    method derived from it (a raw-response or a blocking twin)."""
    signature = inspect.signature(method, eval_str=True)
    return signature.replace(parameters=list(signature.parameters.values())[1:], return_annotation=returns)


def raw_response_type(method: Callable[..., Any]) -> Any:
    """What `method`'s ``with_raw_response`` twin returns: ``APIResponse`` of what awaiting
    the method gives (a listing's pager awaited is its first page)."""
    generic_page: Any = Page
    generic_response: Any = APIResponse
    returns = get_type_hints(method)["return"]
    if get_origin(returns) is AsyncPager:
        returns = generic_page[get_args(returns)[0]]
    return generic_response[returns]


def dress(call: Callable[..., Any], method: Callable[..., Any], qualname: str, signature: inspect.Signature) -> None:
    """Give `call`, derived from `method`, its name, docstring and `signature`, so that
    ``help()``, `inspect.signature` and `typing.get_type_hints` tell the truth about it."""
    call.__name__ = method.__name__
    call.__qualname__ = qualname
    call.__doc__ = method.__doc__
    call.__module__ = method.__module__
    call.__signature__ = signature  # type: ignore[attr-defined]
    call.__annotations__ = {
        **{
            name: parameter.annotation
            for name, parameter in signature.parameters.items()
            if parameter.annotation is not inspect.Parameter.empty
        },
        "return": signature.return_annotation,
    }


class RawResponseMethod(Generic[ResourceT, P, R]):
    """A method of a ``with_raw_response`` view: the resource's public method of that name,
    returning the `APIResponse` it would parse (for ``list``, the first page's).

    It is the public method itself, called on the resource's raw twin (`APIResource._raw_twin`),
    whose verbs return the response; its runtime signature is the method's, returning `APIResponse`.
    """

    def __init__(self, method: Callable[Concatenate[ResourceT, P], Awaitable[R]]) -> None:
        self._method = method
        self._name = method.__name__
        self._unbound_in: dict[type[Any], Callable[..., Any]] = {}

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @functools.cached_property
    def _signature(self) -> inspect.Signature:
        return method_signature(self._method, raw_response_type(self._method))

    def _unbound(self, owner: type[Any]) -> Callable[..., Any]:
        """The method as its class gives it, taking the view first, as a function defined there
        would: what ``help()`` on the class shows, with its signature and docstring."""

        async def method(view: WithRawResponse[ResourceT], /, *args: Any, **kwargs: Any) -> Any:
            return await self.__get__(view, owner)(*args, **kwargs)

        full = inspect.signature(self._method, eval_str=True)
        dress(
            method,
            self._method,
            f"{owner.__name__}.{self._name}",
            full.replace(return_annotation=self._signature.return_annotation),
        )
        return method

    @overload
    def __get__(
        self, view: None, owner: type[Any]
    ) -> Callable[Concatenate[WithRawResponse[ResourceT], P], Coroutine[Any, Any, APIResponse[R]]]: ...

    @overload
    def __get__(
        self, view: WithRawResponse[ResourceT], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, APIResponse[R]]]: ...

    def __get__(
        self, view: WithRawResponse[ResourceT] | None, owner: type[Any]
    ) -> (
        Callable[Concatenate[WithRawResponse[ResourceT], P], Coroutine[Any, Any, APIResponse[R]]]
        | Callable[P, Coroutine[Any, Any, APIResponse[R]]]
    ):
        if view is None:
            if owner not in self._unbound_in:
                self._unbound_in[owner] = self._unbound(owner)
            unbound: Callable[Concatenate[WithRawResponse[ResourceT], P], Coroutine[Any, Any, APIResponse[R]]]
            unbound = self._unbound_in[owner]
            return unbound
        method: Any = self._method
        resource = view._resource

        async def call(*args: P.args, **kwargs: P.kwargs) -> APIResponse[R]:
            response: APIResponse[R] = await method(resource, *args, **kwargs)
            return response

        dress(call, self._method, f"{owner.__name__}.{self._name}", self._signature)
        # Made once per view: later lookups find it in the view's own __dict__.
        view.__dict__[self._name] = call
        return call
