"""The client's own CPU for gets and a crawl, this SDK beside the floor, on a busy machine too.

    python benchmarks/client_cpu.py gets 5      # 2,000 gets, 32 in flight; 5 interleaved rounds
    python benchmarks/client_cpu.py crawl 5     # crawl 10,000 lean organizations, page size 100
    python benchmarks/client_cpu.py crawl 9 --busy   # the same beside one busy-loop process

The emulator runs in its own process, so ``time.process_time()`` of this one is the client's
CPU alone: on a shared or busy machine every microsecond of it is wall time, and it is far
steadier than wall time when other work runs beside the benchmark.  Rounds alternate which
client goes first.  To compare two versions of the SDK, run this under each, one after the
other, several times.

The emulator's CPU is read from ``/proc`` (in clock ticks, so only its mean over many rounds
means much).  With ``--busy``, the client and the emulator share one core, and each client's
wall time comes out close to its CPU plus the emulator's: the busy crawl's target is then a
target for the client's CPU.  The client's context switches per crawl tell whether it ever
waited for the emulator: on a quiet machine this SDK, asking for each page ahead, hardly does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Final

from _clients import PAGE_SIZE, BenchClient, floor, this_sdk
from _harness import busy_loop, emulator_with_samples, process_cpu_seconds
from _scenarios import bounded
from _shapes import LEAN

from workos_orgs import AsyncWorkOS

CRAWL_COUNT: Final = 10_000
GETS: Final = 2_000
IN_FLIGHT: Final = 32


async def measure(url: str, api_key: str, scenario: str, rounds: int, emulator_pid: int) -> None:
    async with AsyncWorkOS(api_key=api_key, base_url=url) as client:
        ids = [organization.id async for organization in client.organizations.list(limit=PAGE_SIZE, max_items=200)]

    def work(bench: BenchClient) -> Callable[[], Awaitable[object]]:
        if scenario == "gets":
            return lambda: bounded(GETS, IN_FLIGHT, lambda number: bench.get(ids[number % len(ids)]))
        return bench.crawl

    async with this_sdk(url, api_key) as sdk, floor(url, api_key) as raw:
        clients = [sdk, raw]
        cpu: dict[str, list[float]] = {bench.name: [] for bench in clients}
        wall: dict[str, list[float]] = {bench.name: [] for bench in clients}
        server: dict[str, list[float]] = {bench.name: [] for bench in clients}
        switches: dict[str, list[int]] = {bench.name: [] for bench in clients}
        for bench in clients:
            await work(bench)()  # warm: connections open, caches filled
        for round_number in range(rounds):
            for bench in clients if round_number % 2 == 0 else clients[::-1]:
                gc.collect()
                started_server = process_cpu_seconds(emulator_pid)
                started_switches = context_switches()
                started, started_cpu = time.perf_counter(), time.process_time()
                await work(bench)()
                switches[bench.name].append(context_switches() - started_switches)
                cpu[bench.name].append(time.process_time() - started_cpu)
                wall[bench.name].append(time.perf_counter() - started)
                server[bench.name].append(process_cpu_seconds(emulator_pid) - started_server)
    calls = GETS if scenario == "gets" else CRAWL_COUNT // PAGE_SIZE
    for name in cpu:
        print(
            f"{scenario} {name:24} CPU ms min {min(cpu[name]) * 1e3:6.1f} median {statistics.median(cpu[name]) * 1e3:6.1f}"
            f" | wall ms median {statistics.median(wall[name]) * 1e3:6.1f}"
            f" | emulator CPU ms mean {statistics.fmean(server[name]) * 1e3:6.1f}"
            f" | client context switches median {statistics.median(switches[name]):5.0f}"
        )
    extra = statistics.median(cpu[sdk.name]) - statistics.median(cpu[raw.name])
    per = "call" if scenario == "gets" else "page"
    print(f"{scenario}: this SDK's CPU beyond the floor's, per {per}: {extra / calls * 1e6:.0f} µs")


def context_switches() -> int:
    """This process's context switches so far, voluntary (it waited) and not (it was preempted)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw + usage.ru_nivcsw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["gets", "crawl"])
    parser.add_argument("rounds", type=int, nargs="?", default=5)
    parser.add_argument("--busy", action="store_true", help="run one busy-loop process beside it")
    args = parser.parse_args()
    with emulator_with_samples(CRAWL_COUNT, LEAN) as emulator, contextlib.ExitStack() as stack:
        if args.busy:
            stack.enter_context(busy_loop())
        asyncio.run(measure(emulator.url, emulator.api_key, args.scenario, args.rounds, emulator.process.pid))


if __name__ == "__main__":
    main()
