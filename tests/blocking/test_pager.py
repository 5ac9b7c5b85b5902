"""The blocking pager: the async pager's walk, pages handed over from the loop thread a batch at a time."""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from workos_orgs import (
    AsyncWorkOS,
    ClientClosedError,
    InternalServerError,
    Order,
    PaginationError,
    WorkOS,
    _loop_thread,
)
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


class _PagesThenSilence:
    """A loopback server: the k-th request gets the k-th of `bodies`; any later request is read
    and never responded to.  It counts the requests, and says when the client let go of a
    connection with a request it never got a response to."""

    def __init__(self, bodies: list[bytes]) -> None:
        self._bodies = bodies
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.let_go = threading.Event()
        self._arrived = threading.Condition()
        self.requests = 0
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def wait_for_requests(self, count: int) -> bool:
        """Whether `count` requests arrived (waits for them; the wait is only a safety net)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self.requests >= count, SAFETY_NET)

    def close(self) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._acceptor.join(SAFETY_NET)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        waiting = False
        with connection:
            buffer = b""
            while chunk := connection.recv(65536):
                buffer += chunk
                while b"\r\n\r\n" in buffer:
                    _, buffer = buffer.split(b"\r\n\r\n", 1)
                    with self._arrived:
                        self.requests += 1
                        number = self.requests
                        self._arrived.notify_all()
                    if number <= len(self._bodies):
                        body = self._bodies[number - 1]
                        head = (
                            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                        )
                        connection.sendall(head.encode() + body)
                    else:
                        waiting = True
        if waiting:
            self.let_go.set()


@pytest.fixture
def two_pages_then_silence() -> Iterator[_PagesThenSilence]:
    server = _PagesThenSilence(_linked_pages(2, 3))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def one_page_then_silence() -> Iterator[_PagesThenSilence]:
    """A loopback server: the first request gets a page that points to a next one; any later
    request is read and never responded to."""
    server = _PagesThenSilence([PAGE])
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("how", ["break", "pages-break", "close-generator"])
def test_leaving_a_walk_early_cancels_the_page_already_asked_for(
    one_page_then_silence: _PagesThenSilence, how: str
) -> None:
    server = one_page_then_silence
    url = server.url
    with WorkOS(api_key="sk_test_1", base_url=url, timeout=None, max_retries=0) as client:
        pager = client.organizations.list(limit=1)
        if how == "break":
            for organization in pager:
                assert organization.name == "Acme Inc."
                assert server.wait_for_requests(2)  # the next page is on its way
                break
        elif how == "pages-break":
            for page in pager.pages():
                assert len(page.data) == 1
                assert server.wait_for_requests(2)
                break
        else:
            pages = pager.pages()
            next(pages)
            assert server.wait_for_requests(2)
            pages.close()
        # Leaving the walk, not closing the client, dropped that request's connection.
        assert server.let_go.wait(SAFETY_NET)
        assert not client.timeout


def _linked_pages(count: int, size: int) -> list[bytes]:
    """`count` list bodies of `size` organizations each (copies of the recorded one), each
    page's ``after`` cursor pointing at its last organization, as the API's does."""
    organization = orjson.loads(PAGE)["data"][0]
    bodies = []
    for number in range(count):
        data = [{**organization, "id": f"org_01PAGE{number:02}ITEM{position:02}"} for position in range(size)]
        bodies.append(orjson.dumps({"object": "list", "data": data, "list_metadata": {"after": data[-1]["id"]}}))
    return bodies


@pytest.mark.parametrize("leave_on", [1, 2])
def test_the_walk_asks_for_the_next_page_while_the_caller_works_and_for_nothing_further(
    two_pages_then_silence: _PagesThenSilence, leave_on: int
) -> None:
    server = two_pages_then_silence
    expected = [[organization["id"] for organization in orjson.loads(body)["data"]] for body in _linked_pages(2, 3)]
    with WorkOS(api_key="sk_test_1", base_url=server.url, timeout=None, max_retries=0) as client:
        for number, page in enumerate(client.organizations.list(limit=3).pages(), start=1):
            assert [organization.id for organization in page.data] == expected[number - 1]
            assert server.wait_for_requests(number + 1)  # the next page is on its way while the caller is here
            if number == leave_on:
                break
        if leave_on == 2:
            assert server.let_go.wait(SAFETY_NET)  # the request for page 3, never responded to, was cancelled
        # Leaving waited for the walk to end: no page beyond the one asked for ahead was asked for.
        assert server.requests == leave_on + 1


def test_a_page_is_let_go_of_on_the_loop_thread_once_the_caller_moves_past_it(
    client: WorkOS, seeded: list[str]
) -> None:
    freed_in: list[str] = []
    pages = client.organizations.list(limit=4).pages()
    first = next(pages)
    watch = weakref.ref(first, lambda _: freed_in.append(threading.current_thread().name))
    del first
    assert freed_in == []  # the caller has not asked for more: it may still be using page 1
    assert len(next(pages).data) == 4
    # Freed at once, with no collection, by the thread that made it.
    assert (freed_in, watch()) == (["workos-orgs-loop"], None)
    pages.close()


def test_an_error_on_the_next_page_is_raised_after_every_item_of_this_one(client: WorkOS, emulator: Emulator) -> None:
    emulator.seed([{"name": f"Org {n}"} for n in range(9)])
    first = orjson.loads(client.organizations.with_raw_response.list(limit=3).body)
    once = client.with_options(max_retries=0)

    def fail_the_second_page() -> None:
        emulator.inject_fault(method="GET", path="/organizations", status=200, body=first, times=1)
        emulator.inject_fault(method="GET", path="/organizations", status=500, times=1)

    fail_the_second_page()
    seen: list[str] = []
    walk = once.organizations.list(limit=3)
    with pytest.raises(InternalServerError) as caught:
        seen.extend(organization.id for organization in walk)
    assert seen == [organization["id"] for organization in first["data"]]
    assert caught.value.status_code == 500

    async def async_walk() -> tuple[list[str], BaseException]:
        walked: list[str] = []
        async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, max_retries=0) as async_client:
            try:
                async for organization in async_client.organizations.list(limit=3):
                    walked.append(organization.id)
            except InternalServerError as error:
                return walked, error
        raise AssertionError("the async walk raised nothing")

    fail_the_second_page()
    async_seen, async_error = asyncio.run(async_walk())
    assert (async_seen, type(async_error)) == (seen, type(caught.value))


@pytest.mark.parametrize(("max_items", "requests"), [(4, 1), (5, 2), (8, 2), (9, 3), (17, 5)])
def test_max_items_asks_for_no_page_it_will_not_use(
    client: WorkOS, emulator: Emulator, seeded: list[str], max_items: int, requests: int
) -> None:
    before = len(emulator.requests)
    assert len(list(client.organizations.list(limit=4, max_items=max_items))) == max_items
    assert len(emulator.requests) - before == requests
    sizes = [len(page.data) for page in client.organizations.list(limit=4, max_items=max_items).pages()]
    assert sum(sizes) == max_items
    assert len(emulator.requests) - before == 2 * requests


def test_an_interrupt_just_as_the_walk_ends_does_not_leave_the_caller_waiting(
    client: WorkOS, seeded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C lands after the walk's last hand-over was taken but before the walk saw it: the
    # walk must still end at once, not wait for a hand-over that already came.
    take = _loop_thread._Handover.take

    def interrupted_at_the_end(handover: Any) -> Any:
        item = take(handover)
        if isinstance(item, _loop_thread._End):
            raise KeyboardInterrupt
        return item

    monkeypatch.setattr(_loop_thread._Handover, "take", interrupted_at_the_end)
    raised: list[BaseException] = []

    def walk() -> None:
        try:
            list(client.organizations.list(limit=5))
        except BaseException as error:
            raised.append(error)

    walker = threading.Thread(target=walk, daemon=True)  # a hung walk must not hold up the test run
    walker.start()
    walker.join(SAFETY_NET)
    assert not walker.is_alive()
    assert [type(error) for error in raised] == [KeyboardInterrupt]


def test_a_walk_left_in_cyclic_garbage_is_closed_without_a_pending_task_destroyed(
    client: WorkOS, seeded: list[str]
) -> None:
    # Collected on the loop thread (where a collection may run at any allocation), a walk
    # left unfinished must have its task cancelled and closed, never destroyed while pending.
    errors: list[str] = []

    async def record_loop_errors(_: object) -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context["message"]))

    async def collect(_: object) -> int:
        return gc.collect()

    loop_thread = client._runner.loop_thread
    loop_thread.call(record_loop_errors)

    class Holder:
        walk: Iterator[Any]
        itself: Holder

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(5):
            holder = Holder()
            holder.itself = holder
            holder.walk = iter(client.organizations.list(limit=3))
            next(holder.walk)
            del holder
            loop_thread.call(collect)
    finally:
        if was_enabled:
            gc.enable()
    assert len(list(client.organizations.list(limit=100))) == len(seeded)  # the client still works
    assert errors == []


def _full_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches as large as the rules allow, however slow the machine: no page goes over early for
    its time bound, and the caller is never taken for slow (its time on a batch includes two
    thread wake-ups, which a busy machine can stretch past the bound for a slow caller)."""
    monkeypatch.setattr(_loop_thread, "_BATCH_DELAY", SAFETY_NET)
    monkeypatch.setattr(_loop_thread, "_SLOW_CALLER", SAFETY_NET)


