"""The API key never shows: not in ``repr(client)``, not in any error (its ``str``, ``repr``,
attributes, causes or traceback), not in any log line at DEBUG, not in what a run prints.

The scenario raises one error of every class the SDK has, with a server that echoes the key
back wherever it can.  Failures name where the key was found, never the key itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

import workos_orgs
from workos_orgs import (
    AsyncWorkOS,
    DomainData,
    DomainState,
    OrganizationRecord,
    WorkOS,
    WorkOSError,
)
from workos_orgs._errors import BODY_MAX_CHARS
from workos_orgs._redaction import Secret, redact
from workos_orgs._request import Credentials, build_request, plain_headers
from workos_orgs._response import MAX_RESPONSE_BYTES
from workos_orgs._transport import logger
from workos_orgs.cli._connect import LOG_ENV_VAR, configure_logging_from_env
from workos_orgs.emulator import Emulator

from ..gate import SAFETY_NET
from .conftest import FAST

SECRET = "sk_test_LEAKCANARY_7d1f3e9a5b2c48e6"
PACKAGE = str(Path(workos_orgs.__file__).parent)


def assert_hidden(text: str, where: str) -> None:
    if SECRET in text:
        pytest.fail(f"the API key leaked into {where}", pytrace=False)


def error_classes() -> set[type[WorkOSError]]:
    """Every error class the SDK defines."""

    def walk(cls: type[WorkOSError]) -> Iterator[type[WorkOSError]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    return {cls for cls in walk(WorkOSError) if cls.__module__.startswith("workos_orgs._")}


def check_error(error: BaseException) -> None:
    name = type(error).__name__
    assert_hidden("".join(traceback.format_exception(error)), f"the traceback of {name}")
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        for text, where in (
            (str(link), "str"),
            (repr(link), "repr"),
            (repr(vars(link)) if hasattr(link, "__dict__") else "", "attributes"),
            (repr(link.args), "args"),
        ):
            assert_hidden(text, f"the {where} of {type(link).__name__} (raised as {name})")
        if link is not error:
            # An error tracker records the local variables of every frame of a chained error's
            # traceback too: aiohttp's hold the request's headers.
            for frame, _ in traceback.walk_tb(link.__traceback__):
                where = f"the locals of {frame.f_code.co_qualname} in the traceback of {type(link).__name__}"
                assert_hidden(repr(frame.f_locals), f"{where} (raised as {name})")
        link = link.__cause__ or link.__context__


async def garbage_server(reply: bytes) -> tuple[asyncio.Server, str]:
    """A TCP server that answers any request with `reply`, as a broken proxy might."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture
async def echoing() -> AsyncIterator[Emulator]:
    async with Emulator(api_key=SECRET) as emu:
        yield emu


