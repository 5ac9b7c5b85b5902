"""The fault storm: many workers writing through injected faults, and nothing lost or doubled.

``W`` workers create, update, get, list and delete organizations for ``S`` seconds (or, with
``--operations N``, for N operations each: what the tests run, so load cannot change them) against
the emulator (in this process) while it injects faults into a share ``R`` of requests: 429s
with ``Retry-After``, 500/502/503, replies slower than the client's timeout, and connections
dropped before or after the work was done.  Each worker owns its own external ids, so the
state the emulator should end in is known exactly; at the end (faults off) it is read back
and compared.  The diff must be empty: no organization lost, none duplicated, none changed.

Every call either succeeds or raises a typed `WorkOSError`, which the worker acts on the way
an application would (retry the write; a re-sent create that finds its external id taken
looks it up, a re-sent delete that finds nothing is done).  Errors are counted by class; any
other exception fails the run.

Run twice: with the emulator's ``Idempotency-Key`` support, and without it, where
exactly-once creates come from the SDK itself (a create whose outcome is unknown is resolved
by looking its external id up).

    python benchmarks/storm.py --seconds 60 --workers 32 --rate 0.1

A request the client gave up on (timed out) may still be done by the server later: the
emulator's slow fault waits, then does the work.  No client can order such a late write
against its later ones (the API has no conditional writes), so a worker never writes to an
organization again until ``slow_ms`` (plus a margin) has passed since its last write to it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from workos_orgs import (
    APIConnectionError,
    APIStatusError,
    AsyncWorkOS,
    Backoff,
    BadRequestError,
    DomainData,
    DomainState,
    NotFoundError,
    Organization,
    WorkOSError,
)
from workos_orgs.emulator import Chaos, Emulator

# Errors a worker can act on, by operation; anything else typed is reported as unexpected.
RETRYABLE = frozenset({"APIConnectionError", "APITimeoutError", "InternalServerError", "RateLimitError"})
# Only when the caller re-sends a write after a typed error: a create then finds its external
# id taken (its earlier call made it) and a delete finds nothing (its earlier call deleted it).
# On a first call these are the SDK's job, and seeing them is a failure.
EXPECTED_ON_RESEND: Mapping[str, frozenset[str]] = {
    "create": frozenset({"BadRequestError"}),
    "delete": frozenset({"NotFoundError"}),
}
MAX_CALLER_RETRIES = 25
# How long after a write's call ended a late (abandoned) attempt of it may still land, on top of slow_ms.
LATE_WRITE_MARGIN = 0.25


@attrs.define
class Owned:
    """What a worker intends one of its organizations to be."""

    token: str
    id: str
    external_id: str | None
    name: str
    metadata: dict[str, str]
    domains: tuple[str, ...]
    last_write: float

    def matches(self, organization: Organization) -> bool:
        return (
            organization.id == self.id
            and organization.external_id == self.external_id
            and organization.name == self.name
            and dict(organization.metadata) == self.metadata
            and tuple(sorted(d.domain for d in organization.domains)) == self.domains
        )


@attrs.frozen
class StormResult:
    """What one storm did and found; `ok` when the final diff is empty and nothing went untyped."""

    seconds: float
    workers: int
    rate: float
    idempotency: bool
    operations: Mapping[str, int]
    succeeded: int
    requests: int
    faults: Mapping[str, int]
    faults_survived: int
    lookups: int
    deletes_confirmed_by_404: int
    typed_errors: Mapping[str, int]
    unexpected_errors: Mapping[str, int]
    untyped_errors: Sequence[str]
    live_mismatches: int
    organizations: int
    lost: Sequence[str]
    duplicated: Sequence[str]
    resurrected: Sequence[str]
    unexpected: Sequence[str]
    changed: Sequence[str]

    @property
    def diff(self) -> int:
        return len(self.lost) + len(self.duplicated) + len(self.resurrected) + len(self.unexpected) + len(self.changed)

    @property
    def ok(self) -> bool:
        return self.diff == 0 and not self.untyped_errors and not self.unexpected_errors and not self.live_mismatches

    def report(self) -> str:
        """The figures, as Markdown to paste into the README."""
        mode = "on" if self.idempotency else "off (exactly-once from the SDK)"
        lines = [
            f"**Idempotency-Key support {mode}** -- {self.workers} workers, {self.seconds:.1f} s, "
            f"faults on {self.rate:.0%} of requests",
            "",
            f"- operations: {sum(self.operations.values()):,} "
            f"({', '.join(f'{kind} {count:,}' for kind, count in sorted(self.operations.items()))}); "
            f"{self.succeeded:,} succeeded; {self.requests:,} HTTP requests",
            f"- faults injected: {sum(self.faults.values()):,} "
            f"({', '.join(f'{kind} {count:,}' for kind, count in sorted(self.faults.items()))})",
            f"- faults survived (absorbed by retries or lookups, never seen by the caller): {self.faults_survived:,}",
            f"- exactly-once at work: {self.lookups:,} creates resolved by an external-id lookup, "
            f"{self.deletes_confirmed_by_404:,} deletes confirmed by a 404 after an attempt with an unknown outcome",
            f"- typed errors surfaced to the caller: {sum(self.typed_errors.values()):,}"
            + (
                f" ({', '.join(f'{name} {count:,}' for name, count in sorted(self.typed_errors.items()))})"
                if self.typed_errors
                else ""
            ),
            f"- untyped exceptions: {len(self.untyped_errors)}; unexpected typed errors: "
            f"{sum(self.unexpected_errors.values())}; reads that disagreed with the intended state: "
            f"{self.live_mismatches}",
            f"- final state: {self.organizations:,} organizations; lost {len(self.lost)}, "
            f"duplicated {len(self.duplicated)}, resurrected {len(self.resurrected)}, "
            f"unexpected {len(self.unexpected)}, changed {len(self.changed)} -- diff {self.diff}",
        ]
        return "\n".join(lines)


@attrs.define
class _Tally:
    operations: collections.Counter[str] = attrs.Factory(collections.Counter)
    typed: collections.Counter[str] = attrs.Factory(collections.Counter)
    unexpected: collections.Counter[str] = attrs.Factory(collections.Counter)
    untyped: list[str] = attrs.Factory(list)
    succeeded: int = 0
    faults_surfaced: int = 0
    live_mismatches: int = 0
    resolved_creates: int = 0
    confirmed_deletes: int = 0

    def error(self, operation: str, error: BaseException, *, resent: bool) -> None:
        name = type(error).__name__
        if not isinstance(error, WorkOSError):
            self.untyped.append(f"{operation}: {name}: {error}")
            return
        self.typed[name] += 1
        if name not in RETRYABLE and not (resent and name in EXPECTED_ON_RESEND.get(operation, ())):
            self.unexpected[f"{operation}: {name}{' (re-sent)' if resent else ''}"] += 1
        if isinstance(error, APIConnectionError | APIStatusError) and name in RETRYABLE:
            self.faults_surfaced += error.attempts  # every attempt of it met a fault


class _Worker:
    def __init__(self, index: int, client: AsyncWorkOS, tally: _Tally, *, seed: int, quiet: float, plain: float):
        self.index = index
        self.tag = f"w{index:02d}"
        self.client = client
        self.tally = tally
        self.random = random.Random(seed * 1000 + index)  # the workload's shape, not a secret
        self.quiet = quiet
        self.plain = plain  # share of creates without an external id
        self.owned: dict[str, Owned] = {}
        self.deleted: set[str] = set()
        self.serial = 0

    async def run(self, deadline: float, operations: int | None) -> None:
        done = 0
        while (time.monotonic() < deadline) if operations is None else (done < operations):
            done += 1
            now = time.monotonic()
            writable = [owned for owned in self.owned.values() if not self.quiet or now - owned.last_write > self.quiet]
            roll = self.random.random()
            if roll < 0.3 or not self.owned:
                await self.create()
            elif roll < 0.55 and writable:
                await self.update(self.random.choice(writable))
            elif roll < 0.7 and writable and len(self.owned) > 3:
                await self.delete(self.random.choice(writable))
            elif roll < 0.9:
                await self.get(self.random.choice(list(self.owned.values())))
            else:
                await self.list()

    async def call(self, operation: str, attempt: Any, *, persist: bool | None = None) -> Any:
        """One logical operation: the SDK call, re-sent by the caller on a typed error
        (reads are not re-sent unless `persist`)."""
        persist = operation not in ("get", "list") if persist is None else persist
        self.tally.operations[operation] += 1
        for tries in range(MAX_CALLER_RETRIES):
            try:
                result = await attempt()
            except Exception as error:
                self.tally.error(operation, error, resent=tries > 0)
                if not isinstance(error, WorkOSError):
                    return None
                if isinstance(error, NotFoundError) and operation == "delete":
                    self.tally.succeeded += 1  # gone: done
                    return None
                if isinstance(error, BadRequestError) and operation == "create":
                    raise  # the caller looks the external id up
                if not persist:
                    return None  # a read that failed is simply not checked
                await asyncio.sleep(0.01)
                continue
            self.tally.succeeded += 1
            return result
        self.tally.untyped.append(f"{operation}: still failing after {MAX_CALLER_RETRIES} tries")
        return None

    async def create(self) -> None:
        self.serial += 1
        token = f"{self.tag}-{self.serial:04d}"
        with_external_id = self.random.random() >= self.plain
        external_id = f"storm-{token}" if with_external_id else None
        name = f"{token} Acme v0"
        metadata = {"v": "0", "worker": self.tag}
        domain = f"{token}.storm.example.com"

        async def attempt() -> Organization:
            raw = await self.client.organizations.with_raw_response.create(
                name=name,
                external_id=external_id,
                metadata=metadata,
                domain_data=[DomainData(domain, DomainState.VERIFIED)],
                idempotency_key=f"storm-create-{token}",  # the same key whenever the caller re-sends
            )
            if raw.status_code == 200:  # not the create's 201: the SDK found it by its external id
                self.tally.resolved_creates += 1
            return raw.parse()

        try:
            organization = await self.call("create", attempt)
        except BadRequestError as error:
            if error.code != "external_id_already_used" or external_id is None:
                self.tally.unexpected[f"create: {error.code}"] += 1
                return
            # An earlier call of ours made it: look it up.
            organization = await self.call(
                "get", lambda: self.client.organizations.get_by_external_id(external_id), persist=True
            )
        if organization is None:
            self.tally.untyped.append(f"create {token}: no organization and no way to find it")
            return
        self.owned[token] = Owned(token, organization.id, external_id, name, metadata, (domain,), time.monotonic())

    async def update(self, owned: Owned) -> None:
        version = int(owned.metadata["v"]) + 1
        name = f"{owned.token} Acme v{version}"
        # Metadata keys given are set and keys given as None removed: an absolute result,
        # however many times it is applied.
        metadata: dict[str, str | None] = {"v": str(version), f"k{version}": "x", f"k{version - 1}": None}
        await self.call("update", lambda: self.client.organizations.update(owned.id, name=name, metadata=metadata))
        owned.last_write = time.monotonic()
        owned.name = name
        owned.metadata = {key: value for key, value in {**owned.metadata, **metadata}.items() if value is not None}

    async def delete(self, owned: Owned) -> None:
        async def attempt() -> None:
            raw = await self.client.organizations.with_raw_response.delete(owned.id)
            if raw.status_code == 404:  # an earlier attempt did it; the SDK knew its outcome was unknown
                self.tally.confirmed_deletes += 1

        await self.call("delete", attempt)
        del self.owned[owned.token]
        self.deleted.add(owned.token)

    async def get(self, owned: Owned) -> None:
        organization = await self.call("get", lambda: self.client.organizations.get(owned.id))
        if organization is not None and not owned.matches(organization):
            self.tally.live_mismatches += 1

    async def list(self) -> None:
        async def walk() -> list[Organization]:
            return [o async for o in self.client.organizations.list(limit=5, search=f"{self.tag}-")]

        organizations = await self.call("list", walk)
        if organizations is not None and {o.id for o in organizations} != {o.id for o in self.owned.values()}:
            self.tally.live_mismatches += 1


async def run_storm(
    *,
    seconds: float = 60.0,
    operations: int | None = None,
    workers: int = 32,
    rate: float = 0.1,
    idempotency: bool = True,
    seed: int = 1,
    timeout: float = 0.5,
    slow_ms: int | None = None,
    retry_after: int = 1,
    max_retries: int = 3,
    backoff: Backoff | None = None,
    plain_creates: float | None = None,
) -> StormResult:
    """Run one storm against a fresh in-process emulator and compare its final state.

    Each worker runs for ``seconds``, or, given ``operations``, for exactly that many
    operations however long they take (what the tests use: a busy machine only makes the
    run slower, never different).
    ``slow_ms`` (default: twice ``timeout``) is how late a slow reply comes; ``plain_creates``
    is the share of creates without an external id (default 0.2 with idempotency, else 0:
    without either, a duplicate is possible and documented).
    """
    slow_ms = int(timeout * 2000) if slow_ms is None else slow_ms
    if plain_creates is None:
        plain_creates = 0.2 if idempotency else 0.0
    backoff = backoff or Backoff(base=0.02, cap=0.25, max_retry_after=5)
    # A late write exists only when the client gives up before a slow reply; otherwise every
    # write has landed when its call returns, and no quiet period is needed.
    quiet = slow_ms / 1000 + LATE_WRITE_MARGIN if slow_ms / 1000 >= timeout else 0.0
    tally = _Tally()
    async with Emulator(idempotency=idempotency) as emulator:
        async with AsyncWorkOS(
            api_key=emulator.api_key, base_url=emulator.url, timeout=timeout, max_retries=max_retries, backoff=backoff
        ) as client:
            crew = [
                _Worker(index, client, tally, seed=seed, quiet=quiet, plain=plain_creates) for index in range(workers)
            ]
            emulator.set_chaos(Chaos(rate=rate, slow_ms=slow_ms, retry_after=retry_after, seed=seed))
            started = time.monotonic()
            deadline = started + seconds
            results = await asyncio.gather(
                *(worker.run(deadline, operations) for worker in crew), return_exceptions=True
            )
            elapsed = time.monotonic() - started
            emulator.set_chaos(None)
            for result in results:
                if isinstance(result, BaseException):
                    tally.untyped.append(f"worker crashed: {type(result).__name__}: {result}")
            await asyncio.sleep(quiet)  # the last late writes land
            requests = emulator.requests
            actual = {organization.id: organization async for organization in client.organizations.list(limit=100)}
    return _compare(crew, actual, requests, tally, elapsed, workers, rate, idempotency)


def _compare(
    crew: Sequence[_Worker],
    actual: Mapping[str, Organization],
    requests: Sequence[Any],
    tally: _Tally,
    elapsed: float,
    workers: int,
    rate: float,
    idempotency: bool,
) -> StormResult:
    intended = {owned.id: owned for worker in crew for owned in worker.owned.values()}
    live_tokens = {owned.token for owned in intended.values()}
    deleted_tokens = {token for worker in crew for token in worker.deleted}
    extra = [organization for id_, organization in actual.items() if id_ not in intended]

    def token_of(organization: Organization) -> str:
        return organization.name.split(" ", 1)[0]

    faults = collections.Counter(request.fault for request in requests if request.fault is not None)
    return StormResult(
        seconds=elapsed,
        workers=workers,
        rate=rate,
        idempotency=idempotency,
        operations=dict(tally.operations),
        succeeded=tally.succeeded,
        requests=len(requests),
        faults=dict(faults),
        faults_survived=max(0, sum(faults.values()) - tally.faults_surfaced),
        lookups=tally.resolved_creates,
        deletes_confirmed_by_404=tally.confirmed_deletes,
        typed_errors=dict(tally.typed),
        unexpected_errors=dict(tally.unexpected),
        untyped_errors=tuple(tally.untyped),
        live_mismatches=tally.live_mismatches,
        organizations=len(actual),
        lost=tuple(sorted(owned.token for id_, owned in intended.items() if id_ not in actual)),
        duplicated=tuple(sorted(token_of(o) for o in extra if token_of(o) in live_tokens)),
        resurrected=tuple(sorted(token_of(o) for o in extra if token_of(o) in deleted_tokens)),
        unexpected=tuple(sorted(token_of(o) for o in extra if token_of(o) not in live_tokens | deleted_tokens)),
        changed=tuple(
            sorted(owned.token for id_, owned in intended.items() if id_ in actual and not owned.matches(actual[id_]))
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each storm lasts (default 60)")
    parser.add_argument("--operations", type=int, help="run this many operations per worker instead of for --seconds")
    parser.add_argument("--workers", type=int, default=32, help="concurrent workers (default 32)")
    parser.add_argument("--rate", type=float, default=0.1, help="share of requests that get a fault (default 0.1)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the faults and the workload (default 1)")
    parser.add_argument("--timeout", type=float, default=0.5, help="the client's socket timeout in s (default 0.5)")
    parser.add_argument(
        "--idempotency",
        choices=("on", "off", "both"),
        default="both",
        help="server Idempotency-Key support (default: both runs)",
    )
    args = parser.parse_args(argv)
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.idempotency]
    command = "python benchmarks/storm.py " + " ".join(
        f"--{name} {value}"
        for name, value in (("seconds", f"{args.seconds:g}"), ("workers", args.workers), ("rate", args.rate))
    )
    print(f"Fault storm: `{command}` (Python {sys.version.split()[0]})\n")
    ok = True
    for idempotency in modes:
        result = asyncio.run(
            run_storm(
                seconds=args.seconds,
                operations=args.operations,
                workers=args.workers,
                rate=args.rate,
                idempotency=idempotency,
                seed=args.seed,
                timeout=args.timeout,
            )
        )
        print(result.report())
        for problem in [*result.untyped_errors[:10], *(f"{k} x{v}" for k, v in result.unexpected_errors.items())]:
            print(f"  ! {problem}")
        for label in ("lost", "duplicated", "resurrected", "unexpected", "changed"):
            if getattr(result, label):
                print(f"  ! {label}: {', '.join(getattr(result, label)[:20])}")
        print()
        ok = ok and result.ok
    print("PASS: the final state equals the intended state." if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
