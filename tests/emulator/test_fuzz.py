"""Hostile input to the emulator: every route, fuzzed over real loopback HTTP.

Arbitrary methods, paths, query strings, headers and bodies go to a running emulator; every
reply must be a status the emulator's own OpenAPI document lists for that route (or, for a
route it does not know, one any request can get), carry an ``X-Request-ID``, and, for an
error, a JSON body with a ``message`` that matches the documented schema.  A 500 fails the
test, and so does the emulator's last-resort guard having fired (`internal_errors`).
"""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import aiohttp
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from workos_orgs.emulator import Emulator
from workos_orgs.emulator._routes import (
    API_ROUTES,
    CONTROL_ROUTES,
    HEALTH_ROUTE,
    MAX_BODY_BYTES,
    MAX_URL_BYTES,
    ROUTES,
    UNROUTED_RESPONSES,
    Route,
    find,
    openapi_document,
    responses_of,
)

FUZZ = settings(
    max_examples=150,
    deadline=None,  # a hang is caught by the socket timeout instead, with a clearer message
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
TIMEOUT_SECONDS = 10
SEEDED = 5


class Wire:
    """Raw HTTP/1.1 to the emulator over one keep-alive connection (re-opened when it drops)."""

    def __init__(self, url: str, api_key: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.api_key = api_key
        self._connection: http.client.HTTPConnection | None = None

    def send(
        self, method: str, target: str, body: bytes | None = None, headers: dict[str, str | None] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        given = {"Authorization": f"Bearer {self.api_key}", **(headers or {})}
        sent = {name: value for name, value in given.items() if value is not None}
        for attempt in range(2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_SECONDS)
            try:
                self._connection.request(method, target, body=body, headers=sent)
                response = self._connection.getresponse()
                data = response.read()
            except (ConnectionError, http.client.RemoteDisconnected, BrokenPipeError):
                # The emulator closes a connection after some errors (413); a new one is fine.
                self.close()
                if attempt:
                    raise
                continue
            except TimeoutError:
                pytest.fail(f"no reply in {TIMEOUT_SECONDS} s to {method} {target[:200]}")
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, response.headers, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator().running_in_thread() as emu:
        emu.seed({"organizations": [{"name": f"Seeded {n}", "domains": [f"seeded{n}.example"]} for n in range(SEEDED)]})
        yield emu
        assert emu.internal_errors == 0, "the last-resort 500 guard fired: see the log for the traceback"


@pytest.fixture(scope="module")
def wire(emulator: Emulator) -> Iterator[Wire]:
    connection = Wire(emulator.url, emulator.api_key)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def known_ids(emulator: Emulator) -> list[str]:
    organizations = emulator.seed({"organizations": [{"name": "Known", "domains": ["known.example"]}]})
    return [organizations[0]["id"], organizations[0]["domains"][0]["id"]]


DOCUMENT = openapi_document()


def _validator(schema_name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}", "components": DOCUMENT["components"]})


def _segments(target: str) -> tuple[str, ...]:
    return tuple(unquote(part) for part in target.split("?", 1)[0].strip("/").split("/"))


def check_response(
    emulator: Emulator, method: str, target: str, status: int, headers: http.client.HTTPMessage, body: bytes
) -> None:
    """The reply is documented for its route, identified, and (for an error) a JSON body."""
    assert status != 500, body[:500]
    assert emulator.internal_errors == 0
    uuid.UUID(headers["X-Request-ID"])
    found = find(ROUTES, method, _segments(target))
    if len(target) > MAX_URL_BYTES and (found is None or found[0] is not HEALTH_ROUTE):
        # 400 when the method is not one HTTP knows: the HTTP layer refuses before the length.
        documented: dict[int, str | None] = {400: "Error", 414: "Error"}
    elif found is None:
        documented = dict(UNROUTED_RESPONSES)
    else:
        documented = _documented(found[0])
    assert status in documented, (method, target[:200], status, body[:300])
    schema = documented[status]
    if method == "HEAD" or schema is None:
        return
    if schema == "Accepted":
        assert body == b"Accepted"
        return
    assert headers.get_content_type() == "application/json", (status, headers.get_content_type(), body[:200])
    reply = orjson.loads(body)
    errors = sorted(_validator(schema).iter_errors(reply), key=str)
    assert not errors, (method, target[:200], status, schema, errors[0].message, body[:300])
    if status >= 400:
        assert isinstance(reply["message"], str)


def _documented(route: Route) -> dict[int, str | None]:
    operation = DOCUMENT["paths"][route.path][route.method.lower()]
    documented: dict[int, str | None] = {}
    for status, reply in operation["responses"].items():
        content = reply.get("content")
        schema_ref = next(iter(content.values()))["schema"]["$ref"] if content else None
        documented[int(status)] = None if schema_ref is None else schema_ref.rsplit("/", 1)[1]
    return documented


# Strategies.

ODD_SEGMENTS = [
    "",
    "%",
    "%zz",
    "%00",
    "%ED%A0%80",
    "%FF%FE",
    "..",
    ".",
    "%2F",
    "org_",
    "org_01EHWNCE74X7JSDV0X3SZ3KJNY",
    "org_domain_01EHWNCE74X7JSDV0X3SZ3KJNY",
    "org_01ehwnce74x7jsdv0x3sz3kjny",
    "external_id",
    "verify",
    "%E2%80%AE",
    "%0D%0A",
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
QUERY_NAMES = ["limit", "order", "before", "after", "domains", "search", "", "%00", "limit[]"]


def _quoted_text(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(max_size=max_size).map(lambda text: quote(text, safe=""))


segment = st.one_of(st.sampled_from(ODD_SEGMENTS), _quoted_text(), st.text("abcxyz0123_-.~", max_size=30))


@st.composite
def targets(draw: st.DrawFn, id_values: list[str]) -> tuple[str, str]:
    """A method and request target: near a real route most of the time, anything otherwise."""
    if draw(st.booleans()):
        route = draw(st.sampled_from(ROUTES))
        method = draw(st.sampled_from([route.method, route.method, *METHODS]))
        parts = [
            draw(st.one_of(st.sampled_from(id_values), segment)) if part.startswith("{") else part
            for part in route.segments
        ]
    else:
        method = draw(st.one_of(st.sampled_from(METHODS), st.from_regex(r"\A[A-Z]{1,12}\Z")))
        parts = draw(
            st.lists(st.one_of(st.sampled_from(["organizations", "organization_domains"]), segment), max_size=5)
        )
    path = "/" + "/".join(parts) + draw(st.sampled_from(["", "", "/", "//"]))
    query = draw(query_strings())
    return method, path + (f"?{query}" if query else "")


@st.composite
def query_strings(draw: st.DrawFn) -> str:
    pairs = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.one_of(st.sampled_from(QUERY_NAMES), _quoted_text(10)))
        value = draw(
            st.one_of(
                _quoted_text(),
                st.sampled_from(["", "%", "%zz", "%00", "%ED%A0%80", "0", "-1", "101", "1e3", "desc", "normal", "asc"]),
                st.integers(-(10**30), 10**30).map(str),
                st.integers(1, 6000).map(lambda n: "9" * n),  # past int()'s 4,300-digit limit
                st.integers(1, 3000).map(lambda n: ",".join(f"d{i}.example" for i in range(n))),
                st.integers(MAX_URL_BYTES - 100, MAX_URL_BYTES + 200).map(lambda n: "x" * n),
            )
        )
        pairs.append(f"{name}={value}" if draw(st.booleans()) or not value else name)
    return "&".join(pairs)


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**40), 10**40),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=60),
        st.sampled_from(["\ud800", "\udfff", "\x00", "org_01EHWNCE74X7JSDV0X3SZ3KJNY", "pending", "verified", "a.com"]),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=5)
        ),
        max_leaves=20,
    )


