"""Where a get's client CPU goes: the SDK's call taken apart layer by layer, beside the floor.

    python benchmarks/get_layers.py 9      # 2,000 gets, 32 in flight, per row; 9 rounds

From the third row on, each row adds one layer of the SDK to the row before it, from aiohttp
called exactly as the SDK calls it up to ``client.organizations.get``; every row but the SDK's
decodes the body with ``orjson.loads`` (the SDK builds the model).  Two floors stand above
them: the suite's, with aiohttp's default timeout (which sets a timer per request), and the
same without a total timeout, as the SDK runs aiohttp (its own deadlines need no timer per
request).  The gets cycle through one page of ids, as the suite's do.  The emulator runs in its
own process, so ``time.process_time()`` of this one is the client's CPU; rounds rotate the order.

The last row is a yardstick: a few additions in a loop before each of the third row's gets,
against the same loop timed alone.  Code run once per get costs several times what the same
code costs in a loop of its own, so only a row here, not a micro-benchmark, says what a change
to the SDK's call would save.

The middle rows reach into the SDK's internals (its connection, settings and transport) to stop
at each layer, so they change with them: this is a measuring tool, not an example.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import statistics
import time
import timeit
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import aiohttp
import orjson
from _clients import PAGE_SIZE, floor
from _harness import load_average, seeded_emulator
from _scenarios import bounded, rotated
from _shapes import LEAN

from workos_orgs import AsyncWorkOS
from workos_orgs._attempts import Attempt
from workos_orgs._request import build_request

GETS: Final = 2_000
IN_FLIGHT: Final = 32
SEEDED: Final = 300

FLOOR: Final = "floor (the suite's)"
FLOOR_UNTIMED: Final = "floor, no total timeout"
AIOHTTP: Final = "aiohttp as the SDK calls it"
ATTEMPT: Final = "+ one attempt (deadlines, send count, capped read, key redaction)"
RETRIES: Final = "+ the retry loop"
BUILD: Final = "+ building the request"
SDK: Final = "+ the resource method and the model (organizations.get)"
PLAIN_PYTHON: Final = "aiohttp as the SDK calls it + a little plain Python"
LAYERS: Final = (FLOOR, FLOOR_UNTIMED, AIOHTTP, ATTEMPT, RETRIES, BUILD, SDK, PLAIN_PYTHON)
COMPARED_WITH: Final = {
    **{name: before for before, name in itertools.pairwise(LAYERS)},
    PLAIN_PYTHON: AIOHTTP,
}
"""The row each row's step is measured from."""

Get = Callable[[str], Awaitable[Any]]


def plain_python() -> int:
    """Sixty additions in a loop: pure Python, no allocation, no call out of the interpreter."""
    total = 0
    for number in range(60):
        total += number
    return total


def alone() -> float:
    """What `plain_python` takes timed on its own, in a loop (the best of five): the way a
    micro-benchmark would measure a piece of the SDK."""
    return min(timeit.repeat(plain_python, number=20_000, repeat=5)) / 20_000


