"""One run's results as Markdown (RESULTS.md, the README's table) and as the scaling chart."""

from __future__ import annotations

import contextlib
import importlib.metadata
import math
import os
import platform
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import attrs
from _clients import BLOCKING, FLOOR, OFFICIAL, PAGE_SIZE, THIS_SDK
from _profile import Profile
from _results import BARE, EMULATOR, PAGE, SINGLE, Results, Times
from _scenarios import ORJSON, PYDANTIC
from _shapes import DESCRIPTIONS, LEAN, RICH

CHART_FILE: Final = "crawl_scaling.png"

# The targets of issue 14, as ratios (or bytes) from one run.
DECODE_VS_ORJSON_MAX: Final = 2.8
CRAWL_BUSY_VS_FLOOR_MAX: Final = 1.4
CRAWL_SPEEDUP_MIN: Final = 2.0
GETS_VS_FLOOR_MAX: Final = 1.15
GETS_SPEEDUP_MIN: Final = 4.0
BLOCKING_VS_ASYNC_MAX: Final = 1.2
MEMORY_BYTES_MAX: Final = 1000
SERVER_VS_BARE_MIN: Final = 0.5


def ratios(times: Times, numerator: str, denominator: str) -> list[float]:
    """Per-round ratios ``numerator / denominator``: the two ran in the same round."""
    return [a / b for a, b in zip(times[numerator], times[denominator], strict=True)]


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """``median (min-max)``: the median first, then the range."""
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


@attrs.frozen
class Target:
    """One target of the issue and what this run measured for it."""

    text: str
    values: Sequence[float] | str  # per-round ratios (or one figure), or why there are none
    bound: float
    at_most: bool
    fmt: str = "{:.2f}"
    suffix: str = "x"
    note: str = ""  # a second figure that helps read the first

    @property
    def met(self) -> str:
        if isinstance(self.values, str):
            return "-"
        median = statistics.median(self.values)
        return "yes" if (median <= self.bound if self.at_most else median >= self.bound) else "**no**"

    @property
    def measured(self) -> str:
        if isinstance(self.values, str):
            return self.values
        return f"{spread(self.values, self.fmt)}{self.suffix}{self.note}"


def targets(results: Results) -> list[Target]:
    """Every target of issue 14, with this run's figures."""
    count = results.plan.crawl_count
    no_official = "not measured: the official SDK is not installed (`nox -s bench` installs it)"
    has_official = OFFICIAL in results.clients
    found = [
        Target(
            f"decode a 100-organization {shape} page: ≤ {DECODE_VS_ORJSON_MAX}x `orjson.loads`",
            ratios(results.decode[shape], THIS_SDK, ORJSON),
            DECODE_VS_ORJSON_MAX,
            at_most=True,
        )
        for shape in (LEAN, RICH)
    ]
    found += [
        Target(
            f"crawl {count:,}, one busy-loop process beside it: ≤ {CRAWL_BUSY_VS_FLOOR_MAX}x the floor's time",
            ratios(results.crawl_busy, THIS_SDK, FLOOR),
            CRAWL_BUSY_VS_FLOOR_MAX,
            at_most=True,
        ),
        *(
            Target(
                f"crawl {count:,}, {condition}: ≥ {CRAWL_SPEEDUP_MIN}x faster than the official SDK",
                ratios(times, OFFICIAL, THIS_SDK) if has_official else no_official,
                CRAWL_SPEEDUP_MIN,
                at_most=False,
            )
            for condition, times in (("quiet", results.crawl), ("busy", results.crawl_busy))
        ),
        Target(
            f"{results.plan.gets:,} gets, {results.plan.get_concurrency} in flight: ≤ {GETS_VS_FLOOR_MAX}x the floor's time",
            ratios(results.gets, THIS_SDK, FLOOR),
            GETS_VS_FLOOR_MAX,
            at_most=True,
        ),
        Target(
            f"{results.plan.gets:,} gets: ≥ {GETS_SPEEDUP_MIN}x the official SDK's throughput",
            ratios(results.gets, OFFICIAL, THIS_SDK) if has_official else no_official,
            GETS_SPEEDUP_MIN,
            at_most=False,
        ),
        Target(
            f"blocking client (`WorkOS`), crawl {count:,}: ≤ {BLOCKING_VS_ASYNC_MAX}x the async client's time",
            results.blocking if isinstance(results.blocking, str) else ratios(results.blocking, BLOCKING, THIS_SDK),
            BLOCKING_VS_ASYNC_MAX,
            at_most=True,
        ),
        Target(
            f"memory per held organization, lean shape: ≤ {MEMORY_BYTES_MAX:,} bytes",
            [results.memory[THIS_SDK]],
            MEMORY_BYTES_MAX,
            at_most=True,
            fmt="{:,.0f}",
            suffix=" bytes",
        ),
        *(
            Target(
                f"emulator serving {endpoint}: ≥ {SERVER_VS_BARE_MIN}x a bare aiohttp.web handler's requests/s",
                ratios(results.server[endpoint], BARE, EMULATOR),
                SERVER_VS_BARE_MIN,
                at_most=False,
                note=f"; by server CPU per request: {server_cpu_ratio(results, endpoint)}",
            )
            for endpoint in (PAGE, SINGLE)
        ),
    ]
    return found


