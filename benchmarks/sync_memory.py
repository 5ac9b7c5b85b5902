"""How a sync's memory grows with the number of records.

Syncs N streamed sample records into a fresh emulator (its own process) and reports the
client's peak traced allocation and its RSS growth, for several N.  Records are read as the
work goes and results are counted, not kept, so the peak grows only by what is kept per
record: its external id and where it came from (~150 bytes), to catch repeats.

    python benchmarks/sync_memory.py [N ...]        (default: 1000 10000 30000)
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator

from _harness import emulator_process
from _shapes import RICH, organizations

from workos_orgs import AsyncWorkOS, DomainData, DomainState, OrganizationRecord


def sample_records(count: int) -> Iterator[OrganizationRecord]:
    """`count` rich sample organizations as sync records, made one at a time as the sync reads them."""
    for item in organizations(RICH, count):
        domains = tuple(DomainData(domain, DomainState(state)) for domain, state in item.domains)
        yield OrganizationRecord(item.external_id, item.name, domains, item.metadata)


async def sync_once(count: int) -> tuple[float, int, float]:
    with emulator_process() as emulator:
        async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
            tracemalloc.start()
            started = time.monotonic()
            report = await client.organizations.sync(sample_records(count), concurrency=16, rate_limiter=None)
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    if report.created != count or report.failed:
        raise SystemExit(f"the sync did not create all {count} records: {report}")
    return elapsed, peak, count / elapsed


def main(counts: list[int]) -> None:
    print(f"{'records':>8} {'seconds':>8} {'records/s':>10} {'peak traced':>12} {'max RSS':>9}")
    for count in counts:
        elapsed, peak, rate = asyncio.run(sync_once(count))
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{count:>8,} {elapsed:>8.1f} {rate:>10,.0f} {peak / 1024:>9,.0f} KiB {rss_mb:>6.0f} MiB", flush=True)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1000, 10000, 30000])
