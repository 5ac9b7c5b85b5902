"""The emulator under load: many concurrent clients, and optionally a kill -9 in the middle.

Starts ``python -m workos_orgs.emulator`` in its own process and runs `--clients` aiohttp
clients for `--seconds`, each mixing creates (with 1-3 domains), gets, lists, updates (name
and metadata, or a whole new domain set) and deletes of its own organizations.  It reports
requests, throughput, p50/p99 latency, 5xx answers and "database is locked" answers (both
must be 0: nothing is injected here).  At the end every create that was acknowledged (201)
and not deleted is read back and must be there with exactly the domains last acknowledged.

With ``--kill`` (implies ``--db``) the emulator is killed with SIGKILL halfway through,
``PRAGMA integrity_check`` runs on the file, the emulator restarts on it, and every
acknowledged create is checked again; a create or update whose answer the kill cut off may
or may not have happened, but if it did, it happened whole (all of its domains, or none).

    python benchmarks/emulator_load.py [--seconds 30] [--clients 50] [--db] [--kill]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import EmulatorProcess, emulator_process

# Share of each operation in the mix.
MIX = {"create": 30, "get": 25, "list": 20, "update": 15, "delete": 10}
REQUEST_TIMEOUT_SECONDS = 30


@attrs.define
class Intent:
    """What a client believes about one of its organizations."""

    external_id: str
    acknowledged: bool  # its create was answered 201
    organization_id: str | None = None
    # Every domain set the organization may have now: the last acknowledged one, plus any
    # whose update was cut off before its answer.
    domain_sets: list[frozenset[str]] = attrs.Factory(list)
    maybe_deleted: bool = False


@attrs.define
class Tally:
    latencies: list[float] = attrs.Factory(list)
    statuses: Counter[int] = attrs.Factory(Counter)
    operations: Counter[str] = attrs.Factory(Counter)
    locked: int = 0
    cut: int = 0  # requests whose connection failed (only expected around a kill)
    server_errors: list[str] = attrs.Factory(list)


@attrs.frozen
class Verdict:
    checked: int
    missing: list[str]
    half_written: list[str]
    unacknowledged_present: int


@attrs.frozen
class LoadReport:
    mode: str
    clients: int
    seconds: float
    tally: Tally
    verdict: Verdict
    integrity: str | None = None

    @property
    def requests(self) -> int:
        return len(self.tally.latencies)

    @property
    def server_error_count(self) -> int:
        return sum(count for status, count in self.tally.statuses.items() if status >= 500)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.tally.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0

    def lines(self) -> list[str]:
        tally = self.tally
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items()))
        mix = ", ".join(f"{name} {count}" for name, count in sorted(tally.operations.items()))
        out = [
            f"emulator under load ({self.mode}): {self.clients} clients for {self.seconds:.1f} s",
            f"  requests {self.requests:,}  throughput {self.requests / self.seconds:,.0f} req/s"
            f"  latency p50 {self.percentile(0.50):.1f} ms  p99 {self.percentile(0.99):.1f} ms"
            f"  mean {statistics.fmean(tally.latencies) * 1000 if tally.latencies else 0:.1f} ms",
            f"  operations: {mix}",
            f"  statuses: {statuses}",
            f"  5xx {self.server_error_count}  database is locked {tally.locked}  connections cut {tally.cut}",
            f"  acknowledged creates checked {self.verdict.checked:,}  missing {len(self.verdict.missing)}"
            f"  half-written {len(self.verdict.half_written)}"
            f"  (unacknowledged creates found whole: {self.verdict.unacknowledged_present})",
        ]
        if self.integrity is not None:
            out.append(f"  PRAGMA integrity_check after kill -9: {self.integrity}")
        return out

    @property
    def ok(self) -> bool:
        verdict = self.verdict
        return (
            self.server_error_count == 0
            and self.tally.locked == 0
            and not verdict.missing
            and not verdict.half_written
            and self.integrity in (None, "ok")
        )


class Client:
    """One simulated API user with its own connection pool and its own organizations."""

    def __init__(self, number: int, http: aiohttp.ClientSession, tally: Tally, seed: int) -> None:
        self.number = number
        self.http = http
        self.tally = tally
        self.random = random.Random(seed)
        self.intents: list[Intent] = []
        self._serial = itertools.count()

    async def call(self, operation: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any] | None:
        """One request; None when the connection failed (the answer is unknown)."""
        started = time.perf_counter()
        try:
            async with self.http.request(method, path, **kwargs) as response:
                raw = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, ConnectionError):
            self.tally.cut += 1
            return None
        self.tally.latencies.append(time.perf_counter() - started)
        self.tally.statuses[status] += 1
        self.tally.operations[operation] += 1
        if b"database is locked" in raw:
            self.tally.locked += 1
        if status >= 500:
            self.tally.server_errors.append(f"{method} {path} -> {status} {raw[:200]!r}")
        body: Any = None
        if response.content_type == "application/json" and raw:
            body = orjson.loads(raw)
        return status, body

    def _live(self) -> list[Intent]:
        return [intent for intent in self.intents if intent.organization_id and not intent.maybe_deleted]

    def _domains(self, tag: str) -> frozenset[str]:
        return frozenset(f"{tag}-{n}.c{self.number}.example" for n in range(self.random.randint(1, 3)))

    async def step(self) -> None:
        operation = self.random.choices(list(MIX), weights=list(MIX.values()))[0]
        live = self._live()
        if operation != "create" and operation != "list" and not live:
            operation = "create"
        if operation == "create":
            await self.create()
        elif operation == "get":
            intent = self.random.choice(live)
            await self.call("get", "GET", f"/organizations/{intent.organization_id}")
        elif operation == "list":
            params = {"limit": str(self.random.choice((1, 10, 100)))}
            if live and self.random.random() < 0.3:
                params["domains"] = next(iter(self.random.choice(live).domain_sets[-1]))
            await self.call("list", "GET", "/organizations", params=params)
        elif operation == "update":
            await self.update(self.random.choice(live))
        else:
            await self.delete(self.random.choice(live))

    async def create(self) -> None:
        serial = next(self._serial)
        external_id = f"load-{self.number}-{serial}-{self.random.getrandbits(32):08x}"
        domains = self._domains(f"o{serial}")
        intent = Intent(external_id, acknowledged=False, domain_sets=[domains])
        self.intents.append(intent)
        body = {
            "name": f"Load {self.number}/{serial}",
            "external_id": external_id,
            "metadata": {"client": str(self.number), "serial": str(serial)},
            "domain_data": [{"domain": domain, "state": "verified"} for domain in sorted(domains)],
        }
        answer = await self.call("create", "POST", "/organizations", json=body)
        if answer is not None and answer[0] == 201:
            intent.acknowledged = True
            intent.organization_id = answer[1]["id"]

    async def update(self, intent: Intent) -> None:
        if self.random.random() < 0.5:
            body: dict[str, Any] = {"name": f"Renamed {self.random.getrandbits(16)}", "metadata": {"touched": "yes"}}
            await self.call("update", "PUT", f"/organizations/{intent.organization_id}", json=body)
            return
        domains = self._domains(f"u{next(self._serial)}")
        body = {"domain_data": [{"domain": domain, "state": "pending"} for domain in sorted(domains)]}
        answer = await self.call("update", "PUT", f"/organizations/{intent.organization_id}", json=body)
        if answer is None:
            intent.domain_sets.append(domains)  # cut off: it may have happened
        elif answer[0] == 200:
            intent.domain_sets = [domains]

    async def delete(self, intent: Intent) -> None:
        intent.maybe_deleted = True
        answer = await self.call("delete", "DELETE", f"/organizations/{intent.organization_id}")
        if answer is not None and answer[0] == 202:
            self.intents.remove(intent)


@contextmanager
def _emulator(db: Path | None, *extra: str) -> Iterator[EmulatorProcess]:
    with emulator_process(*(("--db", str(db)) if db else ()), *extra) as process:
        yield process


def _session(emulator: EmulatorProcess) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=emulator.url,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
    )


async def drive(
    emulator: EmulatorProcess,
    *,
    clients: int,
    seconds: float,
    tally: Tally,
    kill_after: float | None = None,
    seed: int = 1,
    steps: int | None = None,
) -> list[Client]:
    """Run `clients` users for `seconds`, or for `steps` requests each (what the tests use:
    a busy machine then makes the run slower, never different).  With `kill_after` the
    emulator is killed that many seconds in, or, with `steps`, once half of all steps are done.
    """
    sessions = [_session(emulator) for _ in range(clients)]
    users = [Client(number, http, tally, seed * 1000 + number) for number, http in enumerate(sessions)]
    deadline = time.monotonic() + seconds
    killed = asyncio.Event()
    halfway = asyncio.Event()
    finished = 0

    async def work(user: Client) -> None:
        nonlocal finished
        done = 0
        while not killed.is_set() and (time.monotonic() < deadline if steps is None else done < steps):
            await user.step()
            done += 1
            finished += 1
            if steps is not None and finished >= clients * steps // 2:
                halfway.set()

    async def kill() -> None:
        assert kill_after is not None
        if steps is None:
            await asyncio.sleep(kill_after)
        else:
            await halfway.wait()
        emulator.process.send_signal(signal.SIGKILL)
        emulator.process.wait()
        killed.set()

    try:
        tasks = [asyncio.create_task(work(user)) for user in users]
        if kill_after is not None:
            tasks.append(asyncio.create_task(kill()))
        await asyncio.gather(*tasks)
    finally:
        for http in sessions:
            await http.close()
    return users


async def verify(emulator: EmulatorProcess, users: list[Client]) -> Verdict:
    """Every acknowledged, undeleted create is there with a domain set it may have; nothing is partial."""
    missing: list[str] = []
    half_written: list[str] = []
    checked = unacknowledged_present = 0
    async with _session(emulator) as http:
        semaphore = asyncio.Semaphore(32)

        async def check(intent: Intent) -> None:
            nonlocal checked, unacknowledged_present
            async with semaphore:
                if intent.acknowledged:
                    path = f"/organizations/{intent.organization_id}"
                else:
                    path = f"/organizations/external_id/{intent.external_id}"
                async with http.get(path) as response:
                    body = await response.json()
                    status = response.status
            if intent.acknowledged:
                checked += 1
            if status == 404:
                if intent.acknowledged and not intent.maybe_deleted:
                    missing.append(intent.external_id)
                return
            assert status == 200, (path, status, body)
            if not intent.acknowledged:
                unacknowledged_present += 1
            domains = frozenset(domain["domain"] for domain in body["domains"])
            if domains not in intent.domain_sets or body["external_id"] != intent.external_id:
                half_written.append(f"{intent.external_id}: {sorted(domains)} not one of {intent.domain_sets}")

        await asyncio.gather(*(check(intent) for user in users for intent in user.intents))
    return Verdict(checked, missing, half_written, unacknowledged_present)


def integrity_check(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
        foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
    connection.close()
    result = "; ".join(str(row[0]) for row in rows)
    return result if not foreign else f"{result}; foreign key violations: {foreign[:5]}"


async def run(
    *, seconds: float, clients: int, db: Path | None, kill: bool, seed: int = 1, steps: int | None = None
) -> LoadReport:
    """One load run as the CLI does it; the tests call this with a small count of `steps`."""
    tally = Tally()
    mode = "SQLite file, kill -9 halfway, restart" if kill else ("SQLite file" if db else "in memory")
    integrity = None
    with _emulator(db) as emulator:
        started = time.monotonic()
        users = await drive(
            emulator,
            clients=clients,
            seconds=seconds,
            tally=tally,
            kill_after=seconds / 2 if kill else None,
            seed=seed,
            steps=steps,
        )
        elapsed = time.monotonic() - started
        if not kill:
            verdict = await verify(emulator, users)
    if kill:
        assert db is not None
        integrity = integrity_check(db)
        with _emulator(db) as emulator:
            verdict = await verify(emulator, users)
    return LoadReport(mode, clients, elapsed, tally, verdict, integrity)


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    cli.add_argument("--seconds", type=float, default=30.0, help="how long the clients run (default %(default)s)")
    cli.add_argument("--clients", type=int, default=50, help="concurrent aiohttp clients (default %(default)s)")
    cli.add_argument("--db", action="store_true", help="keep the emulator's data in a SQLite file (default: memory)")
    cli.add_argument(
        "--kill", action="store_true", help="kill -9 the emulator halfway, restart it, check (implies --db)"
    )
    cli.add_argument("--seed", type=int, default=1, help="random seed of the workload (default %(default)s)")
    args = cli.parse_args(argv)
    command = "python benchmarks/emulator_load.py " + " ".join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="emulator-load-") as scratch:
        db = Path(scratch) / "emulator.db" if args.db or args.kill else None
        report = asyncio.run(run(seconds=args.seconds, clients=args.clients, db=db, kill=args.kill, seed=args.seed))
    print(f"$ {command.strip()}")
    for line in report.lines():
        print(line)
    for error in report.tally.server_errors[:10]:
        print(f"  5xx: {error}")
    for problem in [*report.verdict.missing[:10], *report.verdict.half_written[:10]]:
        print(f"  lost or partial: {problem}")
    print("OK" if report.ok else "FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