@contextlib.asynccontextmanager
async def floor_untimed(url: str, api_key: str) -> AsyncIterator[Get]:
    """The suite's floor with ``ClientTimeout(total=None)``: no timer per request."""
    headers = {"Authorization": f"Bearer {api_key}"}
    async with aiohttp.ClientSession(url, headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as session:

        async def get(org_id: str) -> Any:
            async with session.get(f"/organizations/{org_id}") as response:
                response.raise_for_status()
                return orjson.loads(await response.read())

        yield get


def sdk_layers(client: AsyncWorkOS, ids: list[str]) -> dict[str, Get]:
    """The SDK's call stopped after each layer, on `client`'s own session and settings."""
    connection, settings = client._connection, client._settings
    sessions, transport = connection.sessions, connection.transport
    prebuilt = {
        org_id: build_request(
            "GET",
            connection.base_url,
            ("organizations", org_id),
            api_key=connection.api_key,
            plain=connection.plain_headers,
        )
        for org_id in ids
    }

    async def plain_aiohttp(org_id: str) -> Any:
        request = prebuilt[org_id]
        async with sessions.get().request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body,
            timeout=settings.socket_timeout,
            allow_redirects=False,
            raise_for_status=False,
        ) as response:
            return orjson.loads(await response.read())

    async def one_attempt(org_id: str) -> Any:
        attempt = Attempt(sessions.deadlines, timeout=settings.timeout, attempt_timeout=settings.attempt_timeout)
        response = await transport._send_once(prebuilt[org_id], settings.socket_timeout, attempt)
        return orjson.loads(response.body)

    async def retried(org_id: str) -> Any:
        return orjson.loads((await transport.request(prebuilt[org_id], settings)).body)

    async def built(org_id: str) -> Any:
        return orjson.loads((await client._request("GET", ("organizations", org_id))).body)

    async def with_plain_python(org_id: str) -> Any:
        plain_python()
        return await plain_aiohttp(org_id)

    return {
        AIOHTTP: plain_aiohttp,
        ATTEMPT: one_attempt,
        RETRIES: retried,
        BUILD: built,
        SDK: client.organizations.get,
        PLAIN_PYTHON: with_plain_python,
    }


@contextlib.asynccontextmanager
async def every_layer(url: str, api_key: str) -> AsyncIterator[tuple[dict[str, Get], list[str]]]:
    """A get for each of `LAYERS`, and the ids to get: one page of them, as the suite cycles through."""
    async with AsyncWorkOS(api_key=api_key, base_url=url) as client:
        ids = [
            organization.id async for organization in client.organizations.list(limit=PAGE_SIZE, max_items=PAGE_SIZE)
        ]
        async with floor(url, api_key) as raw, floor_untimed(url, api_key) as untimed:
            yield {FLOOR: raw.get, FLOOR_UNTIMED: untimed, **sdk_layers(client, ids)}, ids


async def measure(url: str, api_key: str, rounds: int, gets: int = GETS) -> dict[str, list[float]]:
    """Client CPU seconds per get for each of `LAYERS`, a list of `rounds` figures each."""
    async with every_layer(url, api_key) as (calls, ids):

        def run(name: str) -> Awaitable[None]:
            call = calls[name]
            return bounded(gets, IN_FLIGHT, lambda number: call(ids[number % len(ids)]))

        for name in LAYERS:
            await run(name)  # warm: connections open, caches filled
        cpu: dict[str, list[float]] = {name: [] for name in LAYERS}
        for round_number in range(rounds):
            for name in rotated(LAYERS, round_number):
                gc.collect()
                started = time.process_time()
                await run(name)
                cpu[name].append((time.process_time() - started) / gets)
    return cpu


def report(cpu: dict[str, list[float]], plain_python_alone: float) -> None:
    """Each layer's median (min-max), against the suite's floor and as a step from the row it adds to."""
    medians = {name: statistics.median(figures) for name, figures in cpu.items()}
    for name in LAYERS:
        step = ""
        if name in COMPARED_WITH:
            step = f"  {(medians[name] - medians[COMPARED_WITH[name]]) * 1e6:+5.1f} µs"
        print(
            f"{name:66} {medians[name] * 1e6:6.1f} µs ({min(cpu[name]) * 1e6:5.1f}-{max(cpu[name]) * 1e6:5.1f})"
            f"  x{medians[name] / medians[FLOOR]:.2f} the floor{step}"
        )
    between_gets = medians[PLAIN_PYTHON] - medians[AIOHTTP]
    print(
        f"The plain Python takes {plain_python_alone * 1e6:.2f} µs timed alone and {between_gets * 1e6:.2f} µs between"
        f" gets (x{between_gets / plain_python_alone:.1f}): a micro-benchmark of a piece of the SDK understates what"
        " it costs in a get by about that much."
    )
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*load_average()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rounds", type=int, nargs="?", default=9)
    args = parser.parse_args()
    with seeded_emulator(SEEDED, LEAN) as emulator:
        cpu = asyncio.run(measure(emulator.url, emulator.api_key, args.rounds))
    report(cpu, alone())


if __name__ == "__main__":
    main()