def _record_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each batch of pages the walk hands the caller's thread, as it takes them."""
    sizes: list[int] = []
    take = _loop_thread._Handover.take

    def recorded(handover: Any) -> Any:
        batch = take(handover)
        if not isinstance(batch, _loop_thread._End):
            sizes.append(len(batch))
        return batch

    monkeypatch.setattr(_loop_thread._Handover, "take", recorded)
    return sizes


def test_pages_made_in_quick_succession_are_handed_over_together(
    client: WorkOS, emulator: Emulator, seeded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _full_batches(monkeypatch)
    sizes = _record_batches(monkeypatch)
    walked = [organization.id for organization in client.organizations.list(limit=1)]
    assert walked == asyncio.run(_async_walk(emulator, limit=1))
    assert sorted(walked) == sorted(seeded)
    # The first page alone, so the caller starts at once; then twice as many each time, up to
    # eight; the rest when the walk ends.
    assert sizes == [1, 2, 4, 8, 2]


def test_a_batch_is_let_go_of_on_the_loop_thread_once_the_caller_moves_past_it(
    client: WorkOS, seeded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _full_batches(monkeypatch)
    sizes = _record_batches(monkeypatch)
    freed_in: list[str] = []
    pages = client.organizations.list(limit=4).pages()  # 17 organizations: pages 1 | 2, 3 | 4, 5
    assert len(next(pages).data) == 4
    second, third = next(pages), next(pages)
    watches = [
        weakref.ref(page, lambda _: freed_in.append(threading.current_thread().name)) for page in (second, third)
    ]
    del second, third
    assert freed_in == []  # the caller has not asked for more: it may still be using either page
    assert len(next(pages).data) == 4
    # Both freed, with no collection, by the thread that made them.
    assert (freed_in, [watch() for watch in watches]) == (["workos-orgs-loop"] * 2, [None, None])
    assert sizes == [1, 2, 2]
    pages.close()


def test_a_long_walk_runs_few_garbage_collections_on_the_loop_thread(
    client: WorkOS, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A page's models outlive the rest of its batch, so a batch made after the last one was let
    # go of all at once (the collector's count of new objects does not go below zero) passes
    # the young generation's threshold every two pages: 25 collections over these 49 pages,
    # each examining the pages made so far.  Letting go of one old page before making each new
    # one keeps the count low: 6-9 here, in the first batches, each larger than the one before
    # (an async walk of the same pages runs 2-3).  The threshold is Python 3.11's and 3.12's,
    # set here because 3.13's default is higher.
    _full_batches(monkeypatch)
    sizes = _record_batches(monkeypatch)
    emulator.seed(
        [
            {
                "name": f"Org {number:04}",
                "domains": [{"domain": f"org{number}.example.com", "state": "verified"}],
                "metadata": {"tier": "gold", "region": "eu"},
            }
            for number in range(4_900)
        ]
    )
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and threading.current_thread().name == "workos-orgs-loop":
            collections.append(info["generation"])

    assert gc.isenabled()  # or there is nothing to count
    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    gc.callbacks.append(count)
    try:
        walked = sum(1 for _ in client.organizations.list(limit=100))
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*thresholds)
    assert walked == 4_900
    assert sizes == [1, 2, 4, 8, 8, 8, 8, 8, 2]
    assert len(collections) <= 15, collections


def test_an_error_is_raised_after_the_pages_made_before_it_that_were_not_handed_over_yet(
    client: WorkOS, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.seed([{"name": f"Org {n}"} for n in range(9)])
    first = orjson.loads(client.organizations.with_raw_response.list(limit=3).body)
    after = first["list_metadata"]["after"]
    second = orjson.loads(client.organizations.with_raw_response.list(limit=3, after=after).body)
    for body in (first, second):
        emulator.inject_fault(method="GET", path="/organizations", status=200, body=body, times=1)
    emulator.inject_fault(method="GET", path="/organizations", status=500, times=1)
    # Page 2 waits for page 3 to make a batch of two; page 3 fails.
    _full_batches(monkeypatch)
    sizes = _record_batches(monkeypatch)
    seen: list[str] = []
    with pytest.raises(InternalServerError) as caught:
        seen.extend(organization.id for organization in client.with_options(max_retries=0).organizations.list(limit=3))
    assert seen == [organization["id"] for organization in first["data"] + second["data"]]
    assert caught.value.status_code == 500
    assert sizes == [1, 1]


def test_a_walk_stops_at_once_when_the_client_is_closed_in_the_middle_of_a_batch(
    client: WorkOS, seeded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _full_batches(monkeypatch)
    sizes = _record_batches(monkeypatch)
    walk = iter(client.organizations.list(limit=1))
    seen = [next(walk).id, next(walk).id]  # the first batch, then the first of a batch of two
    client.close()
    with pytest.raises(ClientClosedError):
        seen.append(next(walk).id)  # the rest of that batch was made, but the client is closed
    assert len(seen) == 2
    assert sizes == [1, 2]


@pytest.mark.parametrize("slow", ["caller", "source"])
def test_pages_are_not_held_back_when_the_caller_or_the_walk_is_the_slow_side(
    client: WorkOS, emulator: Emulator, seeded: list[str], monkeypatch: pytest.MonkeyPatch, slow: str
) -> None:
    # Holding pages saves thread wake-ups only while both sides are quick; a caller that works
    # on each page (or pages that come slowly) would only wait longer for pages already made.
    if slow == "caller":
        monkeypatch.setattr(_loop_thread, "_BATCH_DELAY", SAFETY_NET)
        monkeypatch.setattr(_loop_thread, "_SLOW_CALLER", 0.0)  # any time spent on a page is slow
    else:
        monkeypatch.setattr(_loop_thread, "_BATCH_DELAY", 0.0)  # any time taken to make a page is slow
    sizes = _record_batches(monkeypatch)
    walked = [organization.id for organization in client.organizations.list(limit=1)]
    assert walked == asyncio.run(_async_walk(emulator, limit=1))
    assert sizes == [1] * len(seeded)
