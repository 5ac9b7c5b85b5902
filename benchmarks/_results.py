"""What a run plans to do and what it measured: plain data, shared by the runner and the report."""

from __future__ import annotations

from typing import Final

import attrs
from _profile import Profile

Times = dict[str, list[float]]
"""Seconds per round, by contender, in round order."""

EMULATOR: Final = "emulator"
BARE: Final = "bare aiohttp.web handler"
PAGE: Final = "a 100-organization page"
SINGLE: Final = "a single GET"


@attrs.frozen
class Plan:
    """How much work each scenario does, and how many rounds."""

    crawl_count: int = 10_000
    rounds: int = 7
    gets: int = 2_000
    get_concurrency: int = 32
    creates: int = 1_000
    create_concurrency: int = 16
    server_requests: int = 2_000
    server_concurrency: int = 16
    # The crawl at `crawl_count` is one point of the scaling chart; these are the others.
    scaling: tuple[tuple[int, int], ...] = ((1_000, 7), (50_000, 3))
    decode_rounds: int = 9
    decodes_per_round: int = 300
    memory_count: int = 100_000


@attrs.frozen
class Load:
    """The machine's load around one scenario."""

    before: tuple[float, float, float]
    after: tuple[float, float, float]
    busy_loop: bool


@attrs.frozen
class Results:
    """Everything one run measured; every ratio in the report is taken within one of these rounds."""

    plan: Plan
    clients: tuple[str, ...]
    crawl: Times
    crawl_cpu: Times
    crawl_busy: Times
    crawl_busy_cpu: Times
    gets: Times
    gets_cpu: Times
    creates: Times
    # This SDK's async and blocking crawls, or why the blocking client was not measured.
    blocking: Times | str
    # By endpoint (PAGE, SINGLE), then by server (EMULATOR, BARE): seconds, the load client's
    # CPU seconds, and the server process's CPU seconds (NaN where the system does not say).
    server: dict[str, Times]
    load_client_cpu: dict[str, Times]
    server_cpu: dict[str, Times]
    # By number of organizations crawled; includes `crawl`.
    scaling: dict[int, Times]
    # By shape, then by decoder.
    decode: dict[str, Times]
    body_bytes: dict[str, int]
    memory: dict[str, float]
    loads: dict[str, Load]
    seed_seconds: dict[str, float]
    # "crawl", "get", "decode": this SDK profiled, and how many pages, gets or decodes each covers.
    profiles: dict[str, tuple[Profile, int]]
    started: str
    run_load: Load
    elapsed: float
