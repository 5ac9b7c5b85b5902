"""The blocking pager: the async pager's walk, one page per trip to the loop thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from workos_orgs import AsyncWorkOS, Order, PaginationError, WorkOS
from workos_orgs.emulator import Emulator

SAFETY_NET = 60  # seconds; only ever reached when something hangs
PAGE = (Path(__file__).parent.parent / "fixtures" / "organization_list.json").read_bytes()


@pytest.fixture
def seeded(emulator: Emulator) -> list[str]:
    return [organization["id"] for organization in emulator.seed([{"name": f"Org {n:02}"} for n in range(17)])]


async def _async_walk(emulator: Emulator, **arguments: object) -> list[str]:
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        return [organization.id async for organization in client.organizations.list(**arguments)]  # type: ignore[arg-type]


@pytest.mark.parametrize("order", [None, Order.ASC, Order.DESC])
@pytest.mark.parametrize("start", ["none", "after", "before"])
def test_the_blocking_walk_yields_what_the_async_walk_yields(
    client: WorkOS, emulator: Emulator, seeded: list[str], order: Order | None, start: str
) -> None:
    arguments: dict[str, object] = {"limit": 4, "order": order}
    if start != "none":
        everything = [organization.id for organization in client.organizations.list(limit=100, order=order)]
        arguments[start] = everything[8]
    blocking = [organization.id for organization in client.organizations.list(**arguments)]  # type: ignore[arg-type]
    assert blocking == asyncio.run(_async_walk(emulator, **arguments))
    assert blocking  # every case starts in the middle or at an end, with items to walk


def test_max_items_and_pages(client: WorkOS, seeded: list[str]) -> None:
    pager = client.organizations.list(limit=4, max_items=6)
    assert [len(page.data) for page in pager.pages()] == [4, 2]
    assert len(list(pager)) == 6
    assert len(pager.first_page().data) == 4
    assert len(client.organizations.list(limit=10, max_items=3).first_page().data) == 3
    assert pager.direction == "after"
    assert client.organizations.list(before=seeded[5]).direction == "before"


def test_each_for_starts_again_from_the_first_page(client: WorkOS, seeded: list[str]) -> None:
    pager = client.organizations.list(limit=5)
    first = [organization.id for organization in pager]
    assert [organization.id for organization in pager] == first
    assert sorted(first) == sorted(seeded)


def test_a_stuck_cursor_is_a_pagination_error_not_a_loop(client: WorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": f"Org {n}"} for n in range(3)])
    page = client.organizations.list(limit=2).first_page()
    after = page.list_metadata.after
    assert after is not None
    # The walk's first request gets a page whose cursor points back where the walk started.
    emulator.inject_fault(method="GET", path="/organizations", status=200, body=_page_json(client, after), times=1)
    with pytest.raises(PaginationError):
        list(client.organizations.list(limit=2, after=after))


def _page_json(client: WorkOS, after: str) -> object:
    raw = client.organizations.with_raw_response.list(limit=2, after=after)
    body = orjson.loads(raw.body)
    body["list_metadata"]["after"] = after
    return body


@pytest.fixture
def one_page_then_silence() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A loopback server: the first request gets a page that points to a next one; any later
    request is read and never responded to.  Says when that request arrived and when the client
    let go of its connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    asked_again, let_go = threading.Event(), threading.Event()
    lock = threading.Lock()
    requests = 0
    headers = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(PAGE)}\r\n\r\n".encode()

    def handle(connection: socket.socket) -> None:
        nonlocal requests
        waiting = False
        with connection:
            buffer = b""
            while chunk := connection.recv(65536):
                buffer += chunk
                while b"\r\n\r\n" in buffer:
                    _, buffer = buffer.split(b"\r\n\r\n", 1)
                    with lock:
                        requests += 1
                        first = requests == 1
                    if first:
                        connection.sendall(headers + PAGE)
                    else:
                        waiting = True
                        asked_again.set()
        if waiting:
            let_go.set()

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(connection,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", asked_again, let_go
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        acceptor.join(SAFETY_NET)


@pytest.mark.parametrize("how", ["break", "pages-break", "close-generator"])
def test_leaving_a_walk_early_cancels_the_page_already_asked_for(
    one_page_then_silence: tuple[str, threading.Event, threading.Event], how: str
) -> None:
    url, asked_again, let_go = one_page_then_silence
    with WorkOS(api_key="sk_test_1", base_url=url, timeout=None, max_retries=0) as client:
        pager = client.organizations.list(limit=1)
        if how == "break":
            for organization in pager:
                assert organization.name == "Acme Inc."
                assert asked_again.wait(SAFETY_NET)  # the next page is on its way
                break
        elif how == "pages-break":
            for page in pager.pages():
                assert len(page.data) == 1
                assert asked_again.wait(SAFETY_NET)
                break
        else:
            pages = pager.pages()
            next(pages)
            assert asked_again.wait(SAFETY_NET)
            pages.close()
        # Leaving the walk, not closing the client, dropped that request's connection.
        assert let_go.wait(SAFETY_NET)
        assert not client.timeout
