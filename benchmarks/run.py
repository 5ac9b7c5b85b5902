"""The benchmark suite: this SDK against the official ``workos`` SDK and the floor.

    nox -s bench                        # what RESULTS.md records: installs the pinned official SDK
    python benchmarks/run.py            # the same, with whatever is installed here
    python benchmarks/run.py --quick    # tiny N, two rounds: checks the suite works (seconds)

Rewrites benchmarks/RESULTS.md and benchmarks/crawl_scaling.png (or the files under
``--output``) and prints a Markdown table for the README.  A full run is meant to take a few
minutes on a quiet 2-core machine (well under 10); RESULTS.md states how long each run took.  The emulator runs in its own
process, so only client work is on the client's clock; every scenario runs its contenders in
the same run, interleaved, for several rounds, and each ratio is taken within a round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

import aiohttp
from _clients import (
    ALL_CLIENTS,
    FACTORIES,
    OFFICIAL,
    PAGE_SIZE,
    THIS_SDK,
    BenchClient,
    blocking_client_available,
    official_sdk_available,
)
from _harness import (
    EmulatorProcess,
    bare_server_process,
    busy_loop,
    emulator_with_samples,
    load_average,
    package_differs,
)
from _profile import Profile, profile_async, profile_calls
from _report import CHART_FILE, chart, readme_table, render
from _results import BARE, EMULATOR, PAGE, SINGLE, Load, Plan, Results, Times
from _scenarios import (
    LoadTarget,
    blocking_against_async,
    blocking_rounds,
    bounded,
    bytes_per_organization,
    crawl_job,
    creates_job,
    decode_rounds,
    first_ids,
    gets_job,
    page_decoders,
    requests_job,
    timed_rounds,
)
from _shapes import LEAN, RICH

import workos_orgs

HERE: Final = Path(__file__).resolve().parent
RESULTS_FILE: Final = "RESULTS.md"

FULL: Final = Plan()
QUICK: Final = Plan(
    crawl_count=250,
    rounds=2,
    gets=40,
    get_concurrency=8,
    creates=10,
    create_concurrency=4,
    server_requests=40,
    server_concurrency=4,
    scaling=((120, 2),),
    decode_rounds=2,
    decodes_per_round=2,
    memory_count=300,
)


def log(message: str) -> None:
    """Print `message` with the time of day, at once (a run takes minutes)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextlib.contextmanager
def noting_load(loads: dict[str, Load], scenario: str, *, busy: bool = False) -> Iterator[None]:
    """Record the load average before and after `scenario`, and whether the busy loop ran beside it."""
    before = load_average()
    yield
    loads[scenario] = Load(before, load_average(), busy)


@contextlib.asynccontextmanager
async def open_clients(url: str, api_key: str, names: Sequence[str]) -> AsyncIterator[dict[str, BenchClient]]:
    """Every client in `names`, open against the server at `url` until the block ends."""
    async with contextlib.AsyncExitStack() as stack:
        yield {name: await stack.enter_async_context(FACTORIES[name](url, api_key)) for name in names}


async def fetch(url: str, api_key: str, path: str) -> bytes:
    """The bytes the server sends for ``GET path``."""
    async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {api_key}"}) as session:
        async with session.get(path) as response:
            response.raise_for_status()
            return await response.read()


def page_path() -> str:
    """The request for the first page of 100 organizations."""
    return f"/organizations?limit={PAGE_SIZE}"


async def warm_up(clients: Mapping[str, BenchClient], ids: Sequence[str], concurrency: int) -> None:
    """Open each client's connections before anything is timed."""
    for client in clients.values():
        await bounded(2 * concurrency, concurrency, lambda number, client=client: client.get(ids[number % len(ids)]))


@contextlib.contextmanager
def seeded_emulator(count: int, shape: str, seed_seconds: dict[str, float]) -> Iterator[EmulatorProcess]:
    """An emulator in its own process, seeded with `count` organizations of `shape`; the seconds it took go into `seed_seconds`."""
    started = time.perf_counter()
    with emulator_with_samples(count, shape) as emulator:
        seed_seconds[f"{count:,} {shape}"] = time.perf_counter() - started
        yield emulator


