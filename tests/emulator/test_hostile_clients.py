"""Nothing a client sends makes the emulator fail, lie, or hold memory and connections for good.

Each test reproduces a way the emulator was broken: raw bytes over a real socket where an
HTTP client library would refuse to send them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import orjson
import pytest

from workos_orgs import AsyncWorkOS
from workos_orgs.emulator import Emulator, Limits, SeedError
from workos_orgs.emulator.__main__ import main as emulator_main

SAFETY_TIMEOUT = 30  # a safety net only: every wait below ends on an event, not a clock


@contextmanager
def raw_connection(emulator: Emulator) -> Iterator[socket.socket]:
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=SAFETY_TIMEOUT) as sock:
        yield sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response (status, headers, body) read off the socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response; got {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]


def request_bytes(method: str, path: str, headers: dict[str, bytes], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: localhost"]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def bearer(emulator: Emulator) -> bytes:
    return f"Bearer {emulator.api_key}".encode()


async def exchange(emulator: Emulator, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    def run() -> tuple[int, dict[str, str], bytes]:
        with raw_connection(emulator) as sock:
            sock.sendall(raw)
            return read_response(sock)

    return await asyncio.to_thread(run)


# Bytes that are not UTF-8 in headers.


async def test_a_non_utf8_authorization_header_is_a_401_in_json(emulator: Emulator) -> None:
    raw = request_bytes("GET", "/organizations", {"Authorization": b"Bearer sk_\xff\xfe"})
    status, headers, body = await exchange(emulator, raw)
    assert (status, orjson.loads(body)) == (401, {"message": "Unauthorized"})
    assert headers["content-type"].startswith("application/json")
    assert emulator.internal_errors == 0


async def test_a_non_utf8_idempotency_key_with_a_valid_key_is_a_400_in_json(emulator: Emulator) -> None:
    body = b'{"name": "Acme"}'
    headers = {
        "Authorization": bearer(emulator),
        "Idempotency-Key": b"key-\xff\xc3",
        "Content-Type": b"application/json",
        "Content-Length": str(len(body)).encode(),
    }
    status, _, response = await exchange(emulator, request_bytes("POST", "/organizations", headers, body))
    assert status == 400
    assert "Idempotency-Key" in orjson.loads(response)["message"]
    assert emulator.internal_errors == 0
    # Nothing was created, and the request log still reads back as JSON.
    async with aiohttp.ClientSession(emulator.url, headers={"Authorization": bearer(emulator).decode()}) as http:
        async with http.get("/organizations") as listing:
            assert (await listing.json())["data"] == []
        async with http.get("/_emulator/requests") as log:
            assert log.status == 200
            keyed, _listing = (await log.json())["data"]
            assert (keyed["status"], keyed["idempotency_key"]) == (400, "key-\ufffd\ufffd")


async def test_an_overlong_idempotency_key_is_a_400(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    key = "k" * (emulator.limits.idempotency_key_length + 1)
    async with http.post("/organizations", json={"name": "Acme"}, headers={"Idempotency-Key": key}) as response:
        assert response.status == 400
        assert "at most 255" in (await response.json())["message"]


@pytest.mark.parametrize("size", [16, 200_000], ids=["in one piece", "in many"])
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_does_not_decode_as_its_content_encoding_says_is_a_400_in_json(
    encoding: str, size: int, caplog: pytest.LogCaptureFixture
) -> None:
    # A 500, with two tracebacks logged, and a 500 is retried: the body went again.
    sent = b'{"name": "Acme"}'.ljust(size)
    with caplog.at_level(logging.WARNING):
        async with Emulator() as emulator:
            headers = {
                "Authorization": bearer(emulator),
                "Content-Encoding": encoding.encode(),
                "Content-Length": str(len(sent)).encode(),
            }
            status, response_headers, body = await exchange(
                emulator, request_bytes("POST", "/organizations", headers, sent)
            )
            assert status == 400
            assert "x-request-id" in {name.lower() for name in response_headers}
            assert orjson.loads(body)["message"].startswith(f"The request body could not be decoded as {encoding}")
            status, _, body = await exchange(
                emulator, request_bytes("GET", "/organizations", {"Authorization": bearer(emulator)})
            )
            assert (status, orjson.loads(body)["data"]) == (200, [])
    # Closed: every handler and connection is done, so whatever it would log is logged.
    assert [record.getMessage() for record in caplog.records] == []


# The key before the body; stalled connections.


async def test_the_key_is_checked_before_the_body_is_read(emulator: Emulator) -> None:
    # A keyless client announcing 1 MiB and sending 10 bytes gets its 401 at once: the
    # emulator does not wait for (or hold) the rest.
    headers = {"Authorization": b"Bearer wrong", "Content-Length": str(1024 * 1024).encode()}
    status, _, body = await exchange(emulator, request_bytes("POST", "/organizations", headers, b"0123456789"))
    assert (status, orjson.loads(body)) == (401, {"message": "Unauthorized"})


async def test_a_body_that_stops_arriving_is_a_408_and_the_connection_closes() -> None:
    async with Emulator(stall_timeout=0.2) as emu:
        headers = {"Authorization": bearer(emu), "Content-Length": b"100", "Content-Type": b"application/json"}

        def run() -> tuple[int, bytes, bytes] | None:
            with raw_connection(emu) as sock:
                sock.sendall(request_bytes("POST", "/organizations", headers, b'{"name":'))
                try:
                    status, _, body = read_response(sock)
                except ConnectionError:
                    # Closed before a byte came back: the machine stalled between connecting and
                    # sending, so the idle timer (the next test's case) fired first.  Try again.
                    return None
                return status, body, sock.recv(1)

        async with asyncio.timeout(SAFETY_TIMEOUT):
            while (result := await asyncio.to_thread(run)) is None:
                pass
        status, body, after = result
        assert status == 408
        assert "stopped arriving" in orjson.loads(body)["message"]
        assert after == b""  # closed


@pytest.mark.parametrize("sent", [b"", b"GET /organizations HTTP/1.1\r\nHost: x\r\n"], ids=["idle", "half-sent"])
async def test_an_idle_or_half_sent_connection_is_closed(sent: bytes) -> None:
    async with Emulator(stall_timeout=0.2) as emu:

        def run() -> bytes:
            with raw_connection(emu) as sock:
                try:
                    sock.sendall(sent)
                    return sock.recv(65536)  # returns b"" once the emulator closes it
                except (ConnectionResetError, BrokenPipeError):
                    # The emulator closed it before the bytes came (a stall between connecting
                    # and sending): closed just the same.
                    return b""

        assert await asyncio.to_thread(run) == b""


async def test_expect_100_continue_is_honoured(emulator: Emulator) -> None:
    body = b'{"name": "Acme"}'
    headers = {
        "Authorization": bearer(emulator),
        "Content-Type": b"application/json",
        "Content-Length": str(len(body)).encode(),
        "Expect": b"100-continue",
    }

    def run() -> tuple[int, int, bytes]:
        with raw_connection(emulator) as sock:
            sock.sendall(request_bytes("POST", "/organizations", headers))  # headers only, as curl does
            interim, _, _ = read_response(sock)
            sock.sendall(body)
            status, _, created = read_response(sock)
            return interim, status, created

    interim, status, created = await asyncio.to_thread(run)
    assert (interim, status, orjson.loads(created)["name"]) == (100, 201, "Acme")


async def test_expect_100_continue_with_a_wrong_key_gets_the_401_instead(emulator: Emulator) -> None:
    headers = {"Authorization": b"Bearer wrong", "Content-Length": b"16", "Expect": b"100-continue"}
    status, _, body = await exchange(emulator, request_bytes("POST", "/organizations", headers))
    assert (status, orjson.loads(body)) == (401, {"message": "Unauthorized"})


# Limits where growth was unbounded.


async def test_domains_per_organization_are_capped_everywhere() -> None:
    limits = Limits(domains_per_organization=2)
    async with Emulator(limits=limits) as emu:
        async with aiohttp.ClientSession(emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as http:
            three = [{"domain": f"d{n}.com", "state": "pending"} for n in range(3)]
            async with http.post("/organizations", json={"name": "A", "domain_data": three}) as response:
                assert response.status == 422
                [error] = (await response.json())["errors"]
                assert (error["code"], "at most 2 domains" in error["message"]) == ("too_many_domains", True)
            async with http.post("/organizations", json={"name": "A", "domain_data": three[:2]}) as response:
                organization = await response.json()
            async with http.put(f"/organizations/{organization['id']}", json={"domain_data": three}) as response:
                assert response.status == 422
            body = {"organization_id": organization["id"], "domain": "d9.com"}
            async with http.post("/organization_domains", json=body) as response:
                assert response.status == 422
                assert (await response.json())["errors"][0]["code"] == "too_many_domains"
            async with http.get(f"/organizations/{organization['id']}") as response:
                assert len((await response.json())["domains"]) == 2
        with pytest.raises(SeedError, match="at most 2"):
            emu.seed([{"name": "B", "domains": ["a.com", "b.com", "c.com"]}])


async def test_metadata_limits_are_configurable() -> None:
    # WorkOS's metadata docs say 10 keys where the spec says 50: a suite can pick.
    async with Emulator(limits=Limits(metadata_keys=10)) as emu:
        async with aiohttp.ClientSession(emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as http:
            metadata = {f"k{n}": "v" for n in range(11)}
            async with http.post("/organizations", json={"name": "A", "metadata": metadata}) as response:
                assert (response.status, (await response.json())["code"]) == (400, "invalid_metadata")
            async with http.get("/_emulator/openapi.json") as response:
                schema = (await response.json())["components"]["schemas"]["CreateOrganization"]
                assert schema["properties"]["metadata"]["maxProperties"] == 10


async def test_the_docs_ascii_only_metadata_can_be_chosen() -> None:
    # WorkOS's metadata docs say keys and values are ASCII only; the spec does not: a suite can pick.
    async with Emulator(limits=Limits(metadata_ascii_only=True)) as emu:
        async with aiohttp.ClientSession(emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as http:
            for metadata in ({"ключ": "v"}, {"k": "café"}):
                async with http.post("/organizations", json={"name": "A", "metadata": metadata}) as response:
                    body = await response.json()
                    assert (response.status, body["code"]) == (400, "invalid_metadata")
                    assert "ASCII" in body["message"]
            async with http.post("/organizations", json={"name": "A", "metadata": {"k": "cafe"}}) as response:
                assert response.status == 201
            async with http.get("/_emulator/openapi.json") as response:
                schema = (await response.json())["components"]["schemas"]["UpdateOrganization"]
                metadata_schema = schema["properties"]["metadata"]
                assert metadata_schema["propertyNames"]["pattern"] == metadata_schema["additionalProperties"]["pattern"]
    async with Emulator() as emu:  # the spec's: any text
        async with aiohttp.ClientSession(emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as http:
            async with http.post("/organizations", json={"name": "A", "metadata": {"k": "café"}}) as response:
                assert response.status == 201
    with pytest.raises(ValueError, match="metadata_ascii_only must be True or False"):
        Limits(metadata_ascii_only="yes")  # type: ignore[arg-type]


async def test_the_request_log_is_bounded_in_bytes() -> None:
    limits = Limits(request_log_bytes=64 * 1024)
    async with Emulator(limits=limits) as emu:
        async with aiohttp.ClientSession(emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as http:
            for number in range(40):
                async with http.get("/organizations", params={"search": f"{number:04d}" + "x" * 8000}) as response:
                    assert response.status == 200
        kept = emu.requests
        assert 0 < len(kept) < 40
        assert sum(len(entry.query) for entry in kept) <= limits.request_log_bytes
        assert kept[-1].query.startswith("search=0039")  # the newest are the ones kept


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="domains_per_organization must be a whole number of at least 1"):
        Limits(domains_per_organization=0)


# The domains filter matches the way writes store domains.


async def test_the_domains_filter_is_normalised_like_writes(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.seed([{"name": "Acme", "domains": ["acme.com"]}])
    for spelled in ("acme.com.", " ACME.com", "Acme.Com."):
        async with http.get("/organizations", params={"domains": spelled}) as response:
            assert [org["name"] for org in (await response.json())["data"]] == ["Acme"]
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        assert [org.name async for org in client.organizations.list(domains=["acme.com."])] == ["Acme"]


# A public address needs a key of one's own.


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "example.com"])
def test_a_non_loopback_host_with_the_default_key_is_refused(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        emulator_main(["--host", host])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "warning:" in err
    assert "needs --api-key" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "LocalHost", "127.5.6.7"])
def test_loopback_hosts_take_the_default_key(host: str) -> None:
    from workos_orgs.emulator.__main__ import is_loopback

    assert is_loopback(host)


# Running out of file descriptors.

OUT_OF_DESCRIPTORS = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
from workos_orgs.emulator.__main__ import main
sys.exit(main(["--port", "0"]))
"""


