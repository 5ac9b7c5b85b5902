"""Where the client's CPU time goes: cProfile on process time, self time summed by component."""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import attrs

# First match wins: (component, substrings of "file:function" that place a function in it).
COMPONENTS: Final = (
    ("JSON parsing (orjson / json)", ("orjson", "json/", "json.decoder", "_json")),
    (
        "building models (workos_orgs/_models.py, attrs __init__, fromisoformat)",
        ("workos_orgs/_models.py", "attrs generated", "fromisoformat", "replace' of 'datetime"),
    ),
    (
        "official SDK models (from_dict, dataclass __init__)",
        ("workos/organizations/models", "workos/common/models", "workos/_types.py", "<string>:"),
    ),
    ("workos_orgs: request, retry loop, pager", ("workos_orgs/",)),
    ("official SDK: request, retry loop, pager", ("workos/",)),
    ("aiohttp, yarl, multidict", ("aiohttp/", "yarl/", "multidict/", "propcache/", "aiohappyeyeballs")),
    ("httpx2, httpcore2, h11, anyio", ("httpx", "httpcore", "h11/", "anyio/", "sniffio")),
    ("asyncio event loop and sockets", ("asyncio/", "selectors", "socket", "epoll", "select", "ssl")),
)
OTHER: Final = "everything else"

_BENCHMARKS: Final = Path(__file__).resolve().parent


@attrs.frozen
class Profile:
    """Self CPU time by component, and the top functions."""

    total: float
    components: list[tuple[str, float]]
    top: list[tuple[str, float]]


def component_of(location: str) -> str:
    """The component a function belongs to, by its ``file:function`` location."""
    for component, needles in COMPONENTS:
        if any(needle in location for needle in needles):
            return component
    return OTHER


def _location(key: tuple[str, int, str]) -> str:
    filename, line, function = key
    if filename == "~":
        return function
    if Path(filename).is_relative_to(_BENCHMARKS):  # these scripts, named as in the repository
        return f"benchmarks/{Path(filename).relative_to(_BENCHMARKS).as_posix()}:{line}({function})"
    for marker in ("site-packages/", "lib/python3."):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            if marker == "lib/python3.":
                filename = filename.split("/", 1)[-1]
            break
    if "/workos_orgs/" in filename:
        filename = "workos_orgs/" + filename.split("/workos_orgs/", 1)[1]
    return f"{filename}:{line}({function})"


def summarize(profiler: cProfile.Profile, top: int = 8) -> Profile:
    """Self time by component, and the `top` functions by self time."""
    stats: Any = pstats.Stats(profiler)
    by_component: dict[str, float] = {}
    functions: list[tuple[str, float]] = []
    total = 0.0
    for key, (_calls, _primitive, self_time, _cumulative, callers) in stats.stats.items():
        location = _location(key)
        total += self_time
        functions.append((location, self_time))
        component = component_of(location)
        if component == OTHER and key[0] == "~" and callers:
            # A builtin such as dict.get belongs to whoever called it: split its time among
            # its callers, by the time spent in it from each.
            for caller, (*_, caller_time, _caller_cumulative) in callers.items():
                owner = component_of(_location(caller))
                by_component[owner] = by_component.get(owner, 0.0) + caller_time
            continue
        by_component[component] = by_component.get(component, 0.0) + self_time
    functions.sort(key=lambda item: item[1], reverse=True)
    components = sorted(by_component.items(), key=lambda item: item[1], reverse=True)
    return Profile(total, components, functions[:top])


async def profile_async(work: Callable[[], Awaitable[Any]]) -> Profile:
    """Profile one run of `work` (process time, so waiting for the server costs nothing)."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        await work()
    finally:
        profiler.disable()
    return summarize(profiler)


def profile_calls(work: Callable[[], Any], number: int) -> Profile:
    """Profile `number` calls of `work`."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        for _ in range(number):
            work()
    finally:
        profiler.disable()
    return summarize(profiler)
