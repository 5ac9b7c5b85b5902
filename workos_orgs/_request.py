"""Building a request: URL, headers and body, with nothing left to compute and no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal
from urllib.parse import quote

import attrs
import orjson
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._contract import IDEMPOTENCY_KEY_HEADER
from ._errors import InvalidArgumentError, given
from ._redaction import REDACTED
from ._version import VERSION

USER_AGENT: Final = f"workos-orgs/{VERSION}"

Method = Literal["GET", "POST", "PUT", "DELETE"]


def _headers_repr(headers: Mapping[str, str]) -> str:
    return repr({name: REDACTED if name.lower() == "authorization" else value for name, value in headers.items()})


@attrs.define
class Request:
    """An HTTP request ready to send: nothing left to compute (its repr hides the key).

    Not frozen, though nothing changes one once it is made: one is made per request, and a
    frozen instance costs nearly three times as much to make.  Not a tuple either: code that
    walks a tuple's items (error reporters serializing local variables) would reach the key.
    """

    method: Method
    url: URL
    headers: Mapping[str, str] = attrs.field(repr=_headers_repr)
    body: bytes | None = None
    segments: tuple[str, ...] = ()


_UNRESERVED: Final = re.compile(r"[A-Za-z0-9_.~-]*")
"""Characters that `quote` never escapes (RFC 3986, section 2.3)."""


def encode_segment(segment: str) -> str:
    """Percent-encode one path segment so that nothing in it acts as URL syntax.

    ``/``, ``?``, ``#`` and ``%`` are escaped, and a segment of only dots (``..``) is
    escaped too, so no HTTP stack can fold it into the path before it.
    """
    if not segment.strip("."):
        return "%2E" * len(segment)
    if _UNRESERVED.fullmatch(segment):
        return segment  # what quote() would return, at a tenth of its cost: IDs are like this
    return quote(segment, safe="")


def build_url(base_url: URL, segments: Sequence[str], query: Iterable[tuple[str, str]] = ()) -> URL:
    """The URL of `segments` under `base_url`, each segment percent-encoded."""
    path = base_url.raw_path.rstrip("/") + "/" + "/".join([encode_segment(segment) for segment in segments])
    url = base_url.with_path(path, encoded=True)
    query = list(query)
    return url.with_query(query) if query else url


_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name (RFC 9110, section 5.6.2)."""

_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Control characters other than tab: in a header value they would end or split the header."""


def check_text(name: str, value: str) -> str:
    """`value`, refused with `InvalidArgumentError` when it cannot be sent as UTF-8.

    A lone surrogate (``'\\udcff'``, left by decoding bytes with ``surrogateescape``) has no
    UTF-8 form: refused rather than silently dropped from the request.
    """
    if value.isascii():  # a flag CPython keeps: ASCII text always has a UTF-8 form
        return value
    try:
        value.encode()
    except UnicodeEncodeError as error:
        raise InvalidArgumentError(
            f"{name} contains a lone surrogate ({value[error.start]!r} at position {error.start}), which"
            " cannot be sent as UTF-8; decode the text it came from properly."
        ) from None
    return value


def check_header(name: object, value: object, *, argument: str = "extra_headers") -> tuple[str, str]:
    """A header name and value that are safe to send: strings, the name a token, the value
    free of CR, LF and other control characters (which would inject more headers)."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise InvalidArgumentError(
            f"{argument} has an invalid header name {name!r}: use letters, digits and -, e.g. 'X-Trace-Id'."
        )
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{argument}[{name!r}] must be a string; got {type(value).__name__}.")
    if _CONTROL.search(value):
        raise InvalidArgumentError(
            f"{argument}[{name!r}] contains a line break or another control character; a header value is one line."
        )
    return name, check_text(f"{argument}[{name!r}]", value)


_FRAMING_HEADERS: Final = frozenset({"content-encoding", "content-length", "transfer-encoding", "upgrade"})
"""Headers (lowercase) that frame or encode a request's body, or change its protocol: never
taken from a caller.  (``Connection: close``, ``Host`` or ``Expect`` are sent as given:
aiohttp honours them.)"""