async def test_running_out_of_file_descriptors_is_logged_once_without_tracebacks() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        OUT_OF_DESCRIPTORS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    held: list[socket.socket] = []
    try:
        banner = (await asyncio.wait_for(process.stdout.readline(), SAFETY_TIMEOUT)).decode()
        host, port = banner.split("http://", 1)[1].split()[0].rsplit(":", 1)
        for _ in range(100):  # far more than the process may open
            held.append(socket.create_connection((host, int(port)), timeout=SAFETY_TIMEOUT))
        first = (await asyncio.wait_for(process.stderr.readline(), SAFETY_TIMEOUT)).decode()
        assert "Cannot accept connections" in first, first
        assert "ulimit -n" in first
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), SAFETY_TIMEOUT)
    finally:
        for sock in held:
            sock.close()
        if process.returncode is None:
            process.kill()
            await process.communicate()
    assert "Cannot accept" not in rest.decode()
    assert "Traceback" not in rest.decode()


# Headers large enough to make the emulator hold megabytes before it can check the key.


async def test_a_header_over_8_kib_is_a_400_in_json(emulator: Emulator) -> None:
    headers = {"Authorization": bearer(emulator), "X-Big": b"a" * (9 * 1024)}
    status, response_headers, body = await exchange(emulator, request_bytes("GET", "/organizations", headers))
    assert (status, orjson.loads(body)) == (400, {"message": "The request is not valid HTTP."})
    assert response_headers["content-type"].startswith("application/json")
    assert emulator.internal_errors == 0


async def test_more_than_64_headers_is_a_400_in_json(emulator: Emulator) -> None:
    headers = {"Authorization": bearer(emulator), **{f"X-H{n}": b"a" for n in range(65)}}
    status, response_headers, body = await exchange(emulator, request_bytes("GET", "/organizations", headers))
    assert (status, orjson.loads(body)) == (400, {"message": "The request is not valid HTTP."})
    assert response_headers["content-type"].startswith("application/json")
    assert emulator.internal_errors == 0


async def test_a_header_just_under_8_kib_and_64_headers_are_served(emulator: Emulator) -> None:
    extra = {f"X-H{n}": b"a" for n in range(61)}  # with Host, Authorization and X-Big: 64
    headers = {"Authorization": bearer(emulator), "X-Big": b"a" * 8000, **extra}
    status, _, body = await exchange(emulator, request_bytes("GET", "/organizations", headers))
    assert (status, orjson.loads(body)["data"]) == (200, [])