async def raise_one_of_everything(emulator: Emulator) -> list[BaseException]:
    errors: list[BaseException] = []

    async def expect(call: object) -> None:
        with pytest.raises(WorkOSError) as caught:
            await call  # type: ignore[misc]
        errors.append(caught.value)

    with pytest.raises(WorkOSError) as configuration:
        AsyncWorkOS(api_key=SECRET, base_url="http://api.example.com")
    errors.append(configuration.value)
    with pytest.raises(WorkOSError) as bad_option:
        AsyncWorkOS(api_key=SECRET, timeout=-1)
    errors.append(bad_option.value)
    with pytest.raises(WorkOSError) as record:
        OrganizationRecord.from_mapping({"name": "No external id"})
    errors.append(record.value)

    client = AsyncWorkOS(api_key=SECRET, base_url=emulator.url, backoff=FAST, timeout=SAFETY_NET)
    async with client:
        assert_hidden(repr(client), "repr(client)")
        assert_hidden(repr(client.with_options(timeout=3)), "repr(client view)")
        await expect(client.organizations.get(""))  # InvalidArgumentError
        await expect(client.organizations.get("org_x", time_out=3))  # type: ignore[call-arg]  # UnexpectedOptionError

        def dying_input() -> Iterator[OrganizationRecord]:
            yield OrganizationRecord("input-1", "Input")
            raise OSError("the cursor went away")

        await expect(client.organizations.sync(dying_input()))  # SyncInputError
        org = await client.organizations.create(
            name="Acme", external_id="acme-1", domain_data=[DomainData("acme.com", DomainState.VERIFIED)]
        )
        assert_hidden(repr(org), "repr(organization)")
        raw = await client.organizations.with_raw_response.get(org.id)
        assert_hidden(repr(raw) + repr(raw.headers), "a raw response")
        echo = {"message": f"bad key {SECRET}", "code": f"c_{SECRET}", "errors": [{"field": SECRET, "message": SECRET}]}
        for status in (400, 401, 403, 409, 418, 422):
            emulator.inject_fault(path="/organizations/*", status=status, body=echo)
            await expect(client.organizations.get(org.id))
        await expect(client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV"))  # a real 404
        emulator.inject_fault(path="/organizations/external_id/*", status=401, body=echo)
        await expect(client.organizations.sync([OrganizationRecord("input-2", "Input")]))  # SyncStoppedError
        await expect(client.organization_domains.create(organization_id=org.id, domain="acme.com"))  # real 409
        emulator.inject_fault(path="/organizations/*", status=429, retry_after=600, body=echo)
        await expect(client.organizations.get(org.id))
        emulator.inject_fault(path="/organizations/*", status=503, body=f"<html>{SECRET}</html>", times=3)
        await expect(client.organizations.get(org.id))
        # The key on the edge of what an error keeps, and of what is read at all.
        edge = "x" * (BODY_MAX_CHARS - 7) + SECRET
        emulator.inject_fault(path="/organizations/*", status=500, body=edge, times=3)
        await expect(client.organizations.get(org.id))
        emulator.inject_fault(path="/organizations/*", status=200, body="y" * (MAX_RESPONSE_BYTES - 9) + SECRET)
        await expect(client.organizations.get(org.id))
        emulator.inject_fault(path="/organizations/*", status=200, body={"oops": SECRET})
        await expect(client.organizations.get(org.id))  # ResponseValidationError
        emulator.inject_fault(method="POST", path="/organizations", drop="before", times=3)
        await expect(client.organizations.create(name="Beta"))  # APIConnectionError
        # The emulator runs on this event loop: its 300 ms wait starts after the client's 0.2 s
        # one, so the client's always ends first, however slow the machine.
        emulator.inject_fault(method="PUT", path="/organizations/*", delay_ms=300, times=3)
        await expect(client.organizations.update(org.id, name="Gamma", timeout=0.2))  # APITimeoutError
        stuck = {"object": "list", "data": [{**emulator.seed([{"name": "S"}])[0], "name": SECRET}]}
        stuck["list_metadata"] = {"before": None, "after": stuck["data"][0]["id"]}
        emulator.inject_fault(method="GET", path="/organizations", status=200, body=stuck, times=2)
        with pytest.raises(WorkOSError) as pagination:
            [o async for o in client.organizations.list()]
        errors.append(pagination.value)
        # A "server" whose answer aiohttp cannot parse: its error holds the request's headers;
        # or one that echoes the key in a head it never finishes: aiohttp's error holds that head.
        unfinished = b"HTTP/1.1 502 Bad Gateway\r\nX-Upstream-Authorization: Bearer " + SECRET.encode() + b"\r\n"
        for reply in (b"HTTP/1.1 200 OK\r\nBroken header line\r\n\r\n", b"NOT HTTP AT ALL\r\n\r\n", unfinished):
            server, url = await garbage_server(reply)
            async with server, AsyncWorkOS(api_key=SECRET, base_url=url, backoff=FAST, max_retries=1) as broken:
                await expect(broken.organizations.get(org.id))
        # Nothing listening: aiohttp's connection error is an OSError, chained as the cause.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        async with AsyncWorkOS(api_key=SECRET, base_url=f"http://127.0.0.1:{closed_port}", max_retries=0) as refused:
            await expect(refused.organizations.get(org.id))
        # This client from another event loop; the blocking client from inside this one.
        errors.append(await asyncio.to_thread(from_another_loop, client, org.id))
        with WorkOS(api_key=SECRET, base_url=emulator.url) as blocking:
            assert_hidden(repr(blocking), "repr(blocking client)")
            with pytest.raises(WorkOSError) as in_loop:
                blocking.organizations.get(org.id)
        errors.append(in_loop.value)
    await expect(client.organizations.get(org.id))  # ClientClosedError
    return errors


def from_another_loop(client: AsyncWorkOS, organization_id: str) -> BaseException:
    with pytest.raises(WorkOSError) as caught:
        asyncio.run(client.organizations.get(organization_id))
    return caught.value


async def test_the_key_is_not_in_the_frames_of_a_bad_argument_error(echoing: Emulator) -> None:
    async with AsyncWorkOS(api_key=SECRET, base_url=echoing.url, backoff=FAST) as client:
        (organization,) = echoing.seed([{"name": "Acme"}])
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: client.organizations.create(name="Acme", idempotency_key="k\n1"),
            lambda: client.organizations.get(organization["id"], extra_headers={"X-Trace": "a\nb"}),
            lambda: client.organizations.get(organization["id"], extra_headers={"Idempotency-Key": "k"}),
            lambda: client.organizations.update(organization["id"], metadata={"k": "\udcff"}),
            lambda: client.organizations.list(search="\udcff"),
        ]
        for call in calls:
            with pytest.raises(WorkOSError) as caught:
                await call()
            check_error(caught.value)
            # An error tracker records the local variables of the error's own frames too: the
            # SDK's must not hold the key (nor the headers made with it) when it refuses an argument.
            for frame, _ in traceback.walk_tb(caught.value.__traceback__):
                if frame.f_code.co_filename.startswith(PACKAGE):
                    assert_hidden(repr(frame.f_locals), f"the locals of {frame.f_code.co_qualname}")
    assert [request.method for request in echoing.requests] == []  # refused before sending


