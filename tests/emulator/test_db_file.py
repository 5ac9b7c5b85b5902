"""`--db`: what a file-backed emulator keeps through ``kill -9``, and two processes on one file.

Found by trying to break it: 25 ``kill -9`` during a burst of keyed creates left 6
organizations made twice once the unacknowledged creates were replayed with their keys (the
organization and its idempotency record were two transactions), and two processes on one
file responded 500 (``UNIQUE constraint failed``) to racing creates.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from workos_orgs.emulator import DEFAULT_API_KEY, Emulator

from ..clock import START, ManualClock

STARTUP_SECONDS = 60  # seconds; only ever reached when something hangs (a busy machine starts Python slowly)
KILLS = 20
BURST = 24
ACKNOWLEDGED_BEFORE_KILL = 6
ATTEMPTS = 25


@asynccontextmanager
async def emulator_process(*args: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workos_orgs.emulator",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        banner = (await asyncio.wait_for(process.stdout.readline(), STARTUP_SECONDS)).decode()
        assert "listening on " in banner, banner
        yield process, banner.split("listening on ", 1)[1].split()[0]
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()


def session(url: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=url, headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"})


async def keyed_create(http: aiohttp.ClientSession, key: str) -> int | None:
    """The status of one keyed create, or None when the connection died first."""
    try:
        async with http.post("/organizations", json={"name": key}, headers={"Idempotency-Key": key}) as response:
            await response.read()
            return response.status
    except aiohttp.ClientError:
        return None


class Acknowledged:
    """Counts responses; `enough` is set once `ACKNOWLEDGED_BEFORE_KILL` have arrived."""

    def __init__(self) -> None:
        self.responses = 0
        self.enough = asyncio.Event()

    async def count(self, request: Awaitable[int | None]) -> int | None:
        status = await request
        if status is not None:
            self.responses += 1
            if self.responses >= ACKNOWLEDGED_BEFORE_KILL:
                self.enough.set()
        return status


async def test_keyed_creates_replayed_after_kill_9_never_make_an_organization_twice(tmp_path: Path) -> None:
    db = str(tmp_path / "orgs.db")
    unacknowledged: list[str] = []
    for round_number in range(KILLS):
        async with emulator_process("--db", db) as (process, url), session(url) as http:
            # Replay what the last crash left unacknowledged, with the same keys and bodies.
            for key in unacknowledged:
                assert await keyed_create(http, key) == 201
            keys = [f"org-{round_number}-{number}" for number in range(BURST)]
            acknowledged = Acknowledged()
            burst = [asyncio.ensure_future(acknowledged.count(keyed_create(http, key))) for key in keys]
            await asyncio.wait_for(acknowledged.enough.wait(), STARTUP_SECONDS)
            process.send_signal(signal.SIGKILL)  # in the middle of the burst
            statuses = await asyncio.gather(*burst)
            assert set(statuses) <= {201, None}
            unacknowledged = [key for key, status in zip(keys, statuses, strict=True) if status is None]
    async with emulator_process("--db", db) as (_, url), session(url) as http:
        for key in unacknowledged:
            assert await keyed_create(http, key) == 201
        names: list[str] = []
        after = None
        while True:
            params = {"limit": "100", **({"after": after} if after else {})}
            async with http.get("/organizations", params=params) as response:
                page = await response.json()
            names += [organization["name"] for organization in page["data"]]
            after = page["list_metadata"]["after"]
            if after is None:
                break
    twice = {name: count for name, count in Counter(names).items() if count > 1}
    assert twice == {}
    assert len(names) == KILLS * BURST


async def test_two_processes_on_one_file_refuse_racing_duplicates_as_one_would(tmp_path: Path) -> None:
    db = str(tmp_path / "orgs.db")
    async with emulator_process("--db", db) as (_, first), emulator_process("--db", db) as (_, second):
        async with session(first) as one, session(second) as two:

            async def create(http: aiohttp.ClientSession, body: dict[str, object]) -> int:
                async with http.post("/organizations", json=body) as response:
                    await response.read()
                    return response.status

            for attempt in range(ATTEMPTS):
                body = {"name": "Acme", "external_id": f"acme-{attempt}"}
                statuses = await asyncio.gather(*(create(http, body) for http in [one, two] * 8))
                assert sorted(statuses) == [201] + [400] * 15, statuses
            async with one.post("/organizations", json={"name": "Domains"}) as response:
                organization = await response.json()

            async def add_domain(http: aiohttp.ClientSession, name: str) -> int:
                body = {"organization_id": organization["id"], "domain": name}
                async with http.post("/organization_domains", json=body) as response:
                    await response.read()
                    return response.status

            for attempt in range(ATTEMPTS):
                statuses = await asyncio.gather(*(add_domain(http, f"d{attempt}.com") for http in [one, two] * 8))
                assert sorted(statuses) == [201] + [409] * 15, statuses


async def test_a_file_held_past_the_busy_timeout_is_a_503_to_retry(tmp_path: Path) -> None:
    db = tmp_path / "orgs.db"
    async with Emulator(db=db) as emu:
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the busy timeout
        try:
            headers = {"Authorization": f"Bearer {emu.api_key}"}
            async with aiohttp.ClientSession(emu.url, headers=headers) as http:
                async with http.post("/organizations", json={"name": "Acme"}) as response:
                    assert response.status == 503
                    assert response.headers["Retry-After"] == "1"
                    assert "busy" in (await response.json())["message"]
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert emu.internal_errors == 0
        async with aiohttp.ClientSession(emu.url, headers=headers) as http:
            async with http.post("/organizations", json={"name": "Acme"}) as response:
                assert response.status == 201


async def test_a_listing_shows_what_another_process_on_the_file_wrote(tmp_path: Path) -> None:
    db = str(tmp_path / "orgs.db")
    async with emulator_process("--db", db) as (_, first), emulator_process("--db", db) as (_, second):
        async with session(first) as reader, session(second) as writer:

            async def send(http: aiohttp.ClientSession, method: str, path: str, body: object = None) -> Any:
                async with http.request(method, path, json=body) as response:
                    assert response.status < 300, await response.text()
                    return await response.json() if response.content_type == "application/json" else None

            async def listed() -> list[Any]:
                # Twice: the second time the reader serves the page it built, if it kept one.
                page = await send(reader, "GET", "/organizations?limit=100")
                assert await send(reader, "GET", "/organizations?limit=100") == page
                return list(page["data"])

            assert await listed() == []
            created = await send(writer, "POST", "/organizations", {"name": "Acme", "domains": ["acme.example"]})
            assert await listed() == [created]
            renamed = await send(writer, "PUT", f"/organizations/{created['id']}", {"name": "Renamed"})
            assert await listed() == [renamed]
            domain = await send(
                writer, "POST", "/organization_domains", {"organization_id": created["id"], "domain": "b.example"}
            )
            (listed_org,) = await listed()
            assert [item["domain"] for item in listed_org["domains"]] == ["acme.example", "b.example"]
            await send(writer, "DELETE", f"/organization_domains/{domain['id']}")
            assert await listed() == [await send(writer, "GET", f"/organizations/{created['id']}")]
            await send(writer, "DELETE", f"/organizations/{created['id']}")
            assert await listed() == []


async def test_two_emulators_on_one_file_make_ids_in_creation_order(tmp_path: Path) -> None:
    # Each read the newest stored ID only when it opened the file, so the one whose clock was
    # behind (or, on one clock, either within a millisecond) made IDs that sorted before ones
    # the other had already made: an ``order=asc`` walk past those missed the later records.
    db = tmp_path / "orgs.db"
    ahead, behind = ManualClock(), ManualClock(START - 1.0)
    async with Emulator(db=db, clock=ahead) as first, Emulator(db=db, clock=behind) as second:
        async with session(first.url) as one, session(second.url) as other:

            async def create(http: aiohttp.ClientSession, name: str, domain: str) -> dict[str, Any]:
                body = {"name": name, "domain_data": [{"domain": domain, "state": "verified"}]}
                async with http.post("/organizations", json=body) as response:
                    assert response.status == 201
                    created: dict[str, Any] = await response.json()
                    return created

            created = [await create((one, other)[n % 2], f"Org {n}", f"org{n}.example") for n in range(10)]
            async with one.get("/organizations", params={"order": "asc", "limit": "100"}) as response:
                listed = (await response.json())["data"]
            assert [o["name"] for o in listed] == [o["name"] for o in created]
            organization_ids, domain_ids = [o["id"] for o in created], [o["domains"][0]["id"] for o in created]
            assert organization_ids == sorted(organization_ids)
            assert domain_ids == sorted(domain_ids)
            async with one.get("/organizations", params={"order": "asc", "after": created[0]["id"]}) as response:
                assert [o["name"] for o in (await response.json())["data"]] == [o["name"] for o in created[1:]]
