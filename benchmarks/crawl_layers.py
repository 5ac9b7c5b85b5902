"""Where a crawl's time goes: the floor with this SDK's models added, beside this SDK with parts cut out.

    python benchmarks/crawl_layers.py 12          # crawl 10,000 lean organizations per row; 12 rounds
    python benchmarks/crawl_layers.py 12 --busy   # the same beside one busy-loop process

The first three rows build up from the suite's floor: its crawl, then the same crawl building
each page's `Organization` models with this SDK's own page hook from the dicts ``orjson.loads``
made, then that with the next page asked for before the models are built (as this SDK's pager
does).  The last three are this SDK's ``async for`` over ``list()`` with part of it cut out:
its transport (retries, deadlines, the capped read, the key searched for) cut down to one
aiohttp GET and ``read()``; the key searched for nowhere; and nothing cut.  So the second and
third rows say what the models alone, and the models with asking ahead, cost before anything
else the SDK does; the last three say what the transport and the search for the key add.

With ``--busy`` the client and the emulator share a core, and each crawl's wall time is close
to the client's CPU plus the emulator's: the busy crawl target (``<= 1.4x the floor's time``)
is then a bound on the client's CPU.  Rounds rotate the order; a row's ratio is taken within
each round.  The emulator runs in its own process, so ``time.process_time()`` of this one is
the client's CPU; the emulator's is read from ``/proc`` in clock ticks (its mean over many
rounds means something, one crawl's does not).

The rows that cut parts out reach into one client's internals (its transport), so they change
with them: this is a measuring tool, not an example.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import aiohttp
import attrs
import orjson
from _clients import PAGE_SIZE, floor
from _harness import busy_loop, emulator_with_samples, load_average, process_cpu_seconds
from _scenarios import rotated
from _shapes import LEAN

from workos_orgs import AsyncWorkOS, Organization
from workos_orgs._models import _organization
from workos_orgs._pagination import page_structure
from workos_orgs._redaction import Secret
from workos_orgs._request import Request
from workos_orgs._response import Response
from workos_orgs._transport import CallSettings, Transport

CRAWL_COUNT: Final = 10_000

FLOOR: Final = "floor (the suite's)"
MODELS: Final = "floor + this SDK's models (its page hook on the floor's dicts)"
AHEAD: Final = "floor + models + the next page asked for before they are built"
MINIMAL: Final = "this SDK, its transport cut to one aiohttp GET and read()"
NO_SCAN: Final = "this SDK, the key searched for nowhere"
SDK: Final = "this SDK (async for over list())"
ROWS: Final = (FLOOR, MODELS, AHEAD, MINIMAL, NO_SCAN, SDK)

Crawl = Callable[[], Awaitable[int]]


async def _minimal_request(self: Transport, request: Request, settings: CallSettings) -> Response:
    """One GET and ``read()``: no retries, deadlines, read cap or search for the key."""
    async with self._sessions.get().request(
        request.method, request.url, headers=request.headers, timeout=settings.socket_timeout
    ) as response:
        return Response(response.status, response.headers, await response.read())


def _sdk_crawl(client: AsyncWorkOS) -> Crawl:
    async def crawl() -> int:
        count = 0
        async for _ in client.organizations.list(limit=PAGE_SIZE):
            count += 1
        return count

    return crawl


@contextlib.asynccontextmanager
async def every_row(url: str, api_key: str) -> AsyncIterator[dict[str, Crawl]]:
    """A crawl for each of `ROWS`, each client with its own session."""
    structure = page_structure(_organization, Organization)
    async with (
        floor(url, api_key) as raw,
        AsyncWorkOS(api_key=api_key, base_url=url) as minimal,
        AsyncWorkOS(api_key=api_key, base_url=url) as unscanned,
        AsyncWorkOS(api_key=api_key, base_url=url) as sdk,
        # The floor's session, for the rows that add to it: the same settings as its own.
        aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {api_key}"}) as session,
    ):
        minimal_transport = minimal._connection.transport
        minimal_transport.request = types.MethodType(_minimal_request, minimal_transport)  # type: ignore[method-assign]
        # A key too short to be a WorkOS key is never looked for (`MIN_SECRET_LENGTH`).
        unscanned._connection.transport._secret = Secret("")

        async def fetch(params: dict[str, str]) -> Any:
            async with session.get("/organizations", params=params) as response:
                response.raise_for_status()
                return orjson.loads(await response.read())

        async def with_models() -> int:
            count = 0
            params = {"limit": str(PAGE_SIZE)}
            while True:
                page = await fetch(params)
                count += len(structure(page).data)
                after = page["list_metadata"]["after"]
                if after is None or not page["data"]:
                    return count
                params = {"limit": str(PAGE_SIZE), "after": after}

        async def asking_ahead() -> int:
            count = 0
            ahead = asyncio.ensure_future(fetch({"limit": str(PAGE_SIZE)}))
            while True:
                page = await ahead
                after = page["list_metadata"]["after"]
                if after is not None:
                    ahead = asyncio.ensure_future(fetch({"limit": str(PAGE_SIZE), "after": after}))
                    await asyncio.sleep(0)  # one turn of the loop puts the request on the wire
                count += len(structure(page).data)
                if after is None or not page["data"]:
                    return count

        yield {
            FLOOR: raw.crawl,
            MODELS: with_models,
            AHEAD: asking_ahead,
            MINIMAL: _sdk_crawl(minimal),
            NO_SCAN: _sdk_crawl(unscanned),
            SDK: _sdk_crawl(sdk),
        }


@attrs.frozen
class Measured:
    """Seconds per crawl for each of `ROWS`, one figure a round: the client's CPU, the wall
    time, and the emulator's CPU."""

    cpu: dict[str, list[float]]
    wall: dict[str, list[float]]
    server: dict[str, list[float]]


