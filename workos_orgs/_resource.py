"""What every resource shares: the raw response type and the way a call reaches the client.

Each API call is written once, returning an `APIResponse`; the public method is that call
followed by `APIResponse.parse`, and ``with_raw_response`` exposes the call itself.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypedDict, TypeVar

from ._errors import APIStatusError
from ._models import Unset
from ._request import Method
from ._response import Response, parse

if TYPE_CHECKING:
    from ._client import AsyncWorkOS
    from ._throttle import RateLimiter

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


class APIResponse(Generic[R]):
    """An answer before parsing: ``status``, ``headers``, ``request_id`` and the raw ``body``.

    ``parse()`` (or ``.data``) gives the model; a body that does not fit raises
    `ResponseValidationError`::

        raw = await client.organizations.with_raw_response.get(org_id)
        print(raw.status, raw.request_id)
        organization = raw.parse()
    """

    __slots__ = ("_parser", "_response")

    def __init__(self, response: Response, parser: Callable[[Response], R]) -> None:
        self._response = response
        self._parser = parser

    @property
    def status(self) -> int:
        """The HTTP status."""
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        """The answer's headers (case-insensitive)."""
        return self._response.headers

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-ID`` WorkOS gave this answer."""
        return self._response.request_id

    @property
    def body(self) -> bytes:
        """The answer's body as received."""
        return self._response.body

    def parse(self) -> R:
        """The body as a model (``None`` for deletes)."""
        return self._parser(self._response)

    @property
    def data(self) -> R:
        """Same as `parse()`."""
        return self.parse()

    def __repr__(self) -> str:
        return f"<APIResponse status={self.status} request_id={self.request_id!r}>"


class RequestOptions(TypedDict, total=False):
    """What every method also takes, for that call alone (the client's defaults otherwise)."""

    timeout: float | None
    """The socket timeout in seconds; None for no limit."""
    max_retries: int
    """How many times to retry a retryable failure."""
    extra_headers: Mapping[str, str] | None
    """Headers to add (they cannot replace ``Authorization``)."""


class Requester(Protocol):
    """The client as a resource sees it: one call that sends a request with options."""

    async def _request(
        self,
        method: Method,
        segments: Sequence[str],
        *,
        query: Sequence[tuple[str, str]] = (),
        json: Any = None,
        idempotency_key: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Unset | None = ...,
        max_retries: int | Unset = ...,
    ) -> Response: ...

    @property
    def rate_limiter(self) -> RateLimiter | None: ...

    def with_options(self, *, rate_limiter: RateLimiter | Unset | None = ...) -> AsyncWorkOS: ...


def parsed(
    raw: Callable[Concatenate[S, P], Awaitable[APIResponse[R]]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """The public method for a raw call: the same signature, returning the parsed model."""

    @functools.wraps(raw)
    async def call(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return (await raw(self, *args, **kwargs)).parse()

    call.__name__ = raw.__name__.lstrip("_")
    call.__qualname__ = raw.__qualname__.replace("._", ".")
    return call


def json_parser(structure: Callable[[Any], R]) -> Callable[[Response], R]:
    """A parser that reads the body as JSON and builds a model with `structure`."""

    def parser(response: Response) -> R:
        result: R = parse(response, structure)
        return result

    return parser


def no_content(_: Response) -> None:
    """Deletes answer 202 ``Accepted`` or 204 with no body: there is nothing to parse."""
    return


def error_response(error: APIStatusError) -> Response:
    """The answer an error was made from, for a call that treats that answer as success
    (a delete's 404 after an attempt whose outcome was unknown)."""
    return Response(error.status, error.headers, error.body.encode())
