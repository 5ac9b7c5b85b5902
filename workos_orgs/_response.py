"""Reading a response: its body into data or a model, or an error status into a typed error.

Pure functions, tested without a socket; `_transport` hands them the bytes it read.
"""

from __future__ import annotations

import base64
import contextlib
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from itertools import chain
from typing import Any, Final, Generic, TypeVar
from urllib.parse import unquote_to_bytes

import attrs
import orjson
from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping

from ._contract import DELETED_ORGANIZATION_BODY, REQUEST_ID_HEADER
from ._errors import (
    BODY_MAX_CHARS,
    APIStatusError,
    FieldError,
    RateLimitError,
    ResponseValidationError,
    status_error_class,
)
from ._request import REDACTED

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


MIN_SECRET_LENGTH: Final = 8
"""A key shorter than this cannot be a WorkOS key (those run to dozens of characters), and
cutting it out of every word it is part of would garble messages: it is left as it is."""

_REDACTED_BYTES: Final = REDACTED.encode()
_URL_SAFE: Final = bytes.maketrans(b"+/", b"-_")


class Secret:
    """The API key, with the forms a server may echo it in worked out once, for a client's life.

    Besides the key itself: its hex (either case), and its base64, standard and URL-safe,
    wherever it sits in longer encoded text (``Bearer <key>`` encoded whole, say) -- for each
    of the three places it can start in a 3-byte group, the groups that hold only its own
    bytes, so at most two of its characters at each end are left beside the cut.  Escaped
    piecemeal, JSON's way (``\\u0073``) or a URL's (``%73``), it is found by `redact`'s
    pattern.  Its repr shows none of it.
    """

    __slots__ = ("_pattern", "_pieces", "encoded", "raw", "text", "texts")

    def __init__(self, key: str) -> None:
        self.text = key
        self.raw = raw = key.encode()
        self._pattern: bytes | None = None
        self._pieces: frozenset[str] | None = None
        encoded: set[bytes] = set()
        if len(key) >= MIN_SECRET_LENGTH:
            encoded.update((raw.hex().encode(), raw.hex().upper().encode()))
            for start in range(3):
                core = base64.b64encode(raw[start : start + (len(raw) - start) // 3 * 3])
                encoded.update((core, core.translate(_URL_SAFE)))
        self.encoded = tuple(encoded)
        """Hex and base64 forms."""
        self.texts = (key, *(form.decode() for form in encoded)) if encoded else ()
        """The key and its hex and base64 forms, as text (none for a key too short to look for)."""

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def pattern(self) -> bytes:
        """The key as it may appear escaped piecemeal (see `_secret_pattern`)."""
        if self._pattern is None:
            self._pattern = _secret_pattern(self.text)
        return self._pattern

    def pieces(self) -> frozenset[str]:
        """Every run of `MIN_SECRET_LENGTH` characters of `texts` (see `redact_cut_text`)."""
        if self._pieces is None:
            self._pieces = frozenset(
                form[start : start + MIN_SECRET_LENGTH]
                for form in self.texts
                for start in range(len(form) - MIN_SECRET_LENGTH + 1)
            )
        return self._pieces


def _secret_pattern(secret: str) -> bytes:
    """A pattern for `secret` escaped piecemeal: each character as itself, as a JSON
    ``\\uXXXX`` escape, or percent-encoded (hex in either case), and ``/`` also as ``\\/``."""
    parts = []
    for char in secret:
        forms = [re.escape(char.encode())]
        if ord(char) <= 0xFFFF:
            forms.append(rb"\\u" + _either_case(f"{ord(char):04x}"))
        forms.append(b"".join(b"%" + _either_case(f"{byte:02x}") for byte in char.encode()))
        if char == "/":
            forms.append(rb"\\/")
        parts.append(b"(?:" + b"|".join(forms) + b")")
    return b"".join(parts)


def _either_case(hex_digits: str) -> bytes:
    return "".join(f"[{digit}{digit.upper()}]" if digit.isalpha() else digit for digit in hex_digits).encode()


_PERCENT_SIGNS_DECODED: Final = 4096
"""Up to this many ``%`` in a body, it is decoded to tell whether it hides the key before the
(slower) pattern is run; a body with more is searched with the pattern at once."""


def _may_hide_percent_encoded(body: bytes, raw: bytes) -> bool:
    """Whether `body`, which has a ``%`` in it, may hold the key percent-encoded."""
    return body.count(b"%") > _PERCENT_SIGNS_DECODED or raw in unquote_to_bytes(body)


def redact(body: bytes, secret: Secret, *, cut_off: bool = False, encoded: bool = True) -> bytes:
    """`body` with every copy of `secret` (the API key) replaced: as it is, JSON-escaped, and
    (unless `encoded` is False) percent-encoded and in the hex and base64 forms `Secret` knows.

    A body that was `cut_off` mid-way also loses a trailing partial copy of the key.  A key
    shorter than `MIN_SECRET_LENGTH` is not looked for.
    """
    if not secret.texts:  # too short to look for
        return body
    raw = secret.raw
    # rfind, not ``in``: CPython's backward search skips further on JSON text, 2-3x faster
    # (8 µs rather than 21 on a 60 KB page with a 15-character key).
    if body.rfind(raw) >= 0:
        body = body.replace(raw, _REDACTED_BYTES)
    if encoded:
        for form in secret.encoded:
            if body.rfind(form) >= 0:
                body = body.replace(form, _REDACTED_BYTES)
    # Escaped piecemeal, the key has a backslash or a % in it, and most bodies have neither:
    # one byte is found with memchr, at a tenth of what the key's own search costs.
    if (b"\\" in body and (rb"\u" in body or (b"/" in raw and rb"\/" in body))) or (
        encoded and b"%" in body and _may_hide_percent_encoded(body, raw)
    ):
        body = re.sub(secret.pattern(), _REDACTED_BYTES, body)
    if cut_off:
        for length in range(min(len(raw) - 1, len(body)), 0, -1):
            if body.endswith(raw[:length]):
                return body[:-length]
    return body


def redact_text(text: str, secret: Secret) -> str:
    """`text` with every copy of `secret` replaced, as `redact` does (a key shorter than
    `MIN_SECRET_LENGTH` is left)."""
    if not secret.texts:  # too short to look for
        return text
    encoded = text.encode(errors="surrogatepass")
    redacted = redact(encoded, secret)
    return text if redacted == encoded else redacted.decode(errors="surrogatepass")


def redact_cut_text(text: str, secret: Secret) -> str:
    """`text` as `redact_text` leaves it, with every run of `MIN_SECRET_LENGTH` or more
    characters of the key, or of its hex or base64 forms, cut out too.

    For text a dependency cut short before the SDK saw it, where a copy of the key may end
    mid-way: aiohttp quotes only the first 100 bytes of a response's line too long to read.
    Text the SDK has whole is searched for whole copies only (`redact`), so that a few
    characters that happen to match are left as they are.
    """
    text = redact_text(text, secret)
    pieces = secret.pieces()
    spans: list[list[int]] = []
    for start in range(len(text) - MIN_SECRET_LENGTH + 1):
        if text[start : start + MIN_SECRET_LENGTH] in pieces:
            if spans and start <= spans[-1][1]:
                spans[-1][1] = start + MIN_SECRET_LENGTH
            else:
                spans.append([start, start + MIN_SECRET_LENGTH])
    if not spans:
        return text
    parts: list[str] = []
    kept_from = 0
    for start, end in spans:
        parts += (text[kept_from:start], REDACTED)
        kept_from = end
    return "".join((*parts, text[kept_from:]))


def redact_headers(headers: Mapping[str, str], secret: Secret) -> Mapping[str, str]:
    """`headers` with `secret` replaced in every name and value (an echoed ``Authorization``),
    and bytes that are not UTF-8 replaced by U+FFFD: aiohttp keeps them as lone surrogates,
    which a message, a log line or JSON holding them cannot be encoded with."""
    # One look at them all: most responses hold none of the key's forms, no ``%`` or backslash
    # that could hide it escaped (then `redact_text` looks closer), and only ASCII.
    joined = "\n".join(chain.from_iterable(headers.items()))
    if joined.isascii() or _UNDECODED.search(joined) is None:
        if not secret.texts:  # too short to look for
            return headers
        for form in secret.texts:
            if form in joined:
                break
        else:
            if ("%" not in joined and "\\" not in joined) or redact_text(joined, secret) == joined:
                return headers
    return CIMultiDictProxy(
        CIMultiDict(
            (_readable(redact_text(name, secret)), _readable(redact_text(value, secret)))
            for name, value in headers.items()
        )
    )


_UNDECODED: Final = re.compile("[\udc80-\udcff]")
"""What a byte that is not UTF-8 becomes in text decoded with ``surrogateescape``."""


def _readable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


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