def target_rows(results: Results) -> list[str]:
    """The Targets table: each target, its figures, and whether its median meets it."""
    rows = ["| target | measured: median of the per-round ratios (min-max) | met? |", "|---|---|---|"]
    rows += [f"| {target.text} | {target.measured} | {target.met} |" for target in targets(results)]
    return rows


def versions() -> list[tuple[str, str]]:
    """Python's version and every installed package the figures depend on."""
    found = [("Python", f"{platform.python_version()} ({platform.python_implementation()})")]
    for package in (
        "workos-orgs",
        "workos",
        "aiohttp",
        "orjson",
        "attrs",
        "cattrs",
        "httpx2",
        "pydantic",
        "matplotlib",
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append((package, importlib.metadata.version(package)))
    return found


def cpu_model() -> str:
    """The CPU's name, as the system reports it."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def loadavg(values: tuple[float, float, float]) -> str:
    """Load averages as ``1 / 5 / 15`` minutes."""
    return " / ".join(f"{value:.2f}" for value in values)


def load_rows(results: Results) -> list[str]:
    """The machine's load around each scenario, and whether the busy loop ran beside it."""
    rows = [
        "| scenario | busy-loop process beside it | load average before (1 / 5 / 15 min) | after |",
        "|---|---|---:|---:|",
    ]
    rows += [
        f"| {scenario} | {'yes' if load.busy_loop else 'no'} | {loadavg(load.before)} | {loadavg(load.after)} |"
        for scenario, load in results.loads.items()
    ]
    return rows


def network_table(title: str, times: Times, work: int, unit: str) -> list[str]:
    """One network scenario: each client's seconds, rate, and ratios to the floor and the official SDK."""
    lines = [
        f"**{title}**",
        "",
        f"| client | seconds: median (min-max) | {unit}/s at the median | x the floor's time | official's time ÷ this client's |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in times:
        median = statistics.median(times[name])
        vs_floor = "1" if name == FLOOR else spread(ratios(times, name, FLOOR)) if FLOOR in times else "-"
        vs_official = spread(ratios(times, OFFICIAL, name)) if OFFICIAL in times and name != OFFICIAL else "-"
        lines.append(
            f"| {name} | {spread(times[name], '{:.3f}')} | {work / median:,.0f} | {vs_floor} | {vs_official} |"
        )
    return [*lines, ""]


def blocking_lines(results: Results) -> list[str]:
    """The blocking client against the async client, or why it was not measured."""
    if isinstance(results.blocking, str):
        return [f"This SDK's blocking client: {results.blocking}.", ""]
    times = results.blocking
    return [
        f"**This SDK's blocking client (`WorkOS`) against its async client (`AsyncWorkOS`):** a crawl of"
        f" {results.plan.crawl_count:,}, both in the same rounds, the async client on its own event loop in"
        " the main thread. Each timed crawl follows an untimed crawl by the same client: a crawl right after"
        " the other client's (another thread) takes longer, whichever client it is (measured apart from this"
        " run: see HISTORY.md).",
        "",
        "| client | seconds: median (min-max) | x the async client's time |",
        "|---|---:|---:|",
        *[f"| {name} | {spread(times[name], '{:.3f}')} | {spread(ratios(times, name, THIS_SDK))} |" for name in times],
        "",
    ]


def server_lines(results: Results) -> list[str]:
    """The emulator against the bare handler, under the same client load."""
    plan = results.plan
    lines = [
        f"The same client load against each server, each in its own process: {plan.server_requests:,} GETs,"
        f" {plan.server_concurrency} in flight, from one aiohttp session that reads each response whole and"
        " decodes nothing. The bare server is one low-level `aiohttp.web.Server` handler returning the very"
        " bytes the emulator sent for the same request (the lean 100-organization first page, and one"
        " organization), so the difference is the emulator's own work: routing, authentication, the store,"
        " request ids, the request log, header merging.",
        "",
        "| request | emulator: requests/s at the median | bare handler: requests/s at the median | emulator ÷ bare (per round)"
        " | server CPU µs per request: emulator / bare | bare ÷ emulator server CPU (per round)"
        " | load client on the CPU: emulator / bare |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for endpoint, times in results.server.items():
        emulator, bare = (plan.server_requests / statistics.median(times[name]) for name in (EMULATOR, BARE))
        server_cpu = " / ".join(
            per_request_us(results.server_cpu[endpoint].get(name, []), plan.server_requests)
            for name in (EMULATOR, BARE)
        )
        client_busy = " / ".join(
            f"{100 * statistics.median(ratios({'cpu': results.load_client_cpu[endpoint][name], 'wall': times[name]}, 'cpu', 'wall')):.0f}%"
            for name in (EMULATOR, BARE)
        )
        lines.append(
            f"| {endpoint} | {emulator:,.0f} | {bare:,.0f} | {spread(ratios(times, BARE, EMULATOR))} | {server_cpu}"
            f" | {server_cpu_ratio(results, endpoint)} | {client_busy} |"
        )
    return [
        *lines,
        "",
        "Server CPU is the server process's user + system time over each round (from /proc, in ticks of 10 ms),"
        " per request; the ratio of the two is what the requests/s ratio would be with each server bound by its"
        " own core. The last column is the load client's CPU time as a share of the wall time: near 100% against"
        " the bare server, the client rather than that server sets the pace, and the server CPU ratio is the"
        " truer figure.",
        "",
    ]


def server_cpu_ratios(results: Results, endpoint: str) -> list[float] | None:
    """Per-round bare ÷ emulator server CPU; None where a round has no usable figure (too short, or no /proc)."""
    cpu = results.server_cpu[endpoint]
    usable = all(
        cpu.get(name) and not any(math.isnan(value) or value <= 0 for value in cpu[name]) for name in (EMULATOR, BARE)
    )
    return ratios(cpu, BARE, EMULATOR) if usable else None


def server_cpu_ratio(results: Results, endpoint: str) -> str:
    """`server_cpu_ratios` as ``median (min-max)x``, or "-"."""
    values = server_cpu_ratios(results, endpoint)
    return f"{spread(values)}x" if values else "-"


def per_request_us(seconds: Sequence[float], requests: int) -> str:
    """The median server CPU µs per request, or "-" where the system does not say."""
    if not seconds or any(math.isnan(value) for value in seconds):
        return "-"
    return f"{1e6 * statistics.median(seconds) / requests:,.0f}"


def decode_lines(results: Results) -> list[str]:
    """Decoding one page of each shape, each decoder against orjson.loads."""
    plan = results.plan
    lines = [
        "One list body of 100 organizations, as the emulator sends it, turned into each client's objects the"
        " way each client does it: this SDK `orjson.loads` + the function its pager builds each page with"
        " (`_organization_page`: the converter's hooks into frozen slotted attrs classes, with every check that"
        " rejects a malformed page; the response-level work around it, such as the scan of the body for the API"
        " key, is in the crawl's figures, not here); the official SDK `json.loads` + its generated `from_dict` into slotted dataclasses; pydantic"
        " v2 `model_validate_json` into equivalent frozen models (only when pydantic is installed; `nox -s"
        f" bench` does not install it). {plan.decode_rounds} rounds of {plan.decodes_per_round} decodes each,"
        " the decoders interleaved.",
        "",
    ]
    for shape, times in results.decode.items():
        lines += [
            f"**{shape} page** ({DESCRIPTIONS[shape]}; {results.body_bytes[shape]:,} bytes)",
            "",
            "| decoder | µs per page: median (min-max) | x orjson.loads (per round) |",
            "|---|---:|---:|",
            *[
                f"| {name} | {spread([t * 1e6 for t in times[name]], '{:.0f}')} | {spread(ratios(times, name, ORJSON))} |"
                for name in times
            ],
            "",
        ]
    return lines


def name_for_memory(name: str) -> str:
    """What each decoder holds an organization as."""
    return {
        THIS_SDK: f"{THIS_SDK}: frozen slotted attrs `Organization`",
        OFFICIAL: f"{OFFICIAL}: slotted dataclass `Organization`",
        ORJSON: "plain dicts from orjson.loads",
        PYDANTIC: "pydantic v2 frozen models",
    }.get(name, name)


def scaling_lines(results: Results, chart_name: str | None) -> list[str]:
    """Crawl time and cost per organization at each N, and how far from flat the cost is."""
    names = list(results.clients)
    lines = [
        *([f"![crawl time against the number of organizations]({chart_name})", ""] if chart_name else []),
        "Lean organizations, a quiet machine (no busy loop); each N in its own freshly seeded emulator.",
        "",
        "| organizations | rounds | "
        + " | ".join(f"{name}: s" for name in names)
        + " | "
        + " | ".join(f"{name}: µs per organization" for name in names)
        + " |",
        "|---:|---:|" + "---:|" * (2 * len(names)),
    ]
    for count, times in results.scaling.items():
        lines.append(
            f"| {count:,} | {len(times[THIS_SDK])} | "
            + " | ".join(spread(times[name], "{:.3f}") for name in names)
            + " | "
            + " | ".join(f"{1e6 * statistics.median(times[name]) / count:.1f}" for name in names)
            + " |"
        )
    if len(results.scaling) > 1:
        per_item = {
            name: [statistics.median(times[name]) / count for count, times in results.scaling.items()] for name in names
        }
        lines += [
            "",
            "Linear means a flat cost per organization. Across N, each client's highest cost per organization is"
            " this many times its lowest: "
            + ", ".join(f"{name} {max(values) / min(values):.2f}x" for name, values in per_item.items())
            + ".",
        ]
    return [*lines, ""]


def profile_lines(profile: Profile) -> list[str]:
    """A profile as a table of components and a list of the top functions."""
    lines = ["| component | share of client CPU |", "|---|---:|"]
    for component, seconds in profile.components:
        if seconds / profile.total >= 0.01:
            lines.append(f"| {component} | {100 * seconds / profile.total:.0f}% |")
    lines += ["", "Top functions by self time:", ""]
    lines += [f"- `{location}`: {100 * seconds / profile.total:.0f}%" for location, seconds in profile.top]
    return lines


def median_per(values: Sequence[float], units: int, scale: float) -> float:
    """The median of `values` per unit of work, times `scale` (1e3 for ms, 1e6 for µs)."""
    return scale * statistics.median(values) / units


def where_the_time_goes(results: Results) -> list[str]:
    """Client CPU per page and per get against the floor, and this SDK's profiles."""
    plan = results.plan
    pages = -(-plan.crawl_count // PAGE_SIZE)
    lines = [
        f"**Per page of the {plan.crawl_count:,}-organization crawl, unprofiled** (medians over the rounds above;"
        " CPU is the client process's `time.process_time()`, so wall minus CPU is waiting for the emulator):",
        "",
        "| client | condition | wall ms per page | client CPU ms per page | waiting ms per page |",
        "|---|---|---:|---:|---:|",
    ]
    for condition, wall, cpu in (
        ("quiet", results.crawl, results.crawl_cpu),
        ("busy", results.crawl_busy, results.crawl_busy_cpu),
    ):
        for name in results.clients:
            wall_ms, cpu_ms = median_per(wall[name], pages, 1e3), median_per(cpu[name], pages, 1e3)
            lines.append(f"| {name} | {condition} | {wall_ms:.2f} | {cpu_ms:.2f} | {wall_ms - cpu_ms:.2f} |")
    extra_page = [
        1e3 * (ours - floor) / pages
        for ours, floor in zip(results.crawl_cpu[THIS_SDK], results.crawl_cpu[FLOOR], strict=True)
    ]
    extra_get = [
        1e6 * (ours - floor) / plan.gets
        for ours, floor in zip(results.gets_cpu[THIS_SDK], results.gets_cpu[FLOOR], strict=True)
    ]
    hooks = {
        shape: 1e6 * (statistics.median(times[THIS_SDK]) - statistics.median(times[ORJSON]))
        for shape, times in results.decode.items()
    }
    lines += [
        "",
        "| client | client CPU µs per get (gets scenario) |",
        "|---|---:|",
        *[f"| {name} | {median_per(results.gets_cpu[name], plan.gets, 1e6):.0f} |" for name in results.clients],
        "",
        f"Against the floor, in the same rounds, this SDK spends {spread(extra_page)} ms more client CPU per"
        f" crawl page and {spread(extra_get, '{:.0f}')} µs more per get. Building a page's models (its decode"
        f" minus `orjson.loads`, decode scenario) takes {hooks[LEAN]:.0f} µs on a lean page and"
        f" {hooks[RICH]:.0f} µs on a rich one. On a busy machine the client and the emulator take turns on"
        " the cores, so client CPU turns into wall time.",
        "",
    ]
    titles = {
        "crawl": "Crawl, this SDK: one crawl of the {units:,} pages",
        "decode": "Crawl page decode, this SDK: {units:,} decodes of the lean page",
        "get": "Gets, this SDK: {units:,} gets, " + f"{plan.get_concurrency} in flight",
    }
    for key, title in titles.items():
        if key not in results.profiles:
            continue
        profile, units = results.profiles[key]
        lines += [
            f"**{title.format(units=units)}** (cProfile on process time: {1e6 * profile.total / units:,.0f} µs"
            " of profiled CPU each; the profiler's cost per call inflates code made of many small calls, so read"
            " the shares as upper bounds for them):",
            "",
            *profile_lines(profile),
            "",
        ]
    return lines


def median_ratio(values: Sequence[float] | None) -> str:
    """The median as ``1.23x``, or "-" when there are no values."""
    return f"{statistics.median(values):.2f}x" if values else "-"


def readme_table(results: Results) -> str:
    """The README's Performance table, from this run."""
    plan = results.plan
    names = (THIS_SDK, OFFICIAL, FLOOR)

    def cells(times: Times, value: Callable[[list[float]], str]) -> str:
        return " | ".join(value(times[name]) if name in times else "-" for name in names)

    def seconds(values: list[float]) -> str:
        return f"{statistics.median(values):.3f} s"

    def per_second(work: int) -> Callable[[list[float]], str]:
        return lambda values: f"{work / statistics.median(values):,.0f}/s"

    def microseconds(values: list[float]) -> str:
        return f"{1e6 * statistics.median(values):,.0f} µs"

    decode_cells = {
        shape: " | ".join(
            (
                microseconds(times[THIS_SDK]),
                microseconds(times[OFFICIAL]) if OFFICIAL in times else "-",
                f"{microseconds(times[ORJSON])} (`orjson.loads`)",
            )
        )
        for shape, times in results.decode.items()
    }
    memory = results.memory
    blocking = (
        results.blocking
        if isinstance(results.blocking, str)
        else f"{seconds(results.blocking[BLOCKING])} ({statistics.median(ratios(results.blocking, BLOCKING, THIS_SDK)):.2f}x async)"
    )
    lines = [
        f"| scenario (medians of {plan.rounds} rounds) | workos-orgs | official `workos` | floor |",
        "|---|---:|---:|---:|",
        f"| crawl {plan.crawl_count:,} organizations, page size 100, quiet | {cells(results.crawl, seconds)} |",
        f"| crawl {plan.crawl_count:,}, one busy-loop process beside it | {cells(results.crawl_busy, seconds)} |",
        f"| crawl {plan.crawl_count:,}, blocking client `WorkOS` | {blocking} | - | - |",
        f"| {plan.gets:,} `get` calls, {plan.get_concurrency} in flight | {cells(results.gets, per_second(plan.gets))} |",
        f"| {plan.creates:,} creates, {plan.create_concurrency} in flight | {cells(results.creates, per_second(plan.creates))} |",
        *[
            f"| decode one 100-organization page, {shape} ({results.body_bytes[shape] / 1000:.0f} KB) | {decode_cells[shape]} |"
            for shape in results.decode
        ],
        f"| memory per held organization, lean | {memory[THIS_SDK]:,.0f} B | "
        + (f"{memory[OFFICIAL]:,.0f} B" if OFFICIAL in memory else "-")
        + f" | {memory[ORJSON]:,.0f} B (dicts) |",
        "",
        "| the emulator serving | emulator | bare aiohttp.web handler | emulator ÷ bare | the same, by server CPU per request |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {endpoint} | {plan.server_requests / statistics.median(times[EMULATOR]):,.0f}/s"
            f" | {plan.server_requests / statistics.median(times[BARE]):,.0f}/s"
            f" | {statistics.median(ratios(times, BARE, EMULATOR)):.2f}x"
            f" | {median_ratio(server_cpu_ratios(results, endpoint))} |"
            for endpoint, times in results.server.items()
        ],
    ]
    return "\n".join(lines)


def render(results: Results, command: str, chart_name: str | None) -> str:
    """RESULTS.md for `results`."""
    plan = results.plan
    seeds = ", ".join(f"{seconds:.1f} s for {label}" for label, seconds in results.seed_seconds.items())
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {results.started}; every number below comes from that one run"
        f" ({results.elapsed / 60:.1f} minutes end to end). Do not compare them with another run's; compare"
        " ratios. The history of what was tuned is in [HISTORY.md](HISTORY.md).",
        "",
        "## Machine, load and versions",
        "",
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores. Load average (1 / 5 / 15 min) when the run started:"
        f" {loadavg(results.run_load.before)}; when it ended: {loadavg(results.run_load.after)}. Scenario by"
        " scenario below: while one runs, this suite itself accounts for about 2 (client and server), 3 with"
        " the busy loop; more than that is other work on the machine.",
        f"- OS: {platform.platform()}",
        *[f"- {name}: {version}" for name, version in versions()],
        "",
        "## How it is measured",
        "",
        f"- The emulator (`python -m workos_orgs.emulator --seed FILE`) runs in its own process. The network"
        f" scenarios use **lean** organizations ({DESCRIPTIONS[LEAN]}), the shape real accounts have most; the"
        f" decode scenario also uses the **rich** shape ({DESCRIPTIONS[RICH]}). Seeding took {seeds}.",
        "- Clients: **workos-orgs** (this SDK, `AsyncWorkOS`, no rate limiter, as by default); **official"
        " workos** (`AsyncWorkOSClient(api_key=..., base_url=...)` with `list_organizations(...)` +"
        " `auto_paging_iter()`, the release pinned in the noxfile); **floor (aiohttp+orjson)** (one"
        " `aiohttp.ClientSession`, `orjson.loads`, plain dicts, following `list_metadata.after`, no checks and"
        " no retries). All in the same run.",
        f"- Each round runs every contender once, in an order that rotates each round; {plan.rounds} rounds per"
        " scenario (see the scaling table for the other crawls). The blocking client against the async client is"
        " the exception: there each crawls twice in a round, and only the second crawl is timed. Each client"
        " opens its connections before timing starts. Ratios are taken within a round; the tables give their median (min-max); a target's"
        " *met?* is decided on that median.",
        "- *Busy* means one extra process spinning `while True: pass` beside the client and the emulator,"
        " started before the scenario and killed after it by this suite: on 2 cores, the client and the"
        " emulator then take turns.",
        "",
        "## Targets",
        "",
        *target_rows(results),
        "",
        "## Machine load during each scenario",
        "",
        "The load average is the kernel's moving average (refreshed every 5 s), so a short scenario shows the"
        " load around it rather than its own.",
        "",
        *load_rows(results),
        "",
        "## Network scenarios",
        "",
        *network_table(
            f"Crawl, quiet: every one of {plan.crawl_count:,} organizations, page size 100",
            results.crawl,
            plan.crawl_count,
            "organizations",
        ),
        *network_table(
            f"Crawl, busy (one busy-loop process beside it): {plan.crawl_count:,} organizations",
            results.crawl_busy,
            plan.crawl_count,
            "organizations",
        ),
        *network_table(
            f"Concurrent gets: {plan.gets:,} `get` calls, {plan.get_concurrency} in flight",
            results.gets,
            plan.gets,
            "requests",
        ),
        *network_table(
            f"Bulk create: {plan.creates:,} creates (rich: 1-3 domains, four metadata keys), {plan.create_concurrency} in flight",
            results.creates,
            plan.creates,
            "creates",
        ),
        *blocking_lines(results),
        "## The emulator against a bare aiohttp.web handler",
        "",
        *server_lines(results),
        "## Decode (in process)",
        "",
        *decode_lines(results),
        "## Memory",
        "",
        f"Traced bytes (tracemalloc) per organization while {plan.memory_count:,} lean organizations are held"
        " in a list, each decoded afresh (its own strings, datetimes and containers):",
        "",
        "| held as | bytes per organization |",
        "|---|---:|",
        *[f"| {name_for_memory(name)} | {value:,.0f} |" for name, value in results.memory.items()],
        "",
        "## Crawl time as the work grows",
        "",
        *scaling_lines(results, chart_name),
        "## Where the time goes",
        "",
        *where_the_time_goes(results),
        "## For the README",
        "",
        readme_table(results),
        "",
    ]
    return "\n".join(lines)


def chart(results: Results, path: Path) -> None:
    """Crawl time, and cost per organization, against the number of organizations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = list(results.scaling)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in results.clients:
        medians = [statistics.median(results.scaling[count][name]) for count in counts]
        lows = [m - min(results.scaling[count][name]) for m, count in zip(medians, counts, strict=True)]
        highs = [max(results.scaling[count][name]) - m for m, count in zip(medians, counts, strict=True)]
        left.errorbar(counts, medians, yerr=[lows, highs], marker="o", capsize=3, label=name)
        right.plot(counts, [1e6 * m / count for m, count in zip(medians, counts, strict=True)], marker="o", label=name)
    left.set(xscale="log", yscale="log", xlabel="organizations crawled", ylabel="seconds (median, min-max)")
    left.set_title("Crawl time, page size 100, lean organizations")
    right.set(xscale="log", xlabel="organizations crawled", ylabel="µs per organization (median)")
    right.set_title("Cost per organization (flat = linear)")
    right.set_ylim(bottom=0)
    for axes in (left, right):
        axes.set_xticks(counts, [f"{count:,}" for count in counts])
        axes.minorticks_off()
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    figure.suptitle(
        f"workos-orgs vs the official SDK vs the floor ({os.cpu_count()} cores, emulator in its own process)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
