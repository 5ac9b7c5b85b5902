"""The key stays secret in every form a server can echo it: JSON-escaped in a body, in a
response header, cut in two.  A key too short to be real is not "redacted" out of every word."""

from __future__ import annotations

import asyncio
import base64
import socket
import traceback

import orjson
import pytest

from workos_orgs import (
    APIConnectionError,
    AsyncWorkOS,
    BadRequestError,
    InternalServerError,
    Organization,
    ResponseValidationError,
)
from workos_orgs._redaction import MIN_SECRET_LENGTH, Secret, redact

from .conftest import FAST
from .test_hostile_server import Hostile
from .test_secrets import SECRET, assert_hidden, check_error

ORG_ID = "org_01ARZ3NDEKTSV4RRFFQ69G5FAV"


def escaped(text: str, *, every: int, upper: bool = False) -> str:
    """`text` with every `every`-th character written as a JSON ``\\uXXXX`` escape."""
    hex_format = "\\u{:04X}" if upper else "\\u{:04x}"
    return "".join(hex_format.format(ord(char)) if index % every == 0 else char for index, char in enumerate(text))


FORM_IDS = ["every character", "every third", "every fifth, upper-case hex"]
ESCAPED_FORMS = [escaped(SECRET, every=1), escaped(SECRET, every=3), escaped(SECRET, every=5, upper=True)]


def organization_named(name: str, metadata_value: str) -> dict[str, object]:
    return {
        "object": "organization",
        "id": ORG_ID,
        "name": name,
        "domains": [],
        "metadata": {"k": metadata_value},
        "external_id": None,
        "created_at": "2026-01-15T12:00:00.000Z",
        "updated_at": "2026-01-15T12:00:00.000Z",
    }