async def test_the_key_is_not_reachable_from_the_error_of_a_call_queued_when_the_session_closed() -> None:
    arrived = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        arrived.set()
        await reader.read()  # never answers
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        # One connection: the second call waits for it in the pool when the session closes.
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        client = AsyncWorkOS(api_key=SECRET, base_url=url, session=session, timeout=None)
        calls = [asyncio.create_task(client.organizations.get(f"org_{number}")) for number in range(2)]
        async with asyncio.timeout(SAFETY_NET):
            await arrived.wait()
            await session.close()
            results = await asyncio.gather(*calls, return_exceptions=True)
        await client.close()
        server.close()
    assert [type(result).__name__ for result in results] == ["ClientClosedError"] * 2
    for result in results:
        assert isinstance(result, BaseException)
        check_error(result)


async def test_the_key_never_appears_in_any_error_or_log_line(
    echoing: Emulator, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG):  # every logger: ours, aiohttp's, asyncio's
        errors = await raise_one_of_everything(echoing)
    raised = {type(error) for error in errors}
    missing = {cls.__name__ for cls in error_classes() - raised}
    assert not missing, f"no scenario raises {missing}"
    for error in errors:
        check_error(error)
    assert len(caplog.records) > 20
    for record in caplog.records:
        assert_hidden(record.getMessage(), f"the log line {record.msg!r}")
    assert_hidden(caplog.text, "the formatted log")
    out, err = capfd.readouterr()
    assert_hidden(out + err, "the test's output")


