"""Where a get's client CPU goes: the SDK's call taken apart layer by layer, beside the floor.

    python benchmarks/get_layers.py 9      # 2,000 gets, 32 in flight, per row; 9 rounds

From the third row on, each row adds one layer of the SDK to the row before it, from aiohttp
called exactly as the SDK calls it up to ``client.organizations.get``; every row but the SDK's
decodes the body with ``orjson.loads`` (the SDK builds the model).  Two floors stand above
them: the suite's, with aiohttp's default timeout (which sets a timer per request), and the
same without a total timeout, as the SDK runs aiohttp (its own deadlines need no timer per
request).  The gets cycle through one page of ids, as the suite's do; the suite's own get
wraps ``organizations.get`` in one more coroutine, so its figure is a little higher.  The
emulator runs in its own process, so ``time.process_time()`` of this one is the client's CPU.
Rounds rotate the order; each step is the median of its two rows' difference in each round.

The last row is a yardstick: the retry loop's row with one more request built (as the client
builds it) and thrown away before each get, against building that request timed alone.  Code
run once per get can cost several times what it costs in a loop of its own, and then only a
comparison in place like these rows, not a micro-benchmark, says what a change would save.

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
import attrs
import orjson
from _clients import PAGE_SIZE, floor
from _harness import emulator_with_samples, load_average
from _scenarios import bounded, rotated
from _shapes import LEAN

from workos_orgs import AsyncWorkOS
from workos_orgs._attempts import Attempt
from workos_orgs._request import Request, build_request

GETS: Final = 2_000
IN_FLIGHT: Final = 32
SEEDED: Final = 300

FLOOR: Final = "floor (the suite's)"
FLOOR_UNTIMED: Final = "floor, no total timeout"
AIOHTTP: Final = "aiohttp as the SDK calls it"
ATTEMPT: Final = "+ one attempt (deadlines, send count, capped read, key redaction, Response)"
RETRIES: Final = "+ the retry loop"
CLIENT: Final = "+ the client (its settings; building the request)"
SDK: Final = "+ organizations.get (the resource method, parsing, the model)"
BUILT_ASIDE: Final = "the retry loop's row + a request built and thrown away"
LAYERS: Final = (FLOOR, FLOOR_UNTIMED, AIOHTTP, ATTEMPT, RETRIES, CLIENT, SDK, BUILT_ASIDE)
COMPARED_WITH: Final = {
    **{name: before for before, name in itertools.pairwise(LAYERS)},
    BUILT_ASIDE: RETRIES,
}
"""The row each row's step is measured from."""

Get = Callable[[str], Awaitable[Any]]


def build(client: AsyncWorkOS, org_id: str) -> Request:
    """The request the client builds for ``organizations.get(org_id)``."""
    connection = client._connection
    segments = ("organizations", org_id)
    return build_request("GET", connection.base_url, segments, credentials=connection.credentials)


def alone(client: AsyncWorkOS, org_id: str, number: int = 20_000) -> float:
    """Seconds `build` takes timed on its own, in a loop (the median of five): the way a
    micro-benchmark would measure a piece of the SDK."""
    return statistics.median(timeit.repeat(lambda: build(client, org_id), number=number, repeat=5)) / number


def sdk_layers(client: AsyncWorkOS, ids: list[str]) -> dict[str, Get]:
    """The SDK's call stopped after each layer, on `client`'s own session and settings."""
    connection, settings = client._connection, client._settings
    sessions, transport = connection.sessions, connection.transport
    prebuilt = {org_id: build(client, org_id) for org_id in ids}

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

    async def through_the_client(org_id: str) -> Any:
        return orjson.loads((await client._request("GET", ("organizations", org_id))).body)

    async def built_aside(org_id: str) -> Any:
        build(client, org_id)
        return orjson.loads((await transport.request(prebuilt[org_id], settings)).body)

    return {
        AIOHTTP: plain_aiohttp,
        ATTEMPT: one_attempt,
        RETRIES: retried,
        CLIENT: through_the_client,
        SDK: client.organizations.get,
        BUILT_ASIDE: built_aside,
    }


@contextlib.asynccontextmanager
async def every_layer(url: str, api_key: str) -> AsyncIterator[tuple[dict[str, Get], list[str], float]]:
    """A get for each of `LAYERS`, the ids to get (one page of them, as the suite cycles
    through), and the seconds building one request takes alone (`alone`)."""
    async with AsyncWorkOS(api_key=api_key, base_url=url) as client:
        ids = [
            organization.id async for organization in client.organizations.list(limit=PAGE_SIZE, max_items=PAGE_SIZE)
        ]
        async with (
            floor(url, api_key) as raw,
            floor(url, api_key, timeout=aiohttp.ClientTimeout(total=None)) as untimed,
        ):
            yield {FLOOR: raw.get, FLOOR_UNTIMED: untimed.get, **sdk_layers(client, ids)}, ids, alone(client, ids[0])


@attrs.frozen
class Measured:
    """Client CPU seconds per get for each of `LAYERS`, one figure a round, and what building
    one request takes alone."""

    cpu: dict[str, list[float]]
    build_alone: float


async def measure(url: str, api_key: str, rounds: int, gets: int = GETS) -> Measured:
    """`rounds` rounds of `gets` gets for each of `LAYERS`, the order rotating."""
    async with every_layer(url, api_key) as (calls, ids, build_alone):

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
    return Measured(cpu, build_alone)


def report(measured: Measured) -> None:
    """Each row's median (min-max) and its ratio to the suite's floor; then the step from the
    row it adds to, as the median (min-max) of the two rows' difference in each round."""
    cpu = measured.cpu
    floor_median = statistics.median(cpu[FLOOR])
    steps: dict[str, list[float]] = {}
    for name in LAYERS:
        median = statistics.median(cpu[name])
        step = ""
        if name in COMPARED_WITH:
            steps[name] = [mine - theirs for mine, theirs in zip(cpu[name], cpu[COMPARED_WITH[name]], strict=True)]
            figures = [difference * 1e6 for difference in steps[name]]
            step = f"  {statistics.median(figures):+5.1f} µs ({min(figures):+.1f} to {max(figures):+.1f})"
        print(
            f"{name:76} {median * 1e6:6.1f} µs ({min(cpu[name]) * 1e6:5.1f}-{max(cpu[name]) * 1e6:5.1f})"
            f"  x{median / floor_median:.2f} the floor{step}"
        )
    in_a_get = statistics.median(steps[BUILT_ASIDE])
    print(
        f"Building one request: {measured.build_alone * 1e6:.2f} µs timed alone, {in_a_get * 1e6:.2f} µs"
        f" ({min(steps[BUILT_ASIDE]) * 1e6:.2f} to {max(steps[BUILT_ASIDE]) * 1e6:.2f}) between gets,"
        f" x{in_a_get / measured.build_alone:.1f}."
    )
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*load_average()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rounds", type=int, nargs="?", default=9)
    args = parser.parse_args()
    with emulator_with_samples(SEEDED, LEAN) as emulator:
        measured = asyncio.run(measure(emulator.url, emulator.api_key, args.rounds))
    report(measured)


if __name__ == "__main__":
    main()