async def measure(url: str, api_key: str, rounds: int, emulator_pid: int, count: int = CRAWL_COUNT) -> Measured:
    """`rounds` rounds of one crawl for each of `ROWS`, the order rotating; each crawl must
    meet all `count` organizations the emulator holds."""
    cpu: dict[str, list[float]] = {name: [] for name in ROWS}
    wall: dict[str, list[float]] = {name: [] for name in ROWS}
    server: dict[str, list[float]] = {name: [] for name in ROWS}
    async with every_row(url, api_key) as crawls:
        for name in ROWS:
            assert await crawls[name]() == count, name  # warm: connections open, caches filled
        for round_number in range(rounds):
            for name in rotated(ROWS, round_number):
                gc.collect()
                started_server = process_cpu_seconds(emulator_pid)
                started, started_cpu = time.perf_counter(), time.process_time()
                crawled = await crawls[name]()
                cpu[name].append(time.process_time() - started_cpu)
                wall[name].append(time.perf_counter() - started)
                server[name].append(process_cpu_seconds(emulator_pid) - started_server)
                assert crawled == count, (name, crawled)
    return Measured(cpu, wall, server)


def report(measured: Measured, busy: bool, count: int = CRAWL_COUNT) -> None:
    """Each row's client CPU and wall time (median, min-max), its wall time against the
    floor's (the median of the per-round ratios), and the emulator's mean CPU."""
    cpu, wall = measured.cpu, measured.wall
    print(f"crawl {count:,} lean organizations, page size {PAGE_SIZE}, {'busy' if busy else 'quiet'}")
    for name in ROWS:
        ratios = [mine / theirs for mine, theirs in zip(wall[name], wall[FLOOR], strict=True)]
        print(
            f"{name:66} CPU ms {statistics.median(cpu[name]) * 1e3:5.1f} ({min(cpu[name]) * 1e3:5.1f}-"
            f"{max(cpu[name]) * 1e3:5.1f}) | wall ms {statistics.median(wall[name]) * 1e3:5.1f}"
            f" | x{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) the floor's time"
            f" | emulator CPU ms {statistics.fmean(measured.server[name]) * 1e3:5.1f}"
        )
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*load_average()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rounds", type=int, nargs="?", default=12)
    parser.add_argument("--busy", action="store_true", help="run one busy-loop process beside it")
    args = parser.parse_args()
    with emulator_with_samples(CRAWL_COUNT, LEAN) as emulator, contextlib.ExitStack() as stack:
        if args.busy:
            stack.enter_context(busy_loop())
        measured = asyncio.run(measure(emulator.url, emulator.api_key, args.rounds, emulator.process.pid))
    report(measured, args.busy)


if __name__ == "__main__":
    main()