FIELD_NAMES = [
    "name",
    "domain_data",
    "domains",
    "external_id",
    "metadata",
    "allow_profiles_outside_organization",
    "stripe_customer_id",
    "organization_id",
    "domain",
    "state",
    # control bodies
    "organizations",
    "method",
    "path",
    "status",
    "body",
    "content_type",
    "retry_after",
    "delay_ms",
    "drop",
    "times",
    "rate",
    "kinds",
    "slow_ms",
    "seed",
    "fail_next",
]


@st.composite
def shaped_bodies(draw: st.DrawFn, id_values: list[str]) -> dict[str, Any]:
    """An object with the API's field names, each holding a plausible or a wrong value."""
    value = st.one_of(
        _json_values(),
        st.sampled_from(id_values),
        st.lists(
            st.fixed_dictionaries({"domain": _json_values(), "state": st.sampled_from(["pending", "verified", "x"])}),
            max_size=3,
        ),
        st.lists(st.sampled_from(["acme.example", "gmail.com", "ACME.example.", "-bad-", "x" * 300]), max_size=3),
        st.dictionaries(st.text(max_size=45), st.one_of(st.none(), st.text(max_size=700)), max_size=55),
        st.sampled_from([["429", "500"], ["slow"], "*", "/organizations*", "before", "after", 0, 1, 599, 10**12]),
    )
    return draw(st.dictionaries(st.sampled_from(FIELD_NAMES), value, max_size=6))