def _checked_headers(
    *, has_body: bool, idempotency_key: str | None, extra_headers: Mapping[str, str] | None
) -> dict[str, str]:
    """The headers of one request but ``Authorization``, every argument checked: made without the
    key, so that no frame of an error raised here holds it (error trackers record their locals)."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    for raw_name, raw_value in (extra_headers or {}).items():
        name, value = check_header(raw_name, raw_value)
        folded = name.lower()
        if folded == IDEMPOTENCY_KEY_HEADER.lower():
            raise InvalidArgumentError(
                f"Do not pass {name!r} in extra_headers; use the idempotency_key= argument of the call instead."
            )
        if folded == "authorization":
            # Never dropped quietly: a call meant for another environment would go to this one.
            raise InvalidArgumentError(
                f"Do not pass {name!r} in extra_headers: every request carries the client's own API key."
                " For another key, make another client: AsyncWorkOS(api_key=...) or WorkOS(api_key=...)."
            )
        if folded == "content-type":
            # Never dropped quietly either: the SDK's own is the one the API takes.
            raise InvalidArgumentError(
                f"Do not pass {name!r} in extra_headers: a request's body is JSON, sent as application/json,"
                " the one type the API takes."
            )
        if folded in _FRAMING_HEADERS:
            # They frame the request on the wire: a Content-Length of 0 sent an update with no
            # body (a 200 that changed nothing), a Transfer-Encoding left a GET waiting.
            raise InvalidArgumentError(
                f"Do not pass {name!r} in extra_headers: it says how the request is sent on the wire,"
                " and the client sets what each request needs (its body is plain JSON)."
            )
        for existing in [existing for existing in headers if existing.lower() == folded]:
            del headers[existing]
        headers[name] = value
    if has_body:
        headers["Content-Type"] = "application/json"
    if idempotency_key is not None:
        headers[IDEMPOTENCY_KEY_HEADER] = check_header(
            IDEMPOTENCY_KEY_HEADER, idempotency_key, argument="idempotency_key"
        )[1]
    return headers


def build_headers(
    api_key: str,
    *,
    has_body: bool = False,
    idempotency_key: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers of one request; `extra_headers` may add to them or replace ``Accept`` and
    ``User-Agent``, matching names case-insensitively.

    A ``Content-Type`` in `extra_headers` (in any case) raises `InvalidArgumentError` (a body
    is JSON, sent as application/json), as an ``Authorization`` there does (the client's key is
    the one sent: make another client for another key), and so does an ``Idempotency-Key``: pass
    ``idempotency_key=`` instead, so that one key is used by every retry of the call.  So do
    the headers that say how a request is sent (`_FRAMING_HEADERS`).
    """
    headers = _checked_headers(has_body=has_body, idempotency_key=idempotency_key, extra_headers=extra_headers)
    headers["Authorization"] = _authorization(api_key)
    return headers


def _authorization(api_key: str) -> str:
    return f"Bearer {api_key}"


def plain_headers(api_key: str) -> Mapping[str, str]:
    """The headers of a request with no body, no idempotency key and no extra headers, made
    once per client: read-only, and already the case-insensitive mapping aiohttp keeps
    headers in, so it takes them without converting them."""
    return CIMultiDictProxy(CIMultiDict(build_headers(api_key)))


class Credentials:
    """The API key and the headers of a request that needs no others, made once per client.

    What `build_request` takes instead of the key: its repr shows neither, so the frames of an
    error raised while a request is built (which error trackers record) never show the key.
    """

    __slots__ = ("_api_key", "plain")

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key
        self.plain: Mapping[str, str] = plain_headers(api_key)
        """`plain_headers` of the key (they hold it: never shown)."""

    def __repr__(self) -> str:
        return f"Credentials({REDACTED})"

    def sign(self, headers: dict[str, str]) -> dict[str, str]:
        """`headers` (checked already) with ``Authorization`` added: cannot fail."""
        headers["Authorization"] = _authorization(self._api_key)
        return headers