class Run:
    """One run of the suite: fills in what `Results` needs, scenario by scenario."""

    def __init__(self, plan: Plan, names: Sequence[str], directory: Path) -> None:
        self.plan = plan
        self.names = list(names)
        self.directory = directory
        self.times: dict[str, Times] = {}
        self.loads: dict[str, Load] = {}
        self.seed_seconds: dict[str, float] = {}
        self.profiles: dict[str, tuple[Profile, int]] = {}
        self.bodies: dict[str, bytes] = {}
        self.server: dict[str, Times] = {}
        self.load_client_cpu: dict[str, Times] = {PAGE: {}, SINGLE: {}}
        self.server_cpu: dict[str, Times] = {PAGE: {}, SINGLE: {}}
        self.scaling: dict[int, Times] = {}
        self.blocking: Times | str = ""

    async def clients_scenarios(self, emulator: EmulatorProcess) -> None:
        """Crawl (quiet and busy) and gets for every client, then this SDK profiled."""
        plan, times = self.plan, self.times
        ids = first_ids([self.bodies[LEAN]])
        async with open_clients(emulator.url, emulator.api_key, self.names) as clients:
            await warm_up(clients, ids, plan.get_concurrency)
            log(f"crawl of {plan.crawl_count:,}, quiet: {plan.rounds} rounds")
            times["crawl_cpu"] = {}
            with noting_load(self.loads, f"crawl {plan.crawl_count:,}, quiet"):
                times["crawl"] = await timed_rounds(
                    clients, plan.rounds, crawl_job(plan.crawl_count), times["crawl_cpu"]
                )
            log(f"crawl of {plan.crawl_count:,}, one busy-loop process beside it: {plan.rounds} rounds")
            times["crawl_busy_cpu"] = {}
            with busy_loop(), noting_load(self.loads, f"crawl {plan.crawl_count:,}, busy", busy=True):
                times["crawl_busy"] = await timed_rounds(
                    clients, plan.rounds, crawl_job(plan.crawl_count), times["crawl_busy_cpu"]
                )
            log(f"{plan.gets:,} gets, {plan.get_concurrency} in flight: {plan.rounds} rounds")
            times["gets_cpu"] = {}
            with noting_load(self.loads, f"{plan.gets:,} gets"):
                times["gets"] = await timed_rounds(
                    clients, plan.rounds, gets_job(ids, plan.gets, plan.get_concurrency), times["gets_cpu"]
                )
            log("profiling this SDK: one crawl, one batch of gets")
            ours = clients[THIS_SDK]
            self.profiles["crawl"] = (await profile_async(ours.crawl), -(-plan.crawl_count // PAGE_SIZE))
            get_job = gets_job(ids, plan.gets, plan.get_concurrency)(ours, 0, 0)
            self.profiles["get"] = (await profile_async(get_job), plan.gets)

    def blocking_scenario(self, emulator: EmulatorProcess) -> None:
        """This SDK's blocking client against its async client, crawling in the same rounds."""
        if not blocking_client_available():
            self.blocking = "not available: `workos_orgs.WorkOS` does not exist in this version"
            log(f"blocking client: {self.blocking}")
            return
        plan = self.plan
        log(f"crawl of {plan.crawl_count:,}, blocking client against async client: {plan.rounds} rounds")
        try:
            with blocking_against_async(emulator.url, emulator.api_key, plan.crawl_count) as contenders:
                blocking_rounds(contenders, 1)  # warm up: connections, caches
                with noting_load(self.loads, f"crawl {plan.crawl_count:,}, blocking against async"):
                    self.blocking = blocking_rounds(contenders, plan.rounds)
        except Exception as error:  # the rest of the run still reports; the row says why
            self.blocking = f"failed: {type(error).__name__}: {error}"
            log(f"blocking client: {self.blocking}")

    async def server_scenarios(self, emulator: EmulatorProcess, bare: EmulatorProcess, single_path: str) -> None:
        """The same client load against the emulator and the bare server, interleaved."""
        plan = self.plan
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        async with contextlib.AsyncExitStack() as stack:
            targets = {
                name: LoadTarget(
                    name,
                    await stack.enter_async_context(aiohttp.ClientSession(server.url, headers=headers)),
                    server.process.pid,
                )
                for name, server in ((EMULATOR, emulator), (BARE, bare))
            }
            for endpoint, path in ((PAGE, page_path()), (SINGLE, single_path)):
                # Warm up (connections, caches) with one untimed round.
                await timed_rounds(targets, 1, requests_job(path, plan.server_requests, plan.server_concurrency, {}))
                log(f"servers, {endpoint}: {plan.server_requests:,} requests, {plan.server_concurrency} in flight")
                job = requests_job(path, plan.server_requests, plan.server_concurrency, self.server_cpu[endpoint])
                with noting_load(self.loads, f"servers: {endpoint}"):
                    self.server[endpoint] = await timed_rounds(
                        targets, plan.rounds, job, self.load_client_cpu[endpoint]
                    )

    async def creates_scenario(self, emulator: EmulatorProcess) -> None:
        plan = self.plan
        log(f"{plan.creates:,} creates, {plan.create_concurrency} in flight: {plan.rounds} rounds")
        run_tag = f"t{int(time.time()) % 100000}"
        async with open_clients(emulator.url, emulator.api_key, self.names) as clients:
            with noting_load(self.loads, f"{plan.creates:,} creates"):
                self.times["creates"] = await timed_rounds(
                    clients, plan.rounds, creates_job(plan.creates, plan.create_concurrency, run_tag)
                )

    async def scaling_point(self, emulator: EmulatorProcess, count: int, rounds: int) -> Times:
        body = await fetch(emulator.url, emulator.api_key, page_path())
        async with open_clients(emulator.url, emulator.api_key, self.names) as clients:
            await warm_up(clients, first_ids([body]), 4)
            with noting_load(self.loads, f"crawl {count:,} (scaling)"):
                return await timed_rounds(clients, rounds, crawl_job(count))

    def network(self) -> None:
        plan = self.plan
        log(f"seeding {plan.crawl_count:,} lean organizations")
        with seeded_emulator(plan.crawl_count, LEAN, self.seed_seconds) as emulator:
            self.bodies[LEAN] = asyncio.run(fetch(emulator.url, emulator.api_key, page_path()))
            asyncio.run(self.clients_scenarios(emulator))
            self.blocking_scenario(emulator)
            single_path = f"/organizations/{first_ids([self.bodies[LEAN]])[0]}"
            page_file, single_file = self.directory / "page.json", self.directory / "single.json"
            page_file.write_bytes(self.bodies[LEAN])
            single_file.write_bytes(asyncio.run(fetch(emulator.url, emulator.api_key, single_path)))
            with bare_server_process(page_file, single_file) as bare:
                asyncio.run(self.server_scenarios(emulator, bare, single_path))
            # Last: creates change what the emulator lists.
            asyncio.run(self.creates_scenario(emulator))
        self.scaling[plan.crawl_count] = self.times["crawl"]
        for count, rounds in plan.scaling:
            log(f"seeding {count:,} lean organizations; crawl: {rounds} rounds")
            with seeded_emulator(count, LEAN, self.seed_seconds) as emulator:
                self.scaling[count] = asyncio.run(self.scaling_point(emulator, count, rounds))
        with seeded_emulator(PAGE_SIZE, RICH, self.seed_seconds) as emulator:
            self.bodies[RICH] = asyncio.run(fetch(emulator.url, emulator.api_key, page_path()))

    def in_process(self) -> tuple[dict[str, Times], dict[str, float]]:
        plan = self.plan
        decoders = page_decoders(OFFICIAL in self.names)
        decode: dict[str, Times] = {}
        for shape in (LEAN, RICH):
            body = self.bodies[shape]
            log(f"decode of one {len(body):,}-byte {shape} page: {plan.decode_rounds} rounds")
            with noting_load(self.loads, f"decode, {shape} page"):
                decode[shape] = decode_rounds(body, decoders, plan.decode_rounds, plan.decodes_per_round)
        lean = self.bodies[LEAN]
        decodes = max(plan.decodes_per_round, 1)
        self.profiles["decode"] = (profile_calls(lambda: decoders[THIS_SDK](lean), decodes), decodes)
        log(f"memory: {plan.memory_count:,} lean organizations held")
        with noting_load(self.loads, "memory, lean"):
            memory = bytes_per_organization(lean, decoders, plan.memory_count)
        return decode, memory


def run(plan: Plan, names: Sequence[str]) -> Results:
    """Every scenario of `plan` with the clients in `names`."""
    started, run_before = time.perf_counter(), load_average()
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="workos-bench-") as temporary:
        work = Run(plan, names, Path(temporary))
        work.network()
        decode, memory = work.in_process()
    times = work.times
    return Results(
        plan=plan,
        clients=tuple(names),
        crawl=times["crawl"],
        crawl_cpu=times["crawl_cpu"],
        crawl_busy=times["crawl_busy"],
        crawl_busy_cpu=times["crawl_busy_cpu"],
        gets=times["gets"],
        gets_cpu=times["gets_cpu"],
        creates=times["creates"],
        blocking=work.blocking,
        server=work.server,
        load_client_cpu=work.load_client_cpu,
        server_cpu=work.server_cpu,
        scaling=dict(sorted(work.scaling.items())),
        decode=decode,
        body_bytes={shape: len(body) for shape, body in work.bodies.items()},
        memory=memory,
        loads=work.loads,
        seed_seconds=work.seed_seconds,
        profiles=work.profiles,
        started=started_at,
        run_load=Load(run_before, load_average(), False),
        elapsed=time.perf_counter() - started,
    )


def main(argv: Sequence[str] | None = None) -> Path:
    """Run the suite as the command line asks; write RESULTS.md and the chart; print the README's table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny N and two rounds: check that the suite works")
    parser.add_argument("--output", type=Path, default=HERE, help="where RESULTS.md and the chart go")
    parser.add_argument(
        "--without-official", action="store_true", help="leave out the official SDK (when it is not installed)"
    )
    parser.add_argument("--no-chart", action="store_true", help="skip the chart (when matplotlib is not installed)")
    args = parser.parse_args(argv)
    imported = Path(workos_orgs.__file__).parent
    if (differs := package_differs(imported)) is not None:
        parser.error(
            f"the workos_orgs Python imports ({imported}) is not this checkout's: {differs} differs."
            " Install the checkout first: `nox -s bench` (not `nox -R`, which skips installing), or `pip install -e .`"
        )
    names = [name for name in ALL_CLIENTS if not (name == OFFICIAL and args.without_official)]
    if OFFICIAL in names and not official_sdk_available():
        parser.error("the official SDK is not installed: run `nox -s bench`, or pass --without-official")
    results = run(QUICK if args.quick else FULL, names)
    args.output.mkdir(parents=True, exist_ok=True)
    chart_name = None
    if not args.no_chart:
        chart(results, args.output / CHART_FILE)
        chart_name = CHART_FILE
    options = list(argv) if argv is not None else sys.argv[1:]
    if os.environ.get("NOX_CURRENT_SESSION") == "bench":
        command = "nox -s bench" + (" --" if options else "")
    else:
        command = "python benchmarks/run.py"
    target = args.output / RESULTS_FILE
    target.write_text(render(results, " ".join([command, *options]), chart_name))
    log(f"wrote {target}" + (f" and {args.output / CHART_FILE}" if chart_name else ""))
    print("\nFor the README's Performance section:\n")
    print(readme_table(results))
    return target


if __name__ == "__main__":
    main()
