"""What a crawl costs right after the other client's crawl: the blocking client against the async one.

    python benchmarks/switch_cost.py 15      # 15 rounds, the order alternating, nothing settled

The suite times each client right after an untimed crawl of its own (`blocking_rounds`); this
shows why.  Each round crawls 10,000 lean organizations with both clients, the order
alternating as the suite once did, and every crawl is filed by what ran just before it: the
same client, or the other one (the first round follows a warm-up that ends with the blocking
crawl).  Wall and CPU (``time.process_time()`` of this process: both clients' threads, not the
emulator's) are medians per cell.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Final

from _clients import BLOCKING
from _harness import emulator_with_samples
from _scenarios import blocking_against_async, rotated
from _shapes import LEAN

CRAWL_COUNT: Final = 10_000


def measure(url: str, api_key: str, rounds: int) -> None:
    with blocking_against_async(url, api_key, CRAWL_COUNT) as clients:
        for crawl in clients.values():
            crawl()  # warm up: connections, caches; the blocking client's crawl is last
        before = BLOCKING
        cells: dict[tuple[str, bool], list[tuple[float, float]]] = {}
        for round_number in range(rounds):
            for name in rotated(list(clients), round_number):
                gc.collect()
                started, started_cpu = time.perf_counter(), time.process_time()
                clients[name]()
                cells.setdefault((name, before == name), []).append(
                    (time.perf_counter() - started, time.process_time() - started_cpu)
                )
                before = name
    for name in clients:
        for own, label in ((True, "after its own crawl"), (False, "after the other's")):
            times = cells.get((name, own), [])
            if times:
                wall = statistics.median(wall for wall, _ in times) * 1e3
                cpu = statistics.median(cpu for _, cpu in times) * 1e3
                print(f"{name:30} {label:20} wall ms {wall:6.1f}  CPU ms {cpu:6.1f}  ({len(times)} crawls)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rounds", type=int, nargs="?", default=15)
    args = parser.parse_args()
    with emulator_with_samples(CRAWL_COUNT, LEAN) as emulator:
        measure(emulator.url, emulator.api_key, args.rounds)


if __name__ == "__main__":
    main()