async def test_debug_logging_to_stderr_never_prints_the_key(
    echoing: Emulator, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    before_level, before_handlers = logger.level, list(logger.handlers)
    monkeypatch.setenv(LOG_ENV_VAR, "debug")
    try:
        configure_logging_from_env()
        errors = await raise_one_of_everything(echoing)
        for error in errors:
            print(error, repr(error))
            traceback.print_exception(error)
    finally:
        logger.handlers[:] = before_handlers
        logger.setLevel(before_level)
    out, err = capfd.readouterr()
    assert "Retrying GET" in err  # the handler did print
    assert_hidden(out + err, "what the run printed")


def test_a_request_never_shows_the_key() -> None:
    client = AsyncWorkOS(api_key=SECRET, base_url="http://127.0.0.1:1")
    request = build_request(
        "GET", URL(client.base_url), ["organizations"], credentials=Credentials(SECRET), extra_headers={"X-Trace": "1"}
    )
    if request.headers["Authorization"] != f"Bearer {SECRET}":
        pytest.fail("the key is not sent", pytrace=False)
    assert_hidden(repr(request), "repr(Request)")  # ... but never shown
    plain = build_request("GET", URL(client.base_url), ["organizations"], credentials=Credentials(SECRET))
    assert dict(plain.headers) == dict(plain_headers(SECRET))
    assert_hidden(repr(plain), "repr(Request) with the plain headers")
    assert_hidden(repr(Credentials(SECRET)), "repr(Credentials)")
    # What serializes objects it does not know by their text (as error reporters do with local
    # variables) does not reach the key either: a request is not a tuple of its parts.
    assert_hidden(json.dumps([request, plain], default=str), "a request serialized by its text")
    assert_hidden(repr(client), "repr(client)")


@pytest.mark.parametrize(
    ("body", "cut_off", "kept"),
    [
        (f"a {SECRET} b {SECRET}".encode(), False, b"a [redacted] b [redacted]"),
        (f"tail {SECRET[:12]}".encode(), True, b"tail "),  # cut off inside the key
        (b"success", False, b"success"),  # ends in "s", like the key's start: left alone
        (b"success", True, b"succes"),  # ... unless the body was cut off: then one "s" could be the key's
    ],
)
def test_redact(body: bytes, cut_off: bool, kept: bytes) -> None:
    assert redact(body, Secret(SECRET), cut_off=cut_off) == kept


@pytest.mark.parametrize(
    "base_url",
    [
        "sk_live_a1b2c3d4e5f6g7h8",  # the two settings swapped, or WORKOS_BASE_URL holding the key
        "https://api.workos.com/sk_live_a1b2c3d4e5f6g7h8?x",
        "http://sk_live_a1b2c3d4e5f6g7h8.example.com",
        "ftp://api.workos.com/sk_live_a1b2c3d4e5f6g7h8",
        # Keys of other environments, or after an underscore: the command line's usage errors
        # hid them, these messages did not.
        "sk_prod_a1b2c3d4e5f6g7h8",
        "https://api.workos.com/v1_sk_test_a1b2c3d4e5f6g7h8",
    ],
)
@pytest.mark.parametrize("client", [AsyncWorkOS, WorkOS])
def test_a_key_given_where_the_base_url_goes_is_not_repeated(base_url: str, client: type[Any]) -> None:
    # The message quoted the base URL whole: a key put there (its own, or another) with it.
    with pytest.raises(workos_orgs.ConfigurationError) as caught:
        client(api_key="sk_test_other_key_123", base_url=base_url)
    assert "a1b2c3d4e5f6g7h8" not in str(caught.value)
    assert "[redacted]" in str(caught.value)  # still saying where it was
    # The client's own key too, whatever it looks like.
    with pytest.raises(workos_orgs.ConfigurationError) as caught:
        client(api_key="key-a1b2c3d4e5f6g7h8", base_url="key-a1b2c3d4e5f6g7h8")
    assert "a1b2c3d4e5f6g7h8" not in str(caught.value)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:9/key-a1b2c3d4e5f6g7h8",  # the client's own key, whatever it looks like
        "http://127.0.0.1:9/v1/key-a1b2c3d4e5f6g7h8/",
        "https://api.workos.com/sk_live_a1b2c3d4e5f6g7h8",  # a key, someone's
        "https://api.workos.com/x%2Dkey-a1b2c3d4e5f6g7h8",
    ],
)
@pytest.mark.parametrize("client", [AsyncWorkOS, WorkOS])
def test_a_base_url_holding_a_key_is_refused(base_url: str, client: type[Any]) -> None:
    # Accepted, it went in every request line and showed whole in repr(client) and every
    # connection error.
    with pytest.raises(workos_orgs.ConfigurationError, match="must not hold an API key") as caught:
        client(api_key="key-a1b2c3d4e5f6g7h8", base_url=base_url)
    assert "a1b2c3d4e5f6g7h8" not in str(caught.value)


@pytest.mark.parametrize(
    ("api_key", "base_url"),
    [
        ("sk_test_a1b2c3d4e5f6g7h8", "https://sk_edge.example.com"),
        ("sk_test_a1b2c3d4e5f6g7h8", "https://proxy.example.com/workos/sk_gateway/"),
        ("sk_test_a1b2c3d4e5f6g7h8", "https://proxy.example.com/api-sk_v1"),
        ("test", "https://proxy.example.com/test/"),  # a key that short is no key: not looked for
        ("1", "http://127.0.0.1:8001"),
    ],
)
def test_a_base_url_that_only_looks_a_little_like_a_key_is_taken(api_key: str, base_url: str) -> None:
    client = AsyncWorkOS(api_key=api_key, base_url=base_url)
    assert str(client.base_url) == base_url.rstrip("/") or str(client.base_url) == base_url


@pytest.mark.parametrize("base_url", ["sk_live_a1b2c3d4e5f6g7h8", "http://sk_live_a1b2c3d4e5f6g7h8.example.com"])
async def test_the_command_line_does_not_repeat_a_key_given_as_its_base_url(base_url: str) -> None:
    result = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workos_orgs", "list",
        env={**os.environ, "WORKOS_API_KEY": "sk_test_other_key_123", "WORKOS_BASE_URL": base_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(result.communicate(), 60)
    assert result.returncode == 2, err.decode()
    assert "[redacted]" in err.decode()  # still saying where it was
    assert "a1b2c3d4e5f6g7h8" not in (out + err).decode()
