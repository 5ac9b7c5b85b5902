"""Every error the SDK raises, under one base class, `WorkOSError`.

Status errors carry what the API said (status, ``code``, message, field errors, request id
and the raw body, cut at `BODY_MAX_CHARS`); none of them ever holds the API key.

Errors that come off the wire also say how the call went: ``attempts`` (how many times the
request was sent) and ``outcome_unknown`` (whether some attempt got no definitive response --
a dropped connection, a timeout, a 5xx -- so a write may have happened even though the call
failed).  The resources use that to make creates and deletes exactly-once.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeGuard

import attrs
from multidict import CIMultiDict

from ._contract import ENTITY_NOT_FOUND

# How much of a raw body `str()` and `repr()` show; the (capped) body stays on `.body`.
BODY_PREVIEW_CHARS = 2048
# How much of a raw body an error keeps at all: a proxy's multi-megabyte page is not worth holding.
BODY_MAX_CHARS = 64 * 1024


_GIVEN: Final = reprlib.Repr()  # its settings are attributes (3.12 takes them as arguments too)
_GIVEN.maxstring = _GIVEN.maxother = 80
_GIVEN.maxlong = 40


def is_finite_number(value: object) -> TypeGuard[float]:
    """Whether a setting given `value` got a number it can use: an int or float (not a bool),
    neither NaN nor infinite, nor an int too large to become a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # 10**400
        return False


def given(value: object) -> str:
    """A value a caller gave, as a message quotes it: its repr, cut to a readable length (a
    100,000-character mistake is not repeated whole)."""
    return _GIVEN.repr(value)


def _preview(body: str) -> str:
    if len(body) <= BODY_PREVIEW_CHARS:
        return body
    return f"{body[:BODY_PREVIEW_CHARS]}... [{len(body) - BODY_PREVIEW_CHARS} more characters]"


@attrs.frozen
class FieldError:
    """One field's problem in a 422 ``invalid_request_parameters`` response."""

    field: str
    code: str
    message: str


def _describe(error: FieldError) -> str:
    # Recorded items differ by age: {field, code} with the text in `code` (2020-22), and
    # {code, message} without a field (2023+); say whatever the item has.
    text = error.message or error.code
    return f"{error.field}: {text}" if error.field else text


class WorkOSError(Exception):
    """Base class of every error this SDK raises.

    Every one survives pickling (a process pool sends a job's error back pickled), with its
    message and attributes; its cause and traceback stay behind, as any exception's do.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # Most subclasses take keyword-only arguments that ``args`` does not hold, so the
        # default (calling the class with ``args``) would fail in the process unpickling it.
        return _unpickled, (type(self), self.args, self.__dict__)


def _unpickled(kind: type[WorkOSError], args: tuple[Any, ...], state: dict[str, Any]) -> WorkOSError:
    """An error as it was pickled, rebuilt without calling its ``__init__`` again."""
    error = kind.__new__(kind, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigurationError(WorkOSError, ValueError):
    """The client was set up wrongly: no API key, a bad base URL or a bad option value.

    Raised at construction (or when per-call options are given), never on the wire.
    """


class InvalidArgumentError(WorkOSError, ValueError):
    """A call argument the SDK can check itself is wrong (a blank ID, ``limit=0``, ...).

    Nothing was sent; the message says what was wrong and how to fix it.
    """


class UnexpectedOptionError(InvalidArgumentError, TypeError):
    """A keyword no call takes (``time_out=3``): a `TypeError`, as Python raises for an
    unexpected keyword, and an `InvalidArgumentError` that names the options there are."""


class APIConnectionError(WorkOSError):
    """The request got no HTTP response: the connection failed, was refused or was dropped.

    When the request was a write, it may or may not have happened (``outcome_unknown``);
    retrying a POST with the same ``idempotency_key`` is safe.  ``attempts`` is how many
    times it was sent.
    """

    def __init__(
        self, message: str, *, method: str, path: str, attempts: int = 1, outcome_unknown: bool = True
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.attempts = attempts
        self.outcome_unknown = outcome_unknown

    def __str__(self) -> str:
        return f"{self.message} ({self.method} {self.path})"


class APITimeoutError(APIConnectionError):
    """A TCP connect, or a wait for the next bytes of the response, took longer than ``timeout``;
    or an attempt had no complete response ``attempt_timeout`` seconds after it got its
    connection (the message says which)."""


class APIStatusError(WorkOSError):
    """The API responded with an error status (4xx or 5xx), or another that is not a success (a redirect).

    Attributes: ``status_code``, ``code`` (e.g. ``"entity_not_found"``, or None), ``message``,
    ``errors`` (a tuple of `FieldError` for 422s), ``request_id`` (quote it to WorkOS
    support), ``headers`` (case-insensitive) and ``body`` (the raw text of the response, at most
    `BODY_MAX_CHARS`), ``attempts`` (how many times the request was sent) and
    ``outcome_unknown`` (True when an attempt before this response -- or this 5xx itself --
    left it unknown whether the request took effect).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: str = "",
        json: Any = None,
        attempts: int = 1,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.errors: tuple[FieldError, ...] = tuple(errors)
        self.request_id = request_id
        # A case-insensitive copy: ``headers.get("Retry-After")`` finds ``retry-after`` too.
        self.headers: Mapping[str, str] = CIMultiDict(headers or {})
        self.body = body
        self.json = json
        self.attempts = attempts
        self.outcome_unknown = outcome_unknown

    def __str__(self) -> str:
        parts = [f"HTTP {self.status_code}"]
        if self.code:
            parts.append(self.code)
        text = f"{' '.join(parts)}: {self.message}"
        if self.errors:
            text += " (" + "; ".join(_describe(error) for error in self.errors) + ")"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r}, message={self.message!r},"
            f" request_id={self.request_id!r}, body={_preview(self.body)!r})"
        )


