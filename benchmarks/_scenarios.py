"""The scenarios: timed rounds over the network, and in-process decode and memory.

Every network scenario runs each contender (a client, or a server under the same client load)
once per round, in an order that rotates from round to round, so a slow moment on this shared
machine hits every contender alike; a ratio is taken within a round, never across runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import json
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, TypeVar

import aiohttp
import attrs
import orjson
from _clients import BLOCKING, OFFICIAL, THIS_SDK, BenchClient, blocking, this_sdk
from _harness import process_cpu_seconds
from _results import Times
from _shapes import create_inputs

# The one private name the suite uses: the SDK's own path from a decoded list body to its page
# of models, so the decode scenario measures exactly what a crawl runs per page.
from workos_orgs._organizations import _organization_page

ORJSON: Final = "orjson.loads alone"
PYDANTIC: Final = "pydantic v2 (model_validate_json)"

Contender = TypeVar("Contender")
Job = Callable[[Contender, int, int], Callable[[], Awaitable[None]]]


async def bounded(count: int, concurrency: int, call: Callable[[int], Awaitable[Any]]) -> None:
    """``call(0) .. call(count - 1)`` with at most `concurrency` in flight (a pool of workers)."""
    numbers = iter(range(count))

    async def worker() -> None:
        for number in numbers:
            await call(number)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, count)):
            group.create_task(worker())


def rotated(names: Sequence[str], round_number: int) -> list[str]:
    """The clients in this round's order: each takes every position in turn."""
    shift = round_number % len(names)
    return [*names[shift:], *names[:shift]]


async def timed_rounds(
    clients: Mapping[str, Contender],
    rounds: int,
    job: Job[Contender],
    cpu: Times | None = None,
) -> Times:
    """Run ``job(client, round, position)()`` for every contender in every round; seconds each.

    `job` prepares its inputs when called and returns the coroutine function that is timed.
    The client process's CPU seconds of each run go into `cpu` when given: the rest of the
    wall time is waiting for the emulator.
    """
    times: Times = {name: [] for name in clients}
    for round_number in range(rounds):
        for position, name in enumerate(rotated(list(clients), round_number)):
            work = job(clients[name], round_number, position)
            gc.collect()
            started, started_cpu = time.perf_counter(), time.process_time()
            await work()
            times[name].append(time.perf_counter() - started)
            if cpu is not None:
                cpu.setdefault(name, []).append(time.process_time() - started_cpu)
    return times


def checked(name: str, count: int, expected: int) -> None:
    """Raise when a crawl did not walk every organization."""
    if count != expected:
        raise RuntimeError(f"{name} crawled {count} organizations, expected {expected}")


def crawl_job(expected: int) -> Job[BenchClient]:
    """Walk every organization; the count must come out right."""

    def job(client: BenchClient, _round: int, _position: int) -> Callable[[], Awaitable[None]]:
        async def work() -> None:
            checked(client.name, await client.crawl(), expected)

        return work

    return job


def gets_job(ids: Sequence[str], count: int, concurrency: int) -> Job[BenchClient]:
    """`count` gets of existing organizations, `concurrency` in flight."""

    def job(client: BenchClient, _round: int, _position: int) -> Callable[[], Awaitable[None]]:
        async def work() -> None:
            await bounded(count, concurrency, lambda number: client.get(ids[number % len(ids)]))

        return work

    return job


def creates_job(count: int, concurrency: int, run_tag: str) -> Job[BenchClient]:
    """`count` creates of distinct organizations (1-3 domains, metadata), `concurrency` in flight."""

    def job(client: BenchClient, round_number: int, position: int) -> Callable[[], Awaitable[None]]:
        inputs = create_inputs(count, f"{run_tag}r{round_number}c{position}")

        async def work() -> None:
            await bounded(count, concurrency, lambda number: client.create(inputs[number]))

        return work

    return job


@attrs.frozen
class LoadTarget:
    """A server under load: the session that sends it requests, and its process."""

    name: str
    session: aiohttp.ClientSession
    pid: int


def requests_job(path: str, count: int, concurrency: int, server_cpu: Times) -> Job[LoadTarget]:
    """`count` GETs of `path`, `concurrency` in flight, each response read whole and not decoded.

    The load a server is measured under: the client does as little as aiohttp allows, so the
    server's work shows.  The server process's CPU seconds of each run go into `server_cpu`.
    """

    def job(target: LoadTarget, _round: int, _position: int) -> Callable[[], Awaitable[None]]:
        async def get(_number: int) -> None:
            async with target.session.get(path) as response:
                if response.status != 200:
                    raise RuntimeError(f"GET {path} got {response.status}: {await response.text()}")
                await response.read()

        async def work() -> None:
            started = process_cpu_seconds(target.pid)
            await bounded(count, concurrency, get)
            server_cpu.setdefault(target.name, []).append(process_cpu_seconds(target.pid) - started)

        return work

    return job


# In process: decoding one page body, and holding many organizations.


def pydantic_available() -> bool:
    """pydantic is optional: the bench session does not install it."""
    return importlib.util.find_spec("pydantic") is not None