def _encode(value: Any) -> bytes:
    # The standard library writes integers of any size and lone surrogates as \\u escapes.
    return json.dumps(value).encode()


@st.composite
def bodies(draw: st.DrawFn, id_values: list[str]) -> bytes | None:
    return draw(
        st.one_of(
            st.none(),
            shaped_bodies(id_values).map(_encode),
            _json_values().map(_encode),
            st.binary(max_size=200),
            st.sampled_from(
                [
                    b"",
                    b"{",
                    b"null",
                    b'{"name": "a"',
                    b'{"name": "\xed\xa0\x80"}',
                    b'{"name": "\\ud800"}',
                    b"[" * 5000 + b"]" * 5000,
                    b'{"a":' * 2000 + b"1" + b"}" * 2000,
                    b'{"name": 1e999}',
                    b'{"name": "x", "name": 5}',
                    b"\xef\xbb\xbf{}",
                ]
            ),
        )
    )


@st.composite
def headers(draw: st.DrawFn) -> dict[str, str | None]:
    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
    extra: dict[str, str | None] = {}
    if draw(st.booleans()):
        extra["Idempotency-Key"] = draw(st.one_of(printable, st.just("k" * 5000)))
    if draw(st.booleans()):
        extra["Content-Type"] = draw(st.one_of(st.sampled_from(["application/json", "text/plain", "x/y"]), printable))
    if draw(st.booleans()):
        extra["X-Custom"] = draw(printable)
    if draw(st.integers(0, 9)) == 0:
        extra["Authorization"] = draw(
            st.one_of(st.none(), printable, st.just("Bearer "), st.just("bearer sk_test_default"))
        )
    return extra


def _fuzz_one(
    emulator: Emulator, wire: Wire, method: str, target: str, body: bytes | None, sent: dict[str, str | None]
) -> None:
    status, response_headers, reply = wire.send(method, target, body, sent)
    try:
        check_response(emulator, method, target, status, response_headers, reply)
        found = find(ROUTES, method, _segments(target))
        health = found is not None and found[0] is HEALTH_ROUTE
        if not health and "Authorization" in sent and sent["Authorization"] != f"Bearer {emulator.api_key}":
            # Without the key nothing but health is responded (a malformed or oversized request
            # is refused before the key is even read).
            assert status in (400, 401, 413, 414), (method, target[:200], status)
    finally:
        # A control call may have queued faults or chaos; they must not leak into later examples.
        emulator.clear_faults()
        emulator.set_chaos(None)


# The tests.