def build_request(
    method: Method,
    base_url: URL,
    segments: Sequence[str],
    *,
    credentials: Credentials,
    query: Iterable[tuple[str, str]] = (),
    json: Any = None,
    idempotency_key: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> Request:
    """Everything about one request except sending it; `InvalidArgumentError` when some text
    in it cannot be sent (see `check_text`) or the body is not what the API takes.

    Every argument is checked before the key is added (from `credentials`), and the request
    without other headers takes ``credentials.plain`` as they are.
    """
    for index, segment in enumerate(segments):
        if not segment.isascii():  # ASCII always has a UTF-8 form: no message to build
            check_text(f"path segment {index}", segment)
    query = [(name, check_text(name, value)) for name, value in query] if query else ()
    if extra_headers is not None and not isinstance(extra_headers, Mapping):
        raise InvalidArgumentError(
            "extra_headers must be a mapping of header names to values, e.g. {'X-Trace-Id': 'abc'};"
            f" got {type(extra_headers).__name__}."
        )
    body = None
    if json is not None:
        check_body(json)
        try:
            body = orjson.dumps(json)
        except TypeError:
            # A key that is a str subclass (a StrEnum; keys are checked as str above): sent as
            # its text, as orjson sends such values, only with this option, which costs three
            # times as much on every body.
            body = orjson.dumps(json, option=orjson.OPT_NON_STR_KEYS)
    url = build_url(base_url, segments, query)
    if body is None and idempotency_key is None and not extra_headers:
        headers = credentials.plain
    else:
        checked = _checked_headers(
            has_body=body is not None, idempotency_key=idempotency_key, extra_headers=extra_headers
        )
        headers = credentials.sign(checked)
    return Request(method, url, headers, body, tuple(segments))


def check_body(body: Any, where: str = "the body") -> None:
    """Refuse a request body that JSON or the API cannot take: text that is not UTF-8 (see
    `check_text`), mapping keys that are not strings, and ``metadata`` values that are not
    strings (or None, which removes the key)."""
    if isinstance(body, str):
        check_text(where, body)
    elif isinstance(body, Mapping):
        for key, value in body.items():
            if not isinstance(key, str):
                raise InvalidArgumentError(f"The keys of {where} must be strings; got {given(key)}.")
            check_text(f"a key of {where}", key)
            inner = key if where == "the body" else f"{where}[{key!r}]"
            if inner == "metadata" and isinstance(value, Mapping):
                check_metadata(value)
            check_body(value, inner)
    elif isinstance(body, list | tuple):
        for index, item in enumerate(body):
            check_body(item, f"{where}[{index}]")


def check_metadata(metadata: Mapping[Any, Any], *, removes: bool = True) -> None:
    """Metadata maps strings to strings; None as a value removes that key in an update, and
    is refused where there is nothing to remove (``removes=False``: a create)."""
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise InvalidArgumentError(f"metadata keys must be strings; got {given(key)}.")
        if value is None:
            if removes:
                continue
            raise InvalidArgumentError(
                f"metadata[{key!r}] is None: None removes a key in an update, and a new organization"
                " has none to remove; leave the key out, or give it a string."
            )
        if not isinstance(value, str):
            offer = " (or None to remove the key)" if removes else ""
            raise InvalidArgumentError(
                f"metadata[{key!r}] must be a string{offer}; got {type(value).__name__}."
                " Convert numbers and lists to text yourself, e.g. str(value) or json.dumps(value)."
            )


ORGANIZATION_ID_EXAMPLE: Final = "such as 'org_01H...'"
DOMAIN_ID_EXAMPLE: Final = "such as 'org_domain_01H...'"
EXTERNAL_ID_EXAMPLE: Final = "your own ID as text, e.g. str(customer.id)"
STRIPE_CUSTOMER_ID_EXAMPLE: Final = "such as 'cus_...'"
DOMAIN_EXAMPLE: Final = "a domain name such as 'acme.com'"


def check_id(name: str, value: str, example: str = ORGANIZATION_ID_EXAMPLE) -> str:
    """An ID argument: a non-blank string that can be sent (its format is the API's business).
    `example` says what one looks like, for the message."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string ({example}); got {type(value).__name__}.")
    if not value.strip():
        if example == DOMAIN_EXAMPLE:
            which = example
        elif name == "external_id":
            which = "the external ID you gave the organization"
        else:
            which = "the ID returned by the API"
        raise InvalidArgumentError(f"{name} must not be empty or blank; pass {which}.")
    return check_text(name, value)


def check_optional_id(name: str, value: str | None, example: str) -> str | None:
    """An ID to set on an object (``external_id``, ``stripe_customer_id``): a non-blank string,
    or None, which clears it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string ({example}) or None; got {type(value).__name__}.")
    if not value.strip():
        raise InvalidArgumentError(f"{name} must not be blank: leave it out, or pass None to clear it.")
    return check_text(name, value)
