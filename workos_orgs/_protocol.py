"""The protocol core: pure functions with no I/O.

Building a request (URL, headers, body), reading an answer into data or a typed error,
parsing ``Retry-After``, deciding whether and when to retry, and which cursor a listing
follows all live here, so they can be tested without a socket.  `_transport` wraps them in
the few lines of aiohttp that do the I/O.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final, Literal
from urllib.parse import quote

import attrs
import orjson
from yarl import URL

from ._contract import IDEMPOTENCY_KEY_HEADER, LIST_LIMIT_MAX, LIST_LIMIT_MIN, REQUEST_ID_HEADER, Order
from ._errors import (
    BODY_MAX_CHARS,
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    FieldError,
    InvalidArgumentError,
    RateLimitError,
    ResponseValidationError,
    WorkOSError,
    status_error_class,
)


def _package_version() -> str:
    try:
        return version("workos-orgs")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"


VERSION: Final = _package_version()
USER_AGENT: Final = f"workos-orgs/{VERSION}"

RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses worth another attempt: the request may succeed if sent again."""

MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
"""The most of an answer's body that is read; a larger answer is cut off and not parsed."""

LOOPBACK_HOSTS: Final = frozenset({"localhost"})
REDACTED: Final = "[redacted]"

Method = Literal["GET", "POST", "PUT", "DELETE"]
Direction = Literal["before", "after"]


# Configuration.


def check_base_url(base_url: str | URL, *, allow_insecure_http: bool) -> URL:
    """The base URL, checked: HTTPS, or plain HTTP only to a loopback host (or when allowed).

    The API key travels in every request, so sending it in clear text over a network is
    refused unless the caller says ``allow_insecure_http=True``.
    """
    try:
        url = URL(base_url) if isinstance(base_url, str) else base_url
        valid = url.is_absolute() and url.scheme in ("http", "https") and bool(url.host)
    except (TypeError, ValueError) as error:  # yarl: "Invalid IPv6 URL", a bad port, ...
        raise ConfigurationError(
            f"base_url is not a valid URL ({error}); it must be an absolute http(s) URL such as"
            f" 'https://api.workos.com'; got {str(base_url)!r}."
        ) from None
    if not valid or url.host is None:
        raise ConfigurationError(
            f"base_url must be an absolute http(s) URL such as 'https://api.workos.com'; got {str(base_url)!r}."
        )
    if url.query_string or url.fragment:
        raise ConfigurationError(f"base_url must not have a query or fragment; got {str(base_url)!r}.")
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        raise ConfigurationError(
            f"Refusing to send the API key over plain HTTP to {url.host}: use https://, a loopback"
            " address (127.0.0.1, ::1, localhost), or pass allow_insecure_http=True if you really mean it."
        )
    return url


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (127.0.0.0/8, ::1 or localhost)."""
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_timeout(timeout: float | None) -> float | None:
    """A socket timeout in seconds: positive and finite, or None for no limit."""
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < math.inf
    ):
        raise ConfigurationError(f"timeout must be a positive number of seconds or None; got {timeout!r}.")
    return None if timeout is None else float(timeout)


def check_max_retries(max_retries: int) -> int:
    """A retry count: a whole number, 0 or more."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be a whole number, 0 or more; got {max_retries!r}.")
    return max_retries


# Requests.


def _headers_repr(headers: Mapping[str, str]) -> str:
    return repr({name: REDACTED if name.lower() == "authorization" else value for name, value in headers.items()})


@attrs.frozen
class Request:
    """An HTTP request ready to send: nothing left to compute (its repr hides the key)."""

    method: Method
    url: URL
    headers: Mapping[str, str] = attrs.field(repr=_headers_repr)
    body: bytes | None = None
    segments: tuple[str, ...] = ()


def encode_segment(segment: str) -> str:
    """Percent-encode one path segment so that nothing in it acts as URL syntax.

    ``/``, ``?``, ``#`` and ``%`` are escaped, and a segment of only dots (``..``) is
    escaped too, so no HTTP stack can fold it into the path before it.
    """
    if not segment.strip("."):
        return "%2E" * len(segment)
    return quote(segment, safe="")


def build_url(base_url: URL, segments: Sequence[str], query: Iterable[tuple[str, str]] = ()) -> URL:
    """The URL of `segments` under `base_url`, each segment percent-encoded."""
    path = base_url.raw_path.rstrip("/") + "/" + "/".join(encode_segment(segment) for segment in segments)
    url = base_url.with_path(path, encoded=True)
    query = list(query)
    return url.with_query(query) if query else url