@FUZZ
@given(data=st.data())
def test_any_request_gets_a_documented_json_response(
    emulator: Emulator, wire: Wire, known_ids: list[str], data: st.DataObject
) -> None:
    method, target = data.draw(targets(known_ids))
    body = data.draw(bodies(known_ids))
    _fuzz_one(emulator, wire, method, target, body, data.draw(headers()))


@pytest.mark.parametrize("route", [*API_ROUTES, *CONTROL_ROUTES], ids=lambda route: f"{route.method} {route.path}")
@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_each_route_with_bodies_of_its_own_shape(
    emulator: Emulator, wire: Wire, known_ids: list[str], route: Route, data: st.DataObject
) -> None:
    path = "/".join(data.draw(st.sampled_from(known_ids)) if part.startswith("{") else part for part in route.segments)
    query = data.draw(query_strings()) if route.query else ""
    target = f"/{path}" + (f"?{query}" if query else "")
    body = data.draw(st.one_of(shaped_bodies(known_ids).map(_encode), bodies(known_ids)))
    _fuzz_one(emulator, wire, route.method, target, body, data.draw(headers()))


@pytest.mark.parametrize("route", [*API_ROUTES, *CONTROL_ROUTES], ids=lambda route: f"{route.method} {route.path}")
@settings(FUZZ, max_examples=15)
@given(authorization=st.one_of(st.none(), st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)))
def test_every_route_but_health_refuses_a_missing_or_wrong_key(
    emulator: Emulator, wire: Wire, known_ids: list[str], route: Route, authorization: str | None
) -> None:
    path = "/".join(known_ids[0] if part.startswith("{") else part for part in route.segments)
    sent: dict[str, str | None] = {"Authorization": authorization}
    if authorization == f"Bearer {emulator.api_key}":
        return
    before = len(emulator.requests)
    status, response_headers, body = wire.send(route.method, f"/{path}", b'{"name": "Nope"}', sent)
    assert (status, orjson.loads(body)) == (401, {"message": "Unauthorized"})
    uuid.UUID(response_headers["X-Request-ID"])
    assert len(emulator.requests) == before  # refused before any work, and not even logged


def test_health_needs_no_key(wire: Wire) -> None:
    status, _, body = wire.send("GET", "/health", headers={"Authorization": None})
    assert (status, orjson.loads(body)) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    ("method", "target"),
    [("POST", "/organizations"), ("PUT", "/organizations/org_01EHWNCE74X7JSDV0X3SZ3KJNY"), ("POST", "/_emulator/seed")],
)
@pytest.mark.parametrize("authorized", [True, False])
def test_a_body_over_the_limit_is_refused_with_413(
    emulator: Emulator, wire: Wire, method: str, target: str, authorized: bool
) -> None:
    before = len(emulator.requests)
    body = b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}'
    sent: dict[str, str | None] = {} if authorized else {"Authorization": "Bearer sk_wrong"}
    status, response_headers, reply = wire.send(method, target, body, sent)
    assert status == 413
    assert orjson.loads(reply) == {"message": f"The request body is larger than {MAX_BODY_BYTES} bytes."}
    uuid.UUID(response_headers["X-Request-ID"])
    assert len(emulator.requests) == before


def test_a_request_target_over_the_limit_is_414_and_one_just_under_is_served(emulator: Emulator, wire: Wire) -> None:
    prefix = "/organizations?search="
    status, _, body = wire.send("GET", prefix + "x" * (MAX_URL_BYTES - len(prefix)))
    assert (status, orjson.loads(body)["data"]) == (200, [])
    status, response_headers, body = wire.send("GET", prefix + "x" * (MAX_URL_BYTES - len(prefix) + 1))
    assert (status, orjson.loads(body)) == (
        414,
        {"message": f"The request target is longer than {MAX_URL_BYTES} bytes."},
    )
    uuid.UUID(response_headers["X-Request-ID"])