def echoing(
    status: int, body: bytes, echoed: str = f"X-Echo-Authorization: Bearer {SECRET}\r\nX-Echo-{SECRET}: {SECRET}"
) -> Hostile:
    """A server whose response carries `body` and the `echoed` header lines: by default the key
    as it came, in a header's value and in a header's name."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{echoed}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()

    return Hostile(handler)


@pytest.mark.parametrize("form", ESCAPED_FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("status", [400, 500])
async def test_a_key_echoed_json_escaped_in_an_error_never_shows(form: str, status: int) -> None:
    body = f'{{"message": "bad key {form}", "code": "{form}", "errors": [{{"field": "{form}", "code": "x"}}]}}'
    assert SECRET in orjson.loads(body)["message"]  # the server really echoed the key
    async with echoing(status, body.encode()) as server:
        async with AsyncWorkOS(api_key=SECRET, base_url=server.url, backoff=FAST, max_retries=0) as client:
            with pytest.raises(BadRequestError if status == 400 else InternalServerError) as caught:
                await client.organizations.get(ORG_ID)
    error = caught.value
    check_error(error)
    for text, where in ((error.message, "message"), (repr(error.json), "json"), (repr(error.headers), "headers")):
        assert_hidden(text, where)
    assert "[redacted]" in error.message
    assert error.headers["X-Echo-Authorization"] == "Bearer [redacted]"


@pytest.mark.parametrize("form", ESCAPED_FORMS, ids=FORM_IDS)
async def test_a_key_echoed_json_escaped_in_a_success_never_reaches_the_model(form: str) -> None:
    body = orjson.dumps(organization_named(f"named {form}", form)).replace(b"\\\\u", b"\\u")
    assert SECRET in orjson.loads(body)["name"]
    async with echoing(200, body) as server:
        async with AsyncWorkOS(api_key=SECRET, base_url=server.url, backoff=FAST, max_retries=0) as client:
            raw = await client.organizations.with_raw_response.get(ORG_ID)
    parsed = raw.parse()
    assert isinstance(parsed, Organization)
    for text, where in (
        (repr(parsed), "the model"),
        (repr(dict(raw.headers)), "raw headers"),
        (repr(raw.body), "raw body"),
    ):
        assert_hidden(text, where)
    assert parsed.name == "named [redacted]"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("key", ["e", "sk", "abcdefg"])
async def test_a_key_too_short_to_be_real_is_not_cut_out_of_every_message(key: str) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}"
    async with AsyncWorkOS(api_key=key, base_url=base_url, backoff=FAST, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.organizations.get(ORG_ID)
    assert "[redacted]" not in str(caught.value)
    assert "Connection failed" in str(caught.value)
    assert "sk_test_" not in repr(client)


async def test_a_short_key_leaves_error_bodies_intact() -> None:
    body = b'{"message": "Invalid API key: e.g. see the dashboard"}'
    async with echoing(400, body) as server:
        async with AsyncWorkOS(api_key="e", base_url=server.url, backoff=FAST, max_retries=0) as client:
            with pytest.raises(BadRequestError) as caught:
                await client.organizations.get(ORG_ID)
    assert caught.value.message == "Invalid API key: e.g. see the dashboard"


def percent_encoded(text: str, *, every: int, upper: bool) -> str:
    """`text` with every `every`-th character percent-encoded."""
    hex_format = "%{:02X}" if upper else "%{:02x}"
    return "".join(hex_format.format(ord(char)) if index % every == 0 else char for index, char in enumerate(text))


ENCODED_FORMS = {
    "base64": base64.b64encode(SECRET.encode()).decode(),
    "base64 after one byte": base64.b64encode(b"=" + SECRET.encode()).decode(),
    "base64 of the Authorization value": base64.b64encode(f"Bearer {SECRET}".encode()).decode(),
    "URL-safe base64 after two bytes": base64.urlsafe_b64encode(b"k=" + SECRET.encode() + b"?").decode(),
    "percent-encoded": percent_encoded(SECRET, every=1, upper=True),
    "every third character percent-encoded, lower-case hex": percent_encoded(SECRET, every=3, upper=False),
    "hex": SECRET.encode().hex(),
    "upper-case hex": SECRET.encode().hex().upper(),
}


def encoded_echo(form: str) -> bytes:
    return f'{{"message": "bad credential {form}", "code": "{form}"}}'.encode()


@pytest.mark.parametrize("form", ENCODED_FORMS.values(), ids=ENCODED_FORMS.keys())
@pytest.mark.parametrize("status", [400, 500])
async def test_a_key_echoed_encoded_in_an_error_never_shows(form: str, status: int) -> None:
    body = encoded_echo(form)
    async with echoing(status, body, f"X-Echo: seen {form}") as server:
        async with AsyncWorkOS(api_key=SECRET, base_url=server.url, backoff=FAST, max_retries=0) as client:
            with pytest.raises(BadRequestError if status == 400 else InternalServerError) as caught:
                await client.organizations.get(ORG_ID)
    error = caught.value
    check_error(error)
    for text, where in (
        (str(error), "str"),
        (repr(error.json), "json"),
        (repr(error.headers), "headers"),
        (error.body or "", "body"),
    ):
        assert form not in text, f"the key, encoded, leaked into {where}"
    assert "[redacted]" in error.message
    assert "[redacted]" in error.headers["X-Echo"]


@pytest.mark.parametrize("form", ENCODED_FORMS.values(), ids=ENCODED_FORMS.keys())
@pytest.mark.parametrize(
    "body",
    [
        "<html>echo: {form}</html>",
        '{{"echo": "{form}"}}',
        '{{"object": "organization", "id": "org_1", "name": "A", "domains": [], "metadata": {{}},'
        ' "external_id": null, "created_at": "{form}", "updated_at": "{form}"}}',
    ],
    ids=["not JSON", "not the model", "a field's value"],
)
async def test_a_key_echoed_encoded_in_a_success_that_cannot_be_read_never_shows(form: str, body: str) -> None:
    # A captive portal or a misrouted base_url may answer 200 with an echo of the request: the
    # body becomes a ResponseValidationError's, and is searched as an error's is.
    async with echoing(200, body.format(form=form).encode(), "X-Echo: nothing") as server:
        async with AsyncWorkOS(api_key=SECRET, base_url=server.url, backoff=FAST, max_retries=0) as client:
            with pytest.raises(ResponseValidationError) as caught:
                await client.organizations.get(ORG_ID)
            with pytest.raises(ResponseValidationError) as listed:
                await client.organizations.list()
    for error in (caught.value, listed.value):
        check_error(error)
        for text, where in (
            (str(error), "str"),
            (error.body or "", "body"),
            ("".join(traceback.format_exception(error)), "traceback"),
            (repr(error.__cause__) + repr(error.__context__), "chained errors"),
            (repr(getattr(error.__context__, "doc", "")), "the chained decode error's document"),
        ):
            assert form not in text, f"the key, encoded, leaked into {where}"
        assert "[redacted]" in (error.body or "")


async def test_a_success_with_percent_signs_in_its_data_is_left_as_it_came() -> None:
    # Percent escapes in a success's data are the data: nothing is cut from them.  (A
    # success's body is searched for the key as it is and JSON-escaped only, see `received`:
    # percent-encoded, hex and base64 copies come from proxies echoing the request into an
    # error, and looking for them in every page of a crawl costs too much.)
    organization = organization_named("50% off", "https%3A%2F%2Fexample.com%2F%3Fq%3D1")
    async with echoing(200, orjson.dumps(organization), "X-Echo: nothing") as server:
        async with AsyncWorkOS(api_key=SECRET, base_url=server.url, backoff=FAST, max_retries=0) as client:
            parsed = await client.organizations.get(ORG_ID)
    assert (parsed.name, dict(parsed.metadata)) == ("50% off", {"k": "https%3A%2F%2Fexample.com%2F%3Fq%3D1"})


def test_short_text_that_happens_to_look_like_part_of_an_encoded_key_is_left_alone() -> None:
    # Only the key's whole encoded form is cut: a fragment of it is not the key.
    fragment = base64.b64encode(SECRET.encode()).decode()[:8]
    body = f'{{"message": "{fragment} and {SECRET.encode().hex()[:10]}"}}'.encode()
    assert redact(body, Secret(SECRET)) == body


def longest_piece(text: str, forms: tuple[str, ...]) -> int:
    """The most characters in a row of any of `forms` that `text` holds."""
    longest = 0
    for form in forms:
        for start in range(len(form)):
            length = longest + 1
            while start + length <= len(form) and form[start : start + length] in text:
                longest = length
                length += 1
    return longest


CUT_FORMS = {
    "as it is": SECRET,
    "base64 of the Authorization value": base64.b64encode(f"Bearer {SECRET}".encode()).decode(),
    "hex": SECRET.encode().hex(),
}


@pytest.mark.parametrize("offset", [60, 80, 95])
@pytest.mark.parametrize("form", CUT_FORMS.values(), ids=CUT_FORMS.keys())
async def test_a_key_cut_short_in_aiohttps_quote_of_the_server_never_shows(form: str, offset: int) -> None:
    # aiohttp quotes only the first 100 bytes of a header line too long to read: a copy of the
    # key the server echoed there is cut mid-way before the SDK sees it.
    line = "p" * offset + form + "z" * 9000
    async with echoing(200, b"{}", f"X-Echo: {line}") as server:
        async with AsyncWorkOS(api_key=SECRET, base_url=server.url, backoff=FAST, max_retries=0) as client:
            with pytest.raises(APIConnectionError) as caught:
                await client.organizations.get(ORG_ID)
    error = caught.value
    check_error(error)
    assert "Got more than" in str(error)  # still says what went wrong
    text = "".join(traceback.format_exception(error)) + repr(error)
    assert longest_piece(text, Secret(SECRET).texts) < MIN_SECRET_LENGTH


@pytest.mark.parametrize("pad", [430, 440, 450, 470, 490])
async def test_a_key_across_the_cut_of_a_models_error_never_shows(pad: int) -> None:
    # The reason a 200 could not be read is cut at 500 characters: only once it is redacted.
    encoded = base64.b64encode(SECRET.encode()).decode()
    organization = organization_named("A", "v") | {"created_at": "x" * pad + encoded}
    async with echoing(200, orjson.dumps(organization), "X-Echo: nothing") as server:
        async with AsyncWorkOS(api_key=SECRET, base_url=server.url, backoff=FAST, max_retries=0) as client:
            with pytest.raises(ResponseValidationError) as caught:
                await client.organizations.get(ORG_ID)
    error = caught.value
    check_error(error)
    assert "Invalid isoformat string" in str(error)
    text = "".join(traceback.format_exception(error)) + repr(error)
    assert longest_piece(text, Secret(SECRET).texts) < MIN_SECRET_LENGTH
