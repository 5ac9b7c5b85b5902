"""Reading a response: its body into data or a model, or an error status into a typed error.

Pure functions, tested without a socket; `_transport` hands them the bytes it read.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, Final, Generic, TypeVar

import attrs
import orjson
from multidict import MultiMapping

from ._contract import DELETED_ORGANIZATION_BODY, REQUEST_ID_HEADER
from ._errors import (
    BODY_MAX_CHARS,
    APIStatusError,
    FieldError,
    RateLimitError,
    ResponseValidationError,
    status_error_class,
)
from ._redaction import Secret, redact, redact_headers, redact_text

MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
"""The most of a response's body that is read; a larger response is cut off and not parsed."""


@attrs.define
class Response:
    """An HTTP response as bytes: what the transport hands back.

    ``complete`` is False when the body was longer than `MAX_RESPONSE_BYTES` and was cut off.
    Not frozen, though nothing changes one once it is made: one is made per response, and a
    frozen instance costs nearly three times as much to make.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes
    complete: bool = True
    secret: Secret | None = attrs.field(default=None, repr=False, eq=False)
    """The key it was redacted for, to search the body in every form again should it become an
    error's: a success's is searched for fewer of them (see `received`)."""

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-ID`` WorkOS gave this response."""
        return self.headers.get(REQUEST_ID_HEADER)


def received(status: int, headers: Mapping[str, str], body: bytes, *, complete: bool, secret: Secret) -> Response:
    """The `Response` for what was read, with every trace of the key `secret` cut out of it:
    a response that echoes the key must not carry it into errors, logs or models.

    A success's body is searched for the key as it is and JSON-escaped, not percent-encoded
    nor in its hex and base64 forms: those come from proxies and gateways that echo the request
    into an error, and looking for them costs more than the rest of the search (~30-45 µs on
    each 60 KB page of a crawl, and ~70-400 µs on a page with ``%`` in its data, measured).
    Headers and every other body are searched for all of them, and so is a success's should it
    become an error's (it keeps `secret` for that).
    """
    body = redact(body, secret, cut_off=not complete, encoded=not is_success(status))
    return Response(status, redact_headers(headers, secret), body, complete, secret)


def _item_text(item: Mapping[str, Any], key: str) -> str:
    """What an error item says under `key`, as text; nothing when it is left out or null."""
    value = item.get(key)
    return "" if value is None else value if isinstance(value, str) else str(value)


def body_text(body: bytes, secret: Secret | None = None) -> str:
    """The body as text for errors: at most `BODY_MAX_CHARS`, the API key cut out should it appear."""
    if secret is not None:
        body = redact(body, secret)
    text = body[: BODY_MAX_CHARS * 4].decode("utf-8", errors="replace")
    if len(text) > BODY_MAX_CHARS or len(body) > BODY_MAX_CHARS * 4:
        text = f"{text[:BODY_MAX_CHARS]}... [cut at {BODY_MAX_CHARS} characters of {len(body)} bytes]"
    return text


def is_success(status: int) -> bool:
    """Whether `status` is a success (2xx).  Any other status that reaches the SDK -- a
    redirect, which is never followed, or a 1xx left over -- is an error, never taken for a
    success: a redirecting gateway must not make a delete look done."""
    return 200 <= status < 300


_MOST_DETAIL_CHARS: Final = 500
"""The most of a reason a response could not be read that its error quotes."""


def _invalid(response: Response, detail: str) -> ResponseValidationError:
    """The error for a success that cannot be read: its body (and `detail`, which may quote it)
    searched for the key in every form, as an error's is; `detail` is cut only then, so that
    no copy of the key is cut in two before it is looked for."""
    secret = response.secret
    if secret is not None:
        detail = redact_text(detail, secret)
    detail = detail[:_MOST_DETAIL_CHARS]
    return ResponseValidationError(
        detail, status_code=response.status, request_id=response.request_id, body=body_text(response.body, secret)
    )


DENSITY_CHECKED_FROM: Final = 1024 * 1024
"""A body this large or larger is checked for how many elements it holds before it is decoded."""

MOST_ELEMENTS_PER_BYTE: Final = 1 / 10
"""The most elements a large body may hold per byte, counting its strings on their own and its
arrays, objects and the items and members in them (by the commas between them) on their own.
The API's densest answer, a page of organizations with dozens of short domains each, holds a
string per ~17 bytes and an item per ~28; ``[],`` repeated holds two elements per 3 bytes,
``1.5,`` one per 4, and each becomes a Python object of ~25-60 bytes: decoded, 16 MiB of
``[],`` would be ~5.6 million objects, ~470 MiB and seconds of the event loop.  At this
bound a body decodes to at most ~7 times its size."""