_SDK_HEADERS: Final = frozenset({"authorization", "content-type"})
"""Headers the SDK sets itself: an extra header of that name (in any case) is ignored."""


def check_api_key(api_key: str) -> str:
    """The API key without surrounding whitespace; `ConfigurationError` when what is left
    has whitespace or control characters in it (a key pasted with a newline, say).

    The message never repeats the key.
    """
    key = api_key.strip()
    if any(char.isspace() or not char.isprintable() for char in key):
        raise ConfigurationError(
            "The WorkOS API key looks malformed: it contains whitespace or control characters"
            f" ({len(key)} characters after trimming). Copy it again from the WorkOS dashboard."
        )
    return key


def build_headers(
    api_key: str,
    *,
    has_body: bool = False,
    idempotency_key: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers of one request; `extra_headers` may add to them or replace ``Accept`` and
    ``User-Agent``, matching names case-insensitively.

    ``Authorization`` and ``Content-Type`` in `extra_headers` (in any case) are ignored: the
    SDK's own always win.  An ``Idempotency-Key`` there raises `InvalidArgumentError`: pass
    ``idempotency_key=`` instead, so that one key is used by every retry of the call.
    """
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    for name, value in (extra_headers or {}).items():
        folded = name.lower()
        if folded == IDEMPOTENCY_KEY_HEADER.lower():
            raise InvalidArgumentError(
                f"Do not pass {name!r} in extra_headers; use the idempotency_key= argument of the call instead."
            )
        if folded in _SDK_HEADERS:
            continue
        for existing in [existing for existing in headers if existing.lower() == folded]:
            del headers[existing]
        headers[name] = value
    headers["Authorization"] = f"Bearer {api_key}"
    if has_body:
        headers["Content-Type"] = "application/json"
    if idempotency_key is not None:
        headers[IDEMPOTENCY_KEY_HEADER] = idempotency_key
    return headers


def build_request(
    method: Method,
    base_url: URL,
    segments: Sequence[str],
    *,
    api_key: str,
    query: Iterable[tuple[str, str]] = (),
    json: Any = None,
    idempotency_key: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> Request:
    """Everything about one request except sending it."""
    body = None if json is None else orjson.dumps(json)
    headers = build_headers(
        api_key, has_body=body is not None, idempotency_key=idempotency_key, extra_headers=extra_headers
    )
    return Request(method, build_url(base_url, segments, query), headers, body, tuple(segments))


def check_id(name: str, value: str) -> str:
    """An ID argument: a non-blank string (its format is the API's business)."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string such as 'org_01H...'; got {type(value).__name__}.")
    if not value.strip():
        raise InvalidArgumentError(f"{name} must not be empty or blank; pass the ID returned by the API.")
    return value


def list_query(
    *,
    limit: int | None,
    order: Order | str | None,
    before: str | None,
    after: str | None,
    domains: Sequence[str] | None,
    search: str | None,
) -> list[tuple[str, str]]:
    """The query string of a list call, with the values the SDK owns checked first."""
    query: list[tuple[str, str]] = []
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not LIST_LIMIT_MIN <= limit <= LIST_LIMIT_MAX:
            raise InvalidArgumentError(
                f"limit is the page size and must be a whole number from {LIST_LIMIT_MIN} to {LIST_LIMIT_MAX};"
                f" got {limit!r}. To stop after N items overall, pass max_items=N."
            )
        query.append(("limit", str(limit)))
    if order is not None:
        query.append(("order", check_order(order).value))
    if before is not None and after is not None:
        raise InvalidArgumentError("Pass either before= or after=, not both: they walk in opposite directions.")
    if before is not None:
        query.append(("before", check_id("before", before)))
    if after is not None:
        query.append(("after", check_id("after", after)))
    if domains is not None:
        if isinstance(domains, str):
            raise InvalidArgumentError(f"domains must be a list of domain names, e.g. [{domains!r}]; got a string.")
        names = [check_id("each of domains", domain).strip() for domain in domains]
        if names:
            query.append(("domains", ",".join(names)))
    if search is not None:
        if not isinstance(search, str):
            raise InvalidArgumentError(f"search must be a string; got {type(search).__name__}.")
        query.append(("search", search))
    return query


def check_order(order: Order | str) -> Order:
    """An `Order` member from a member or its value."""
    try:
        return Order(order)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in Order)
        raise InvalidArgumentError(f"order must be one of {allowed} (or an Order member); got {order!r}.") from None


# Responses.


@attrs.frozen
class Response:
    """An HTTP answer as bytes: what the transport hands back.

    ``complete`` is False when the body was longer than `MAX_RESPONSE_BYTES` and was cut off.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes
    complete: bool = True

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-ID`` WorkOS gave this answer."""
        return self.headers.get(REQUEST_ID_HEADER)


def redact(body: bytes, secret: bytes, *, cut_off: bool = False) -> bytes:
    """`body` with every copy of `secret` (the API key) replaced.

    A body that was `cut_off` mid-way also loses a trailing partial copy of the key.
    """
    if not secret:
        return body
    if secret in body:
        body = body.replace(secret, REDACTED.encode())
    if cut_off:
        for length in range(min(len(secret) - 1, len(body)), 0, -1):
            if body.endswith(secret[:length]):
                return body[:-length]
    return body


def body_text(body: bytes, secret: str | None = None) -> str:
    """The body as text for errors: at most `BODY_MAX_CHARS`, the API key cut out should it appear."""
    if secret:
        body = redact(body, secret.encode())
    text = body[: BODY_MAX_CHARS * 4].decode("utf-8", errors="replace")
    if len(text) > BODY_MAX_CHARS or len(body) > BODY_MAX_CHARS * 4:
        text = f"{text[:BODY_MAX_CHARS]}... [cut at {BODY_MAX_CHARS} characters of {len(body)} bytes]"
    return text


def _invalid(response: Response, detail: str) -> ResponseValidationError:
    return ResponseValidationError(
        detail, status=response.status, request_id=response.request_id, body=body_text(response.body)
    )


def decode_json(response: Response) -> Any:
    """A success answer's JSON, or `ResponseValidationError` when it is not JSON (or was cut off)."""
    if not response.complete:
        raise _invalid(response, f"the answer is larger than {MAX_RESPONSE_BYTES} bytes and was not read to the end")
    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError as error:
        raise _invalid(response, f"not JSON ({error})") from None


def parse(response: Response, structure: Callable[[Any], Any]) -> Any:
    """A success answer's body turned into a model by `structure`, or `ResponseValidationError`.

    `structure` is pure, so whatever it raises means the body does not fit the model.
    """
    return structure_data(response, decode_json(response), structure)


def structure_data(response: Response, data: Any, structure: Callable[[Any], Any]) -> Any:
    """`parse` for a body already decoded as `data`."""
    try:
        return structure(data)
    except Exception as error:
        detail = f"missing field {error}" if isinstance(error, KeyError) else f"{type(error).__name__}: {error}"
        raise _invalid(response, detail[:500]) from error


def peek_cursor(data: Any, direction: Direction) -> str | None:
    """The `direction` cursor of a decoded list body, or None; never raises.

    Read before the page's models are built, so the next page can be asked for first.
    """
    metadata = data.get("list_metadata") if isinstance(data, dict) else None
    cursor = metadata.get(direction) if isinstance(metadata, dict) else None
    return cursor if isinstance(cursor, str) and cursor else None


def peek_size(data: Any) -> int:
    """How many items a decoded list body holds (0 when it is not a list body)."""
    items = data.get("data") if isinstance(data, dict) else None
    return len(items) if isinstance(items, list) else 0


def decode_error(response: Response, *, secret: str | None = None, now: float = 0.0) -> APIStatusError:
    """The typed error for an error answer (4xx/5xx), whatever its body looks like.

    The error keeps at most `BODY_MAX_CHARS` of the body; ``json`` only when the whole body fits.
    """
    body = response.body if secret is None else redact(response.body, secret.encode())
    text = body_text(body)
    payload: Any = None
    if response.complete:
        with contextlib.suppress(orjson.JSONDecodeError):
            payload = orjson.loads(body)
    message: str | None = None
    code: str | None = None
    errors: list[FieldError] = []
    if isinstance(payload, dict):
        raw_message, raw_code = payload.get("message"), payload.get("code") or payload.get("error")
        message = raw_message[:BODY_MAX_CHARS] if isinstance(raw_message, str) else None
        code = raw_code[:200] if isinstance(raw_code, str) else None
        raw_errors = payload.get("errors")
        for item in raw_errors if isinstance(raw_errors, list) else ():
            if isinstance(item, dict):
                errors.append(
                    FieldError(str(item.get("field", "")), str(item.get("code", "")), str(item.get("message", "")))
                )
    if message is None:
        message = text.strip()[:200] or f"HTTP {response.status} with an empty body"
    error_class = status_error_class(response.status)
    kwargs: dict[str, Any] = {
        "status": response.status,
        "code": code,
        "errors": errors,
        "request_id": response.request_id,
        "headers": response.headers,
        "body": text,
        "json": payload if len(body) <= BODY_MAX_CHARS else None,
    }
    if error_class is RateLimitError:
        kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"), now=now)
    return error_class(message, **kwargs)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """``Retry-After`` in seconds from now: delta-seconds or an HTTP date; None when unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


# Retries.


@attrs.frozen
class Backoff:
    """How long to wait between retries.

    Retry ``n`` (counting from 0) waits a random time in ``[0, min(cap, base * 2**n)]``
    seconds (exponential backoff with full jitter), or the ``Retry-After`` the API asked for
    when there is one.  A ``Retry-After`` longer than ``max_retry_after`` is not waited out:
    the `RateLimitError` is raised at once with ``retry_after`` set, so the caller can decide.
    """

    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 60.0

    def __attrs_post_init__(self) -> None:
        for name in ("base", "cap", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise ConfigurationError(f"Backoff.{name} must be a number of seconds, 0 or more; got {value!r}.")


@attrs.frozen
class RetryPolicy:
    """How many times to retry, and how long to wait before each retry."""

    max_retries: int = 2
    backoff: Backoff = Backoff()


def retry_delay(
    attempt: int,
    policy: RetryPolicy,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    connection_error: bool = False,
    random: Callable[[], float],
    now: float = 0.0,
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None to stop and raise.

    `attempt` counts from 0 (the first try).  Retry after a connection error or timeout
    (`connection_error`) or a status in `RETRYABLE_STATUSES`; never after any other answer.
    """
    if attempt >= policy.max_retries:
        return None
    if not connection_error and status not in RETRYABLE_STATUSES:
        return None
    retry_after = parse_retry_after((headers or {}).get("Retry-After"), now=now)
    if retry_after is not None:
        return retry_after if retry_after <= policy.backoff.max_retry_after else None
    backoff = policy.backoff
    ceiling: float = min(backoff.cap, backoff.base * 2.0**attempt)
    return random() * ceiling


# Outcomes.


def attempt_outcome_unknown(*, status: int | None = None, reached_server: bool = True) -> bool:
    """Whether one attempt may have taken effect on the server without the client knowing.

    An answer below 500 is definitive (429 and 408 are refused before any work).  A 5xx may
    come from a proxy after the API did the work; a dropped connection or a read timeout may
    come after it too.  Only a failure to connect at all (`reached_server` False) is safe.
    """
    if status is None:
        return reached_server
    return status >= 500


def outcome_unknown(error: WorkOSError) -> bool:
    """Whether a failed call may nonetheless have taken effect: some attempt of it got no
    definitive answer (see `attempt_outcome_unknown`)."""
    return isinstance(error, APIStatusError | APIConnectionError) and error.outcome_unknown


def unanswered(error: WorkOSError) -> bool:
    """Whether a failed call ended with no definitive answer at all: its last attempt failed in
    a way worth retrying, and some attempt may have done the work."""
    if isinstance(error, APIConnectionError):
        return error.outcome_unknown
    return isinstance(error, APIStatusError) and error.status in RETRYABLE_STATUSES and error.outcome_unknown


# Pagination.


def pagination_direction(order: Order | None, *, before: str | None, after: str | None) -> Direction:
    """Which cursor a listing keeps following.

    A caller who starts from a cursor keeps walking that way (``before=`` walks backwards).
    Otherwise it is ``after`` -- except under ``normal``, which lists newest first but where
    ``after`` means newer, so walking on through the list follows ``before``.
    """
    if before is not None:
        return "before"
    if after is not None:
        return "after"
    return "before" if order is Order.NORMAL else "after"


def walks_in_display_order(order: Order | None, direction: Direction) -> bool:
    """Whether following `direction` meets items in the order each page shows them.

    True for ``desc``/``asc`` followed by ``after`` and ``normal`` followed by ``before``; then
    a page cut short can point its cursor at the last item kept, and resuming from it misses
    nothing.
    """
    return (direction == "after") != (order is Order.NORMAL)
