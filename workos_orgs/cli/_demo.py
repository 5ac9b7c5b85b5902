"""``workos-orgs demo``: the main job, end to end, on the embedded emulator.

Syncs a sample of realistic organizations while the emulator injects rate limits, server
errors and a dropped connection; re-runs the sync to show it converges; changes a few
records; walks every organization with ``async for``; and prints what happened.

Pointed at another API (``--base-url``) it writes real organizations, so it asks for
``--yes`` first, and removes what it made at the end unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, TextIO

import attrs

from .._bulk import OrganizationRecord, SyncReport
from .._client import AsyncWorkOS
from .._contract import LIST_LIMIT_MAX
from .._errors import NotFoundError, is_entity_not_found
from .._models import UNSET, Unset
from .._throttle import RateLimiter
from ..emulator import Emulator
from ._connect import UsageError, open_client, positive_int
from ._sample import sample_records

CHANGED_SHARE: Final = 20  # one record in 20 is renamed for the third pass
CLEANUP_CONCURRENCY: Final = 16


def add_demo_command(commands: Any, *, parents: Sequence[argparse.ArgumentParser]) -> None:
    """The ``demo`` subcommand and its options."""
    demo = commands.add_parser(
        "demo", parents=list(parents), help="sync, re-sync and walk sample organizations on the embedded emulator"
    )
    demo.add_argument(
        "--count", type=positive_int, default=1000, help="how many sample organizations (default %(default)s)"
    )
    demo.add_argument(
        "--yes", action="store_true", help="with --base-url: yes, write sample organizations into that API"
    )
    demo.add_argument(
        "--keep", action="store_true", help="with --base-url: keep the sample organizations instead of deleting them"
    )


FAULTED_CREATES_FROM: Final = 20
"""From this many organizations the demo faults five creates; below, two.  The first creates
of many records go out side by side, so five faults meet five records; with only a few
records, retries meet the faults that are left, and one record could meet three (every
attempt it gets).  Two faults can never fail a record."""


def _inject_faults(emulator: Emulator, count: int) -> None:
    emulator.inject_fault(method="GET", path="/organizations/external_id/*", status=429, retry_after=1, times=2)
    if count >= FAULTED_CREATES_FROM:
        emulator.inject_fault(method="POST", path="/organizations", status=503, times=3)
        emulator.inject_fault(method="POST", path="/organizations", status=500, times=1)
    else:
        emulator.inject_fault(method="POST", path="/organizations", status=503, times=1)
    emulator.inject_fault(method="POST", path="/organizations", drop="after", times=1)


_FAULT_NAMES: Final = {
    "drop_after": "dropped connection",
    "drop_before": "dropped connection",
    "delay": "slow response",
}


def _faults_met(emulator: Emulator) -> str:
    """The faults requests really met, by kind: ``2 x 429, 3 x 503, 1 x dropped connection``."""
    kinds = collections.Counter(request.fault for request in emulator.requests if request.fault is not None)
    return ", ".join(
        f"{count:,} x {_FAULT_NAMES.get(kind, kind.removeprefix('status_'))}" for kind, count in sorted(kinds.items())
    )


@asynccontextmanager
async def _target(args: argparse.Namespace) -> AsyncIterator[tuple[AsyncWorkOS, Emulator | None]]:
    if args.base_url:
        if not args.yes:
            raise UsageError(
                f"the demo writes {args.count:,} sample organizations into {args.base_url}"
                f"{' and keeps them' if args.keep else ' (and deletes them at the end)'}; pass --yes if you mean it,"
                " or leave out --base-url to run it on the embedded emulator"
            )
        async with open_client(args) as client:
            yield client, None
        return
    async with Emulator() as emulator, AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        yield client, emulator


def _line(out: TextIO, text: str) -> None:
    out.write(text + "\n")
    out.flush()


async def _sync(
    client: AsyncWorkOS, records: Sequence[OrganizationRecord], out: TextIO, title: str, *, paced: bool
) -> SyncReport:
    limiter: RateLimiter | Unset | None = UNSET if paced else None
    report = await client.organizations.sync(records, concurrency=16, rate_limiter=limiter)
    rate = len(records) / report.elapsed if report.elapsed else 0.0
    _line(out, f"{title:<34} {report}  ({report.elapsed:,.2f}s, {rate:,.0f} records/s)")
    for failure in report.failures[:5]:
        _line(out, f"  failed {failure.external_id}: {failure}")
    return report


async def _remove(client: AsyncWorkOS, records: Sequence[OrganizationRecord]) -> int:
    """Delete the demo's organizations (found by external id); how many were deleted."""
    gate = asyncio.Semaphore(CLEANUP_CONCURRENCY)

    async def remove(record: OrganizationRecord) -> int:
        async with gate:
            try:
                organization = await client.organizations.get_by_external_id(record.external_id)
                await client.organizations.delete(organization.id)
            except NotFoundError as error:
                if is_entity_not_found(error):  # gone already; a gateway's 404 is not an answer
                    return 0
                raise
            return 1

    return sum(await asyncio.gather(*(remove(record) for record in records)))


async def run_demo(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Run the demo; 0 when every step came out as it should."""
    records = list(sample_records(args.count))
    started = time.monotonic()
    async with _target(args) as (client, emulator):
        # WorkOS allows 6,000 requests a minute, and sync paces itself under that; the embedded
        # emulator enforces no limit, so the demo lets it run at full speed.
        paced = emulator is None
        where = "the embedded emulator (no rate limit, so no pacing)" if emulator is not None else client.base_url
        _line(out, f"workos-orgs demo: {len(records):,} sample organizations against {where}\n")
        if emulator is not None:
            _inject_faults(emulator, len(records))
        first = await _sync(
            client, records, out, "1. sync (with injected faults)" if emulator else "1. sync", paced=paced
        )
        if emulator is not None:
            met = _faults_met(emulator)
            _line(out, f"   injected faults met and retried away: {met}" if met else "   no injected fault was met")
        second = await _sync(client, records, out, "2. sync again (converges)", paced=paced)
        changed = [
            attrs.evolve(record, name=f"{record.name} (renamed)") if number % CHANGED_SHARE == 0 else record
            for number, record in enumerate(records)
        ]
        third = await _sync(client, changed, out, f"3. sync with {len(records[::CHANGED_SHARE])} renamed", paced=paced)

        walk_started = time.monotonic()
        seen = [organization.external_id async for organization in client.organizations.list(limit=LIST_LIMIT_MAX)]
        walk = time.monotonic() - walk_started
        ours = {record.external_id for record in records}
        mine = [external_id for external_id in seen if external_id in ours]
        _line(
            out,
            f"{'4. walk all with async for':<34} {len(seen):,} seen ({walk:,.2f}s), {len(mine):,} from this demo,"
            f" {len(mine) - len(set(mine)):,} duplicated",
        )
        if emulator is None and not args.keep:
            removed = await _remove(client, records)
            _line(out, f"{'5. remove the sample organizations':<34} {removed:,} deleted (--keep keeps them)")

        elapsed = time.monotonic() - started
        requests = len(emulator.requests) if emulator is not None else None
        throughput = f", {requests:,} requests ({requests / elapsed:,.0f}/s)" if requests else ""
        _line(out, f"\ndone in {elapsed:,.2f}s{throughput}")
    ok = (
        first.ok
        and first.created + first.unchanged + first.updated == len(records)
        and second.unchanged == len(records)
        and third.updated == len(records[::CHANGED_SHARE])
        and sorted(mine) == sorted(ours)
    )
    if not ok:
        _line(out, "Something did not come out as expected: see the lines above.")
    return 0 if ok else 1