class BadRequestError(APIStatusError):
    """400: e.g. ``external_id_already_used``, ``invalid_metadata``, ``domain_already_verified``."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such organization or domain (``code`` is ``"entity_not_found"``).

    A 404 without that code comes from a route the API does not have, or from a gateway in
    front of it: it says nothing about whether the organization or domain exists.
    """


def is_entity_not_found(error: BaseException) -> bool:
    """Whether `error` is the API's own answer that the organization or domain does not exist."""
    return isinstance(error, NotFoundError) and error.code == ENTITY_NOT_FOUND


class ConflictError(APIStatusError):
    """409: e.g. ``domain_already_exists``."""


class UnprocessableEntityError(APIStatusError):
    """422: the request failed validation; ``errors`` names each field."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` is the wait the API asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def __str__(self) -> str:
        text = super().__str__()
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g}s)"
        return text


class InternalServerError(APIStatusError):
    """5xx: the API failed; these are retried before they reach you."""


class ClientClosedError(WorkOSError, RuntimeError):
    """The client was closed; make a new one (or keep it open for the app's lifetime)."""


class ResponseValidationError(WorkOSError):
    """A success response whose body does not fit the model (or is not JSON; for a delete, is
    not the API's ``Accepted`` or empty body).

    Carries the raw ``body``, ``status_code`` and ``request_id`` so the response can be reported.
    ``outcome_unknown`` is True for a write (create, update, delete): a success came back, so
    the API may well have done it (unless something in between answered in its place), and
    sending it again may do it twice -- look the object up first.
    """

    def __init__(
        self, message: str, *, status_code: int, request_id: str | None, body: str, outcome_unknown: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.body = body
        self.outcome_unknown = outcome_unknown

    def __str__(self) -> str:
        text = f"HTTP {self.status_code} response could not be read: {self.message}"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return f"{text}; body: {_preview(self.body)}"


class PaginationError(WorkOSError):
    """Auto-pagination stopped because the API repeated a cursor or a page.

    Following it further would loop forever; the items already yielded are correct.
    """


class WrongEventLoopError(WorkOSError, RuntimeError):
    """An `AsyncWorkOS` was used from an event loop other than the one its session was made in.

    An aiohttp session belongs to one event loop.  Make the client inside the loop that uses
    it and close it there; the message says where to do that.  Nothing was sent.
    """


class BlockingCallInEventLoopError(WorkOSError, RuntimeError):
    """The blocking `WorkOS` client was called from inside a running event loop.

    Blocking there would stall every other task of that loop: use `AsyncWorkOS` and ``await``
    instead.  Nothing was sent.
    """


STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The most specific error class for an HTTP status."""
    if status >= 500:
        return InternalServerError
    return STATUS_ERRORS.get(status, APIStatusError)