def test_thousands_of_domains_in_one_filter(emulator: Emulator, wire: Wire) -> None:
    # More values than an SQLite built with the old 999-variable limit could bind one by one.
    emulator.seed({"organizations": [{"name": "Many domains", "domains": ["many-domains.example"]}]})
    domains = ",".join(f"d{number}.io" for number in range(1, 1500)) + ",many-domains.example"
    status, _, body = wire.send("GET", f"/organizations?domains={domains}&domains=" + ",".join(["x.io"] * 300))
    assert status == 200
    assert [org["name"] for org in orjson.loads(body)["data"]] == ["Many domains"]


@pytest.mark.parametrize(
    "raw",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello
        b"GET /org\x00 HTTP/1.1\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\n\r\n",
        b"BREW /organizations HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /organizations HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /organizations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /" + b"x" * 70_000 + b" HTTP/1.1\r\n\r\n",
    ],
    ids=["tls", "nul", "raw-byte", "unknown-method", "bad-length", "bad-chunk", "huge-line"],
)
def test_bytes_that_are_not_http_get_a_json_400_and_the_emulator_keeps_serving(
    emulator: Emulator, wire: Wire, raw: bytes
) -> None:
    with socket.create_connection((wire.host, wire.port), timeout=TIMEOUT_SECONDS) as sock:
        sock.sendall(raw)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0].split()[1] == "400", reply[:300]
    fields = dict(line.split(": ", 1) for line in lines[1:])
    uuid.UUID(fields["X-Request-ID"])
    assert fields["Content-Type"] == "application/json"
    assert orjson.loads(body) == {"message": "The request is not valid HTTP."}
    status, _, _ = wire.send("GET", "/organizations")
    assert status == 200


def test_a_client_hanging_up_mid_body_is_not_an_error(emulator: Emulator, wire: Wire) -> None:
    before = len(emulator.requests)
    with socket.create_connection((wire.host, wire.port), timeout=TIMEOUT_SECONDS) as sock:
        sock.sendall(
            b"POST /organizations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + emulator.api_key.encode()
            + b'\r\nContent-Length: 1000\r\n\r\n{"name": "Cut'
        )
    status, _, _ = wire.send("GET", "/organizations")
    assert status == 200
    assert emulator.internal_errors == 0
    assert [entry.method for entry in emulator.requests[before:]] == ["GET"]


def test_the_openapi_document_lists_every_route_the_dispatchers_know(emulator: Emulator, wire: Wire) -> None:
    status, _, body = wire.send("GET", "/_emulator/openapi.json")
    assert status == 200
    served = orjson.loads(body)
    assert served == orjson.loads(orjson.dumps(DOCUMENT))
    assert served["openapi"] == "3.1.0"
    listed = {(method.upper(), path) for path, item in served["paths"].items() for method in item}
    assert listed == {(route.method, route.path) for route in ROUTES}
    validate_openapi(served)  # a valid OpenAPI 3.1 document, not just JSON
    # Behaviour, not just the table: each documented route is routed (a route miss is the
    # plain `Not Found`), and the same paths under undocumented methods are misses.
    for route in (*API_ROUTES, *CONTROL_ROUTES):
        path = "/" + "/".join(
            "org_01EHWNCE74X7JSDV0X3SZ3KJNY" if part.startswith("{") else part for part in route.segments
        )
        if "organization_domains/" in path:
            path = path.replace("org_01", "org_domain_01")
        if route.operation_id in ("reset", "seed", "add_fault", "set_chaos"):
            continue  # they change state; the fuzz tests call them
        status, _, body = wire.send(route.method, path)
        assert (status, body) != (404, b'{"message":"Not Found"}'), route
        for method in {"GET", "POST", "PUT", "DELETE"} - {other.method for other in ROUTES if other.path == route.path}:
            status, _, body = wire.send(method, path)
            assert (status, orjson.loads(body)) == (404, {"message": "Not Found"}), (method, path)


def test_the_openapi_document_needs_the_key(wire: Wire) -> None:
    status, _, body = wire.send("GET", "/_emulator/openapi.json", headers={"Authorization": None})
    assert (status, orjson.loads(body)) == (401, {"message": "Unauthorized"})