_JSON_STRING: Final = re.compile(rb'"(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.DOTALL)
"""A JSON string; one left open runs to the end of the body, so no search for one starts over
inside another (which would make counting them quadratic)."""

_BEFORE_AN_OPENING_QUOTE: Final = (b"[", b"{", b",", b":", b" ", b"\t", b"\n", b"\r")
"""What may come before a string's opening quote in JSON."""


def _too_many_elements(body: bytes, *, exact: bool = True) -> int | None:
    """How many strings, or arrays, objects and their items, a large `body` holds (at least),
    if more than `MOST_ELEMENTS_PER_BYTE` allows (counted, not decoded); None for a body that
    may be decoded.

    Counting bytes at memchr speed gives upper bounds (commas and brackets inside strings count
    too: a metadata value may be JSON text) and lower bounds (a quote that is not escaped ends
    or opens a string; a comma right after a closing quote is an item's).  Only a body between
    them has its strings found one by one -- at most one per 10 bytes, 1-2 seconds for a
    16 MiB body made to need it -- and the commas and brackets inside them taken off; unless
    not `exact`, when the upper bound is taken as the count (an error's body, whose decoding
    is worth no such wait).
    """
    if len(body) < DENSITY_CHECKED_FROM:
        return None
    most = len(body) * MOST_ELEMENTS_PER_BYTE
    marks = body.count(b",") + body.count(b"[") + body.count(b"{")
    quotes = body.count(b'"')
    if marks <= most and quotes // 2 <= most:
        return None
    # Lower bounds: each string has two quotes that are not escaped (an escaped backslash
    # ending a string looks like an escaped quote, so this may count too few, never too many).
    if (strings := (quotes - body.count(b'\\"')) // 2) > most:
        return strings
    # ``",`` is a closing quote and an item's comma, unless the quote is escaped or opens a
    # string that starts with a comma.
    after_strings = body.count(b'",') - body.count(b'\\",')
    after_strings -= sum(body.count(before + b'",') for before in _BEFORE_AN_OPENING_QUOTE)
    if after_strings > most:
        return after_strings
    if marks <= most:
        return None
    if not exact:
        return marks
    for strings, match in enumerate(_JSON_STRING.finditer(body), start=1):
        if strings > most:
            return strings
        start, end = match.span()
        marks -= body.count(b",", start, end) + body.count(b"[", start, end) + body.count(b"{", start, end)
    return marks if marks > most else None


DECODED_CODINGS: Final = frozenset({"", "identity", "gzip", "deflate", "br", "zstd"})
"""The ``Content-Encoding`` values whose bodies reach the SDK decoded: aiohttp decodes these
codings (one of them, not a list) and hands any other over as the bytes that came."""


def _undecoded_coding(headers: Mapping[str, str]) -> str | None:
    """The ``Content-Encoding`` of a body that reached the SDK still encoded, or None.

    aiohttp's parsers read one of the header's lines (which one depends on the parser) and
    decode it only when it is exactly one of `DECODED_CODINGS`, ignoring case and the spaces
    and tabs around it: lines that disagree leave it unknown which, if any, was decoded.
    """
    values = headers.getall("Content-Encoding", []) if isinstance(headers, MultiMapping) else []
    if not values and (single := headers.get("Content-Encoding")) is not None:
        values = [single]
    if not values:
        return None
    coding = values[0].strip(" \t")
    if len(set(values)) == 1 and coding.isascii() and coding.lower() in DECODED_CODINGS:
        return None
    return ", ".join(values)


def decode_json(response: Response) -> Any:
    """A success response's JSON, or `ResponseValidationError` when it is not JSON (or was cut
    off, or is in a coding that cannot be decoded, or is a large body of far more elements
    than the API ever sends)."""
    if not response.complete:
        raise _invalid(response, f"the response is larger than {MAX_RESPONSE_BYTES} bytes and was not read to the end")
    if (coding := _undecoded_coding(response.headers)) is not None:
        raise _invalid(
            response,
            f"the response's Content-Encoding is {coding[:100]!r}, which cannot be decoded; it was not parsed."
            " Check base_url, or the proxy in front of the API",
        )
    body = response.body
    if len(body) >= DENSITY_CHECKED_FROM and (elements := _too_many_elements(body)) is not None:
        raise _invalid(
            response,
            f"the response holds {elements:,} or more elements (strings, or arrays, objects and their items) in"
            f" {len(body):,} bytes, far more than any response of this API; it was not decoded. Check"
            " base_url, or the proxy in front of the API",
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        detail = f"not JSON ({error})"
    # Raised outside the handler: the decode error, as the context, would keep the whole body
    # (its ``doc``), not searched for the key as the error's own copy is.
    raise _invalid(response, detail)


def parse(response: Response, structure: Callable[[Any], Any]) -> Any:
    """A success response's body turned into a model by `structure`, or `ResponseValidationError`.

    `structure` is pure, so whatever it raises means the body does not fit the model.
    """
    return structure_data(response, decode_json(response), structure)


def structure_data(response: Response, data: Any, structure: Callable[[Any], Any]) -> Any:
    """`parse` for a body already decoded as `data`."""
    try:
        return structure(data)
    except Exception as error:
        detail = f"missing field {error}" if isinstance(error, KeyError) else f"{type(error).__name__}: {error}"
    # Raised outside the handler, with no cause: the error `structure` raised may quote a value
    # of the body (an echo of the key, in a form only the error's own copy is searched for).
    raise _invalid(response, detail)


def decode_error(response: Response, *, secret: Secret | None = None, now: float = 0.0) -> APIStatusError:
    """The typed error for a response that is not a success (see `is_success`): a 4xx or 5xx,
    or a redirect or other status the API never sends, whatever its body looks like.

    The error keeps at most `BODY_MAX_CHARS` of the body; ``json`` only when the whole body fits.
    With `secret`, the key is cut out of the body, the decoded fields and the headers.
    """
    body = response.body if secret is None else redact(response.body, secret)
    text = body_text(body)
    payload: Any = None
    # A body of far more elements than the API sends is summed up from its text; so is one
    # that only its strings, found one by one, could clear (no error of the API's is one).
    if response.complete and _too_many_elements(body, exact=False) is None:
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
                    FieldError(_item_text(item, "field"), _item_text(item, "code"), _item_text(item, "message"))
                )
    if 300 <= response.status < 400:
        location = response.headers.get("Location")
        to = f" to {location[:200]!r}" if location else ""
        said = message if message is not None else text.strip()[:200]
        message = (
            f"Unexpected redirect{to}; the SDK never follows redirects, as they would take the API key"
            f" elsewhere. Check base_url, or the proxy in front of the API.{f' {said}' if said else ''}"
        )
    elif message is None:
        message = text.strip()[:200] or f"HTTP {response.status} with an empty body"
    if secret is not None:
        message = redact_text(message, secret)
        code = None if code is None else redact_text(code, secret)
        errors = [
            FieldError(
                redact_text(item.field, secret), redact_text(item.code, secret), redact_text(item.message, secret)
            )
            for item in errors
        ]
    error_class = status_error_class(response.status)
    kwargs: dict[str, Any] = {
        "status_code": response.status,
        "code": code,
        "errors": errors,
        "request_id": response.request_id,
        "headers": response.headers if secret is None else redact_headers(response.headers, secret),
        "body": text,
        "json": payload if len(body) <= BODY_MAX_CHARS else None,
    }
    if error_class is RateLimitError:
        kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"), now=now)
    return error_class(message, **kwargs)


_SECONDS: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]*)?")
"""Delta-seconds (digits; a sign and a fraction are taken too), and nothing else ``float()`` reads."""


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """``Retry-After`` in seconds from now: delta-seconds or an HTTP date (any of RFC 9110's
    three forms); None when unusable."""
    if value is None:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
            # An HTTP date is GMT: the asctime form says no zone, and is read as UTC.
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            # A year or an offset beyond what datetime holds is an OverflowError, not a ValueError.
            seconds = when.timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


