"""The protocol core, tested as pure functions: no socket, no event loop."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from yarl import URL

from workos_orgs import (
    AsyncWorkOS,
    AuthenticationError,
    Backoff,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    Order,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from workos_orgs._config import check_base_url
from workos_orgs._contract import IDEMPOTENCY_KEY_HEADER, LIST_LIMIT_MAX
from workos_orgs._errors import APIStatusError
from workos_orgs._organizations import list_filters
from workos_orgs._pagination import list_query, pagination_direction
from workos_orgs._redaction import Secret
from workos_orgs._request import (
    USER_AGENT,
    Credentials,
    build_headers,
    build_request,
    build_url,
    encode_segment,
    plain_headers,
)
from workos_orgs._response import Response, decode_error, decode_json, parse_retry_after
from workos_orgs._retry import RETRYABLE_STATUSES, RetryPolicy, retry_delay

BASE = URL("https://api.workos.com")


@pytest.mark.parametrize(
    ("segment", "encoded"),
    [
        ("org_01ABC", "org_01ABC"),
        ("../organization_domains/x", "..%2Forganization_domains%2Fx"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("a?b=c", "a%3Fb%3Dc"),
        ("a#frag", "a%23frag"),
        ("100%", "100%25"),
        ("ext id/ü", "ext%20id%2F%C3%BC"),
    ],
)
def test_each_path_segment_is_percent_encoded(segment: str, encoded: str) -> None:
    assert encode_segment(segment) == encoded
    url = build_url(BASE, ["organizations", segment])
    assert url.raw_path == f"/organizations/{encoded}"
    assert url.raw_query_string == ""
    assert url.fragment == ""


def test_build_url_keeps_a_base_path_and_adds_the_query() -> None:
    url = build_url(URL("https://proxy.example/workos/"), ["organizations"], [("domains", "a.com,b.com")])
    assert url.raw_path == "/workos/organizations"
    assert url.query["domains"] == "a.com,b.com"


def test_build_request_sets_every_header_and_the_json_body() -> None:
    request = build_request(
        "POST",
        BASE,
        ["organizations"],
        credentials=Credentials("sk_test_abc"),
        json={"name": "Acme"},
        idempotency_key="key-1",
        extra_headers={"X-Trace": "t"},
    )
    assert request.method == "POST"
    assert str(request.url) == "https://api.workos.com/organizations"
    assert request.body == b'{"name":"Acme"}'
    assert request.headers["Authorization"] == "Bearer sk_test_abc"
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("workos-orgs/")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers[IDEMPOTENCY_KEY_HEADER] == "key-1"
    assert request.headers["X-Trace"] == "t"


def test_a_request_that_needs_no_other_headers_takes_the_plain_ones_made_once() -> None:
    credentials = Credentials("sk_test_abc")
    plain = credentials.plain
    assert dict(plain) == build_headers("sk_test_abc") == dict(plain_headers("sk_test_abc"))
    get = build_request("GET", BASE, ["organizations", "org_1"], credentials=credentials)
    assert get.headers is plain
    with pytest.raises(TypeError):
        plain["X-Trace"] = "t"  # type: ignore[index]  # shared by every such request: read-only
    others: list[dict[str, Any]] = [{"json": {"name": "A"}}, {"idempotency_key": "k"}, {"extra_headers": {"X-T": "t"}}]
    for other in others:
        request = build_request("POST", BASE, ["organizations"], credentials=credentials, **other)
        assert request.headers is not plain
        assert request.headers["Authorization"] == "Bearer sk_test_abc"
    assert dict(plain) == build_headers("sk_test_abc")


def test_a_get_has_no_body_no_content_type_and_no_idempotency_key() -> None:
    request = build_request("GET", BASE, ["organizations", "org_1"], credentials=Credentials("sk"))
    assert request.body is None
    assert "Content-Type" not in request.headers
    assert IDEMPOTENCY_KEY_HEADER not in request.headers


@pytest.mark.parametrize(
    "url",
    ["https://api.workos.com", "http://127.0.0.1:4100", "http://127.8.9.10", "http://[::1]:8080", "http://localhost:1"],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert str(check_base_url(url, allow_insecure_http=False)).startswith(url.split(":")[0])


def test_plain_http_to_another_host_is_refused_unless_allowed() -> None:
    with pytest.raises(ConfigurationError, match="allow_insecure_http=True"):
        check_base_url("http://api.example.com", allow_insecure_http=False)
    assert check_base_url("http://api.example.com", allow_insecure_http=True).host == "api.example.com"


@pytest.mark.parametrize("url", ["api.workos.com", "ftp://api.workos.com", "https://", "https://h/?q=1", "/relative"])
def test_malformed_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        check_base_url(url, allow_insecure_http=False)


def test_list_query_carries_every_filter() -> None:
    query = list_query(limit=5, order="asc", before=None, after="org_1")
    assert query == [("limit", "5"), ("order", "asc"), ("after", "org_1")]
    assert list_filters(["a.com", "b.com"], "ac") == [("domains", "a.com,b.com"), ("search", "ac")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit is the page size"),
        ({"limit": LIST_LIMIT_MAX + 1}, "from 1 to 100"),
        ({"limit": True}, "limit"),
        ({"order": "sideways"}, "order must be one of 'desc', 'asc', 'normal'"),
        ({"before": "org_1", "after": "org_2"}, "not both"),
        ({"after": "  "}, "after must not be empty"),
        ({"domains": "acme.com"}, r"\['acme.com'\]"),
    ],
)
def test_list_query_refuses_values_the_sdk_owns(kwargs: dict[str, object], message: str) -> None:
    # list() checks everything before it returns the pager, and sends nothing: no server here.
    client = AsyncWorkOS(api_key="sk_test", base_url="http://127.0.0.1:9")
    with pytest.raises(InvalidArgumentError, match=message):
        client.organizations.list(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "example"),
    [
        ({"domains": ""}, "['acme.com']"),
        ({"domains": "   "}, "['acme.com']"),
        ({"domains": "acme.com,globex.com"}, "['acme.com', 'globex.com']"),
        ({"domains": "acme.com"}, "['acme.com']"),
    ],
)
def test_a_string_for_domains_gets_an_example_that_works(kwargs: dict[str, object], example: str) -> None:
    # domains="" suggested [''], and "a.com,b.com" suggested ['a.com,b.com']: neither works.
    client = AsyncWorkOS(api_key="sk_test", base_url="http://127.0.0.1:9")
    with pytest.raises(InvalidArgumentError) as caught:
        client.organizations.list(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == f"domains must be a list of domain names, e.g. {example}; got str."


@pytest.mark.parametrize("kwargs", [{"order": "x" * 100_000}, {"limit": "9" * 100_000}])
def test_a_huge_bad_value_is_not_repeated_whole_in_its_message(kwargs: dict[str, object]) -> None:
    client = AsyncWorkOS(api_key="sk_test", base_url="http://127.0.0.1:9")
    with pytest.raises(InvalidArgumentError) as caught:
        client.organizations.list(**kwargs)  # type: ignore[arg-type]
    assert len(str(caught.value)) < 400
    assert "..." in str(caught.value)


@pytest.mark.parametrize(
    ("order", "before", "after", "direction"),
    [
        (None, None, None, "after"),
        (Order.DESC, None, None, "after"),
        (Order.ASC, None, None, "after"),
        (Order.NORMAL, None, None, "before"),
        (Order.DESC, "org_1", None, "before"),
        (Order.ASC, "org_1", None, "before"),
        (Order.NORMAL, None, "org_1", "after"),
        (Order.NORMAL, "org_1", None, "before"),
    ],
)
def test_pagination_direction(order: Order | None, before: str | None, after: str | None, direction: str) -> None:
    assert pagination_direction(order, before=before, after=after) == direction


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"X-Request-ID": "req-1", **(headers or {})}, body)


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_decode_error_picks_the_class_for_the_status(status: int, error_class: type[APIStatusError]) -> None:
    error = decode_error(_response(status, b'{"code": "some_code", "message": "Something."}'))
    assert type(error) is error_class
    assert (error.status_code, error.code, error.message, error.request_id) == (
        status,
        "some_code",
        "Something.",
        "req-1",
    )
    assert str(error) == f"HTTP {status} some_code: Something. [request id req-1]"


def test_decode_error_reads_field_errors() -> None:
    body = b'{"code":"invalid_request_parameters","message":"Validation failed","errors":[{"field":"name","code":"required","message":"name is required."}]}'
    error = decode_error(_response(422, body))
    assert [(e.field, e.code, e.message) for e in error.errors] == [("name", "required", "name is required.")]
    assert "name: name is required." in str(error)


def test_decode_error_survives_html_and_empty_bodies() -> None:
    error = decode_error(_response(502, b"<html><body>Bad gateway</body></html>"))
    assert isinstance(error, InternalServerError)
    assert error.code is None
    assert error.body == "<html><body>Bad gateway</body></html>"
    assert decode_error(_response(500, b"")).message == "HTTP 500 with an empty body"


def test_a_redirect_with_an_empty_body_says_its_status_once() -> None:
    # It read "HTTP 301: Unexpected redirect (HTTP 301); ... HTTP 301 with an empty body".
    error = decode_error(_response(301, b"", headers={"Location": "https://elsewhere.example/"}))
    assert str(error).count("301") == 1
    assert "Unexpected redirect to 'https://elsewhere.example/'" in str(error)
    assert "Check base_url" in str(error)


def test_decode_error_cuts_the_key_out_of_the_body() -> None:
    error = decode_error(_response(400, b'{"message": "bad key sk_test_SECRET"}'), secret=Secret("sk_test_SECRET"))
    assert "sk_test_SECRET" not in error.body
    assert "sk_test_SECRET" not in str(error)
    assert "sk_test_SECRET" not in repr(error)


def test_a_long_body_is_shortened_in_repr_but_kept_whole() -> None:
    error = decode_error(_response(500, b"x" * 10_000))
    assert len(error.body) == 10_000
    assert len(repr(error)) < 3_000


def test_rate_limit_error_carries_retry_after() -> None:
    error = decode_error(_response(429, b'{"message":"Too many requests."}', {"Retry-After": "7"}))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert "retry after 7s" in str(error)


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("-4", now=now) == 0.0
    later = format_datetime(datetime(2026, 1, 15, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    earlier = format_datetime(datetime(2026, 1, 15, 11, 0, 0, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0
    for garbage in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(garbage, now=now) is None


def test_parse_retry_after_reads_every_http_date_form_and_only_plain_numbers() -> None:
    # RFC 9110 5.6.7: a recipient must accept all three forms; the asctime one, which carries
    # no zone (it is GMT), was taken as unusable and the client retried on its own backoff.
    now = datetime(1994, 11, 6, 8, 49, 7, tzinfo=UTC).timestamp()
    for date in ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"):
        assert parse_retry_after(date, now=now) == 30.0, date
    # Delta-seconds is digits; Python's float() takes more than that ("1_0" was ten seconds).
    for loose in ("1_0", "1e3", "0x10", "\u0661\u0660"):  # the last: ten in Arabic-Indic digits
        assert parse_retry_after(loose, now=now) is None, loose


@pytest.mark.parametrize(
    "date",
    [
        "Thu, 01 Jan 99999999999 00:00:00 GMT",  # a year no datetime holds
        "Thu, 01 Jan 2026 00:00:00 +99999999999999999999",  # an offset no int of C holds
    ],
)
def test_a_retry_after_date_out_of_any_range_is_unusable_not_an_error(date: str) -> None:
    assert parse_retry_after(date, now=datetime(2026, 1, 15, tzinfo=UTC).timestamp()) is None


POLICY = RetryPolicy(max_retries=3, backoff=Backoff(base=0.5, cap=4.0, max_retry_after=10.0))


def test_retry_delay_retries_only_the_retryable_statuses() -> None:
    assert {408, 429, 500, 502, 503, 504} == RETRYABLE_STATUSES
    for status in range(400, 600):
        delay = retry_delay(0, POLICY, status=status, random=lambda: 1.0)
        assert (delay is not None) == (status in RETRYABLE_STATUSES), status
    assert retry_delay(0, POLICY, connection_error=True, random=lambda: 1.0) == 0.5


def test_retry_delay_backs_off_exponentially_with_full_jitter_and_a_cap() -> None:
    ceilings = [retry_delay(attempt, POLICY, status=503, random=lambda: 1.0) for attempt in range(3)]
    assert ceilings == [0.5, 1.0, 2.0]
    big = RetryPolicy(max_retries=10, backoff=Backoff(base=0.5, cap=4.0))
    assert retry_delay(9, big, status=503, random=lambda: 1.0) == 4.0
    assert retry_delay(2, POLICY, status=503, random=lambda: 0.25) == 0.5
    assert retry_delay(2, POLICY, status=503, random=lambda: 0.0) == 0.0


def test_retry_delay_stays_at_the_cap_however_many_retries_came_before() -> None:
    many = RetryPolicy(max_retries=100_000, backoff=Backoff(base=0.5, cap=4.0))
    for attempt in (1023, 1024, 1025, 99_999):
        assert retry_delay(attempt, many, status=503, random=lambda: 1.0) == 4.0
    nothing = RetryPolicy(max_retries=100_000, backoff=Backoff(base=0, cap=0))
    assert retry_delay(5000, nothing, status=503, random=lambda: 1.0) == 0.0


def test_retry_delay_stops_after_max_retries() -> None:
    assert retry_delay(2, POLICY, status=503, random=lambda: 1.0) is not None
    assert retry_delay(3, POLICY, status=503, random=lambda: 1.0) is None
    assert retry_delay(0, RetryPolicy(max_retries=0), status=503, random=lambda: 1.0) is None


def test_retry_delay_honours_retry_after_up_to_the_cap() -> None:
    assert retry_delay(0, POLICY, status=429, headers={"Retry-After": "7"}, random=lambda: 1.0) == 7.0
    assert retry_delay(0, POLICY, status=503, headers={"Retry-After": "0"}, random=lambda: 1.0) == 0.0
    # Beyond the cap: give up at once, so the caller sees RateLimitError.retry_after.
    assert retry_delay(0, POLICY, status=429, headers={"Retry-After": "11"}, random=lambda: 1.0) is None


def test_backoff_refuses_negative_values() -> None:
    with pytest.raises(ConfigurationError, match=r"Backoff\.base"):
        Backoff(base=-1)


MIB = 1024 * 1024


def a_mebibyte_of(item: bytes) -> bytes:
    """A JSON array of `item` repeated past 1 MiB (the size from which bodies are counted)."""
    return b"[" + item * (MIB // len(item) + 1) + b"0]"


@pytest.mark.parametrize(
    "item",
    [b"[],", b'"a",', b'"\\\\",', b'{"a":1},', b"1.5,", b"1,"],
    ids=[
        "empty arrays",
        "one-letter strings",
        "strings ending in an escaped backslash",
        "small objects",
        "floats",
        "small numbers",
    ],
)
def test_a_large_body_of_more_elements_than_one_per_ten_bytes_is_not_decoded(item: bytes) -> None:
    with pytest.raises(
        ResponseValidationError, match=r"elements \(strings, or arrays, objects and their items\)"
    ) as caught:
        decode_json(_response(200, a_mebibyte_of(item)))
    assert "it was not decoded" in str(caught.value)


@pytest.mark.parametrize(
    "item",
    [b'"abcdefghijk",', b'"[{[{[{[{[{",', b'"a,b,c,d,e,f,g,h",', b'"\\"\\"\\"\\"",', b'",tag-one,",'],
    ids=[
        "eleven-letter strings",
        "brackets inside strings",
        "commas inside strings",
        "escaped quotes inside strings",
        "strings that start and end with a comma",
    ],
)
def test_a_large_body_of_fewer_elements_is_decoded(item: bytes) -> None:
    assert len(decode_json(_response(200, a_mebibyte_of(item)))) == MIB // len(item) + 2


def test_a_large_body_with_a_string_left_open_is_counted_in_linear_time() -> None:
    # An opening quote, then escaped quotes and commas to the end (too many commas to pass
    # uncounted, none of them after a string): a search that started a string over
    # at each quote inside it took about an hour on 1 MiB.  Run apart, so that a regression
    # ends in a timeout (a thousand times what it takes) rather than a suite that never ends.
    script = (
        "from workos_orgs._response import Response, decode_json\n"
        "body = b'[\"' + b'\\\\\",' * (2**20 // 3 + 1)\n"
        "try:\n"
        "    decode_json(Response(200, {}, body))\n"
        "except Exception as error:\n"
        "    print(type(error).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "ResponseValidationError"
