"""Edge cases from review: a caller's session that raises for status, case-insensitive error
headers, ``max_items`` on the first page, malformed configuration and reserved headers."""

from __future__ import annotations

import aiohttp
import pytest

from workos_orgs import (
    APIStatusError,
    AsyncWorkOS,
    ConfigurationError,
    InvalidArgumentError,
    NotFoundError,
    RateLimitError,
)
from workos_orgs._config import check_base_url
from workos_orgs._contract import IDEMPOTENCY_KEY_HEADER
from workos_orgs._request import build_headers
from workos_orgs._response import error_response
from workos_orgs.emulator import Emulator

from .conftest import FAST

UNKNOWN_ORG = "org_01ARZ3NDEKTSV4RRFFQ69G5FAV"


# A session of the caller's that raises for error statuses.


async def test_a_session_that_raises_for_status_still_gives_typed_errors(emulator: Emulator) -> None:
    async with (
        aiohttp.ClientSession(raise_for_status=True) as session,
        AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST, session=session) as client,
    ):
        with pytest.raises(NotFoundError) as caught:
            await client.organizations.get(UNKNOWN_ORG)
        assert (caught.value.attempts, caught.value.outcome_unknown) == (1, False)
        assert len(emulator.requests) == 1  # a 404 is not retried
        # ... and success still works through it.
        created = await client.organizations.create(name="Acme")
        assert (await client.organizations.get(created.id)).name == "Acme"


# Error headers.


def test_error_headers_are_case_insensitive() -> None:
    error = RateLimitError(
        "slow down", status_code=429, headers={"retry-after": "3", "x-request-id": "req-1"}, retry_after=3.0
    )
    assert error.headers.get("Retry-After") == "3"
    assert error.headers["X-Request-ID"] == "req-1"
    assert error_response(error).request_id == "req-1"


async def test_a_real_error_keeps_case_insensitive_headers(client: AsyncWorkOS) -> None:
    with pytest.raises(APIStatusError) as caught:
        await client.organizations.get(UNKNOWN_ORG)
    request_id = caught.value.request_id
    assert request_id
    assert caught.value.headers.get("x-request-id") == request_id
    assert error_response(caught.value).request_id == request_id


# max_items on the first page.