def _pydantic_page_type() -> Any:
    from datetime import datetime

    import pydantic

    class PydanticDomain(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(frozen=True)
        id: str
        organization_id: str
        domain: str
        created_at: datetime
        updated_at: datetime
        state: str | None = None
        verification_strategy: str | None = None
        verification_token: str | None = None
        verification_prefix: str | None = None

    class PydanticOrganization(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(frozen=True)
        id: str
        name: str
        domains: tuple[PydanticDomain, ...]
        metadata: dict[str, str]
        external_id: str | None
        created_at: datetime
        updated_at: datetime
        stripe_customer_id: str | None = None
        allow_profiles_outside_organization: bool | None = None

    class PydanticListMetadata(pydantic.BaseModel):
        before: str | None = None
        after: str | None = None

    class PydanticPage(pydantic.BaseModel):
        data: tuple[PydanticOrganization, ...]
        list_metadata: PydanticListMetadata

    return PydanticPage


def page_decoders(include_official: bool) -> dict[str, Callable[[bytes], Sequence[Any]]]:
    """Each contender's whole path from a list body to its organizations, as its client does it."""

    def this_sdk(body: bytes) -> Sequence[Any]:
        # What the SDK does with a list response: orjson, then the one converter's hooks.
        return _organization_page(orjson.loads(body)).data

    def plain(body: bytes) -> Sequence[Any]:
        data: list[Any] = orjson.loads(body)["data"]
        return data

    decoders: dict[str, Callable[[bytes], Sequence[Any]]] = {ORJSON: plain, THIS_SDK: this_sdk}
    if include_official:
        from workos._pagination import ListMetadata as OfficialListMetadata
        from workos.organizations.models import Organization as OfficialOrganization

        def official(body: bytes) -> Sequence[Any]:
            # The official client's request_page: response.json() (the stdlib json), then from_dict.
            data = json.loads(body)
            items = [OfficialOrganization.from_dict(item) for item in data.get("data") or []]
            OfficialListMetadata.from_dict(data.get("list_metadata", {}))
            return items

        decoders[OFFICIAL] = official
    if pydantic_available():
        page_type = _pydantic_page_type()

        def pydantic_page(body: bytes) -> Sequence[Any]:
            return page_type.model_validate_json(body).data  # type: ignore[no-any-return]

        decoders[PYDANTIC] = pydantic_page
    return decoders


def decode_rounds(body: bytes, decoders: Mapping[str, Callable[[bytes], Any]], rounds: int, number: int) -> Times:
    """Seconds per decode of `body`, each round the mean of `number` decodes, contenders interleaved."""
    times: Times = {name: [] for name in decoders}
    for decode in decoders.values():
        decode(body)  # warm up: imports, caches, pydantic's validator build
    for round_number in range(rounds):
        for name in rotated(list(decoders), round_number):
            decode = decoders[name]
            gc.collect()
            started = time.perf_counter()
            for _ in range(number):
                decode(body)
            times[name].append((time.perf_counter() - started) / number)
    return times


def bytes_per_organization(
    body: bytes, decoders: Mapping[str, Callable[[bytes], Sequence[Any]]], count: int
) -> dict[str, float]:
    """Traced bytes per organization while `count` of them are held, decoded from `body` again and again.

    Each decode allocates fresh strings, datetimes and containers, as decoding different
    pages would; only what the decoder keeps (and the list holding it) is counted.
    """
    per_page = len(orjson.loads(body)["data"])
    result: dict[str, float] = {}
    for name, decode in decoders.items():
        held: list[Any] = []
        gc.collect()
        tracemalloc.start()
        try:
            baseline, _ = tracemalloc.get_traced_memory()
            for _ in range(-(-count // per_page)):
                held.extend(decode(body))
            del held[count:]
            gc.collect()
            current, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        result[name] = (current - baseline) / len(held)
        del held
    return result


def first_ids(bodies: Iterable[bytes]) -> list[str]:
    """The organization ids in some list bodies."""
    return [item["id"] for body in bodies for item in orjson.loads(body)["data"]]


@contextlib.contextmanager
def blocking_against_async(url: str, api_key: str, expected: int) -> Iterator[dict[str, Callable[[], None]]]:
    """The blocking scenario's contenders: this SDK's async client, on an event loop of its own
    in this thread, and its blocking client, each a crawl that must walk `expected` organizations."""
    with asyncio.Runner() as runner, blocking(url, api_key) as blocking_crawl:
        stack = contextlib.AsyncExitStack()
        ours = runner.run(stack.enter_async_context(this_sdk(url, api_key)))
        try:
            yield {
                THIS_SDK: lambda: checked(THIS_SDK, runner.run(ours.crawl()), expected),
                BLOCKING: lambda: checked(BLOCKING, blocking_crawl(), expected),
            }
        finally:
            runner.run(stack.aclose())


def blocking_rounds(
    contenders: Mapping[str, Callable[[], Any]], rounds: int, *, clock: Callable[[], float] = time.perf_counter
) -> Times:
    """Seconds per call of each blocking `contenders` callable, interleaved as `timed_rounds` does,
    each timed call right after an untimed one of its own (`clock` reads the time).

    The contenders run in different threads (the blocking client's loop thread, the async
    client's main thread), and a crawl right after the other contender's takes longer than one
    right after its own, whichever contender it is (benchmarks/HISTORY.md, "Fourth round";
    ``python benchmarks/switch_cost.py`` measures it).
    Alternating the order without that settling call, some rounds' ratios charged the switch to
    one contender and some to the other, and the median rested on the few rounds in between;
    settled, every round compares the two as a program that keeps using one of them runs it.
    """
    times: Times = {name: [] for name in contenders}
    for round_number in range(rounds):
        for name in rotated(list(contenders), round_number):
            contenders[name]()  # settle: see the docstring
            gc.collect()
            started = clock()
            contenders[name]()
            times[name].append(clock() - started)
    return times