async def test_the_last_resort_guard_responds_json_counts_and_keeps_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard is for bugs only, so a bug is planted: the fuzz tests above fail if it fires.
    async with Emulator() as emu:
        wire = Wire(emu.url, emu.api_key)

        def broken(request: object) -> None:
            raise RuntimeError("planted bug")

        monkeypatch.setattr(emu._api, "handle", broken)
        status, response_headers, body = await asyncio.to_thread(wire.send, "GET", "/organizations")
        request_id = response_headers["X-Request-ID"]
        assert (status, orjson.loads(body)) == (500, {"message": "Internal emulator error.", "request_id": request_id})
        assert emu.internal_errors == 1
        monkeypatch.undo()
        status, _, _ = await asyncio.to_thread(wire.send, "GET", "/organizations")
        assert status == 200
        await asyncio.to_thread(wire.close)


async def test_any_method_and_path_get_the_emulators_json_not_aiohttps_text() -> None:
    # One stack serves every request: no CONNECT or unknown path ever reaches a plain-text
    # 404 or 405 of aiohttp's.
    async with Emulator(api_key="sk_test_embedded") as emu:
        async with aiohttp.ClientSession(emu.url) as http:
            async with http.request("CONNECT", "/organizations") as response:
                assert (response.status, await response.json()) == (401, {"message": "Unauthorized"})
                uuid.UUID(response.headers["X-Request-ID"])
            headers = {"Authorization": "Bearer sk_test_embedded"}
            async with http.get("/nowhere", headers=headers) as response:
                assert (response.status, await response.json()) == (404, {"message": "Not Found"})
            async with http.get("/_emulator/openapi.json", headers=headers) as response:
                assert (await response.json())["paths"].keys() == DOCUMENT["paths"].keys()


HEADER_NAMES = ["Authorization", "Idempotency-Key", "Content-Type", "Expect", "X-Custom"]
# Any byte but the CR and LF that end a header line (those are framing: see the test above).
HEADER_BYTES = st.binary(max_size=120).map(lambda value: value.replace(b"\r", b"").replace(b"\n", b""))


@settings(FUZZ, max_examples=200)
@given(
    method=st.sampled_from(["GET", "POST"]),
    fuzzed=st.dictionaries(st.sampled_from(HEADER_NAMES), HEADER_BYTES, min_size=1),
    keyed=st.booleans(),
)
def test_arbitrary_header_bytes_get_a_documented_json_response(
    emulator: Emulator, wire: Wire, method: str, fuzzed: dict[str, bytes], keyed: bool
) -> None:
    body = b'{"name": "Fuzzed"}' if method == "POST" else b""
    fields = {"Host": b"x", "Connection": b"close", "Content-Length": str(len(body)).encode()}
    if keyed:
        fields["Authorization"] = f"Bearer {emulator.api_key}".encode()
    fields.update(fuzzed)
    raw = b"%s /organizations HTTP/1.1\r\n" % method.encode()
    raw += b"".join(name.encode() + b": " + value + b"\r\n" for name, value in fields.items()) + b"\r\n" + body
    with socket.create_connection((wire.host, wire.port), timeout=TIMEOUT_SECONDS) as sock:
        sock.sendall(raw)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    head, _, reply = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if status == 100:  # an honoured Expect: 100-continue; the final response follows
        head, _, reply = reply.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
    parsed_headers = http.client.parse_headers(io.BytesIO(head.split(b"\r\n", 1)[1] + b"\r\n\r\n"))
    route, _ = find(ROUTES, method, ("organizations",)) or (None, None)
    assert route is not None
    assert status != 500, reply[:300]
    assert status in {**responses_of(route), 400: "Error"}, (status, reply[:300])
    uuid.UUID(parsed_headers["X-Request-ID"])
    if status >= 400:
        assert isinstance(orjson.loads(reply)["message"], str)
    assert emulator.internal_errors == 0
