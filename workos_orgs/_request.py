"""Building a request: URL, headers and body, with nothing left to compute and no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal
from urllib.parse import quote

import attrs
import orjson
from yarl import URL

from ._contract import IDEMPOTENCY_KEY_HEADER
from ._errors import InvalidArgumentError
from ._version import VERSION

USER_AGENT: Final = f"workos-orgs/{VERSION}"
REDACTED: Final = "[redacted]"

Method = Literal["GET", "POST", "PUT", "DELETE"]


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