async def test_awaiting_a_pager_honours_max_items(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": f"o{index:02d}"} for index in range(10)])
    page = await client.organizations.list(limit=10, max_items=3)
    assert len(page.data) == 3
    everything = await client.organizations.list(limit=10)
    assert page.data == everything.data[:3]
    assert len((await client.organizations.list(limit=2, max_items=3)).data) == 2


# Configuration.


@pytest.mark.parametrize("base_url", ["http://[::1", "https://[not-an-ip]/", "http://localhost:99999999"])
def test_an_unparsable_base_url_is_a_configuration_error(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        check_base_url(base_url, allow_insecure_http=False)
    with pytest.raises(ConfigurationError, match="base_url"):
        AsyncWorkOS(api_key="sk_test_x", base_url=base_url)


@pytest.mark.parametrize("base_url", ["https://api..workos.com", "https://.", f"https://{'a' * 64}.example.com"])
def test_a_host_name_with_an_empty_or_overlong_label_is_a_configuration_error(base_url: str) -> None:
    # Accepted, it made every call raise a bare UnicodeError from the name lookup.
    with pytest.raises(ConfigurationError, match="base_url's host name") as caught:
        AsyncWorkOS(api_key="sk_test_x", base_url=base_url)
    assert "between dots" in str(caught.value)


@pytest.mark.parametrize("base_url", ["https://api.workos.com.", "https://bücher.example", "http://[::1]:8000"])
def test_host_names_that_can_be_looked_up_pass(base_url: str) -> None:
    assert check_base_url(base_url, allow_insecure_http=True).host is not None


async def test_an_api_key_with_surrounding_whitespace_is_trimmed(emulator: Emulator) -> None:
    async with AsyncWorkOS(api_key=f"  {emulator.api_key}\n", base_url=emulator.url, backoff=FAST) as client:
        assert (await client.organizations.create(name="Acme")).name == "Acme"


@pytest.mark.parametrize(
    "api_key", ["sk_test_ab\ncd", "sk_test_ab\rcd", "sk_test_ab\x00cd", "sk_test ab", "sk_test_ab\tcd", "sk_\x7fab"]
)
def test_a_malformed_api_key_is_refused_without_echoing_it(api_key: str) -> None:
    with pytest.raises(ConfigurationError, match="looks malformed") as caught:
        AsyncWorkOS(api_key=api_key)
    assert "sk_test" not in str(caught.value)
    assert "sk_" not in repr(caught.value)


@pytest.mark.parametrize(
    "api_key",
    [
        "sk_test_abcdéfgh",  # pasted through a word processor
        "sk_test_ab\udcffcd",  # undecodable bytes in WORKOS_API_KEY, as Python reads the environment
        "sk_test_ab\u200bcd",  # a zero-width space
    ],
)
def test_an_api_key_with_characters_no_key_has_is_refused_saying_so(api_key: str) -> None:
    # A WorkOS key is printable ASCII: anything else was mangled on its way here, and sent,
    # it could only be refused by the API as a 401 that says nothing of why.
    with pytest.raises(ConfigurationError, match="looks malformed") as caught:
        AsyncWorkOS(api_key=api_key)
    assert "whitespace, control or non-ASCII characters" in str(caught.value)
    assert "sk_test" not in str(caught.value)


# Reserved headers.


def test_extra_headers_cannot_shadow_the_sdks_own_in_any_case() -> None:
    headers = build_headers(
        "sk_test_abc",
        has_body=True,
        idempotency_key="key-1",
        # (A Content-Type or an Authorization here is refused: the tests below.)
        extra_headers={
            "accept": "application/xml",
            "X-Trace": "t",
        },
    )
    folded: dict[str, list[str]] = {}
    for name, value in headers.items():
        folded.setdefault(name.lower(), []).append(value)
    assert folded["authorization"] == ["Bearer sk_test_abc"]
    assert folded["content-type"] == ["application/json"]
    assert folded["accept"] == ["application/xml"]  # Accept and User-Agent may be replaced
    assert folded[IDEMPOTENCY_KEY_HEADER.lower()] == ["key-1"]
    assert folded["x-trace"] == ["t"]


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
def test_an_authorization_in_extra_headers_is_refused_without_showing_it(name: str) -> None:
    # It was silently dropped, so a call meant for another environment went to the client's.
    with pytest.raises(InvalidArgumentError, match=r"AsyncWorkOS\(api_key=") as caught:
        build_headers("sk_test_abc", extra_headers={name: "Bearer sk_test_someone_else"})
    assert "someone_else" not in str(caught.value)
    assert "sk_test_abc" not in str(caught.value)


async def test_an_authorization_in_extra_headers_sends_nothing(client: AsyncWorkOS, emulator: Emulator) -> None:
    with pytest.raises(InvalidArgumentError, match="extra_headers"):
        await client.organizations.create(name="Acme", extra_headers={"Authorization": "Bearer sk_test_other"})
    with pytest.raises(InvalidArgumentError, match="extra_headers"):
        await client.organizations.get(UNKNOWN_ORG, extra_headers={"authorization": "Bearer sk_test_other"})
    assert emulator.requests == []


@pytest.mark.parametrize("name", ["Content-Type", "content-type"])
async def test_a_content_type_in_extra_headers_is_refused_not_dropped(
    client: AsyncWorkOS, emulator: Emulator, name: str
) -> None:
    # It was dropped without a word (the SDK's own always went), though nothing else in a
    # request is: a caller who meant another type learnt nothing.
    with pytest.raises(InvalidArgumentError, match=f"Do not pass '{name}' in extra_headers"):
        await client.organizations.update(
            UNKNOWN_ORG, name="Acme", extra_headers={name: "application/merge-patch+json"}
        )
    with pytest.raises(InvalidArgumentError, match="extra_headers"):
        await client.organizations.get(UNKNOWN_ORG, extra_headers={name: "text/plain"})
    assert emulator.requests == []
    headers = build_headers("sk_test_abc", has_body=True, extra_headers={"X-Trace": "t"})
    assert [(n, v) for n, v in headers.items() if n.lower() == "content-type"] == [("Content-Type", "application/json")]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Content-Length", "0"),  # the update went out with no body: a 200 that changed nothing
        ("content-length", "5"),  # a body cut short: a 422 for what was never sent
        ("Transfer-Encoding", "chunked"),  # a GET that waits for a body until it times out
        ("Upgrade", "h2c"),
        ("Content-Encoding", "gzip"),  # a JSON body said to be gzip: a 500 from the emulator, retried
    ],
)
async def test_a_header_that_frames_the_request_in_extra_headers_is_refused(
    client: AsyncWorkOS, emulator: Emulator, name: str, value: str
) -> None:
    # They frame the request on the wire: sent as given, an update could "succeed" and change
    # nothing, or a get hang until its timeout and be retried, and fail as a timeout.
    # (Connection: close, Host and Expect go as given: aiohttp honours them.)
    organization = await client.organizations.create(name="Acme")
    with pytest.raises(InvalidArgumentError, match=f"Do not pass '{name}' in extra_headers: "):
        await client.organizations.update(organization.id, name="Renamed", extra_headers={name: value})
    with pytest.raises(InvalidArgumentError, match="extra_headers"):
        await client.organizations.get(organization.id, extra_headers={name: value})
    assert [request.method for request in emulator.requests] == ["POST"]
    assert (await client.organizations.get(organization.id)).name == "Acme"


@pytest.mark.parametrize("name", ["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY"])
def test_an_idempotency_key_in_extra_headers_points_to_the_argument(name: str) -> None:
    with pytest.raises(InvalidArgumentError, match="idempotency_key="):
        build_headers("sk", has_body=True, idempotency_key="key-1", extra_headers={name: "mine"})


async def test_an_idempotency_key_in_extra_headers_sends_nothing(client: AsyncWorkOS, emulator: Emulator) -> None:
    with pytest.raises(InvalidArgumentError):
        await client.organizations.create(name="Acme", extra_headers={"idempotency-key": "mine"})
    assert emulator.requests == []
