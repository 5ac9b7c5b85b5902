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
    APIStatusError,
    ConfigurationError,
    FieldError,
    InvalidArgumentError,
    RateLimitError,
    ResponseValidationError,
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
    url = URL(base_url) if isinstance(base_url, str) else base_url
    if not url.is_absolute() or url.scheme not in ("http", "https") or not url.host:
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


@attrs.frozen
class Request:
    """An HTTP request ready to send: nothing left to compute."""

    method: Method
    url: URL
    headers: Mapping[str, str]
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


def build_headers(
    api_key: str,
    *,
    has_body: bool = False,
    idempotency_key: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers of one request; `extra_headers` may add to them but not replace the key."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if extra_headers:
        headers.update(extra_headers)
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
    """An HTTP answer as bytes: what the transport hands back."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-ID`` WorkOS gave this answer."""
        return self.headers.get(REQUEST_ID_HEADER)


def body_text(body: bytes, secret: str | None = None) -> str:
    """The body as text for errors, with `secret` (the API key) cut out should it appear."""
    text = body.decode("utf-8", errors="replace")
    if secret and secret in text:
        text = text.replace(secret, REDACTED)
    return text


def decode_json(response: Response) -> Any:
    """A success answer's JSON, or `ResponseValidationError` when it is not JSON."""
    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError as error:
        raise ResponseValidationError(
            f"not JSON ({error})", status=response.status, request_id=response.request_id, body=body_text(response.body)
        ) from None


def parse(response: Response, structure: Callable[[Any], Any]) -> Any:
    """A success answer's body turned into a model by `structure`, or `ResponseValidationError`."""
    data = decode_json(response)
    try:
        return structure(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        detail = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        raise ResponseValidationError(
            detail, status=response.status, request_id=response.request_id, body=body_text(response.body)
        ) from error


def decode_error(response: Response, *, secret: str | None = None, now: float = 0.0) -> APIStatusError:
    """The typed error for an error answer (4xx/5xx), whatever its body looks like."""
    text = body_text(response.body, secret)
    payload: Any = None
    with contextlib.suppress(orjson.JSONDecodeError):
        payload = orjson.loads(text)
    message: str | None = None
    code: str | None = None
    errors: list[FieldError] = []
    if isinstance(payload, dict):
        raw_message, raw_code = payload.get("message"), payload.get("code") or payload.get("error")
        message = raw_message if isinstance(raw_message, str) else None
        code = raw_code if isinstance(raw_code, str) else None
        for item in payload.get("errors") or ():
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
        "json": payload,
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
