"""`python -m workos_orgs.emulator` as a user runs it: a real process, real signals."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from workos_orgs.emulator import DEFAULT_API_KEY

STARTUP_SECONDS = 60  # seconds; only ever reached when something hangs (a busy machine starts Python slowly)


class Running:
    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url

    def session(self, api_key: str = DEFAULT_API_KEY) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(base_url=self.url, headers={"Authorization": f"Bearer {api_key}"})

    async def stop(self, signum: int) -> tuple[int, str]:
        self.process.send_signal(signum)
        out, _ = await asyncio.wait_for(self.process.communicate(), STARTUP_SECONDS)
        return self.process.returncode or 0, out.decode()


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workos_orgs.emulator",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@asynccontextmanager
async def emulator_process(*args: str) -> AsyncIterator[Running]:
    process = await _spawn("--port", "0", *args)
    assert process.stdout is not None
    try:
        banner = (await asyncio.wait_for(process.stdout.readline(), STARTUP_SECONDS)).decode()
        assert "listening on http://127.0.0.1:" in banner, banner
        url = banner.split("listening on ", 1)[1].split()[0]
        yield Running(process, url)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


async def _create(running: Running, name: str) -> dict[str, object]:
    async with running.session() as http, http.post("/organizations", json={"name": name}) as response:
        assert response.status == 201
        body: dict[str, object] = await response.json()
        return body


async def _names(running: Running) -> list[str]:
    async with running.session() as http, http.get("/organizations", params={"limit": "100"}) as response:
        assert response.status == 200
        return [org["name"] for org in (await response.json())["data"]]


async def test_prints_its_url_and_responds_health_without_a_key() -> None:
    async with emulator_process() as running, aiohttp.ClientSession() as http:
        async with http.get(f"{running.url}/health") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}
            assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_stops_cleanly_on_signal(signum: int) -> None:
    async with emulator_process() as running:
        await _create(running, "Acme")
        code, output = await running.stop(signum)
    assert code == 0
    assert "Emulator stopped." in output


async def test_data_in_memory_is_gone_after_restart() -> None:
    async with emulator_process() as running:
        await _create(running, "Ephemeral")
    async with emulator_process() as running:
        assert await _names(running) == []


async def test_db_file_keeps_every_acknowledged_create_across_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "orgs.db"
    async with emulator_process("--db", str(db)) as running:
        created = [await _create(running, f"Org {number}") for number in range(25)]
        running.process.send_signal(signal.SIGKILL)
        await running.process.wait()
    async with emulator_process("--db", str(db)) as running:
        assert await _names(running) == [org["name"] for org in reversed(created)]
        # New IDs still sort after the ones stored before the restart.
        newest = await _create(running, "After restart")
        assert str(newest["id"]) > max(str(org["id"]) for org in created)
        assert (await _names(running))[0] == "After restart"


async def test_seed_file_is_loaded_at_start(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"organizations": [{"name": "Seeded", "domains": ["seeded.example"]}]}))
    async with emulator_process("--seed", str(seed)) as running:
        async with (
            running.session() as http,
            http.get("/organizations", params={"domains": "seeded.example"}) as response,
        ):
            body = await response.json()
    assert [org["name"] for org in body["data"]] == ["Seeded"]


async def test_a_seed_with_a_db_file_is_loaded_only_into_a_new_file(tmp_path: Path) -> None:
    # Loaded at every start, the seed's external_id clashed with itself (exit 2) on the second.
    seed, db = tmp_path / "seed.json", str(tmp_path / "orgs.db")
    seed.write_text(json.dumps({"organizations": [{"name": "Acme", "external_id": "acme"}, {"name": "Beta"}]}))
    for start in range(3):
        async with emulator_process("--db", db, "--seed", str(seed)) as running:
            await _create(running, f"Made at start {start}")
            assert await _names(running) == [f"Made at start {n}" for n in reversed(range(start + 1))] + [
                "Beta",
                "Acme",
            ]
            code, _ = await running.stop(signal.SIGTERM)
            assert code == 0


async def _failed_start(args: Sequence[str]) -> tuple[int, str]:
    process = await _spawn(*args)
    _, err = await asyncio.wait_for(process.communicate(), STARTUP_SECONDS)
    return process.returncode or 0, err.decode()


async def test_bad_seed_file_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"organizations": [{"name": "Fine"}, {"external_id": "x"}]}))
    code, err = await _failed_start(["--port", "0", "--seed", str(seed)])
    assert code == 2
    assert err.strip() == "error: organizations[1]: name is required."


async def test_port_in_use_is_a_clear_error() -> None:
    async with emulator_process() as running:
        port = running.url.rsplit(":", 1)[1]
        code, err = await _failed_start(["--port", port])
    assert code == 2
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in err


@pytest.mark.parametrize("port", ["99999", "-5"])
async def test_a_port_out_of_range_is_a_usage_error(port: str) -> None:
    code, err = await _failed_start(["--port", port])
    assert code == 2
    assert f"--port: {port!r}: a port from 0 to 65535" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("where", ["missing directory", "not a database", "a directory"])
async def test_a_db_file_that_cannot_be_used_is_one_clear_line_and_exit_2(tmp_path: Path, where: str) -> None:
    if where == "missing directory":
        path = str(tmp_path / "nowhere" / "data.db")
    elif where == "not a database":
        (tmp_path / "notes.txt").write_text("shopping list\n" * 100)
        path = str(tmp_path / "notes.txt")
    else:
        path = str(tmp_path)  # (a device such as /dev/null made SQLite write a journal beside it)
    code, err = await _failed_start(["--port", "0", "--db", path])
    assert code == 2
    assert err.startswith(f"error: cannot use --db {path}: "), err
    assert "Traceback" not in err


async def test_custom_api_key_is_required_and_not_printed() -> None:
    key = "sk_test_custom_do_not_print"
    async with emulator_process("--api-key", key) as running:
        async with running.session() as http, http.get("/organizations") as response:
            assert response.status == 401
        async with running.session(key) as http, http.get("/organizations") as response:
            assert response.status == 200
        _, output = await running.stop(signal.SIGTERM)
    assert key not in output


async def test_rate_limits_flag_enforces_the_delete_limit() -> None:
    async with emulator_process("--rate-limits") as running, running.session() as http:
        statuses = []
        for _ in range(51):
            async with http.delete("/organizations/org_01EHWNCE74X7JSDV0X3SZ3KJNY") as response:
                statuses.append(response.status)
                retry_after = response.headers.get("Retry-After")
    assert statuses[:50] == [404] * 50
    assert statuses[50] == 429
    assert retry_after is not None
    assert 1 <= int(retry_after) <= 60


@pytest.mark.parametrize(("flags", "state"), [((), "pending"), (("--auto-verify",), "verified")])
async def test_auto_verify_flag_chooses_instant_verification(flags: tuple[str, ...], state: str) -> None:
    async with emulator_process(*flags) as running, running.session() as http:
        organization = await _create(running, "Acme")
        body = {"organization_id": organization["id"], "domain": "acme.com"}
        async with http.post("/organization_domains", json=body) as response:
            domain = await response.json()
        async with http.post(f"/organization_domains/{domain['id']}/verify") as response:
            assert (response.status, (await response.json())["state"]) == (201, state)


async def _metadata_statuses(running: Running) -> dict[str, int]:
    tries = {
        "ten ASCII keys": {f"key{i}": "value" for i in range(10)},
        "eleven keys": {f"key{i}": "value" for i in range(11)},
        "a value not ASCII": {"city": "Zürich"},
    }
    statuses = {}
    async with running.session() as http:
        for what, metadata in tries.items():
            async with http.post("/organizations", json={"name": "Acme", "metadata": metadata}) as response:
                statuses[what] = response.status
    return statuses


@pytest.mark.parametrize(
    ("flags", "statuses"),
    [
        ((), {"ten ASCII keys": 201, "eleven keys": 201, "a value not ASCII": 201}),
        (
            ("--metadata-keys", "10", "--metadata-ascii-only"),
            {"ten ASCII keys": 201, "eleven keys": 400, "a value not ASCII": 400},
        ),
    ],
    ids=["the spec's limits", "the metadata docs' limits"],
)
async def test_metadata_limit_flags_choose_between_the_conflicting_sources(
    flags: tuple[str, ...], statuses: dict[str, int]
) -> None:
    async with emulator_process(*flags) as running:
        assert await _metadata_statuses(running) == statuses


@pytest.mark.parametrize("keys", ["0", "-1", "ten"])
async def test_a_metadata_key_count_below_one_is_a_usage_error(keys: str) -> None:
    code, err = await _failed_start(["--port", "0", "--metadata-keys", keys])
    assert code == 2
    assert f"--metadata-keys: {keys!r}: a whole number of at least 1" in err
    assert "Traceback" not in err