R = TypeVar("R")


class APIResponse(Generic[R]):
    """A response before parsing: ``status``, ``headers``, ``request_id`` and the raw ``body``.

    ``parse()`` (or ``.data``) gives the model; a body that does not fit raises
    `ResponseValidationError`::

        raw = await client.organizations.with_raw_response.get(org_id)
        print(raw.status_code, raw.request_id)
        organization = raw.parse()
    """

    __slots__ = ("_parser", "_response")

    def __init__(self, response: Response, parser: Callable[[Response], R]) -> None:
        self._response = response
        self._parser = parser

    @property
    def status_code(self) -> int:
        """The HTTP status code."""
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        """The response's headers (case-insensitive)."""
        return self._response.headers

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-ID`` WorkOS gave this response."""
        return self._response.request_id

    @property
    def body(self) -> bytes:
        """The response's body as received."""
        return self._response.body

    def parse(self) -> R:
        """The body as a model (``None`` for deletes)."""
        return self._parser(self._response)

    @property
    def data(self) -> R:
        """Same as `parse()`."""
        return self.parse()

    def __repr__(self) -> str:
        return f"<APIResponse status_code={self.status_code} request_id={self.request_id!r}>"


def json_parser(structure: Callable[[Any], R]) -> Callable[[Response], R]:
    """A parser that reads the body as JSON and builds a model with `structure`."""

    def parser(response: Response) -> R:
        result: R = parse(response, structure)
        return result

    return parser


def no_content(response: Response) -> None:
    """A delete's success: 202 ``Accepted`` or 204 with no body, nothing to parse.

    Any other body (a proxy's page, answering in the API's place) is a
    `ResponseValidationError`: the delete may not have been done.  (The API's 404 that a
    retried delete takes as done, `error_response`, is not a success and is not looked at.)
    """
    if is_success(response.status) and response.body.strip() not in (b"", DELETED_ORGANIZATION_BODY):
        raise _invalid(response, "expected no body, or 'Accepted', in answer to a delete")


def error_response(error: APIStatusError) -> Response:
    """The response an error was made from, for a call that takes that response as success
    (a delete's 404 after an attempt whose outcome was unknown)."""
    return Response(error.status_code, error.headers, error.body.encode())
